"""Benchmark: asynchronous (Event) invocations through the durable queue.

An Event invocation is stored in SQLite (WAL, synchronous FULL) before its 202, then
claimed, run and settled — three transactions, each fsync'd. This measures what that
costs against running the same invocations directly, in the same run: a no-op handler
on a sandboxed runtime, ``--events`` invocations at ``--concurrency`` at once,

- baseline: ``runtime.invoke`` directly, ``--concurrency`` callers in a loop;
- queued: every event submitted through the Dispatcher as the Lambda API does, by
  ``--concurrency`` clients one submit at a time each (the time to accept them all is
  the 202 path), and drained by it meanwhile.

Printed: events/s for each, accepted/s, the ratio, and the p50/p99 of submit → handler
start latency for the queued run.

Run: .venv/bin/python benchmarks/bench_async.py [--events 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import orjson
import uvloop
from harness import emit

from overcast.events import EVENTS_FILE, AsyncQueue, AsyncSettings, Dispatcher
from overcast.invoke import InvokeRequest
from overcast.testing import function, running_runtime, write_handler

HANDLER = """
import time

def handler(event, context):
    return {"started": time.time()}
"""

ARN = "arn:aws:lambda:us-east-1:123456789012:function:Noop"


async def direct(runtime: object, events: int, concurrency: int) -> float:
    """Seconds for ``events`` invocations straight into the runtime."""
    left = iter(range(events))

    async def caller() -> None:
        for _ in left:
            await runtime.invoke(InvokeRequest("Noop", b"{}"))  # type: ignore[attr-defined]

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return time.perf_counter() - started


class _Timing:
    """An invoker that notes when each event's handler call began."""

    def __init__(self, runtime: object) -> None:
        self.runtime = runtime
        self.started: dict[str, float] = {}

    async def invoke(self, request: InvokeRequest) -> object:
        self.started.setdefault(request.request_id or "", time.time())
        return await self.runtime.invoke(request)  # type: ignore[attr-defined]


async def queued(
    runtime: object, folder: Path, events: int, concurrency: int
) -> tuple[float, float, list[float]]:
    """Seconds to accept, seconds to settle everything, submit → start latencies (ms)."""
    queue = AsyncQueue(folder / EVENTS_FILE)
    timing = _Timing(runtime)
    settings = AsyncSettings(function_arn=ARN, concurrency=concurrency)
    dispatcher = Dispatcher(queue, timing, lambda _name, _qualifier: settings)  # type: ignore[arg-type]
    loop_task = asyncio.create_task(dispatcher.run())
    submitted: dict[str, float] = {}
    left = iter(range(events))

    async def client() -> None:
        # as one HTTP client of the Lambda API would: one submit at a time
        for i in left:
            at = time.time()
            rid = await dispatcher.submit(InvokeRequest("Noop", orjson.dumps({"i": i})))
            submitted[rid] = at

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    accepted = time.perf_counter() - started
    while queue.counts("Noop").delivered < events:
        await asyncio.sleep(0.01)
    settled = time.perf_counter() - started
    await dispatcher.aclose()
    loop_task.cancel()
    queue.close()
    latencies = [(timing.started[rid] - at) * 1000 for rid, at in submitted.items()]
    return accepted, settled, latencies


async def main(events: int, concurrency: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        code = write_handler(folder / "code", HANDLER)
        config = function("Noop", code, memory_mb=128, timeout_s=10)
        async with running_runtime(folder, [config]) as runtime:
            await direct(runtime, concurrency * 4, concurrency)  # warm the instances
            base_s = await direct(runtime, events, concurrency)
            accepted_s, settled_s, latencies = await queued(runtime, folder, events, concurrency)
    base_rate = events / base_s
    queued_rate = events / settled_s
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"direct {base_rate:,.0f} invocations/s; queued {queued_rate:,.0f} events/s "
        f"→ ratio {queued_rate / base_rate:.2f}; accepted {events / accepted_s:,.0f}/s; "
        f"submit → handler start p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    emit(
        "async",
        {
            "events": events,
            "concurrency": concurrency,
            "direct_per_s": round(base_rate, 1),
            "queued_per_s": round(queued_rate, 1),
            "accepted_per_s": round(events / accepted_s, 1),
            "ratio": round(queued_rate / base_rate, 3),
            "start_latency_p50_ms": round(p50, 2),
            "start_latency_p99_ms": round(p99, 2),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    uvloop.run(main(args.events, args.concurrency))
