"""``overcast cluster``: the shared PostgreSQL of cluster mode.

``migrate`` brings the database's schema up to this overcast's version (safe to run
from several nodes at once); ``status`` lists the registered nodes. Neither needs a
node running. Cluster mode's driver (psycopg, the ``cluster`` extra) is imported
inside the commands, so the rest of the CLI works without it.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overcast.errors import OvercastError

err = Console(stderr=True, highlight=False, soft_wrap=True)

_cluster_option = click.option(
    "--cluster",
    "url",
    envvar="OVERCAST_CLUSTER",
    required=True,
    help="The cluster's PostgreSQL, postgresql://user@host:port/database ($OVERCAST_CLUSTER).",
)
_schema_option = click.option(
    "--schema",
    default=None,
    help="The PostgreSQL schema holding overcast's tables (default: the URL's search path).",
)


def _fail(exc: OvercastError) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        err.print(f"[dim]hint:[/] {escape(exc.hint)}")
    sys.exit(1)


def _driver_missing() -> NoReturn:
    _fail(
        OvercastError(
            "cluster mode needs the PostgreSQL driver psycopg",
            hint="pip install 'overcast[cluster]'",
        )
    )


@click.group("cluster")
def cluster() -> None:
    """Cluster mode's shared database: schema migrations and node status."""


@cluster.command("migrate")
@_cluster_option
@_schema_option
def migrate(url: str, schema: str | None) -> None:
    """Apply the schema migrations this overcast ships that the database lacks."""
    try:
        from overcast.cluster.pg_connection import connect
        from overcast.cluster.pg_schema import code_version
        from overcast.cluster.pg_schema import migrate as run_migrations
    except ImportError:
        _driver_missing()
    try:
        with connect(url, schema=schema) as conn:
            applied = run_migrations(conn)
    except OvercastError as exc:
        _fail(exc)
    if applied:
        listed = ", ".join(str(v) for v in applied)
        err.print(f"[green]Migrated[/] to schema {applied[-1]} (applied {listed})")
    else:
        err.print(f"Schema {code_version()} is current; nothing to do")


@cluster.command("status")
@_cluster_option
@_schema_option
def status(url: str, schema: str | None) -> None:
    """The nodes registered in the cluster: address, last heartbeat, version and state."""
    try:
        from overcast.cluster.node_registry import NodeRegistry
        from overcast.cluster.pg_connection import connect
        from overcast.cluster.pg_schema import check
    except ImportError:
        _driver_missing()
    try:
        with connect(url, schema=schema) as conn:
            version = check(conn)
            registry = NodeRegistry(conn)
            nodes = registry.list()
    except OvercastError as exc:
        _fail(exc)
    table = Table(title=f"cluster nodes (schema {version})", title_justify="left", show_lines=False)
    for name in ("Node", "Address", "Heartbeat", "Version", "State"):
        table.add_column(name, no_wrap=True)
    for node in nodes:
        state = node.state
        if state != "stopped" and not node.is_live(registry.stale_after_s):
            state_text = f"[red]{state}, silent[/]"
        else:
            state_text = state
        table.add_row(
            escape(node.name),
            escape(node.address),
            f"{node.heartbeat_age_s:.0f}s ago",
            escape(node.version),
            state_text,
        )
    width = None if sys.stdout.isatty() else 200
    Console(highlight=False, soft_wrap=True, width=width).print(table)
    if not nodes:
        err.print("[dim]no node has registered yet[/]")


def register(group: click.Group) -> None:
    """Add ``cluster`` to the ``overcast`` command group."""
    group.add_command(cluster)
