"""Benchmark: SQS messages through an event source mapping into a no-op function.

The queue is overcast's SQS store (SQLite WAL, synchronous FULL: every send, receive
and delete a committed transaction); the function a no-op on a sandboxed runtime. In
one run:

- baselines: the same work as direct invocations, ``--messages``/10 invocations of a
  ten-record SQS event by ``--concurrency`` callers (no queue at all); and a plain
  receive → invoke → delete loop over the same store by ``--concurrency`` workers while
  the same senders send (the queue's own cost, with no mapping);
- throughput: ``--messages`` sent ten at a time (SendMessageBatch's store path, by
  ``--concurrency`` senders) while a mapping with BatchSize 10 and MaximumConcurrency
  ``--concurrency`` drains the queue: received, invoked, deleted;
- latency: an idle mapping waiting on the queue (its long poll); one message sent at a
  time, ``--samples`` times: send → handler start (the handler reports its start time).

Printed: messages/s for each, the mapping's ratio to the plain loop, and the p50/p99
of send → handler start.

Run: .venv/bin/python benchmarks/bench_sqs.py [--messages 20000] [--concurrency 4]
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

from overcast.events.sqs_event import sqs_event_payload
from overcast.events.sqs_poller import EventSourceMapping, MappingTarget
from overcast.events.sqs_store import NewMessage, Received, SqsStore
from overcast.invoke import InvokeRequest, InvokeResult
from overcast.testing import function, running_runtime, write_handler

HANDLER = """
import time

def handler(event, context):
    return {"started": time.time()}
"""
QUEUE = "bench"
ARN = f"arn:aws:sqs:us-east-1:123456789012:{QUEUE}"


class Queues:
    """The SQS API's part a mapping uses: the store and a wake-up per send."""

    def __init__(self, store: SqsStore) -> None:
        self.store = store
        self._arrivals: dict[str, asyncio.Event] = {}

    def arrival(self, name: str) -> asyncio.Event:
        return self._arrivals.setdefault(name, asyncio.Event())

    async def send_batch(self, bodies: list[str]) -> float:
        """Send as SendMessageBatch does; the wall-clock time it was accepted."""
        await asyncio.to_thread(self.store.send_batch, QUEUE, [NewMessage(b) for b in bodies])
        at = time.time()
        event = self._arrivals.pop(QUEUE, None)
        if event is not None:
            event.set()
        return at


class _Starts:
    """An invoker that keeps each invocation's handler start time."""

    def __init__(self, runtime: object) -> None:
        self.runtime = runtime
        self.starts: list[float] = []

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        result: InvokeResult = await self.runtime.invoke(request)  # type: ignore[attr-defined]
        self.starts.append(float(orjson.loads(result.payload)["started"]))
        return result

    def function_names(self) -> list[str]:
        return ["Noop"]


def _sample_event() -> bytes:
    now = time.time()
    messages = [
        Received(f"id-{i}", f"handle-{i}", f"message {i}", "0" * 32, {}, "sender", now, 1, now)
        for i in range(10)
    ]
    return sqs_event_payload(messages, queue_arn=ARN, region="us-east-1")


async def direct(runtime: object, messages: int, concurrency: int) -> float:
    """Seconds for messages/10 invocations with a ten-record event, no queue."""
    payload = _sample_event()
    left = iter(range(messages // 10))

    async def caller() -> None:
        for _ in left:
            await runtime.invoke(InvokeRequest("Noop", payload))  # type: ignore[attr-defined]

    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return time.perf_counter() - started


async def plain_loop(queues: Queues, runtime: object, messages: int, concurrency: int) -> float:
    """Seconds for the same sends handled by a hand-written receive/invoke/delete loop."""
    store = queues.store
    left = iter(range(0, messages, 10))
    handled = 0

    async def sender() -> None:
        for start in left:
            await queues.send_batch([f"message {i}" for i in range(start, start + 10)])

    async def worker() -> None:
        nonlocal handled
        while handled < messages:
            got = await asyncio.to_thread(store.receive, QUEUE, 10)
            if not got:
                await asyncio.sleep(0.001)
                continue
            payload = sqs_event_payload(got, queue_arn=ARN, region="us-east-1")
            await runtime.invoke(InvokeRequest("Noop", payload))  # type: ignore[attr-defined]
            await asyncio.to_thread(store.delete_batch, QUEUE, [m.receipt_handle for m in got])
            handled += len(got)

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)),
                         *(worker() for _ in range(concurrency)))  # fmt: skip
    return time.perf_counter() - started


def _target(concurrency: int) -> MappingTarget:
    return MappingTarget(
        mapping_id="bench/Noop/Work", function="Noop", qualifier="$LATEST", queue_name=QUEUE,
        queue_arn=ARN, region="us-east-1", batch_size=10, maximum_concurrency=concurrency,
    )  # fmt: skip


async def through_mapping(
    queues: Queues, runtime: object, messages: int, concurrency: int
) -> float:
    """Seconds from the first send until every message was handled and deleted."""
    mapping = EventSourceMapping(_target(concurrency), queues, _Starts(runtime))
    task = asyncio.create_task(mapping.run())
    left = iter(range(0, messages, 10))

    async def sender() -> None:
        for start in left:
            await queues.send_batch([f"message {i}" for i in range(start, start + 10)])

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    while mapping.counts.deleted < messages:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    mapping.stop()
    await task
    return elapsed


async def latency(queues: Queues, runtime: object, samples: int) -> list[float]:
    """Send → handler start (ms) for one message at a time into an idle mapping."""
    starts = _Starts(runtime)
    mapping = EventSourceMapping(_target(1), queues, starts)
    task = asyncio.create_task(mapping.run())
    out: list[float] = []
    for i in range(samples):
        await asyncio.sleep(0.01)  # let the mapping go idle on the queue again
        sent = await queues.send_batch([f"sample {i}"])
        while mapping.counts.deleted < i + 1:
            await asyncio.sleep(0.001)
        out.append((starts.starts[-1] - sent) * 1000)
    mapping.stop()
    await task
    return out


async def main(messages: int, concurrency: int, samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        code = write_handler(folder / "code", HANDLER)
        config = function("Noop", code, memory_mb=128, timeout_s=10)
        store = SqsStore(folder / "queues.sqlite3")
        store.create_queue(QUEUE)
        queues = Queues(store)
        async with running_runtime(folder, [config]) as runtime:
            await direct(runtime, concurrency * 40, concurrency)  # warm the instances
            base_s = await direct(runtime, messages, concurrency)
            plain_s = await plain_loop(queues, runtime, messages, concurrency)
            mapped_s = await through_mapping(queues, runtime, messages, concurrency)
            latencies = sorted(await latency(queues, runtime, samples))
        store.close()
    base_rate = messages / base_s
    plain_rate = messages / plain_s
    mapped_rate = messages / mapped_s
    p50 = statistics.median(latencies)
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    print(
        f"direct {base_rate:,.0f} messages/s (10 per invocation, no queue); plain "
        f"receive/invoke/delete loop {plain_rate:,.0f}/s; through the mapping "
        f"{mapped_rate:,.0f}/s → ratio to the loop {mapped_rate / plain_rate:.2f}; "
        f"send → handler start p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    emit(
        "sqs",
        {
            "messages": messages,
            "batch_size": 10,
            "concurrency": concurrency,
            "direct_per_s": round(base_rate, 1),
            "plain_loop_per_s": round(plain_rate, 1),
            "mapping_per_s": round(mapped_rate, 1),
            "ratio_to_loop": round(mapped_rate / plain_rate, 3),
            "send_to_start_p50_ms": round(p50, 2),
            "send_to_start_p99_ms": round(p99, 2),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    uvloop.run(main(args.messages, args.concurrency, args.samples))
