"""``overcast node drain``: take one running node out of its load balancer, then stop it.

The node (``overcast up`` for ``--app``, ``overcast serve`` for ``--platform``) is found
by its node file and sent SIGUSR1: it fails its ``/.overcast/healthz`` check for its
drain grace period (requests still reaching it are served), then stops as on SIGTERM,
finishing in-flight requests and asynchronous work.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

err = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group()
def node() -> None:
    """This machine's running node."""


@node.command()
@click.option(
    "--app", "app_dir", type=click.Path(exists=True, path_type=Path), default=".", show_default=True
)
@click.option(
    "--platform",
    "platform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A platform's state folder (`overcast serve --state-dir`) instead of an app's.",
)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait until it exits.")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait for it to exit.")
def drain(app_dir: Path, platform_dir: Path | None, wait: bool, timeout: float) -> None:
    """Fail the node's health check, let the balancer look away, then stop it."""
    from overcast.control.app_loading import find_template, state_dir_for
    from overcast.control.node import read_node_file
    from overcast.errors import OvercastError

    try:
        state_dir = platform_dir or state_dir_for(find_template(app_dir))
    except OvercastError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        sys.exit(1)
    info = read_node_file(state_dir)
    pid = info.get("pid") if info is not None else None
    if not isinstance(pid, int):
        err.print(f"[bold red]error:[/] no node is running for {escape(str(state_dir))}")
        sys.exit(1)
    os.kill(pid, signal.SIGUSR1)
    err.print(f"[green]Draining[/] node {pid} (port {info.get('port') if info else '?'})")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            err.print(f"[bold red]error:[/] node {pid} still runs after {timeout:g} s")
            sys.exit(1)
        time.sleep(0.2)
    err.print(f"[dim]node {pid} stopped[/]")


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs; an exited node its parent has not reaped yet is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:
        return True
    # The state follows the command name, which is in parentheses and may hold spaces.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def register(group: click.Group) -> None:
    """Add ``node`` to the ``overcast`` command group."""
    group.add_command(node)
