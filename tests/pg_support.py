"""A PostgreSQL schema of its own for each test that needs one.

The server is ``OVERCAST_TEST_PG`` (default: the local ``test`` database, trust
auth). Each test gets a fresh schema ``oc_<random>``, dropped afterwards; ``public``
is never touched. Tests are skipped, with the reason, when the server is down.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from overcast.cluster.pg_connection import connect
from overcast.cluster.pg_schema import migrate

PG_URL = os.environ.get("OVERCAST_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is down: {str(exc).strip().splitlines()[0]}"


_DOWN = _reachable()


def needs_postgres() -> pytest.MarkDecorator:
    """Skip (saying why) when the PostgreSQL of the tests cannot be reached."""
    return pytest.mark.skipif(_DOWN is not None, reason=_DOWN or "")


@pytest.fixture
def pg_schema() -> Iterator[str]:
    """A fresh, empty schema; dropped with everything in it after the test."""
    if _DOWN is not None:
        pytest.skip(_DOWN)

    name = f"oc_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {name}")
    try:
        yield name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {name} CASCADE")


@pytest.fixture
def pg_migrated(pg_schema: str) -> str:
    """A fresh schema migrated to the code's version."""
    with connect(PG_URL, schema=pg_schema) as conn:
        migrate(conn)
    return pg_schema
