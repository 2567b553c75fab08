"""A real Runtime reports each invocation to its recorder; the REPORT line ends with its cost."""

from __future__ import annotations

import asyncio
import base64
import re
from decimal import Decimal
from pathlib import Path

import pytest

from overcast.invoke import InvocationReport, InvokeRequest, ThrottledError
from overcast.runtime import Runtime, RuntimeConfig
from overcast.testing import function, write_handler

pytestmark = pytest.mark.slow

PRICE = Decimal("0.0000001234")


class FakeRecorder:
    """Keeps every report and prices each one at a fixed amount."""

    def __init__(self) -> None:
        self.reports: list[InvocationReport] = []

    def record_invocation(self, report: InvocationReport) -> Decimal:
        self.reports.append(report)
        return PRICE


class BrokenRecorder:
    def record_invocation(self, report: InvocationReport) -> Decimal:
        raise RuntimeError("metrics bug")


SOURCE = """
    import time
    def handler(event, context):
        if event.get("fail"):
            raise ValueError("asked to fail")
        time.sleep(event.get("sleep", 0))
        return {"ok": True}
"""


def _runtime(tmp_path: Path, recorder: object, **settings: object) -> Runtime:
    code = write_handler(tmp_path / "code", SOURCE)
    fn = function("fn", code, memory_mb=256, **settings)  # type: ignore[arg-type]
    config = RuntimeConfig(state_dir=str(tmp_path / "state"), stage="qa")
    return Runtime(config, [fn], recorder=recorder)  # type: ignore[arg-type]


def _report_line(tail: bytes) -> str:
    text = base64.b64decode(tail).decode() if not tail.startswith(b"START") else tail.decode()
    return next(line for line in text.splitlines() if line.startswith("REPORT"))


def test_cold_warm_error_and_timeout_are_reported(tmp_path: Path) -> None:
    recorder = FakeRecorder()

    async def scenario() -> list[str]:
        runtime = _runtime(tmp_path, recorder, timeout_s=0.5)
        await runtime.start()
        try:
            lines = []
            for payload in (b"{}", b"{}", b'{"fail": true}', b'{"sleep": 5}'):
                result = await runtime.invoke(
                    InvokeRequest("fn", payload, want_log_tail=True, api_kind="rest")
                )
                lines.append(_report_line(result.log_tail))
            return lines
        finally:
            await runtime.aclose()

    lines = asyncio.run(scenario())
    cold, warm, failed, timed_out = recorder.reports
    assert [r.function_name for r in recorder.reports] == ["fn"] * 4
    assert {(r.stage, r.version, r.memory_mb, r.api_kind) for r in recorder.reports} == {
        ("qa", "$LATEST", 256, "rest")
    }
    assert cold.init_duration_ms is not None
    assert warm.init_duration_ms is None
    assert (cold.error, warm.error, failed.error, timed_out.error) == (False, False, True, True)
    assert (failed.timed_out, timed_out.timed_out) == (False, True)
    assert not any(r.throttled for r in recorder.reports)
    for report, line in zip(recorder.reports, lines, strict=True):
        billed = int(re.search(r"Billed Duration: (\d+) ms", line).group(1))  # type: ignore[union-attr]
        assert report.billed_ms == billed
        assert line.endswith(f"\tCost: {PRICE:.10f} USD\t")
    assert "Init Duration" in lines[0]
    assert lines[0].index("Init Duration") < lines[0].index("Cost")


def test_a_throttled_invocation_is_reported_as_throttled(tmp_path: Path) -> None:
    recorder = FakeRecorder()

    async def scenario() -> None:
        runtime = _runtime(tmp_path, recorder, reserved_concurrency=1, timeout_s=10)
        await runtime.start()
        try:
            slow = asyncio.create_task(runtime.invoke(InvokeRequest("fn", b'{"sleep": 1}')))
            while runtime.instance_count("fn") == 0:
                await asyncio.sleep(0.01)
            with pytest.raises(ThrottledError):
                await runtime.invoke(InvokeRequest("fn", b"{}", api_kind="http"))
            await slow
        finally:
            await runtime.aclose()

    asyncio.run(scenario())
    throttled = [r for r in recorder.reports if r.throttled]
    assert len(throttled) == 1
    assert throttled[0].api_kind == "http"
    assert throttled[0].billed_ms == 0
    assert len(recorder.reports) == 2


def test_a_failing_recorder_costs_nothing_but_the_cost_field(tmp_path: Path) -> None:
    async def scenario() -> tuple[bytes, str]:
        runtime = _runtime(tmp_path, BrokenRecorder())
        await runtime.start()
        try:
            result = await runtime.invoke(InvokeRequest("fn", b"{}", want_log_tail=True))
            return result.payload, _report_line(result.log_tail)
        finally:
            await runtime.aclose()

    payload, line = asyncio.run(scenario())
    assert b'"ok"' in payload
    assert "Cost:" not in line
    assert line.startswith("REPORT RequestId: ")


def test_without_a_recorder_the_report_line_is_lambdas_own(tmp_path: Path) -> None:
    async def scenario() -> str:
        runtime = _runtime(tmp_path, None)
        await runtime.start()
        try:
            result = await runtime.invoke(InvokeRequest("fn", b"{}", want_log_tail=True))
            return _report_line(result.log_tail)
        finally:
            await runtime.aclose()

    line = asyncio.run(scenario())
    assert "Cost:" not in line
    assert line.endswith(" MB\t") or line.endswith(" ms\t")
