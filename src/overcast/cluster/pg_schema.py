"""The cluster database's versioned schema: numbered SQL files applied in order.

Theory of operation
-------------------
``migrations/NNNN_name.sql`` are shipped with the package; file N takes the schema
from version N-1 to N and is never edited once released. ``overcast_schema`` (one
row, created by file 1) holds the version reached. :func:`migrate` holds a
session advisory lock (per schema) while it reads the version and applies each
missing file in a transaction of its own, the version bump in the same transaction:
two nodes migrating at once take turns, and the second finds nothing left to do; a
file that fails leaves the schema at the previous version. :func:`check` is what a
node runs at start: it refuses a database older or newer than its code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from overcast.cluster.errors import SchemaVersionError

_FILE_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
#: the advisory lock's key space: one lock per schema name
_LOCK_NAMESPACE = "overcast:migrate:"


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    sql: str


def migrations() -> list[Migration]:
    """The shipped migrations, in order; numbered 1, 2, ... without gaps."""
    found: list[Migration] = []
    folder = resources.files("overcast.cluster").joinpath("migrations")
    for entry in folder.iterdir():
        match = _FILE_NAME.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise SchemaVersionError(f"migration {expected:04d} is missing from the package")
    return found


def code_version() -> int:
    """The schema version this overcast was built for."""
    return len(migrations())


def database_version(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The version the database is at (0: never migrated)."""
    row = conn.execute("SELECT to_regclass('overcast_schema') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    row = conn.execute("SELECT version FROM overcast_schema").fetchone()
    return 0 if row is None else int(str(row[0]))


def migrate(conn: psycopg.Connection[tuple[object, ...]]) -> list[int]:
    """Apply the missing migrations; the versions applied (empty: already current)."""
    applied: list[int] = []
    lock = [_LOCK_NAMESPACE]
    conn.execute("SELECT pg_advisory_lock(hashtext(%s || current_schema()))", lock)
    try:
        current = database_version(conn)
        newest = code_version()
        if current > newest:
            raise _newer(current, newest)
        for migration in migrations()[current:]:
            with conn.transaction():
                conn.execute(migration.sql.encode())
                conn.execute(
                    "UPDATE overcast_schema SET version = %s, migrated_at = now()",
                    [migration.version],
                )
            applied.append(migration.version)
    finally:
        conn.execute("SELECT pg_advisory_unlock(hashtext(%s || current_schema()))", lock)
    return applied


def check(conn: psycopg.Connection[tuple[object, ...]]) -> int:
    """The database's version when it is the code's; else a one-line error naming the fix."""
    current = database_version(conn)
    newest = code_version()
    if current < newest:
        raise SchemaVersionError(
            f"the cluster database is at schema {current}, this overcast needs {newest}: "
            "run `overcast cluster migrate --cluster URL`",
            hint="migrating is safe while other nodes run it too",
        )
    if current > newest:
        raise _newer(current, newest)
    return current


def _newer(current: int, newest: int) -> SchemaVersionError:
    return SchemaVersionError(
        f"the cluster database is at schema {current}, newer than this overcast's {newest}: "
        "upgrade overcast on this node",
        hint="every node of a cluster runs the same overcast version",
    )
