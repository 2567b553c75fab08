"""``overcast events``: how a function's asynchronous invocations stand.

Reads the async queue (``events.sqlite3``) in an app's state folder (``--app``, for
``overcast up``) or a platform's (``--platform``, for ``overcast serve``), beside a
running node without disturbing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overcast.errors import OvercastError

err = Console(stderr=True, highlight=False, soft_wrap=True)


class EventsCliError(OvercastError):
    """The command cannot find the queue asked for."""


def queue_path(app_dir: Path, platform_dir: Path | None) -> Path:
    """Where the async queue of an app (``overcast up``) or a platform is kept."""
    from overcast.control.app_loading import find_template, state_dir_for
    from overcast.events import EVENTS_FILE

    folder = platform_dir if platform_dir is not None else state_dir_for(find_template(app_dir))
    path = folder / EVENTS_FILE
    if not path.is_file():
        raise EventsCliError(
            f"no asynchronous invocations recorded yet in {folder}",
            hint="invoke a function with InvocationType=Event while the app runs",
        )
    return path


@click.command("events")
@click.option("--function", "function", required=True, help="The function's name.")
@click.option(
    "--stage",
    default=None,
    help="Only invocations of this stage (a platform's alias); `$LATEST` under overcast up.",
)
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
def events(function: str, stage: str | None, app_dir: Path, platform_dir: Path | None) -> None:
    """FUNCTION's Event invocations: queued, in flight, retried, failed and delivered."""
    from overcast.events import AsyncQueue

    try:
        queue = AsyncQueue(queue_path(app_dir, platform_dir), recover=False)
    except OvercastError as exc:
        err.print(f"[bold red]error:[/] {escape(exc.message)}")
        if exc.hint:
            err.print(f"[dim]hint:[/] {escape(exc.hint)}")
        sys.exit(1)
    try:
        counts = queue.counts(function, stage)
    finally:
        queue.close()
    where = f" on stage {stage}" if stage else ""
    table = Table(title=f"{function}{where}: asynchronous invocations", title_justify="left")
    for name in ("Queued", "In flight", "Retried", "Failed", "Delivered"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_row(
        str(counts.queued),
        str(counts.in_flight),
        str(counts.retried),
        str(counts.failed),
        str(counts.delivered),
    )
    width = None if sys.stdout.isatty() else 200
    Console(highlight=False, soft_wrap=True, width=width).print(table)


def register(group: click.Group) -> None:
    """Add ``events`` to the ``overcast`` command group."""
    group.add_command(events)
