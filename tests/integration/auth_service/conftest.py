"""The ``pg_schema`` fixture for the auth-service end-to-end tests (helpers: auth_e2e_helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from auth_e2e_helpers import PgSchema


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    """A fresh schema in the local PostgreSQL, dropped (with its connections) afterwards."""
    schema = PgSchema.create()
    try:
        yield schema
    finally:
        schema.drop()
