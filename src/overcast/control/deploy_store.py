"""The platform's deploy history: function versions, deployments and each stage's alias.

SQLite in WAL mode under the platform's state folder (the control plane's embedded
store, DESIGN.md "State"); the data path never reads it — it runs on what a
deployment built in memory. Every change is one transaction.

- A **version** is immutable: a function's code digest plus its configuration's
  fingerprint, numbered per function from 1. Publishing what the latest version
  already is returns that version (Lambda's PublishVersion does the same).
- A **deployment** moves one stage to a set of versions; its ``request`` is the
  deploy request as sent (template, parameters, artifact digests), so a rollback can
  rebuild the previous deployment exactly.
- A stage's **current** deployment is the one its alias points at.
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

_SCHEMA = """
CREATE TABLE IF NOT EXISTS versions (
    function    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    stage       TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    code_sha256 TEXT NOT NULL,
    created     REAL NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS deployments (
    id          TEXT PRIMARY KEY,
    stage       TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    created     REAL NOT NULL,
    finished    REAL,
    status      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    request     BLOB NOT NULL,
    versions    TEXT NOT NULL,
    message     TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    UNIQUE (stage, seq)
);
CREATE TABLE IF NOT EXISTS stages (
    stage       TEXT PRIMARY KEY,
    current     TEXT
);
"""

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class DeployStoreError(OvercastError):
    """The deploy history cannot be read or changed as asked."""


@dataclass(frozen=True, slots=True)
class Deployment:
    """One deployment of a stage, as the store keeps it."""

    id: str
    stage: str
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
        self._db = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)

    # --- versions ------------------------------------------------------------------

    def publish(self, function: str, stage: str, fingerprint: str, code_sha256: str) -> int:
        """The version for this code and configuration: the latest if it matches, else a new one."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT version, fingerprint FROM versions WHERE function = ? "
                "ORDER BY version DESC LIMIT 1",
                (function,),
            ).fetchone()
            if row is not None and row[1] == fingerprint:
                return int(row[0])
            version = 1 if row is None else int(row[0]) + 1
            db.execute(
                "INSERT INTO versions VALUES (?, ?, ?, ?, ?, ?)",
                (function, version, stage, fingerprint, code_sha256, time.time()),
            )
            return version

    def versions(self, function: str) -> list[tuple[int, str, str]]:
        """Every version of ``function``: (version, stage that published it, code sha256)."""
        rows = self._db.execute(
            "SELECT version, stage, code_sha256 FROM versions WHERE function = ? ORDER BY version",
            (function,),
        ).fetchall()
        return [(int(v), str(s), str(c)) for v, s, c in rows]

    # --- deployments ---------------------------------------------------------------

    def create(
        self,
        stage: str,
        request: bytes,
        versions: Mapping[str, int],
        *,
        kind: str = "deploy",
        message: str = "",
    ) -> Deployment:
        """Record a new deployment of ``stage``, in progress."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM deployments WHERE stage = ?", (stage,)
            ).fetchone()
            seq = int(row[0]) + 1
            deployment = Deployment(
                id=new_deployment_id(),
                stage=stage,
                seq=seq,
                created=time.time(),
                status=IN_PROGRESS,
                kind=kind,
                request=request,
                versions=dict(versions),
                message=message,
            )
            db.execute(
                "INSERT INTO deployments (id, stage, seq, created, status, kind, request, "
                "versions, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    deployment.id,
                    stage,
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
        """End a deployment; a successful one becomes its stage's current deployment."""
        if status not in STATUSES or status == IN_PROGRESS:
            raise DeployStoreError(f"{status!r} is not a final deployment status")
        with self._transaction() as db:
            row = db.execute(
                "SELECT stage FROM deployments WHERE id = ?", (deployment_id,)
            ).fetchone()
            if row is None:
                raise DeployStoreError(f"no deployment {deployment_id!r}")
            db.execute(
                "UPDATE deployments SET status = ?, reason = ?, finished = ? WHERE id = ?",
                (status, reason, time.time(), deployment_id),
            )
            if status == SUCCEEDED:
                db.execute(
                    "INSERT INTO stages VALUES (?, ?) "
                    "ON CONFLICT (stage) DO UPDATE SET current = excluded.current",
                    (row[0], deployment_id),
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

    def history(self, stage: str, limit: int = 50) -> list[Deployment]:
        """The stage's deployments, newest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM deployments WHERE stage = ? ORDER BY seq DESC LIMIT ?",  # noqa: S608
            (stage, limit),
        ).fetchall()
        return [_deployment(row) for row in rows]

    def current(self, stage: str) -> Deployment | None:
        """The deployment the stage's alias points at, if it has one."""
        row = self._db.execute("SELECT current FROM stages WHERE stage = ?", (stage,)).fetchone()
        if row is None or row[0] is None:
            return None
        return self.get(str(row[0]))

    def stages(self) -> dict[str, str]:
        """Every deployed stage and its current deployment id."""
        rows = self._db.execute("SELECT stage, current FROM stages ORDER BY stage").fetchall()
        return {str(stage): str(current) for stage, current in rows if current is not None}

    def previous(self, stage: str) -> Deployment | None:
        """The successful deployment before the current one: what a rollback returns to."""
        current = self.current(stage)
        if current is None:
            return None
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM deployments WHERE stage = ? AND status = ? AND seq < ? "  # noqa: S608
            "AND request != ? ORDER BY seq DESC LIMIT 1",
            (stage, SUCCEEDED, current.seq, current.request),
        ).fetchone()
        return _deployment(row) if row is not None else None


# A constant, so the f-strings below that use it build no query from input.
_COLUMNS = "id, stage, seq, created, status, kind, request, versions, message, reason, finished"


def _deployment(row: tuple[object, ...]) -> Deployment:
    (id_, stage, seq, created, status, kind, request, versions, message, reason, finished) = row
    return Deployment(
        id=str(id_),
        stage=str(stage),
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
