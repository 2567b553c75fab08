"""``overcast cluster migrate`` and ``status`` against a real PostgreSQL."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from overcast.cli.main import cli
from overcast.cluster.node_registry import NodeRegistry
from overcast.cluster.pg_connection import connect
from pg_support import PG_URL, pg_schema

pytestmark = [pytest.mark.postgres]
__all__ = ["pg_schema"]


def test_migrate_then_status_lists_the_registered_nodes(pg_schema: str) -> None:
    runner = CliRunner()
    args = ["--cluster", PG_URL, "--schema", pg_schema]
    migrated = runner.invoke(cli, ["cluster", "migrate", *args])
    assert migrated.exit_code == 0, migrated.output
    assert "Migrated to schema 1" in migrated.output
    again = runner.invoke(cli, ["cluster", "migrate", *args])
    assert "nothing to do" in again.output
    with connect(PG_URL, schema=pg_schema) as conn:
        NodeRegistry(conn).register("node-a", "10.0.0.1:8000", "0.1.0")
        shown = runner.invoke(cli, ["cluster", "status", *args])
    assert shown.exit_code == 0, shown.output
    assert "node-a" in shown.output
    assert "10.0.0.1:8000" in shown.output
    assert "active" in shown.output
    with connect(PG_URL, schema=pg_schema) as conn:
        conn.execute("UPDATE nodes SET heartbeat_at = now() - interval '1 hour'")
    silent = runner.invoke(cli, ["cluster", "status", *args])
    assert "silent" in silent.output


def test_status_of_an_unmigrated_database_names_the_migrate_command(pg_schema: str) -> None:
    result = CliRunner().invoke(cli, ["cluster", "status", "--cluster", PG_URL,
                                      "--schema", pg_schema])  # fmt: skip
    assert result.exit_code == 1
    assert "overcast cluster migrate --cluster URL" in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_cluster_is_a_one_line_error() -> None:
    result = CliRunner().invoke(
        cli, ["cluster", "status", "--cluster", "postgresql://nobody@127.0.0.1:1/none"]
    )
    assert result.exit_code == 1
    assert "cannot connect to the cluster database" in result.output
    assert "Traceback" not in result.output
