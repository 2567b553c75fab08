"""The platform's deploy history: function versions, deployments and each stage's alias.

SQLite in WAL mode under the platform's state folder (the control plane's embedded
store, DESIGN.md "State"); the data path never reads it — it runs on what a
deployment built in memory. Every change is one transaction.

A stage holds many **stacks** (apps, as one AWS account holds many CloudFormation
stacks); everything below is per stack:

- A **version** is immutable: a function's code digest plus its configuration's
  fingerprint, numbered per (stack, function) from 1. Publishing what the latest
  version already is returns that version (Lambda's PublishVersion does the same).
- A **deployment** moves one stack of one stage to a set of versions; its ``request``
  is the deploy request as sent (template, parameters, artifact digests), so a
  rollback can rebuild the previous deployment exactly.
- A stack's **current** deployment in a stage is the one its alias points at; a
  deleted stack has none (its history stays).

The schema is versioned (``PRAGMA user_version``); a store written before stacks
existed (version 0) is migrated in one transaction, its deployments becoming those of
the stack :data:`DEFAULT_STACK`.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import orjson

from overcast.errors import OvercastError
from overcast.sqlite_wal import immediate_transaction, open_wal

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
ROLLED_BACK = "RolledBack"
STATUSES = (IN_PROGRESS, SUCCEEDED, FAILED, ROLLED_BACK)
#: the kind of the deployment that deletes a stack from a stage
DELETE = "delete"

#: the stack of deployments made before a stage could hold several
DEFAULT_STACK = "default"
_SCHEMA_VERSION = 2

_TABLES = """
CREATE TABLE IF NOT EXISTS versions (
    stack       TEXT NOT NULL,
    function    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    stage       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    created     REAL NOT NULL,
    PRIMARY KEY (stack, function, version)
);
CREATE TABLE IF NOT EXISTS deployments (
    id          TEXT PRIMARY KEY,
    stage       TEXT NOT NULL,
    stack       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    created     REAL NOT NULL,
    finished    REAL,
    status      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    request     BLOB NOT NULL,
    versions    TEXT NOT NULL,
    message     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    UNIQUE (stage, stack, seq)
);
CREATE TABLE IF NOT EXISTS aliases (
    stage       TEXT NOT NULL,
    stack       TEXT NOT NULL,
    current     TEXT,
    PRIMARY KEY (stage, stack)
);
"""

# Version 0 → 2, around creating _TABLES: the same rows, each in the stack 'default'
# (DEFAULT_STACK).
_RENAME_VERSION_0 = """
ALTER TABLE versions RENAME TO versions_v0;
ALTER TABLE deployments RENAME TO deployments_v0;
"""
_COPY_VERSION_0 = """
INSERT INTO versions SELECT 'default', function, version, stage, fingerprint,
    code_sha256, created FROM versions_v0;
INSERT INTO deployments SELECT id, stage, 'default', seq, created, finished, status,
    kind, request, versions, message, reason FROM deployments_v0;
INSERT INTO aliases SELECT stage, 'default', current FROM stages;
DROP TABLE versions_v0;
DROP TABLE deployments_v0;
DROP TABLE stages;
"""

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class DeployStoreError(OvercastError):
    """The deploy history cannot be read or changed as asked."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment of a stage, as the store keeps it."""

    id: str
    stage: str
    stack: str
    seq: int
    created: float
    status: str
    kind: str  # "deploy" or "rollback"
    request: bytes
    versions: Mapping[str, int]
    message: str = ""
    reason: str = ""
    finished: float | None = None

    def summary(self) -> dict[str, object]:
        """The deployment as the admin API shows it (without the request body)."""
        return {
            "DeploymentId": self.id,
            "Stage": self.stage,
            "Stack": self.stack,
            "Sequence": self.seq,
            "Status": self.status,
            "Kind": self.kind,
            "Created": self.created,
            "Finished": self.finished,
            "Versions": dict(self.versions),
            "Message": self.message,
            "Reason": self.reason,
        }


def new_deployment_id() -> str:
    """An id shaped like CodeDeploy's: ``d-`` and nine capitals or digits."""
    return "d-" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


class DeployStore:
    """Versions, deployments and aliases in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_wal(path, "")
        self._lock = threading.Lock()
        self._migrate()

    def _migrate(self) -> None:
        with self._transaction() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            old = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stages'"
            ).fetchone()
            if version > _SCHEMA_VERSION:
                raise DeployStoreError(
                    f"{self.path} was written by a newer overcast (schema {version})",
                    hint="upgrade overcast, or point the platform at another state folder",
                )
            migrating = version == 0 and old is not None
            scripts = [_RENAME_VERSION_0, _TABLES, _COPY_VERSION_0] if migrating else [_TABLES]
            for script in scripts:
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)

    # --- versions ------------------------------------------------------------------

    def publish(
        self, stack: str, function: str, stage: str, fingerprint: str, code_sha256: str
    ) -> int:
        """The version for this code and configuration: the latest if it matches, else a new one."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT version, fingerprint FROM versions WHERE stack = ? AND function = ? "
                "ORDER BY version DESC LIMIT 1",
                (stack, function),
            ).fetchone()
            if row is not None and row[1] == fingerprint:
                return int(row[0])
            version = 1 if row is None else int(row[0]) + 1
            db.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?, ?)",
                (stack, function, version, stage, fingerprint, code_sha256, time.time()),
            )
            return version

    def versions(self, stack: str, function: str) -> list[tuple[int, str, str]]:
        """Every version of a stack's function: (version, stage that published it, sha256)."""
        rows = self._db.execute(
            "SELECT version, stage, code_sha256 FROM versions WHERE stack = ? AND function = ? "
            "ORDER BY version",
            (stack, function),
        ).fetchall()
        return [(int(v), str(s), str(c)) for v, s, c in rows]

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
        with self._transaction() as db:
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM deployments WHERE stage = ? AND stack = ?",
                (stage, stack),
            ).fetchone()
            seq = int(row[0]) + 1
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
            db.execute(
                "INSERT INTO deployments (id, stage, stack, seq, created, status, kind, request, "
                "versions, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    deployment.id,
                    stage,
                    stack,
                    seq,
                    deployment.created,
                    deployment.status,
                    kind,
                    request,
                    orjson.dumps(deployment.versions).decode(),
                    message,
                ),
            )
        return deployment

    def finish(self, deployment_id: str, status: str, reason: str = "") -> None:
        """End a deployment; a successful one becomes its stack's current deployment
        (a successful ``delete`` leaves the stack with none)."""
        if status not in STATUSES or status == IN_PROGRESS:
            raise DeployStoreError(f"{status!r} is not a final deployment status")
        with self._transaction() as db:
            row = db.execute(
                "SELECT stage, stack, kind FROM deployments WHERE id = ?", (deployment_id,)
            ).fetchone()
            if row is None:
                raise DeployStoreError(f"no deployment {deployment_id!r}")
            db.execute(
                "UPDATE deployments SET status = ?, reason = ?, finished = ? WHERE id = ?",
                (status, reason, time.time(), deployment_id),
            )
            if status == SUCCEEDED:
                current = None if row[2] == DELETE else deployment_id
                db.execute(
                    "INSERT INTO aliases VALUES (?, ?, ?) "
                    "ON CONFLICT (stage, stack) DO UPDATE SET current = excluded.current",
                    (row[0], row[1], current),
                )

    def abandon_unfinished(self) -> int:
        """Mark deployments a stopped platform left in progress as failed; how many."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE deployments SET status = ?, reason = ?, finished = ? WHERE status = ?",
                (FAILED, "the platform stopped during the deployment", time.time(), IN_PROGRESS),
            )
            return cursor.rowcount

    def get(self, deployment_id: str) -> Deployment | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM deployments WHERE id = ?",  # noqa: S608
            (deployment_id,),
        ).fetchone()
        return _deployment(row) if row is not None else None

    def history(self, stage: str, stack: str | None = None, limit: int = 50) -> list[Deployment]:
        """A stage's deployments (of one stack, or of all), newest first."""
        if stack is None:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE stage = ? "  # noqa: S608
                "ORDER BY created DESC LIMIT ?",
                (stage, limit),
            ).fetchall()
        else:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM deployments WHERE stage = ? AND stack = ? "  # noqa: S608
                "ORDER BY seq DESC LIMIT ?",
                (stage, stack, limit),
            ).fetchall()
        return [_deployment(row) for row in rows]

    def current(self, stage: str, stack: str) -> Deployment | None:
        """The deployment a stack's alias in ``stage`` points at, if it has one."""
        row = self._db.execute(
            "SELECT current FROM aliases WHERE stage = ? AND stack = ?", (stage, stack)
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return self.get(str(row[0]))

    def stacks(self, stage: str | None = None) -> dict[tuple[str, str], str]:
        """Every deployed (stage, stack) and its current deployment id."""
        rows = self._db.execute(
            "SELECT stage, stack, current FROM aliases ORDER BY stage, stack"
        ).fetchall()
        return {
            (str(s), str(k)): str(current)
            for s, k, current in rows
            if current is not None and (stage is None or s == stage)
        }

    def previous(self, stage: str, stack: str) -> Deployment | None:
        """The successful deployment before the current one: what a rollback returns to."""
        current = self.current(stage, stack)
        if current is None:
            return None
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM deployments WHERE stage = ? AND stack = ? "  # noqa: S608
            "AND status = ? AND kind != ? AND seq < ? AND request != ? ORDER BY seq DESC LIMIT 1",
            (stage, stack, SUCCEEDED, DELETE, current.seq, current.request),
        ).fetchone()
        return _deployment(row) if row is not None else None


# A constant, so the f-strings below that use it build no query from input.
_COLUMNS = (
    "id, stage, stack, seq, created, status, kind, request, versions, message, reason, finished"
)


def _deployment(row: tuple[object, ...]) -> Deployment:
    (
        id_,
        stage,
        stack,
        seq,
        created,
        status,
        kind,
        request,
        versions,
        message,
        reason,
        finished,
    ) = row
    return Deployment(
        id=str(id_),
        stage=str(stage),
        stack=str(stack),
        seq=int(str(seq)),
        created=float(str(created)),
        status=str(status),
        kind=str(kind),
        request=bytes(request) if isinstance(request, bytes | bytearray | memoryview) else b"",
        versions={str(k): int(v) for k, v in orjson.loads(str(versions)).items()},
        message=str(message),
        reason=str(reason),
        finished=float(str(finished)) if finished is not None else None,
    )
