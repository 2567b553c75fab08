"""Event source mappings over a real queue store and a fake Invoker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import orjson

from overcast.events.sqs_poller import EventSourceMapping, MappingTarget, SqsPoller
from overcast.events.sqs_store import NewMessage, SqsStore
from overcast.invoke import MAX_SYNC_PAYLOAD_BYTES, InvokeRequest, InvokeResult, ThrottledError

from .test_dispatcher import FakeInvoker, in_loop

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:jobs"


class Queues:
    """The QueueSource an SqsApi is, without HTTP: sends wake the arrival event."""

    def __init__(self, store: SqsStore) -> None:
        self.store = store
        self._arrivals: dict[str, asyncio.Event] = {}
        self.receives = 0
        receive = store.receive

        def counted(*args: object) -> object:
            self.receives += 1
            return receive(*args)  # type: ignore[arg-type]

        store.receive = counted  # type: ignore[method-assign]

    def arrival(self, name: str) -> asyncio.Event:
        return self._arrivals.setdefault(name, asyncio.Event())

    def send(self, name: str, *bodies: str) -> None:
        for body in bodies:
            self.store.send(name, NewMessage(body))
        event = self._arrivals.pop(name, None)
        if event is not None:
            event.set()

    def counts(self, name: str = "jobs") -> tuple[int, int]:
        """(visible, in flight) messages of the queue."""
        attributes = self.store.get_attributes(name)
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )


def queues(tmp_path: Path, **attributes: str) -> Queues:
    store = SqsStore(tmp_path / "queues.sqlite3")
    store.create_queue("jobs", attributes)
    return Queues(store)


def target(**changes: object) -> MappingTarget:
    fields: dict[str, object] = {
        "mapping_id": "local/F/Work",
        "function": "F",
        "qualifier": "$LATEST",
        "queue_name": "jobs",
        "queue_arn": QUEUE_ARN,
        "region": "us-east-1",
    }
    return MappingTarget(**(fields | changes))  # type: ignore[arg-type]


def _ok(_request: InvokeRequest, _n: int) -> InvokeResult:
    return InvokeResult(b"null")


def bodies(request: InvokeRequest) -> list[str]:
    return [r["body"] for r in orjson.loads(request.payload)["Records"]]


async def until(condition: Callable[[], bool]) -> None:
    """Yield to the loop (and the store's threads) until ``condition`` holds."""
    while not condition():
        await asyncio.sleep(0.005)


async def running(mapping: EventSourceMapping) -> asyncio.Task[None]:
    task = asyncio.create_task(mapping.run())
    await asyncio.sleep(0)
    return task


async def stopped(mapping: EventSourceMapping, task: asyncio.Task[None]) -> None:
    mapping.stop()
    await task


@in_loop
async def test_messages_arrive_in_batches_and_are_deleted_on_success(tmp_path: Path) -> None:
    q = queues(tmp_path)
    q.send("jobs", *(f"m{i}" for i in range(25)))
    invoker = FakeInvoker(_ok)
    mapping = EventSourceMapping(target(), q, invoker)
    task = await running(mapping)
    await until(lambda: mapping.counts.deleted == 25)
    await stopped(mapping, task)
    assert [len(bodies(c)) for c in invoker.calls] == [10, 10, 5]
    assert sorted(b for c in invoker.calls for b in bodies(c)) == sorted(f"m{i}" for i in range(25))
    assert invoker.calls[0].function_name == "F"
    assert invoker.calls[0].qualifier == "$LATEST"
    record = orjson.loads(invoker.calls[0].payload)["Records"][0]
    assert record["eventSourceARN"] == QUEUE_ARN
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert q.counts() == (0, 0)
    q.store.close()


@in_loop
async def test_an_idle_mapping_waits_for_a_send_instead_of_polling(tmp_path: Path) -> None:
    q = queues(tmp_path)
    invoker = FakeInvoker(_ok)
    mapping = EventSourceMapping(target(), q, invoker)
    task = await running(mapping)
    await until(lambda: q.receives == 1)
    await asyncio.sleep(0.1)
    assert q.receives == 1
    q.send("jobs", "hello")
    await until(lambda: mapping.counts.deleted == 1)
    await stopped(mapping, task)
    assert bodies(invoker.calls[0]) == ["hello"]
    q.store.close()


@in_loop
async def test_a_failed_batch_comes_back_after_its_visibility_timeout(tmp_path: Path) -> None:
    q = queues(tmp_path, VisibilityTimeout="0")

    def fail_once(_request: InvokeRequest, n: int) -> InvokeResult:
        if n == 1:
            return InvokeResult(b'{"errorMessage": "boom"}', function_error="Unhandled")
        return InvokeResult(b"null")

    q.send("jobs", "a", "b")
    invoker = FakeInvoker(fail_once)
    mapping = EventSourceMapping(target(maximum_concurrency=1), q, invoker)
    task = await running(mapping)
    await until(lambda: len(invoker.calls) == 2 and q.counts() == (0, 0))
    await stopped(mapping, task)
    assert [bodies(c) for c in invoker.calls] == [["a", "b"], ["a", "b"]]
    second = orjson.loads(invoker.calls[1].payload)["Records"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in second] == ["2", "2"]
    q.store.close()


@in_loop
async def test_with_report_batch_item_failures_only_reported_messages_stay(tmp_path: Path) -> None:
    q = queues(tmp_path, VisibilityTimeout="60")

    def fail_b(request: InvokeRequest, _n: int) -> InvokeResult:
        records = orjson.loads(request.payload)["Records"]
        failures = [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "b"]
        return InvokeResult(orjson.dumps({"batchItemFailures": failures}))

    q.send("jobs", "a", "b", "c")
    mapping = EventSourceMapping(target(report_batch_item_failures=True), q, FakeInvoker(fail_b))
    task = await running(mapping)
    await until(lambda: mapping.counts.batches == 1 and mapping.counts.failed == 1)
    await stopped(mapping, task)
    assert mapping.counts.deleted == 2
    assert q.counts() == (0, 1)
    q.store.close()


@in_loop
async def test_a_throttled_batch_deletes_nothing_and_its_slot_rests(tmp_path: Path) -> None:
    q = queues(tmp_path, VisibilityTimeout="60")

    def throttled(_request: InvokeRequest, _n: int) -> InvokeResult:
        raise ThrottledError("Rate Exceeded.")

    q.send("jobs", *(str(i) for i in range(20)))
    invoker = FakeInvoker(throttled)
    mapping = EventSourceMapping(target(maximum_concurrency=1), q, invoker)
    task = await running(mapping)
    await until(lambda: mapping.counts.failed == 10)
    await asyncio.sleep(0)
    # resting: the next batch is not taken (a stop ends the rest at once)
    await stopped(mapping, task)
    assert len(invoker.calls) == 1
    assert q.counts() == (10, 10)
    q.store.close()


@in_loop
async def test_failing_messages_reach_the_dead_letter_queue(tmp_path: Path) -> None:
    store = SqsStore(tmp_path / "queues.sqlite3")
    store.create_queue("dlq")
    policy = orjson.dumps({"deadLetterTargetArn": store.arn("dlq"), "maxReceiveCount": 2})
    store.create_queue("jobs", {"VisibilityTimeout": "0", "RedrivePolicy": policy.decode()})
    q = Queues(store)

    def always_fail(_request: InvokeRequest, _n: int) -> InvokeResult:
        return InvokeResult(b"{}", function_error="Unhandled")

    q.send("jobs", "poison")
    invoker = FakeInvoker(always_fail)
    mapping = EventSourceMapping(target(maximum_concurrency=1), q, invoker)
    task = await running(mapping)
    await until(lambda: q.counts("dlq") == (1, 0))
    await stopped(mapping, task)
    assert len(invoker.calls) == 2
    assert q.counts() == (0, 0)
    store.close()


@in_loop
async def test_at_most_maximum_concurrency_batches_run_at_once(tmp_path: Path) -> None:
    q = queues(tmp_path)
    q.send("jobs", *(str(i) for i in range(50)))
    invoker = FakeInvoker(_ok)
    invoker.gate = asyncio.Event()
    mapping = EventSourceMapping(target(maximum_concurrency=3), q, invoker)
    task = await running(mapping)
    await until(lambda: len(invoker.calls) == 3)
    await asyncio.sleep(0.05)
    assert len(invoker.calls) == 3
    invoker.gate.set()
    await until(lambda: mapping.counts.deleted == 50)
    await stopped(mapping, task)
    assert invoker.most_at_once == 3
    q.store.close()


@in_loop
async def test_a_batching_window_gathers_past_ten(tmp_path: Path) -> None:
    q = queues(tmp_path)
    q.send("jobs", *(str(i) for i in range(30)))
    invoker = FakeInvoker(_ok)
    mapping = EventSourceMapping(target(batch_size=100, batching_window_s=0.2), q, invoker)
    task = await running(mapping)
    await until(lambda: mapping.counts.deleted == 30)
    await stopped(mapping, task)
    assert [len(bodies(c)) for c in invoker.calls] == [30]
    q.store.close()


@in_loop
async def test_stopping_lets_an_in_flight_batch_finish(tmp_path: Path) -> None:
    q = queues(tmp_path)
    q.send("jobs", "a")
    invoker = FakeInvoker(_ok)
    invoker.gate = asyncio.Event()
    mapping = EventSourceMapping(target(), q, invoker)
    task = await running(mapping)
    await until(lambda: len(invoker.calls) == 1)
    mapping.stop()
    invoker.gate.set()
    await task
    assert mapping.counts.deleted == 1
    q.store.close()


@in_loop
async def test_the_poller_follows_the_target_set(tmp_path: Path) -> None:
    q = queues(tmp_path)
    current = [target()]
    poller = SqsPoller(q, FakeInvoker(_ok), lambda: current, refresh_s=0.01)
    task = asyncio.create_task(poller.run())
    await until(lambda: list(poller.mappings) == current)
    first = poller.mappings[current[0]]
    current = [target(batch_size=5)]
    await until(lambda: list(poller.mappings) == current)
    assert first._stopping
    current = []
    await until(lambda: not poller.mappings)
    poller.stop()
    await task
    q.store.close()


@in_loop
async def test_stopping_does_not_wait_for_a_slot_to_free(tmp_path: Path) -> None:
    q = queues(tmp_path)
    q.send("jobs", *(str(i) for i in range(20)))
    invoker = FakeInvoker(_ok)
    invoker.gate = asyncio.Event()
    mapping = EventSourceMapping(target(maximum_concurrency=1), q, invoker, grace_s=0.01)
    task = await running(mapping)
    await until(lambda: len(invoker.calls) == 1)
    await stopped(mapping, task)
    assert mapping.counts.deleted == 0
    assert q.counts() == (10, 10)
    q.store.close()


@in_loop
async def test_a_batch_stops_at_lambdas_six_megabyte_payload(tmp_path: Path) -> None:
    q = queues(tmp_path)
    big = "x" * 250_000
    q.send("jobs", *(f"{i:03}{big}" for i in range(30)))
    invoker = FakeInvoker(_ok)
    mapping = EventSourceMapping(
        target(batch_size=1000, batching_window_s=0.2, maximum_concurrency=1), q, invoker
    )
    task = await running(mapping)
    await until(lambda: mapping.counts.deleted == 30)
    await stopped(mapping, task)
    sizes = [len(bodies(c)) for c in invoker.calls]
    assert sum(sizes) == 30
    assert len(sizes) == 2
    assert all(len(c.payload) <= MAX_SYNC_PAYLOAD_BYTES for c in invoker.calls)
    assert sorted(b[:3] for c in invoker.calls for b in bodies(c)) == [f"{i:03}" for i in range(30)]
    q.store.close()


@in_loop
async def test_filtered_out_messages_are_deleted_without_an_invocation(tmp_path: Path) -> None:
    q = queues(tmp_path)
    q.send("jobs", '{"kind": "order", "n": 1}', '{"kind": "noise"}', "plain text")
    q.send("jobs", '{"kind": "order", "n": 2}')
    invoker = FakeInvoker(_ok)
    mapping = EventSourceMapping(
        target(filter_patterns=('{"body": {"kind": ["order"]}}',), maximum_concurrency=1),
        q,
        invoker,
    )
    task = await running(mapping)
    await until(lambda: mapping.counts.deleted == 2 and mapping.counts.filtered == 2)
    await stopped(mapping, task)
    assert [json.loads(b)["n"] for c in invoker.calls for b in bodies(c)] == [1, 2]
    assert q.counts() == (0, 0)
    q.store.close()


@in_loop
async def test_a_mapping_that_fails_unexpectedly_is_restarted(tmp_path: Path) -> None:
    q = queues(tmp_path)
    receive = q.store.receive
    calls = 0

    def broken_once(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        return receive(*args)  # type: ignore[arg-type]

    q.store.receive = broken_once  # type: ignore[method-assign]
    q.send("jobs", "a")
    poller = SqsPoller(q, FakeInvoker(_ok), lambda: [target()], refresh_s=0.01)
    task = asyncio.create_task(poller.run())
    await until(lambda: q.counts() == (0, 0))
    poller.stop()
    await task
    assert calls >= 2
    q.store.close()


@in_loop
async def test_a_fifo_queue_keeps_each_groups_order_across_batches(tmp_path: Path) -> None:
    store = SqsStore(tmp_path / "queues.sqlite3")
    store.create_queue("jobs.fifo", {"FifoQueue": "true", "ContentBasedDeduplication": "true"})
    q = Queues(store)
    for i in range(30):
        store.send("jobs.fifo", NewMessage(f"{'ab'[i % 2]}{i:02}", group_id="ab"[i % 2]))
    invoker = FakeInvoker(_ok)
    mapping = EventSourceMapping(
        target(queue_name="jobs.fifo", batch_size=4, maximum_concurrency=3), q, invoker
    )
    task = await running(mapping)
    await until(lambda: mapping.counts.deleted == 30)
    await stopped(mapping, task)
    handled = [b for c in invoker.calls for b in bodies(c)]
    for group in "ab":
        mine = [b for b in handled if b[0] == group]
        assert mine == sorted(mine)
    record = orjson.loads(invoker.calls[0].payload)["Records"][0]
    assert record["attributes"]["MessageGroupId"] in ("a", "b")
    assert "SequenceNumber" in record["attributes"]
    store.close()
