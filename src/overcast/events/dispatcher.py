"""The asyncio adapter over the queue: runs due events through an Invoker, retries them.

One loop claims every due event whose function has a free slot (never more attempts
of a function at once than its concurrency), runs each attempt as a task it owns,
then sleeps until the next event falls due or something wakes it (an enqueue, an
attempt ending). A throttled or system-failed attempt goes back to the queue with
the throttle backoff; a function error with the function-error backoff; every
decision is :mod:`overcast.events.retry_policy`'s. Store calls run in a worker
thread; moves asked for at the same time share one committed (fsynced) transaction
(:mod:`overcast.events.group_commit`), and one claim takes every due event there is
room for.

Shutdown: stop claiming, give in-flight attempts a bounded time to finish, then
abandon the rest; they stay ``in_flight`` in the store and run again on the next
start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

import orjson

from overcast.events.async_counters import AsyncCounters
from overcast.events.async_queue import (
    AsyncQueue,
    QueuedEvent,
    enqueue_move,
    retry_move,
    settle_move,
    tick_move,
)
from overcast.events.errors import DeliveryError
from overcast.events.group_commit import GroupCommit
from overcast.events.invocation_record import RecordCondition, invocation_record
from overcast.events.retry_policy import GiveUp, RetryConfig, expired, next_attempt
from overcast.ids import request_id as new_request_id
from overcast.invoke import (
    InvokeError,
    Invoker,
    InvokeRequest,
    InvokeResult,
    RequestTooLargeError,
)

logger = logging.getLogger("overcast.events")

DestinationType = Literal["Lambda", "SQS", "SNS", "EventBridge", "S3"]


@dataclass(frozen=True, slots=True)
class Destination:
    """Where an invocation record goes: a function of the app (by name) or an ARN."""

    type: DestinationType
    target: str


@dataclass(frozen=True, slots=True)
class AsyncSettings:
    """What the dispatcher needs of a function: its retry config, concurrency, targets."""

    function_arn: str
    retry: RetryConfig = field(default_factory=RetryConfig)
    #: most attempts of this function at once (reserved concurrency, else the node's)
    concurrency: int = 1000
    on_success: Destination | None = None
    on_failure: Destination | None = None
    #: the DeadLetterQueue target ARN (SQS or SNS)
    dead_letter: str | None = None


#: a function's settings by (name, qualifier); None when no such function runs (now)
SettingsLookup = Callable[[str, str], AsyncSettings | None]

#: a message attribute as Lambda sets it on a dead letter: name → (DataType, value)
LetterAttributes = Mapping[str, tuple[str, str]]

#: Lambda truncates a dead letter's ErrorMessage attribute to 1 KB
MAX_ERROR_MESSAGE_BYTES = 1024


class RecordSink(Protocol):
    """Where invocation records and dead letters leave for queues (and topics)."""

    async def send(self, target_arn: str, body: str, attributes: LetterAttributes) -> None:
        """Deliver ``body`` durably to ``target_arn``; DeliveryError when it cannot."""


#: seconds before the loop reads the store again after it failed
STORE_RETRY_S = 1.0
#: most events claimed in one transaction
CLAIM_BATCH = 64
#: attempts at once of an event whose function does not run (now): each fails and is
#: put back, so a few at a time suffice
UNKNOWN_FUNCTION_ROOM = 8

#: the environment variable that shrinks every retry wait (tests, demos): 0.01 turns
#: Lambda's one-minute wait into 0.6 s; event ages are unaffected
BACKOFF_SCALE_ENV = "OVERCAST_EVENTS_BACKOFF_SCALE"


def time_scale_from_environ(environ: Mapping[str, str], name: str) -> float:
    """A time scale in (0, 1] from ``environ[name]``; 1.0 when unset or out of range."""
    raw = environ.get(name, "")
    try:
        scale = float(raw) if raw else 1.0
    except ValueError:
        return 1.0
    return scale if 0.0 < scale <= 1.0 else 1.0


def backoff_scale_from_environ(environ: Mapping[str, str]) -> float:
    """The retry-wait scale the environment asks for (1.0: Lambda's own waits)."""
    return time_scale_from_environ(environ, BACKOFF_SCALE_ENV)


class Dispatcher:
    """Accepts Event invocations (durably) and runs them until each is settled."""

    def __init__(
        self,
        queue: AsyncQueue,
        invoker: Invoker,
        settings: SettingsLookup,
        *,
        clock: Callable[[], float] = time.time,
        grace_s: float = 30.0,
        backoff_scale: float = 1.0,
        sink: RecordSink | None = None,
    ) -> None:
        self.queue = queue
        self._writes = GroupCommit(queue)
        #: delivers SQS (and SNS) destinations' records and dead letters; None: none is
        self.sink = sink
        self._invoker = invoker
        self._settings = settings
        self._clock = clock
        self._busy: dict[tuple[str, str], int] = {}
        self._attempts: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = False
        self._grace_s = grace_s
        self._backoff_scale = backoff_scale
        #: Lambda's AsyncEvents* metrics, per function and qualifier
        self.counters = AsyncCounters()

    @property
    def undelivered(self) -> int:
        """Records and dead letters that could not be delivered (Lambda's
        DestinationDeliveryFailures and DeadLetterErrors, all functions)."""
        return sum(
            c.delivery_failures + c.dead_letter_errors for c in self.counters.snapshot().values()
        )

    async def submit(self, request: InvokeRequest) -> str:
        """Queue an Event invocation durably; its request id once it is stored."""
        event = self._queued(request)
        await self._writes.write(enqueue_move(event))
        self.counters.received(event.key)
        self._wake.set()
        return event.request_id

    async def submit_tick(
        self, request: InvokeRequest, schedule_id: str, tick: float
    ) -> str | None:
        """Claim a schedule's tick and queue its invocation in one transaction.

        The request id, or None when the tick was claimed already (by another
        scheduler on the same store, or before a restart).
        """
        event = self._queued(request)
        rid = event.request_id
        claimed = await self._writes.write(tick_move(schedule_id, tick, event))
        if not claimed:
            return None
        self.counters.received(event.key)
        self._wake.set()
        return rid

    def _queued(self, request: InvokeRequest) -> QueuedEvent:
        """``request`` as an event due now (its own request id, or a new one)."""
        now = self._clock()
        return QueuedEvent(
            request_id=request.request_id or new_request_id(),
            function=request.function_name,
            qualifier=request.qualifier or "$LATEST",
            payload=request.payload,
            enqueued_at=now,
            due_at=now,
            client_context=request.client_context,
        )

    async def run(self) -> None:
        """Drain due events until :meth:`stop`; the owner of every attempt task."""
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self._launch_due()
                    delay = await self._delay()
                except sqlite3.Error:
                    # A busy or full disk must not take the node down: the events stay
                    # stored, and the loop tries again shortly.
                    logger.exception("the async queue could not be read; retrying")
                    delay = STORE_RETRY_S
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
        except asyncio.CancelledError:
            await self._drain(0)
            raise
        await self._drain(self._grace_s)

    def stop(self) -> None:
        """Stop claiming events; :meth:`run` returns once in-flight attempts are settled."""
        self._stopping = True
        self._wake.set()

    async def aclose(self) -> None:
        """Stop, and wait (bounded) for in-flight attempts; the rest recover on restart."""
        self.stop()
        await self._drain(self._grace_s)

    async def step(self) -> int:
        """Run every event due now and wait for those attempts (tests drive time with it)."""
        launched = await self._launch_due()
        while self._attempts:
            await asyncio.gather(*self._attempts)
        return launched

    async def _drain(self, timeout_s: float) -> None:
        if self._attempts and timeout_s > 0:
            await asyncio.wait(set(self._attempts), timeout=timeout_s)
        # Abandoned attempts stay in flight in the store: the next start runs them again.
        for task in list(self._attempts):
            task.cancel()
        if self._attempts:
            await asyncio.gather(*self._attempts, return_exceptions=True)

    async def _delay(self) -> float | None:
        due = await asyncio.to_thread(self.queue.next_due)
        if due is None:
            return None
        return max(0.0, due - self._clock())

    def _room(self) -> Callable[[tuple[str, str]], int]:
        """How many more attempts each function may start now (read in the claiming
        thread, over a snapshot of what runs)."""
        busy = dict(self._busy)

        def room(key: tuple[str, str]) -> int:
            settings = self._settings(*key)
            limit = settings.concurrency if settings is not None else UNKNOWN_FUNCTION_ROOM
            return max(0, limit - busy.get(key, 0))

        return room

    async def _launch_due(self) -> int:
        launched = 0
        while not self._stopping:
            events = await asyncio.to_thread(
                self.queue.claim_due, self._clock(), self._room(), limit=CLAIM_BATCH
            )
            loop = asyncio.get_running_loop()
            for event in events:
                self._busy[event.key] = self._busy.get(event.key, 0) + 1
                task = loop.create_task(self._attempt(event))
                self._attempts.add(task)
                task.add_done_callback(self._attempt_done)
            launched += len(events)
            if len(events) < CLAIM_BATCH:
                return launched
        return launched

    def _attempt_done(self, task: asyncio.Task[None]) -> None:
        self._attempts.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("async attempt failed", exc_info=task.exception())
        self._wake.set()

    async def _attempt(self, event: QueuedEvent) -> None:
        try:
            await self._run_attempt(event)
        finally:
            busy = self._busy.get(event.key, 1) - 1
            if busy > 0:
                self._busy[event.key] = busy
            else:
                self._busy.pop(event.key, None)

    async def _run_attempt(self, event: QueuedEvent) -> None:
        settings = self._settings(*event.key)
        now = self._clock()
        self.counters.attempt_started(event.key, now - event.enqueued_at)
        if settings is not None and expired(event.enqueued_at, now, settings.retry):
            await self._give_up(event, settings, "EventAgeExceeded")
            return
        request = InvokeRequest(
            function_name=event.function,
            payload=event.payload,
            qualifier=event.qualifier,
            client_context=event.client_context,
            request_id=event.request_id,
        )
        try:
            result = await self._invoker.invoke(request)
        except RequestTooLargeError:
            await self._give_up(event, settings, "RetriesExhausted")
            return
        except InvokeError as exc:
            # Throttles, system errors, and a function that no longer runs (between
            # deploys): back to the queue until the event's maximum age.
            logger.info(
                "async event %s of %s not run (%s); retrying", event.request_id,
                event.function, exc.error_type,
            )  # fmt: skip
            await self._after_failure(event, settings, "throttled")
            return
        ran = replace(
            event,
            attempts=event.attempts + 1,
            last_error=result.function_error,
            last_version=result.executed_version,
            last_response=result.payload,
        )
        if result.function_error is None:
            await self._succeed(ran, settings, result)
        else:
            await self._after_failure(ran, settings, "function_error")

    async def _after_failure(
        self,
        event: QueuedEvent,
        settings: AsyncSettings | None,
        outcome: Literal["function_error", "throttled"],
    ) -> None:
        if outcome == "function_error":
            event = replace(event, function_errors=event.function_errors + 1)
        else:
            event = replace(event, throttles=event.throttles + 1)
        now = self._clock()
        decision = next_attempt(
            outcome,
            function_errors=event.function_errors,
            throttles=event.throttles,
            enqueued_at=event.enqueued_at,
            now=now,
            config=settings.retry if settings is not None else RetryConfig(),
        )
        if isinstance(decision, GiveUp):
            await self._give_up(event, settings, decision.condition)
            return
        due = now + (decision.at - now) * self._backoff_scale
        await self._writes.write(retry_move(replace(event, due_at=due)))

    async def _succeed(
        self, event: QueuedEvent, settings: AsyncSettings | None, result: InvokeResult
    ) -> None:
        target = settings.on_success if settings is not None else None
        follow_up = await self._record(event, settings, target, "Success")
        await self._writes.write(
            settle_move(event, "succeeded", self._clock(), follow_up=follow_up)
        )

    async def _give_up(
        self,
        event: QueuedEvent,
        settings: AsyncSettings | None,
        condition: Literal["RetriesExhausted", "EventAgeExceeded"],
    ) -> None:
        # Lambda discards the event; say so where the operator looks, with its id.
        logger.warning(
            "async event %s of %s:%s discarded (%s after %d attempts)",
            event.request_id, event.function, event.qualifier, condition, event.attempts,
        )  # fmt: skip
        self.counters.dropped(event.key)
        target = settings.on_failure if settings is not None else None
        follow_up = await self._record(event, settings, target, condition)
        if settings is not None and settings.dead_letter is not None:
            # Lambda's dead letter: the event unchanged, why it failed in attributes.
            await self._deliver(
                event,
                settings.dead_letter,
                event.payload.decode(errors="replace"),
                _letter_attributes(event),
                dead_letter=True,
            )
        await self._writes.write(
            settle_move(event, "failed", self._clock(), condition=condition, follow_up=follow_up)
        )

    async def _record(
        self,
        event: QueuedEvent,
        settings: AsyncSettings | None,
        target: Destination | None,
        condition: RecordCondition,
    ) -> QueuedEvent | None:
        """Send the invocation record to ``target``: a queue's (or topic's) is delivered
        now, before the event is settled (a crash between runs the event again, as
        Lambda may: at least once); a function's is returned, queued with the settling."""
        if target is None or settings is None:
            return None
        now = self._clock()
        record = invocation_record(
            request_id=event.request_id,
            function_arn=f"{settings.function_arn}:{event.qualifier}",
            condition=condition,
            invoke_count=event.attempts,
            request_payload=event.payload,
            now=now,
            executed_version=event.last_version,
            function_error=event.last_error,
            response_payload=event.last_response,
        )
        if target.type != "Lambda":
            await self._deliver(event, target.target, record.decode(), {}, dead_letter=False)
            return None
        return QueuedEvent(
            request_id=new_request_id(),
            function=target.target,
            qualifier=event.qualifier,
            payload=record,
            enqueued_at=now,
            due_at=now,
        )

    async def _deliver(
        self,
        event: QueuedEvent,
        target_arn: str,
        body: str,
        attributes: LetterAttributes,
        *,
        dead_letter: bool,
    ) -> None:
        """Deliver to a queue or topic; a failure is counted and logged, never retried
        (Lambda counts DestinationDeliveryFailures / DeadLetterErrors and moves on)."""
        try:
            if self.sink is None:
                raise DeliveryError("no queues or topics run here")
            await self.sink.send(target_arn, body, attributes)
        except DeliveryError as exc:
            self.counters.delivery_failed(event.key, dead_letter=dead_letter)
            logger.warning(
                "async event %s: not delivered to %s: %s", event.request_id, target_arn, exc
            )


def _letter_attributes(event: QueuedEvent) -> dict[str, tuple[str, str]]:
    """Lambda's dead-letter attributes: RequestID, ErrorCode (the HTTP status of the last
    attempt: 200 for a function error, 429 for a throttle) and ErrorMessage (1 KB)."""
    message = "Event age exceeded" if event.attempts == 0 else "Retries exhausted"
    if event.last_response is not None:
        with contextlib.suppress(orjson.JSONDecodeError, TypeError, AttributeError):
            found = orjson.loads(event.last_response).get("errorMessage")
            if isinstance(found, str) and found:
                message = found
    raw = message.encode()[:MAX_ERROR_MESSAGE_BYTES]
    code = "200" if event.last_error is not None else "429"
    return {
        "RequestID": ("String", event.request_id),
        "ErrorCode": ("Number", code),
        "ErrorMessage": ("String", raw.decode(errors="ignore")),
    }
