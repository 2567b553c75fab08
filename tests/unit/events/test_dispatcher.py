"""The dispatcher over a fake Invoker and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

from overcast.events.async_queue import AsyncQueue, EventCounts
from overcast.events.dispatcher import AsyncSettings, Destination, Dispatcher, LetterAttributes
from overcast.events.errors import DeliveryError
from overcast.events.retry_policy import RetryConfig
from overcast.invoke import InvokeRequest, InvokeResult, ThrottledError


def in_loop(test: Callable[[Path], Awaitable[None]]) -> Callable[[Path], None]:
    """Run an async test body in a fresh event loop (the suite has no asyncio plugin)."""

    @functools.wraps(test)
    def run(tmp_path: Path) -> None:
        asyncio.run(test(tmp_path))  # type: ignore[arg-type]

    return run


ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


class FakeInvoker:
    """Runs ``behaviour(request, n)``; n counts calls per function; records every call."""

    def __init__(self, behaviour: Callable[[InvokeRequest, int], InvokeResult]) -> None:
        self.behaviour = behaviour
        self.calls: list[InvokeRequest] = []
        self.running: dict[str, int] = {}
        self.most_at_once = 0
        self.gate: asyncio.Event | None = None

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        self.calls.append(request)
        n = sum(1 for c in self.calls if c.function_name == request.function_name)
        self.running[request.function_name] = self.running.get(request.function_name, 0) + 1
        self.most_at_once = max(self.most_at_once, self.running[request.function_name])
        try:
            if self.gate is not None:
                await self.gate.wait()
            return self.behaviour(request, n)
        finally:
            self.running[request.function_name] -= 1

    def function_names(self) -> list[str]:
        return ["F"]


def _ok(request: InvokeRequest, n: int) -> InvokeResult:
    return InvokeResult(b'"ok"', request_id=request.request_id or "")


def _settings(**kwargs: object) -> Callable[[str, str], AsyncSettings]:
    def lookup(name: str, qualifier: str) -> AsyncSettings:
        return AsyncSettings(function_arn=ARN + name, **kwargs)  # type: ignore[arg-type]

    return lookup


def _dispatcher(tmp_path: Path, invoker: FakeInvoker, clock: Clock, **kwargs: object) -> Dispatcher:
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    return Dispatcher(queue, invoker, _settings(**kwargs), clock=clock)


def _request(function: str = "F", payload: bytes = b'{"n": 1}') -> InvokeRequest:
    return InvokeRequest(function_name=function, payload=payload)


@in_loop
async def test_function_error_is_retried_twice_after_one_then_two_minutes(tmp_path: Path) -> None:
    clock = Clock()
    invoker = FakeInvoker(lambda r, n: InvokeResult(b'{"errorMessage": "boom"}', "Unhandled"))
    dispatcher = _dispatcher(tmp_path, invoker, clock)
    rid = await dispatcher.submit(_request())
    assert await dispatcher.step() == 1
    clock.now += 59
    assert await dispatcher.step() == 0
    clock.now += 1
    assert await dispatcher.step() == 1
    clock.now += 119
    assert await dispatcher.step() == 0
    clock.now += 1
    assert await dispatcher.step() == 1
    clock.now += 10_000
    assert await dispatcher.step() == 0
    assert [c.request_id for c in invoker.calls] == [rid, rid, rid]
    assert dispatcher.queue.counts("F") == EventCounts(retried=1, failed=1)


@in_loop
async def test_a_throttled_event_waits_in_the_queue_and_runs_later(tmp_path: Path) -> None:
    clock = Clock()

    def throttle_twice(request: InvokeRequest, n: int) -> InvokeResult:
        if n <= 2:
            raise ThrottledError("Rate Exceeded.")
        return _ok(request, n)

    invoker = FakeInvoker(throttle_twice)
    dispatcher = _dispatcher(tmp_path, invoker, clock)
    rid = await dispatcher.submit(_request())
    await dispatcher.step()  # throttled: back in 1 s
    assert dispatcher.queue.state_of(rid) == "queued"
    clock.now += 1
    await dispatcher.step()  # throttled again: back in 2 s
    clock.now += 1
    assert await dispatcher.step() == 0
    clock.now += 1
    assert await dispatcher.step() == 1
    assert dispatcher.queue.state_of(rid) == "succeeded"
    assert [c.request_id for c in invoker.calls] == [rid] * 3


@in_loop
async def test_an_event_past_its_maximum_age_is_not_run(tmp_path: Path) -> None:
    clock = Clock()
    invoker = FakeInvoker(lambda r, n: (_ for _ in ()).throw(ThrottledError("busy")))
    dispatcher = _dispatcher(tmp_path, invoker, clock, retry=RetryConfig(maximum_event_age_s=60))
    rid = await dispatcher.submit(_request())
    for _ in range(200):
        clock.now += 1
        await dispatcher.step()
    assert dispatcher.queue.state_of(rid) == "failed"
    assert invoker.calls
    assert len(invoker.calls) < 10  # exponential backoff: 1+2+4+8+16+32 > 60


@in_loop
async def test_never_more_attempts_at_once_than_the_function_concurrency(tmp_path: Path) -> None:
    clock = Clock()
    invoker = FakeInvoker(_ok)
    invoker.gate = asyncio.Event()
    dispatcher = _dispatcher(tmp_path, invoker, clock, concurrency=2)
    for _ in range(5):
        await dispatcher.submit(_request())
    runner = asyncio.create_task(dispatcher.run())
    while len(invoker.calls) < 2:
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    assert len(invoker.calls) == 2
    invoker.gate.set()
    while dispatcher.queue.counts("F").delivered < 5:
        await asyncio.sleep(0.01)
    dispatcher.stop()
    await runner
    assert invoker.most_at_once == 2


@in_loop
async def test_success_sends_the_invocation_record_to_the_on_success_function(
    tmp_path: Path,
) -> None:
    clock = Clock()
    invoker = FakeInvoker(_ok)
    dispatcher = _dispatcher(tmp_path, invoker, clock, on_success=Destination("Lambda", "Dest"))
    rid = await dispatcher.submit(_request(payload=b'{"k": "v"}'))
    await dispatcher.step()
    await dispatcher.step()
    assert [c.function_name for c in invoker.calls] == ["F", "Dest"]
    record = orjson.loads(invoker.calls[1].payload)
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": rid,
        "functionArn": ARN + "F:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"k": "v"}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == "ok"


@in_loop
async def test_exhausted_retries_send_the_record_to_on_failure(tmp_path: Path) -> None:
    clock = Clock()

    def fail_f(request: InvokeRequest, n: int) -> InvokeResult:
        if request.function_name == "F":
            return InvokeResult(b'{"errorMessage": "no"}', "Unhandled")
        return _ok(request, n)

    invoker = FakeInvoker(fail_f)
    dispatcher = _dispatcher(
        tmp_path, invoker, clock,
        retry=RetryConfig(maximum_retry_attempts=1), on_failure=Destination("Lambda", "Dlq"),
    )  # fmt: skip
    await dispatcher.submit(_request())
    await dispatcher.step()
    clock.now += 60
    await dispatcher.step()
    await dispatcher.step()
    record = orjson.loads(invoker.calls[-1].payload)
    assert invoker.calls[-1].function_name == "Dlq"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"] == {"errorMessage": "no"}


@in_loop
async def test_events_in_flight_at_a_crash_run_again_with_the_same_id(tmp_path: Path) -> None:
    clock = Clock()
    invoker = FakeInvoker(_ok)
    invoker.gate = asyncio.Event()
    dispatcher = _dispatcher(tmp_path, invoker, clock)
    rid = await dispatcher.submit(_request())
    runner = asyncio.create_task(dispatcher.run())
    while not invoker.calls:
        await asyncio.sleep(0.01)
    runner.cancel()  # the node dies mid-attempt
    await asyncio.gather(runner, return_exceptions=True)
    dispatcher.queue.close()
    second = FakeInvoker(_ok)
    again = _dispatcher(tmp_path, second, clock)
    assert again.queue.recovered == 1
    await again.step()
    assert [c.request_id for c in second.calls] == [rid]
    assert again.queue.state_of(rid) == "succeeded"


@in_loop
async def test_a_queue_destination_is_not_dropped_silently(tmp_path: Path) -> None:
    clock = Clock()
    invoker = FakeInvoker(lambda r, n: InvokeResult(b'{"errorMessage": "no"}', "Unhandled"))
    dispatcher = _dispatcher(
        tmp_path, invoker, clock,
        retry=RetryConfig(maximum_retry_attempts=0),
        on_failure=Destination("SQS", "arn:aws:sqs:us-east-1:123456789012:failed"),
        dead_letter="arn:aws:sqs:us-east-1:123456789012:dead",
    )  # fmt: skip
    rid = await dispatcher.submit(_request())
    await dispatcher.step()
    assert dispatcher.queue.state_of(rid) == "failed"
    assert dispatcher.undelivered == 2  # the OnFailure record and the dead letter
    assert dispatcher.queue.counts("F").failed == 1


class FakeSink:
    """Records what the dispatcher delivers; refuses targets named in ``refuse``."""

    def __init__(self, refuse: tuple[str, ...] = ()) -> None:
        self.sent: list[tuple[str, str, dict[str, tuple[str, str]]]] = []
        self.refuse = refuse

    async def send(self, target_arn: str, body: str, attributes: LetterAttributes) -> None:
        if target_arn in self.refuse:
            raise DeliveryError("no such queue")
        self.sent.append((target_arn, body, dict(attributes)))


@in_loop
async def test_a_failed_event_goes_to_its_queue_destination_and_dead_letter_queue(
    tmp_path: Path,
) -> None:
    clock = Clock()
    invoker = FakeInvoker(lambda r, n: InvokeResult(b'{"errorMessage": "no"}', "Unhandled"))
    dispatcher = _dispatcher(
        tmp_path, invoker, clock,
        retry=RetryConfig(maximum_retry_attempts=0),
        on_failure=Destination("SQS", "arn:aws:sqs:us-east-1:123456789012:failed"),
        dead_letter="arn:aws:sqs:us-east-1:123456789012:dead",
    )  # fmt: skip
    dispatcher.sink = sink = FakeSink()
    rid = await dispatcher.submit(_request(payload=b'{"n": 7}'))
    await dispatcher.step()
    [(record_arn, record, none), (letter_arn, letter, attributes)] = sink.sent
    assert record_arn.endswith(":failed")
    assert orjson.loads(record)["requestContext"]["condition"] == "RetriesExhausted"
    assert none == {}
    assert (letter_arn, letter) == ("arn:aws:sqs:us-east-1:123456789012:dead", '{"n": 7}')
    assert attributes == {
        "RequestID": ("String", rid),
        "ErrorCode": ("Number", "200"),
        "ErrorMessage": ("String", "no"),
    }
    assert dispatcher.undelivered == 0
    assert dispatcher.queue.state_of(rid) == "failed"


@in_loop
async def test_an_undeliverable_record_is_counted_and_the_event_still_settles(
    tmp_path: Path,
) -> None:
    clock = Clock()
    target = "arn:aws:sqs:us-east-1:123456789012:gone"
    dispatcher = _dispatcher(
        tmp_path, FakeInvoker(_ok), clock, on_success=Destination("SQS", target)
    )
    dispatcher.sink = FakeSink(refuse=(target,))
    rid = await dispatcher.submit(_request())
    await dispatcher.step()
    assert dispatcher.undelivered == 1
    assert dispatcher.queue.state_of(rid) == "succeeded"


@in_loop
async def test_a_stopped_dispatcher_leaves_unfinished_attempts_to_the_next_start(
    tmp_path: Path,
) -> None:
    clock = Clock()
    invoker = FakeInvoker(_ok)
    invoker.gate = asyncio.Event()
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    dispatcher = Dispatcher(queue, invoker, _settings(), clock=clock, grace_s=0.01)
    rid = await dispatcher.submit(_request())
    runner = asyncio.create_task(dispatcher.run())
    while not invoker.calls:
        await asyncio.sleep(0.01)
    dispatcher.stop()
    await runner  # the bounded wait ends; the attempt is abandoned, not settled
    assert queue.state_of(rid) == "in_flight"
    queue.close()
    assert AsyncQueue(tmp_path / "events.sqlite3").state_of(rid) == "queued"
