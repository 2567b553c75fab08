"""The cluster's nodes: who runs, where, which overcast, and whether it still beats.

Theory of operation
-------------------
A node starts by :meth:`NodeRegistry.register`-ing its name. The name is free when no
row has it, when its node stopped cleanly, or when its heartbeat is older than
``stale_after_s`` (the node died): then it is taken over. A live node's name is
refused with a one-line error. Each start gets a fresh ``incarnation``; a
:meth:`~NodeRegistry.heartbeat` that finds another incarnation in the row learns that
its name was taken over while it was silent, and must stop. Ages are measured on the
database's clock, so nodes whose clocks disagree still agree on who is dead.

Before registering, a node proves its master key with :func:`check_master_key`: the
first node seals a fixed text into ``master_key_check``; a node whose key does not
open it refuses to start, having written nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

import psycopg

from overcast.cluster.errors import NodeLostError, NodeNameTakenError
from overcast.cluster.pg_schema import check
from overcast.errors import OvercastError
from overcast.secrets.crypto import Envelope
from overcast.secrets.errors import MasterKeyError, SealedRecordError

NodeState = Literal["active", "draining", "stopped"]
#: a node silent this long is dead: its name may be taken, its in-flight events rerun
STALE_AFTER_S = 30.0
_CHECK_AAD = "overcast:cluster-key-check"
_CHECK_PLAINTEXT = b"overcast cluster master key check v1"

Connection = psycopg.Connection[tuple[object, ...]]


class NodeRegistryError(OvercastError):
    """The registry cannot record what was asked."""


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """One registered node as ``overcast cluster status`` shows it."""

    name: str
    address: str
    version: str
    state: NodeState
    heartbeat_age_s: float
    started_at: float

    def is_live(self, stale_after_s: float = STALE_AFTER_S) -> bool:
        return self.state != "stopped" and self.heartbeat_age_s <= stale_after_s


class NodeRegistry:
    """Registration and heartbeat of one node (the ``nodes`` table)."""

    def __init__(self, conn: Connection, *, stale_after_s: float = STALE_AFTER_S) -> None:
        self._conn = conn
        self.stale_after_s = stale_after_s
        self.name: str | None = None
        self.incarnation: str | None = None

    def register(self, name: str, address: str, version: str) -> str:
        """Take ``name`` for this node; its incarnation, or NodeNameTakenError when a
        live node holds it."""
        incarnation = secrets.token_hex(8)
        with self._conn.transaction():
            row = self._conn.execute(
                "INSERT INTO nodes AS n (name, address, version, state, incarnation, "
                "started_at, heartbeat_at) VALUES (%s, %s, %s, 'active', %s, now(), now()) "
                "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
                "version = excluded.version, state = 'active', "
                "incarnation = excluded.incarnation, started_at = now(), heartbeat_at = now() "
                "WHERE n.state = 'stopped' "
                "OR n.heartbeat_at < now() - make_interval(secs => %s) RETURNING name",
                [name, address, version, incarnation, self.stale_after_s],
            ).fetchone()
        if row is None:
            holder = self.get(name)
            where = f" at {holder.address}" if holder is not None else ""
            raise NodeNameTakenError(
                f"node name {name!r} is held by a live node{where}: "
                "give this node another --node-name, or stop that one",
                hint=f"a name is free again {self.stale_after_s:g}s after its last heartbeat",
            )
        self.name, self.incarnation = name, incarnation
        return incarnation

    def heartbeat(self) -> None:
        """Say this node is alive; NodeLostError when its name was taken over."""
        name, incarnation = self._registered()
        cursor = self._conn.execute(
            "UPDATE nodes SET heartbeat_at = now() WHERE name = %s AND incarnation = %s",
            [name, incarnation],
        )
        if cursor.rowcount != 1:
            raise NodeLostError(
                f"node {name!r} was taken over by another start after its heartbeat stopped"
            )

    def set_state(self, state: NodeState) -> None:
        """Mark this node draining (no new work) or stopped (its name free at once)."""
        name, incarnation = self._registered()
        cursor = self._conn.execute(
            "UPDATE nodes SET state = %s, heartbeat_at = now() "
            "WHERE name = %s AND incarnation = %s",
            [state, name, incarnation],
        )
        if cursor.rowcount != 1:
            raise NodeLostError(f"node {name!r} was taken over by another start")

    def get(self, name: str) -> NodeRecord | None:
        found = [node for node in self.list() if node.name == name]
        return found[0] if found else None

    def list(self) -> list[NodeRecord]:
        """Every node ever registered, by name."""
        rows = self._conn.execute(
            "SELECT name, address, version, state, "
            "EXTRACT(EPOCH FROM now() - heartbeat_at), EXTRACT(EPOCH FROM started_at) "
            "FROM nodes ORDER BY name"
        ).fetchall()
        return [
            NodeRecord(
                name=str(name),
                address=str(address),
                version=str(version),
                state=_state(state),
                heartbeat_age_s=max(0.0, float(str(age))),
                started_at=float(str(started)),
            )
            for name, address, version, state, age, started in rows
        ]

    def _registered(self) -> tuple[str, str]:
        if self.name is None or self.incarnation is None:
            raise NodeRegistryError("this node is not registered")
        return self.name, self.incarnation


def join_cluster(
    conn: Connection,
    envelope: Envelope,
    *,
    name: str,
    address: str,
    version: str,
    stale_after_s: float = STALE_AFTER_S,
) -> NodeRegistry:
    """What a node does at start: the schema's version, its master key, then its name,
    in that order, so a node refused for any of them has written nothing."""
    check(conn)
    check_master_key(conn, envelope, name)
    registry = NodeRegistry(conn, stale_after_s=stale_after_s)
    registry.register(name, address, version)
    return registry


def check_master_key(conn: Connection, envelope: Envelope, node: str) -> bool:
    """Prove ``envelope``'s key is the cluster's; True when this node wrote the record
    (the first node). A key that does not open it raises MasterKeyError, writing nothing."""
    with conn.transaction():
        written = conn.execute(
            "INSERT INTO master_key_check (sealed, written_by) VALUES (%s, %s) "
            "ON CONFLICT (singleton) DO NOTHING",
            [envelope.seal(_CHECK_AAD, _CHECK_PLAINTEXT), node],
        ).rowcount
        row = conn.execute("SELECT sealed, written_by FROM master_key_check").fetchone()
    if row is None:
        raise NodeRegistryError("the master key check record vanished")
    sealed, written_by = row
    if not isinstance(sealed, bytes):
        raise NodeRegistryError("the master key check record is not bytes")
    try:
        plaintext = envelope.open(_CHECK_AAD, sealed)
    except SealedRecordError as exc:
        raise MasterKeyError(
            f"this node's master key does not open the cluster's key check "
            f"(written by node {written_by}): every node needs the same OVERCAST_MASTER_KEY",
            hint="set OVERCAST_MASTER_KEY to the key the cluster's first node used",
        ) from exc
    if plaintext != _CHECK_PLAINTEXT:
        raise MasterKeyError("the cluster's master key check record is corrupt")
    return written == 1


def _state(value: object) -> NodeState:
    if value == "draining":
        return "draining"
    if value == "stopped":
        return "stopped"
    return "active"
