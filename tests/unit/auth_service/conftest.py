"""The auth service's core in-process, against SQLite and PostgreSQL alike.

``backend`` is parametrized: a SQLite file in the test's tmp dir, and a fresh schema
in the ``test`` database of the local PostgreSQL (127.0.0.1:5432, trust auth) that is
dropped afterwards, so parallel runs never share tables. ``make_service`` builds an
:class:`AuthService` from an environment, with cheap Argon2 parameters and a fake clock.
"""

from __future__ import annotations

import sqlite3
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

AUTH_SRC = Path(__file__).resolve().parents[3] / "examples" / "auth-service" / "src"
if str(AUTH_SRC) not in sys.path:
    sys.path.insert(0, str(AUTH_SRC))

from authcore import AuthService, Config  # noqa: E402
from authcore.keys import load_signing_keys  # noqa: E402
from authcore.store import open_store  # noqa: E402

PG_HOST = "127.0.0.1"
PG_PORT = 5432
PG_DATABASE = "test"
PG_USERS = ("postgres", "root")

#: Argon2 at test cost: the parameters are exercised, not the CPU.
FAST_ARGON2 = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "1024", "ARGON2_PARALLELISM": "1"}


class FakeClock:
    """A settable clock shared by every service of a test."""

    def __init__(self) -> None:
        # Starts at the real time, so tokens also verify with libraries' own clocks.
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _pg_admin_url() -> str:
    errors = []
    for user in PG_USERS:
        url = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DATABASE}"
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.OperationalError as exc:
            errors.append(f"{user}: {exc}")
    pytest.fail(
        f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}/{PG_DATABASE} "
        f"(start it; the suite needs it): {'; '.join(errors)}"
    )


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """A URL to the local PostgreSQL's ``test`` database (fails clearly when it is down)."""
    return _pg_admin_url()


@dataclass
class Backend:
    name: str
    url: str
    admin_url: str | None = None
    schema: str | None = None

    def admin_execute(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        """Run SQL beside the service (PostgreSQL: in its schema; SQLite: on its file)."""
        if self.admin_url is None:
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                rows = conn.execute(sql, params).fetchall()
            conn.close()
            return rows
        with psycopg.connect(
            self.admin_url, autocommit=True, options=f"-c search_path={self.schema}"
        ) as conn:
            cursor = conn.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Where the service stores its data, once per database kind."""
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'auth.sqlite3'}")
        return
    admin_url = request.getfixturevalue("pg_admin_url")
    schema = f"auth_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{admin_url}?options=-csearch_path%3D{schema}&application_name={schema}"
    try:
        yield Backend("postgresql", url, admin_url, schema)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (schema,),
            )
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


MakeService = Callable[..., AuthService]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_service(backend: Backend, tmp_path: Path, clock: FakeClock) -> Iterator[MakeService]:
    """Factory: ``make_service(migrate=True, **env)`` → a service on ``backend``."""
    made: list[AuthService] = []

    def make(migrate: bool = True, **env: str) -> AuthService:
        full = {
            "AUTH_STATE_DIR": str(tmp_path / "state"),
            "DATABASE_URL": backend.url,
            **FAST_ARGON2,
            **env,
        }
        config = Config.from_env(full)
        store = open_store(config)
        if migrate:
            store.migrate()
        keys, development = load_signing_keys(config)
        service = AuthService(config, store, keys, clock, development)
        made.append(service)
        return service

    yield make
    for service in made:
        service.store.close()


@pytest.fixture
def service(make_service: MakeService) -> AuthService:
    """A migrated service with default settings."""
    return make_service()
