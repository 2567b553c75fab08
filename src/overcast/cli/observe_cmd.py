"""``overcast metrics`` and ``overcast cost``: invocation metrics and spend over time.

Both read the metrics store (``metrics.sqlite3``) in an app's state folder
(``--app``, for ``overcast up``) or a platform's (``--platform``, for
``overcast serve``). A running node or platform flushes into it every minute and
when it stops, so the newest minute may still be missing.
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from overcast.errors import OvercastError

err = Console(stderr=True, highlight=False, soft_wrap=True)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PERIODS = {"1m": 60, "1h": 3600, "1d": 86400}


class MetricsCliError(OvercastError):
    """The command cannot find or read the metrics asked for."""


def parse_window(text: str) -> int:
    """``30s``, ``10m``, ``1h``, ``30d`` → seconds."""
    try:
        value, unit = float(text[:-1]), _UNITS[text[-1]]
    except (KeyError, ValueError, IndexError):
        raise click.BadParameter(
            "use a number and a unit, like 30m, 1h or 30d", param_hint="--since"
        ) from None
    if value <= 0:
        raise click.BadParameter("must be positive", param_hint="--since")
    return int(value * unit)


def store_path(app_dir: Path, platform_dir: Path | None) -> Path:
    """Where the metrics of an app (``overcast up``) or a platform are kept."""
    from overcast.control.app_loading import find_template, state_dir_for
    from overcast.observe.metrics_store import STORE_FILE

    folder = platform_dir if platform_dir is not None else state_dir_for(find_template(app_dir))
    path = folder / STORE_FILE
    if not path.is_file():
        raise MetricsCliError(
            f"no metrics recorded yet in {folder}",
            hint="run the app (`overcast up`) or platform (`overcast serve`) and invoke "
            "something; metrics are stored every minute and on shutdown",
        )
    return path


def _fail(exc: OvercastError) -> None:
    err.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        err.print(f"[dim]hint:[/] {escape(exc.hint)}")
    sys.exit(1)


def _console() -> Console:
    # Piped output (scripts, tests) gets whole rows rather than rich's 80-column wrap.
    return Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 200)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _usd(value: Decimal) -> str:
    return f"{value:.8f}"


_APP_OPTION = click.option(
    "--app", "app_dir", type=click.Path(exists=True, path_type=Path), default=".", show_default=True
)
_PLATFORM_OPTION = click.option(
    "--platform",
    "platform_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A platform's state folder (`overcast serve --state-dir`) instead of an app's.",
)


@click.command("metrics")
@click.argument("function")
@_APP_OPTION
@_PLATFORM_OPTION
@click.option("--stage", default=None, help="Only this stage (`local` under overcast up).")
@click.option("--since", default="1h", show_default=True, help="How far back: 30m, 6h, 7d…")
@click.option(
    "--period",
    type=click.Choice(sorted(_PERIODS)),
    default=None,
    help="Row length; default: the finest one kept that far back (1m for a day, then 1h).",
)
def metrics(
    function: str,
    app_dir: Path,
    platform_dir: Path | None,
    stage: str | None,
    since: str,
    period: str | None,
) -> None:
    """FUNCTION's invocations, errors, durations, cold starts, memory and cost per period."""
    from overcast.observe.metrics_store import MetricsStore

    now = time.time()
    start = now - parse_window(since)
    try:
        store = MetricsStore(store_path(app_dir, platform_dir))
    except OvercastError as exc:
        _fail(exc)
        return
    try:
        points = store.series(
            function,
            since=start,
            until=now,
            stage=stage,
            seconds=_PERIODS[period] if period else None,
        )
    finally:
        store.close()
    where = f" on stage {stage}" if stage else ""
    table = Table(title=f"{function}{where}, last {since}", title_justify="left")
    for name in (
        "Period (UTC)",
        "Invocations",
        "Errors",
        "Throttles",
        "p50 ms",
        "p99 ms",
        "Cold starts",
        "Max memory MB",
        "Cost USD",
    ):
        table.add_column(
            name, justify="left" if name.startswith("Period") else "right", no_wrap=True
        )
    for point in points:
        t = point.totals
        fmt = "%Y-%m-%d %H:%M" if point.seconds < 86_400 else "%Y-%m-%d"
        table.add_row(
            time.strftime(fmt, time.gmtime(point.start)),
            str(t.invocations),
            str(t.errors),
            str(t.throttles),
            _ms(t.percentile(0.5)),
            _ms(t.percentile(0.99)),
            str(t.cold_starts),
            str(t.max_memory_mb),
            _usd(t.cost),
        )
    console = _console()
    if not points:
        err.print(f"no invocations of {escape(function)}{escape(where)} in the last {since}")
        return
    console.print(table)


@click.command("cost")
@_APP_OPTION
@_PLATFORM_OPTION
@click.option("--stage", default=None, help="Only this stage (`local` under overcast up).")
@click.option("--since", default="30d", show_default=True, help="How far back: 24h, 7d, 30d…")
def cost(app_dir: Path, platform_dir: Path | None, stage: str | None, since: str) -> None:
    """Spend by function over a window, and this month's spend with a month-end forecast."""
    from overcast.observe.forecast import month_bounds, month_forecast
    from overcast.observe.metrics_store import MetricsStore

    now = time.time()
    start = now - parse_window(since)
    try:
        store = MetricsStore(store_path(app_dir, platform_dir))
    except OvercastError as exc:
        _fail(exc)
        return
    try:
        spent = store.totals_by_function(since=start, until=now, stage=stage)
        month_start, _ = month_bounds(now)
        this_month = store.totals_by_function(since=month_start, until=now, stage=stage)
    finally:
        store.close()
    where = f"stage {stage}" if stage else "all stages"
    table = Table(title=f"spend by function, {where}, last {since}", title_justify="left")
    for name in ("Stage", "Function", "Invocations", "Errors", "Billed s", "Cost USD"):
        table.add_column(
            name, justify="left" if name in ("Stage", "Function") else "right", no_wrap=True
        )
    total = Decimal(0)
    for (stage_name, function), t in spent.items():
        total += t.cost
        table.add_row(
            stage_name,
            function,
            str(t.invocations),
            str(t.errors),
            f"{t.billed_ms / 1000:.3f}",
            _usd(t.cost),
        )
    table.add_section()
    table.add_row("", "total", "", "", "", _usd(total))
    console = _console()
    console.print(table)
    month_spent = sum((t.cost for t in this_month.values()), Decimal(0))
    month_name = time.strftime("%B %Y", time.gmtime(now))
    console.print(
        f"{month_name} so far: {_usd(month_spent)} USD; "
        f"month-end forecast: {_usd(month_forecast(month_spent, now))} USD"
    )


def register(group: click.Group) -> None:
    """Add ``metrics`` and ``cost`` to the ``overcast`` command group."""
    group.add_command(metrics)
    group.add_command(cost)
