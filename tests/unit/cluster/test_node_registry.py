"""The node registry: one live node per name, takeover after silence, drain, and the
master key check a node must pass before it writes anything."""

from __future__ import annotations

import os

import pytest

from overcast.cluster.errors import NodeLostError, NodeNameTakenError, SchemaVersionError
from overcast.cluster.node_registry import NodeRegistry, check_master_key, join_cluster
from overcast.cluster.pg_connection import connect
from overcast.cluster.pg_schema import migrate
from overcast.secrets.crypto import Envelope
from overcast.secrets.errors import MasterKeyError
from pg_support import PG_URL, pg_migrated, pg_schema

pytestmark = [pytest.mark.postgres]
__all__ = ["pg_migrated", "pg_schema"]


def _silence(schema: str, name: str) -> None:
    """Age a node's heartbeat by an hour, as if it had died then."""
    with connect(PG_URL, schema=schema) as conn:
        conn.execute(
            "UPDATE nodes SET heartbeat_at = heartbeat_at - interval '1 hour' WHERE name = %s",
            [name],
        )


def test_a_registered_node_is_listed_with_its_address_version_and_state(
    pg_migrated: str,
) -> None:
    with connect(PG_URL, schema=pg_migrated) as conn:
        registry = NodeRegistry(conn)
        registry.register("node-a", "10.0.0.1:8000", "0.1.0")
        registry.heartbeat()
        [node] = registry.list()
        assert (node.name, node.address, node.version, node.state) == (
            "node-a", "10.0.0.1:8000", "0.1.0", "active",
        )  # fmt: skip
        assert node.is_live()
        registry.set_state("draining")
        assert [n.state for n in registry.list()] == ["draining"]


def test_a_second_live_node_with_the_same_name_is_refused_in_one_line(pg_migrated: str) -> None:
    with connect(PG_URL, schema=pg_migrated) as one, connect(PG_URL, schema=pg_migrated) as two:
        NodeRegistry(one).register("node-a", "10.0.0.1:8000", "0.1.0")
        with pytest.raises(NodeNameTakenError) as raised:
            NodeRegistry(two).register("node-a", "10.0.0.2:8000", "0.1.0")
        assert "10.0.0.1:8000" in raised.value.message
        assert "\n" not in raised.value.message


def test_a_silent_nodes_name_is_taken_over_and_the_old_node_learns_it(pg_migrated: str) -> None:
    with connect(PG_URL, schema=pg_migrated) as one, connect(PG_URL, schema=pg_migrated) as two:
        old = NodeRegistry(one, stale_after_s=30)
        old.register("node-a", "10.0.0.1:8000", "0.1.0")
        _silence(pg_migrated, "node-a")
        assert not old.list()[0].is_live(30)
        new = NodeRegistry(two, stale_after_s=30)
        new.register("node-a", "10.0.0.2:8000", "0.2.0")
        assert [(n.address, n.version) for n in new.list()] == [("10.0.0.2:8000", "0.2.0")]
        with pytest.raises(NodeLostError):
            old.heartbeat()
        new.heartbeat()


def test_a_cleanly_stopped_nodes_name_is_free_at_once(pg_migrated: str) -> None:
    with connect(PG_URL, schema=pg_migrated) as conn:
        first = NodeRegistry(conn)
        first.register("node-a", "10.0.0.1:8000", "0.1.0")
        first.set_state("stopped")
        NodeRegistry(conn).register("node-a", "10.0.0.1:8000", "0.1.0")


def test_the_first_node_seals_the_key_check_and_others_must_open_it(pg_migrated: str) -> None:
    key = os.urandom(32)
    with connect(PG_URL, schema=pg_migrated) as conn:
        assert check_master_key(conn, Envelope(key), "node-a") is True
        assert check_master_key(conn, Envelope(key), "node-b") is False
        before = conn.execute("SELECT sealed FROM master_key_check").fetchall()
        with pytest.raises(MasterKeyError, match="node-a") as raised:
            check_master_key(conn, Envelope(os.urandom(32)), "node-c")
        assert "\n" not in raised.value.message
        assert conn.execute("SELECT sealed FROM master_key_check").fetchall() == before
        assert NodeRegistry(conn).list() == []  # the refused node registered nothing


def test_joining_checks_schema_then_key_then_name_and_a_refused_node_writes_nothing(
    pg_schema: str,
) -> None:
    key = os.urandom(32)
    with connect(PG_URL, schema=pg_schema) as conn:
        with pytest.raises(SchemaVersionError):
            join_cluster(conn, Envelope(key), name="node-a", address="a:1", version="0.1.0")
        migrate(conn)
        joined = join_cluster(conn, Envelope(key), name="node-a", address="a:1", version="0.1.0")
        joined.heartbeat()
        with pytest.raises(MasterKeyError):
            join_cluster(conn, Envelope(os.urandom(32)), name="node-b", address="b:1",
                         version="0.1.0")  # fmt: skip
        assert [n.name for n in joined.list()] == ["node-a"]
