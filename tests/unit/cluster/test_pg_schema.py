"""The cluster schema: numbered files applied once each, safely by racing nodes, and a
node refusing a database older or newer than its code."""

from __future__ import annotations

import threading

import pytest

from overcast.cluster import pg_schema as module
from overcast.cluster.errors import SchemaVersionError
from overcast.cluster.pg_connection import connect
from overcast.cluster.pg_schema import check, code_version, database_version, migrate, migrations
from pg_support import PG_URL, pg_schema

pytestmark = [pytest.mark.postgres]
__all__ = ["pg_schema"]


def test_shipped_migrations_are_numbered_from_one_without_gaps() -> None:
    found = migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert found[0].name == "0001_initial.sql"
    assert "IF NOT EXISTS" not in "".join(m.sql for m in found)


def test_migrate_applies_every_file_once_and_then_nothing(pg_schema: str) -> None:
    with connect(PG_URL, schema=pg_schema) as conn:
        assert database_version(conn) == 0
        assert migrate(conn) == list(range(1, code_version() + 1))
        assert migrate(conn) == []
        assert check(conn) == code_version()
        tables = {
            str(row[0])
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                [pg_schema],
            )
        }
    assert {"overcast_schema", "nodes", "deployments", "async_events", "schedule_ticks",
            "master_key_check", "sqs_messages", "metric_rollups"} <= tables  # fmt: skip


def test_two_nodes_migrating_at_once_apply_each_file_once(pg_schema: str) -> None:
    results: list[list[int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def node() -> None:
        try:
            with connect(PG_URL, schema=pg_schema) as conn:
                start.wait()
                results.append(migrate(conn))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=node) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results, key=len) == [[], list(range(1, code_version() + 1))]


def test_a_node_refuses_an_unmigrated_database_naming_the_command(pg_schema: str) -> None:
    with connect(PG_URL, schema=pg_schema) as conn, pytest.raises(SchemaVersionError) as raised:
        check(conn)
    assert "overcast cluster migrate --cluster URL" in raised.value.message
    assert "\n" not in raised.value.message


def test_a_node_refuses_a_database_newer_than_its_code(pg_schema: str) -> None:
    with connect(PG_URL, schema=pg_schema) as conn:
        migrate(conn)
        conn.execute("UPDATE overcast_schema SET version = version + 1")
        with pytest.raises(SchemaVersionError, match="upgrade overcast on this node"):
            check(conn)
        with pytest.raises(SchemaVersionError, match="upgrade overcast on this node"):
            migrate(conn)


def test_a_failing_migration_leaves_the_previous_version(
    pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = [*migrations(), module.Migration(code_version() + 1, "9999_broken.sql", "SELEC 1")]
    with connect(PG_URL, schema=pg_schema) as conn:
        migrate(conn)
        monkeypatch.setattr(module, "migrations", lambda: broken)
        with pytest.raises(Exception, match="SELEC"):
            migrate(conn)
        assert database_version(conn) == len(broken) - 1
