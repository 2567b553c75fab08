"""The ``pg_schema`` fixture for the auth-service end-to-end tests (helpers: auth_e2e_helpers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from auth_e2e_helpers import PgSchema, pg_admin_url


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    """A fresh schema in the local PostgreSQL, dropped (with its connections) afterwards."""
    admin = pg_admin_url()
    schema = PgSchema(admin, f"auth_e2e_{uuid.uuid4().hex[:12]}")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema.name}"')
    try:
        yield schema
    finally:
        schema.terminate()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema.name}" CASCADE')
