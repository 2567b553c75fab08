"""``overcast cluster lb-config``: the load balancer's configuration for the cluster's nodes.

The nodes come from repeated ``--node NAME=HOST:PORT`` (each node's data port) until the
node registry feeds the same renderer. :func:`register` adds the command to the
``cluster`` group, creating the group when no other module has.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

from overcast.errors import OvercastError

err = Console(stderr=True, highlight=False, soft_wrap=True)


@click.command("lb-config")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["haproxy", "nginx"]),
    default="haproxy",
    show_default=True,
    help="Which balancer's configuration to write.",
)
@click.option(
    "--node",
    "nodes",
    multiple=True,
    required=True,
    metavar="NAME=HOST:PORT",
    help="A node's data port (repeat for each node).",
)
@click.option(
    "--listen",
    default=":8080",
    show_default=True,
    metavar="[HOST]:PORT",
    help="Where the balancer listens.",
)
@click.option(
    "--stats-socket",
    default=None,
    metavar="PATH",
    help="HAProxy: open its runtime API here (show stat, set server ... state drain).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the file here (default: standard output).",
)
def lb_config(
    fmt: str, nodes: tuple[str, ...], listen: str, stats_socket: str | None, output: Path | None
) -> None:
    """Write an HAProxy (or nginx) configuration balancing the given nodes."""
    from overcast.cluster.lb_config import LbSettings, parse_listen, parse_node, render
    from overcast.durable_files import atomic_write

    try:
        host, port = parse_listen(listen)
        text = render(
            [parse_node(spec) for spec in nodes],
            LbSettings(listen_host=host, listen_port=port, stats_socket=stats_socket),
            "nginx" if fmt == "nginx" else "haproxy",
        )
    except OvercastError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        sys.exit(1)
    if output is None:
        click.echo(text, nl=False)
    else:
        atomic_write(output, text.encode())
        err.print(f"[green]Wrote[/] {escape(str(output))} ({fmt}, {len(nodes)} node(s))")


@click.group("cluster")
def _cluster() -> None:
    """Cluster mode: many nodes behind one load balancer."""


def register(group: click.Group) -> None:
    """Add ``lb-config`` to ``group``'s ``cluster`` group (made here when absent).

    Register after any module that adds the ``cluster`` group itself, so the command
    lands in that group rather than in one it replaces.
    """
    cluster = group.commands.get("cluster")
    if not isinstance(cluster, click.Group):
        cluster = _cluster
        group.add_command(cluster)
    cluster.add_command(lb_config)
