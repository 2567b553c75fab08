"""Connections to the cluster's PostgreSQL, each pinned to one schema.

Every store takes the cluster URL and an optional ``schema``: the tables live in that
schema (tests give each test its own), else in the URL's default search path.
"""

from __future__ import annotations

import re

import psycopg

from overcast.cluster.errors import ClusterError

_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def connect(url: str, *, schema: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection (callers open their own transactions) to ``url``."""
    options = ""
    if schema is not None:
        if not _SCHEMA_NAME.fullmatch(schema):
            raise ClusterError(f"{schema!r} is not a valid schema name (a-z, 0-9, _)")
        options = f"-c search_path={schema}"
    try:
        return psycopg.connect(url, autocommit=True, options=options)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(
            f"cannot connect to the cluster database: {first}",
            hint="check --cluster (postgresql://user@host:port/database) and that it is up",
        ) from exc
