"""Helpers for running examples/auth-service under ``overcast up``.

Argon2 runs at test cost through the template's parameters (the defaults stay
production-grade). ``pg_schema`` gives a PostgreSQL URL into a fresh schema whose
connections carry a unique ``application_name``, dropped after the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

PG_URLS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")

FAST = (
    "Argon2TimeCost=1",
    "Argon2MemoryCostKiB=1024",
    "Argon2Parallelism=1",
)


def migrate(app: Any) -> dict[str, object]:
    """Run MigrateFunction through the signed Lambda Invoke API, as `overcast invoke` would."""
    with app.admin_client() as client:
        response = client.post("/2015-03-31/functions/MigrateFunction/invocations", content=b"{}")
    assert response.status_code == 200, response.text
    assert "X-Amz-Function-Error" not in response.headers, response.text
    result: dict[str, object] = response.json()
    return result


@dataclass
class PgSchema:
    admin_url: str
    name: str

    @property
    def database_url(self) -> str:
        return f"{self.admin_url}?options=-csearch_path%3D{self.name}&application_name={self.name}"

    def connections(self) -> int:
        """Open connections of the app (by its application_name)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (self.name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def terminate(self) -> int:
        """Kill the app's connections, as a database restart would."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (self.name,),
            ).fetchall()
        return len(rows)


def pg_admin_url() -> str:
    """The local PostgreSQL's ``test`` database; fails the test clearly when it is down."""
    errors = []
    for url in PG_URLS:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.OperationalError as exc:
            errors.append(str(exc))
    pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432/test: {errors}")
