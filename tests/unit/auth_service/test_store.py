"""Storage: explicit migrations, an existing users table, and surviving lost connections."""

from __future__ import annotations

import pytest
from authcore import AuthService
from authcore.config import Config
from authcore.keys import load_signing_keys
from authcore.store import StoreUnavailable, open_store

from .conftest import Backend, MakeService
from .helpers import PASSWORD, bearer, body, login, register, tokens

OWN_TABLES = {
    "refresh_tokens",
    "login_attempts",
    "signing_keys",
    "one_time_tokens",
    "email_verifications",
    "auth_schema_version",
}


def _tables(backend: Backend) -> set[str]:
    if backend.name == "sqlite":
        rows = backend.admin_execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    else:
        rows = backend.admin_execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
            (backend.schema,),
        )
    return {str(row[0]) for row in rows}


def test_requests_before_migration_get_503_and_create_nothing(
    make_service: MakeService, backend: Backend
) -> None:
    service = make_service(migrate=False)
    result = service.register(body(email="a@example.com", password=PASSWORD))
    assert result.status == 503
    assert result.body is not None
    assert "migrated" in result.body["message"]
    assert service.health().status == 503
    assert not (_tables(backend) & OWN_TABLES)


def test_migration_is_explicit_and_idempotent(make_service: MakeService, backend: Backend) -> None:
    service = make_service(migrate=False)
    assert service.migrate().body == {"status": "migrated", "schema_version": 2}
    assert service.migrate().status == 200
    assert _tables(backend) >= OWN_TABLES | {"users"}
    versions = backend.admin_execute("SELECT version FROM auth_schema_version")
    assert sorted(versions) == [(1,), (2,)]
    register(service, "a@example.com")
    assert service.health().body == {
        "status": "ok",
        "database": "ok",
        "signing_keys": "development",
    }


def test_maps_onto_an_existing_users_table(make_service: MakeService, backend: Backend) -> None:
    identity = "INTEGER PRIMARY KEY" if backend.name == "sqlite" else "SERIAL PRIMARY KEY"
    backend.admin_execute(
        f"CREATE TABLE accounts (account_id {identity}, mail TEXT NOT NULL,"
        " pw_digest TEXT, display_name TEXT)"
    )
    backend.admin_execute(
        "INSERT INTO accounts (mail, pw_digest, display_name) VALUES (?, ?, ?)",
        ("legacy@example.com", "", "Legacy User"),
    )
    mapping = {
        "USERS_TABLE": "accounts",
        "USERS_ID_COLUMN": "account_id",
        "USERS_EMAIL_COLUMN": "mail",
        "USERS_PASSWORD_COLUMN": "pw_digest",
        "USERS_ID_TYPE": "integer",
    }
    service = make_service(**mapping)
    assert "users" not in _tables(backend)

    created = register(service, "New@Example.com")
    assert created.body is not None
    assert created.body["id"] == "2"
    issued = tokens(service, "new@example.com")
    me = service.me(bearer(issued["access_token"]))
    assert me.body is not None
    assert me.body["email"] == "new@example.com"
    # The existing row without a usable hash can't log in, and isn't broken by trying.
    assert login(service, "legacy@example.com").status == 401
    assert service.register(body(email="LEGACY@example.com", password=PASSWORD)).status == 409
    rows = backend.admin_execute("SELECT display_name FROM accounts ORDER BY account_id")
    assert rows == [("Legacy User",), (None,)]


def test_bad_mapping_names_are_refused() -> None:
    with pytest.raises(ValueError, match="USERS_TABLE"):
        Config.from_env({"USERS_TABLE": 'users"; DROP TABLE users; --'})


def _kill_connections(backend: Backend, service: AuthService) -> None:
    if backend.name == "sqlite":
        # SQLite has no server to restart; a closed connection is the nearest loss.
        service.store._conn.close()
        return
    killed = backend.admin_execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = ? AND pid <> pg_backend_pid()",
        (backend.schema,),
    )
    assert killed, "the service held no connection to terminate"


def test_reconnects_after_its_connection_is_killed(service: AuthService, backend: Backend) -> None:
    register(service, "a@example.com")
    _kill_connections(backend, service)
    assert login(service, "a@example.com").status == 200
    _kill_connections(backend, service)
    assert service.register(body(email="b@example.com", password=PASSWORD)).status == 201


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_one_connection_per_service_reused_across_calls(
    service: AuthService, backend: Backend
) -> None:
    register(service, "a@example.com")
    for _ in range(5):
        login(service, "a@example.com")
    rows = backend.admin_execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?", (backend.schema,)
    )
    assert rows == [(1,)]


def test_unreachable_database_is_503_not_a_crash(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = Config.from_env(
        {
            "AUTH_STATE_DIR": str(tmp_path),
            # Port 1 on localhost refuses at once.
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2",
            "ARGON2_MEMORY_COST_KIB": "1024",
            "ARGON2_TIME_COST": "1",
        }
    )
    store = open_store(config)  # init survives a database that is down
    with pytest.raises(StoreUnavailable):
        store.ping()
    keys, _ = load_signing_keys(config)
    service = AuthService(config, store, keys)
    assert service.health().status == 503
    result = service.login(body(email="a@example.com", password=PASSWORD), "192.0.2.1")
    assert result.status == 503


def test_a_version_1_database_upgrades_to_2_and_keeps_its_users(
    make_service: MakeService, backend: Backend
) -> None:
    register(make_service(), "old@example.com")
    # Back to what version 1 created: no single-use tokens, no verified addresses.
    backend.admin_execute("DROP TABLE one_time_tokens")
    backend.admin_execute("DROP TABLE email_verifications")
    backend.admin_execute("DELETE FROM auth_schema_version WHERE version = 2")

    upgraded = make_service(migrate=False)
    # New code on the old schema: refused before anything is written.
    refused = upgraded.register(body(email="new@example.com", password=PASSWORD))
    assert refused.status == 503
    assert backend.admin_execute("SELECT COUNT(*) FROM users")[0][0] == 1

    assert upgraded.migrate().body == {"status": "migrated", "schema_version": 2}
    assert login(upgraded, "old@example.com").status == 200
    assert upgraded.forgot_password(body(email="old@example.com")).status == 202
    assert len(backend.admin_execute("SELECT token_hash FROM one_time_tokens")) == 1
