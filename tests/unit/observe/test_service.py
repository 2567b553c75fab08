"""The metrics service: what the environment asks for, and flushing into the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from overcast.invoke import InvocationReport
from overcast.observe.errors import ObserveError
from overcast.observe.metrics_store import MetricsStore
from overcast.observe.service import MetricsService, metrics_enabled

NOW = 1_800_000_000.0


def _report(function: str = "fn") -> InvocationReport:
    return InvocationReport(
        function_name=function,
        version="$LATEST",
        stage="local",
        duration_ms=2.0,
        billed_ms=2,
        memory_mb=128,
    )


def test_metrics_are_on_unless_switched_off() -> None:
    assert metrics_enabled({})
    assert metrics_enabled({"OVERCAST_METRICS": "on"})
    for off in ("off", "OFF", "0", "false", "no"):
        assert not metrics_enabled({"OVERCAST_METRICS": off})


def test_from_environ(tmp_path: Path) -> None:
    assert MetricsService.from_environ(tmp_path, {"OVERCAST_METRICS": "off"}) is None
    assert not (tmp_path / "metrics.sqlite3").exists()
    service = MetricsService.from_environ(tmp_path, {"OVERCAST_METRICS_FLUSH_S": "5"})
    assert service is not None
    assert service.flush_every_s == 5.0
    asyncio.run(service.aclose())
    with pytest.raises(ObserveError):
        MetricsService.from_environ(tmp_path, {"OVERCAST_METRICS_FLUSH_S": "soon"})


def test_flush_stores_the_open_minute_and_later_writes_add_to_it(tmp_path: Path) -> None:
    service = MetricsService(tmp_path, clock=lambda: NOW)
    service.metrics.record_invocation(_report())
    service.flush()
    service.metrics.record_invocation(_report())
    service.metrics.record_invocation(_report("other"))
    asyncio.run(service.aclose())  # the last flush
    store = MetricsStore(tmp_path / "metrics.sqlite3")
    try:
        [point] = store.series("fn", since=NOW - 3_600, until=NOW + 60)
        assert point.totals.invocations == 2
        totals = store.totals_by_function(since=NOW - 3_600, until=NOW + 60)
        assert {k: t.invocations for k, t in totals.items()} == {
            ("local", "fn"): 2,
            ("local", "other"): 1,
        }
    finally:
        store.close()


def test_the_background_flush_runs_until_cancelled(tmp_path: Path) -> None:
    service = MetricsService(tmp_path, flush_every_s=0.01)

    async def scenario() -> int:
        task = asyncio.create_task(service.run())
        service.metrics.record_invocation(_report())
        while not service.store.row_count():
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await service.aclose()
        return 0

    asyncio.run(scenario())
