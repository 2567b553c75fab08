"""The deploy history in the cluster's PostgreSQL, shared by every node.

The same model and interface as :class:`overcast.control.deploy_store.DeployStore`
(versions, deployments, each stage's stack alias; read its docstring). What changes
with many nodes: numbering a new version or deployment takes a transaction-scoped
advisory lock on its (stack, function) or (stage, stack), so two nodes publishing or
deploying at once get consecutive numbers instead of a conflict; and ``finish`` moves
the alias in the same transaction that ends the deployment, the deployment's row
locked, so every node sees the stack's current deployment switch at one commit.

The schema is the cluster's (:mod:`overcast.cluster.pg_schema`): opening the store
checks its version and refuses a database older or newer than the code.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping

import psycopg
from psycopg.types.json import Jsonb

from overcast.cluster.pg_connection import connect
from overcast.cluster.pg_schema import check
from overcast.control.deploy_store import (
    DELETE,
    FAILED,
    IN_PROGRESS,
    STATUSES,
    SUCCEEDED,
    Deployment,
    DeployStoreError,
    new_deployment_id,
)

Connection = psycopg.Connection[tuple[object, ...]]

# A constant, so the f-strings below that use it build no query from input.
_COLUMNS = (
    "id, stage, stack, seq, created, status, kind, request, versions, message, reason, finished"
)


class PgDeployStore:
    """Versions, deployments and aliases in the cluster database."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self._conn = connect(url, schema=schema)
        self._lock = threading.Lock()
        try:
            check(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- versions ------------------------------------------------------------------

    def publish(
        self, stack: str, function: str, stage: str, fingerprint: str, code_sha256: str
    ) -> int:
        """The version for this code and configuration: the latest if it matches, else a new one."""
        with self._lock, self._conn.transaction():
            _lock_key(self._conn, "versions", stack, function)
            row = self._conn.execute(
                "SELECT version, fingerprint FROM function_versions "
                "WHERE stack = %s AND function = %s ORDER BY version DESC LIMIT 1",
                [stack, function],
            ).fetchone()
            if row is not None and row[1] == fingerprint:
                return int(str(row[0]))
            version = 1 if row is None else int(str(row[0])) + 1
            self._conn.execute(
                "INSERT INTO function_versions (stack, function, version, stage, fingerprint, "
                "code_sha256, created) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [stack, function, version, stage, fingerprint, code_sha256, time.time()],
            )
            return version

    def versions(self, stack: str, function: str) -> list[tuple[int, str, str]]:
        """Every version of a stack's function: (version, stage that published it, sha256)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT version, stage, code_sha256 FROM function_versions "
                "WHERE stack = %s AND function = %s ORDER BY version",
                [stack, function],
            ).fetchall()
        return [(int(str(v)), str(s), str(c)) for v, s, c in rows]

    # --- deployments ---------------------------------------------------------------

    def create(
        self,
        stage: str,
        stack: str,
        request: bytes,
        versions: Mapping[str, int],
        *,
        kind: str = "deploy",
        message: str = "",
    ) -> Deployment:
        """Record a new deployment of a stack of ``stage``, in progress."""
        with self._lock, self._conn.transaction():
            _lock_key(self._conn, "deployments", stage, stack)
            row = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM deployments WHERE stage = %s AND stack = %s",
                [stage, stack],
            ).fetchone()
            seq = (0 if row is None else int(str(row[0]))) + 1
            deployment = Deployment(
                id=new_deployment_id(),
                stage=stage,
                stack=stack,
                seq=seq,
                created=time.time(),
                status=IN_PROGRESS,
                kind=kind,
                request=request,
                versions=dict(versions),
                message=message,
            )
            self._conn.execute(
                "INSERT INTO deployments (id, stage, stack, seq, created, status, kind, "
                "request, versions, message) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    deployment.id,
                    stage,
                    stack,
                    seq,
                    deployment.created,
                    deployment.status,
                    kind,
                    request,
                    Jsonb(dict(deployment.versions)),
                    message,
                ],
            )
        return deployment

    def finish(self, deployment_id: str, status: str, reason: str = "") -> None:
        """End a deployment; a successful one becomes its stack's current deployment
        (a successful ``delete`` leaves the stack with none), in the same transaction."""
        if status not in STATUSES or status == IN_PROGRESS:
            raise DeployStoreError(f"{status!r} is not a final deployment status")
        with self._lock, self._conn.transaction():
            row = self._conn.execute(
                "SELECT stage, stack, kind FROM deployments WHERE id = %s FOR UPDATE",
                [deployment_id],
            ).fetchone()
            if row is None:
                raise DeployStoreError(f"no deployment {deployment_id!r}")
            stage, stack, kind = row
            self._conn.execute(
                "UPDATE deployments SET status = %s, reason = %s, finished = %s WHERE id = %s",
                [status, reason, time.time(), deployment_id],
            )
            if status == SUCCEEDED:
                current = None if kind == DELETE else deployment_id
                self._conn.execute(
                    "INSERT INTO aliases (stage, stack, current) VALUES (%s, %s, %s) "
                    "ON CONFLICT (stage, stack) DO UPDATE SET current = excluded.current",
                    [stage, stack, current],
                )

    def abandon_unfinished(self) -> int:
        """Mark deployments left in progress as failed; how many.

        In a cluster only the node that runs a deployment may call this for it: today
        every deployment is abandoned (the single-platform behaviour); per-node
        ownership comes with wiring the store into ``overcast serve``."""
        with self._lock, self._conn.transaction():
            cursor = self._conn.execute(
                "UPDATE deployments SET status = %s, reason = %s, finished = %s WHERE status = %s",
                [FAILED, "the platform stopped during the deployment", time.time(), IN_PROGRESS],
            )
            return cursor.rowcount

    def get(self, deployment_id: str) -> Deployment | None:
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE id = %s",  # noqa: S608
                [deployment_id],
            ).fetchone()
        return _deployment(row) if row is not None else None

    def history(self, stage: str, stack: str | None = None, limit: int = 50) -> list[Deployment]:
        """A stage's deployments (of one stack, or of all), newest first."""
        with self._lock:
            if stack is None:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM deployments WHERE stage = %s "  # noqa: S608
                    "ORDER BY created DESC, seq DESC LIMIT %s",
                    [stage, limit],
                ).fetchall()
            else:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM deployments "  # noqa: S608
                    "WHERE stage = %s AND stack = %s ORDER BY seq DESC LIMIT %s",
                    [stage, stack, limit],
                ).fetchall()
        return [_deployment(row) for row in rows]

    def current(self, stage: str, stack: str) -> Deployment | None:
        """The deployment a stack's alias in ``stage`` points at, if it has one."""
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_prefixed('d')} FROM aliases a "  # noqa: S608
                "JOIN deployments d ON d.id = a.current WHERE a.stage = %s AND a.stack = %s",
                [stage, stack],
            ).fetchone()
        return _deployment(row) if row is not None else None

    def stacks(self, stage: str | None = None) -> dict[tuple[str, str], str]:
        """Every deployed (stage, stack) and its current deployment id."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT stage, stack, current FROM aliases WHERE current IS NOT NULL "
                "AND (%(stage)s::text IS NULL OR stage = %(stage)s) ORDER BY stage, stack",
                {"stage": stage},
            ).fetchall()
        return {(str(s), str(k)): str(current) for s, k, current in rows}

    def previous(self, stage: str, stack: str) -> Deployment | None:
        """The successful deployment before the current one: what a rollback returns to."""
        current = self.current(stage, stack)
        if current is None:
            return None
        with self._lock:
            row = self._conn.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE stage = %s "  # noqa: S608
                "AND stack = %s AND status = %s AND kind <> %s AND seq < %s AND request <> %s "
                "ORDER BY seq DESC LIMIT 1",
                [stage, stack, SUCCEEDED, DELETE, current.seq, current.request],
            ).fetchone()
        return _deployment(row) if row is not None else None


def _lock_key(conn: Connection, space: str, first: str, second: str) -> None:
    # Serialises numbering per key across nodes; released at commit.
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext(%s))",
        [f"overcast:{space}:{len(first)}:{first}/{second}"],
    )


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


def _deployment(row: tuple[object, ...]) -> Deployment:
    (id_, stage, stack, seq, created, status, kind, request, versions, message, reason,
     finished) = row  # fmt: skip
    if not isinstance(versions, dict):
        raise DeployStoreError(f"deployment {id_}'s versions are not a JSON object")
    return Deployment(
        id=str(id_),
        stage=str(stage),
        stack=str(stack),
        seq=int(str(seq)),
        created=float(str(created)),
        status=str(status),
        kind=str(kind),
        request=request if isinstance(request, bytes) else b"",
        versions={str(k): int(v) for k, v in versions.items()},
        message=str(message),
        reason=str(reason),
        finished=float(str(finished)) if finished is not None else None,
    )
