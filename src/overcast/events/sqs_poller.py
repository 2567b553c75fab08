"""SQS event source mappings: poll a queue, invoke the function with batches, delete.

Theory of operation
-------------------
Each enabled mapping has one :class:`EventSourceMapping` runner. Its loop collects a
batch, hands it to a task of its own and collects the next, with at most
``maximum_concurrency`` batches in flight (a semaphore slot is taken before
collecting, so an idle mapping holds one slot and no messages).

Collecting: receive (in a worker thread: each receive is one committed transaction
that hides the messages for the queue's VisibilityTimeout) up to ten at a time until
the batch holds ``batch_size`` messages, its event would pass Lambda's 6 MB payload
(the messages past it are made visible again), or, once it holds one, until the
batching window has passed since the first arrived (at once with no window). With nothing to
take it waits on the queue's arrival event (set by the next send), the next hidden
or delayed message's return, or :meth:`stop`: never a busy loop.

With ``FilterCriteria``, a received message that matches no pattern is deleted at
once and never reaches the function (as Lambda discards it).

Processing (as Lambda's event source mapping): one synchronous invocation with
Lambda's SQS event. Success deletes the whole batch; with ReportBatchItemFailures
only the messages the function did not report. A function error, a throttle or a
refused invocation deletes nothing: the messages come back when their visibility
timeout ends, and a queue's RedrivePolicy moves them to its dead-letter queue after
maxReceiveCount receives (the store does that on receive). After a refusal the
batch's slot rests (one second, doubling up to thirty while refusals go on) rather
than hide more messages only to have them refused.

Shutdown: stop collecting, give in-flight batches a bounded time, then abandon them;
their messages simply reappear. Nothing is kept in memory that a kill -9 could lose:
a message leaves the store only once its batch has succeeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from overcast.event_filter import matches_any, parse_pattern
from overcast.events.sqs_event import failed_messages, sqs_event_payload, sqs_record
from overcast.events.sqs_rules import SqsError
from overcast.events.sqs_store import Received, SqsStore
from overcast.invoke import MAX_SYNC_PAYLOAD_BYTES, InvokeError, Invoker, InvokeRequest

logger = logging.getLogger("overcast.events")

#: seconds between reads of the mapping set (deploys and rollbacks change it)
REFRESH_S = 1.0
#: seconds a mapping waits after its queue could not be read (missing, disk trouble)
RECEIVE_RETRY_S = 1.0
#: a slot's rest after a refused (throttled) invocation: doubling from MIN up to MAX
MIN_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
#: seconds before a FIFO queue whose visible messages wait for their group is polled again
FIFO_RECHECK_S = 0.05
#: the event with no record: what every batch's payload starts from
EMPTY_EVENT = b'{"Records":[]}'
#: ReceiveMessage's largest batch
RECEIVE_MAX = 10


class QueueSource(Protocol):
    """The queues a mapping polls (``overcast.control.sqs_api.SqsApi`` is one)."""

    @property
    def store(self) -> SqsStore: ...

    def arrival(self, name: str) -> asyncio.Event:
        """An event set by the next send to queue ``name``."""
        ...


@dataclass(frozen=True, slots=True)
class MappingTarget:
    """One enabled event source mapping, resolved: which queue feeds which function."""

    #: stable across refreshes: a mapping whose target is unchanged keeps running
    mapping_id: str
    function: str
    #: the alias or version invoked (a platform stage's name; $LATEST on a node)
    qualifier: str
    queue_name: str
    queue_arn: str
    region: str
    batch_size: int = 10
    batching_window_s: float = 0.0
    report_batch_item_failures: bool = False
    #: most batches in flight at once
    maximum_concurrency: int = 2
    #: ``FilterCriteria`` patterns (JSON text); a message matching none is deleted unsent
    filter_patterns: tuple[str, ...] = ()


@dataclass(slots=True)
class MappingCounts:
    """What a mapping has done since it started (for tests, logs and benchmarks)."""

    batches: int = 0
    deleted: int = 0
    failed: int = 0
    #: messages FilterCriteria discarded (deleted without an invocation)
    filtered: int = 0


class EventSourceMapping:
    """Polls one queue for one function until :meth:`stop`."""

    def __init__(
        self,
        target: MappingTarget,
        queues: QueueSource,
        invoker: Invoker,
        *,
        clock: Callable[[], float] = time.monotonic,
        grace_s: float = 30.0,
    ) -> None:
        self.target = target
        self._queues = queues
        self._invoker = invoker
        self._clock = clock
        self._grace_s = grace_s
        self._stopping = False
        self._stopped = asyncio.Event()
        self._filters = tuple(parse_pattern(text) for text in target.filter_patterns)
        #: the last receive failed (its warning is logged once per outage)
        self._failing = False
        #: how long a slot rests after a refused invocation (doubling while refused)
        self._backoff_s = 0.0
        self.counts = MappingCounts()

    def stop(self) -> None:
        """Stop collecting; :meth:`run` returns once in-flight batches are settled."""
        self._stopping = True
        self._stopped.set()

    async def rest(self, seconds: float) -> bool:
        """Wait ``seconds`` or until :meth:`stop`; whether the mapping is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)
        return self._stopping

    async def run(self) -> None:
        """Collect and process batches until stopped; owns every batch task."""
        slots = asyncio.Semaphore(self.target.maximum_concurrency)
        in_flight: set[asyncio.Task[None]] = set()
        async with asyncio.TaskGroup() as group:
            try:
                while await self._take_slot(slots):
                    batch = await self._collect()
                    if not batch:
                        slots.release()
                        continue
                    task = group.create_task(self._process(batch, slots))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
            finally:
                if in_flight:
                    await asyncio.wait(set(in_flight), timeout=self._grace_s)
                # Abandoned batches are not deleted: their messages come back.
                for task in in_flight:
                    task.cancel()

    async def _take_slot(self, slots: asyncio.Semaphore) -> bool:
        """A free batch slot (True), or False once stopping: a stop does not wait for a
        batch to end (a function may run for fifteen minutes) before collecting ends."""
        if self._stopping:
            return False
        if not slots.locked():
            await slots.acquire()
            return True
        acquire = asyncio.ensure_future(slots.acquire())
        stopped = asyncio.ensure_future(self._stopped.wait())
        try:
            await asyncio.wait({acquire, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
            if not acquire.done():
                acquire.cancel()
            [taken, _] = await asyncio.gather(acquire, stopped, return_exceptions=True)
        if taken is not True:
            return False
        if self._stopping:
            slots.release()
            return False
        return True

    async def _collect(self) -> list[Received]:
        """A batch to invoke with, or [] when stopping (or after a failed receive)."""
        target = self.target
        batch: list[Received] = []
        size = len(EMPTY_EVENT)
        deadline: float | None = None
        while not self._stopping:
            # Taken before the receive: a send between the two still wakes the wait.
            arrival = self._queues.arrival(target.queue_name)
            want = min(RECEIVE_MAX, target.batch_size - len(batch))
            try:
                got = await asyncio.to_thread(self._queues.store.receive, target.queue_name, want)
            except (SqsError, sqlite3.Error) as exc:
                # Once per outage (a queue not created yet is retried every second).
                logger.log(
                    logging.DEBUG if self._failing else logging.WARNING,
                    "event source mapping %s cannot receive from %s: %s",
                    target.mapping_id, target.queue_name, exc,
                )  # fmt: skip
                self._failing = True
                if batch:
                    return batch
                await self._sleep(arrival, RECEIVE_RETRY_S)
                return []
            self._failing = False
            now = self._clock()
            if got and deadline is None:
                deadline = now + target.batching_window_s
            if self._filters:
                got = await self._filtered(got)
            fits, over = self._fit(got, size)
            batch += fits
            size += sum(self._size(m) for m in fits)
            if over:
                await self._release(over)
                return batch
            if len(batch) >= target.batch_size:
                return batch
            if got and len(got) == want:
                continue  # more may be waiting right now
            if batch and (deadline is None or now >= deadline):
                return batch
            wait = await self._idle_wait(deadline, now)
            await self._sleep(arrival, wait)
        return batch

    async def _filtered(self, got: Sequence[Received]) -> list[Received]:
        """The messages that pass FilterCriteria; the others are deleted (as Lambda does)."""
        target = self.target
        keep: list[Received] = []
        drop: list[str] = []
        for message in got:
            record = sqs_record(message, queue_arn=target.queue_arn, region=target.region)
            if matches_any(self._filters, record):
                keep.append(message)
            else:
                drop.append(message.receipt_handle)
        if drop:
            await asyncio.to_thread(self._queues.store.delete_batch, target.queue_name, drop)
            self.counts.filtered += len(drop)
        return keep

    def _size(self, message: Received) -> int:
        """The bytes ``message`` adds to the event (its record and a comma)."""
        record = sqs_record(message, queue_arn=self.target.queue_arn, region=self.target.region)
        return len(orjson.dumps(record)) + 1

    def _fit(self, got: Sequence[Received], size: int) -> tuple[list[Received], list[Received]]:
        """The messages that keep the event within Lambda's 6 MB payload, and the rest."""
        for index, message in enumerate(got):
            size += self._size(message)
            if size > MAX_SYNC_PAYLOAD_BYTES:
                return list(got[:index]), list(got[index:])
        return list(got), []

    async def _release(self, messages: Sequence[Received]) -> None:
        """Make messages received past a full payload visible again for the next batch."""
        for message in messages:
            with contextlib.suppress(SqsError):
                await asyncio.to_thread(
                    self._queues.store.change_visibility,
                    self.target.queue_name, message.receipt_handle, 0,
                )  # fmt: skip

    async def _idle_wait(self, deadline: float | None, now: float) -> float | None:
        """How long to wait for a send: until the window ends or a hidden message
        returns (None: until a send or stop)."""
        due = await asyncio.to_thread(self._queues.store.next_visible, self.target.queue_name)
        waits = [] if deadline is None else [deadline - now]
        if due is not None:
            # next_visible is wall-clock time; the window runs on the monotonic clock.
            # A visible message the receive did not take belongs to a FIFO group with a
            # message in flight: it becomes receivable when that one is deleted, which
            # sets no arrival, so it is looked at again shortly.
            until = due - time.time()
            waits.append(until + 0.001 if until > 0 else FIFO_RECHECK_S)
        return max(0.0, min(waits)) if waits else None

    async def _sleep(self, arrival: asyncio.Event, timeout: float | None) -> None:
        """Until ``arrival`` is set, :meth:`stop` is called, or ``timeout`` passes."""
        if self._stopping:
            return
        waiters = [
            asyncio.ensure_future(arrival.wait()),
            asyncio.ensure_future(self._stopped.wait()),
        ]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)

    async def _process(self, batch: Sequence[Received], slots: asyncio.Semaphore) -> None:
        try:
            if not await self._invoke_and_delete(batch):
                # Refused (throttled, over budget...): this slot backs off before it
                # takes more messages that would only be refused and hidden too.
                self._backoff_s = min(MAX_BACKOFF_S, max(MIN_BACKOFF_S, self._backoff_s * 2))
                await self.rest(self._backoff_s)
            else:
                self._backoff_s = 0.0
        except (SqsError, sqlite3.Error):
            # Not deleted: the messages come back when their visibility timeout ends.
            logger.exception("event source mapping %s could not delete a batch",
                             self.target.mapping_id)  # fmt: skip
        except Exception:
            # A bug here must not take the node (every mapping, every server) down with
            # it: the batch is left to come back, and the mapping goes on.
            logger.exception("event source mapping %s failed on a batch", self.target.mapping_id)
        finally:
            slots.release()

    async def _invoke_and_delete(self, batch: Sequence[Received]) -> bool:
        """Invoke with ``batch`` and delete what succeeded; False if it was not invoked."""
        target = self.target
        ids = [m.message_id for m in batch]
        request = InvokeRequest(
            function_name=target.function,
            payload=sqs_event_payload(batch, queue_arn=target.queue_arn, region=target.region),
            qualifier=target.qualifier,
        )
        self.counts.batches += 1
        try:
            result = await self._invoker.invoke(request)
        except InvokeError as exc:
            logger.info("event source mapping %s: %s was not invoked (%s); %d messages "
                        "return after their visibility timeout", target.mapping_id,
                        target.function, exc.error_type, len(batch))  # fmt: skip
            self.counts.failed += len(batch)
            return False
        if result.function_error is not None:
            failed = frozenset(ids)
        elif target.report_batch_item_failures:
            failed = failed_messages(result.payload, ids)
        else:
            failed = frozenset()
        done = [m.receipt_handle for m in batch if m.message_id not in failed]
        self.counts.failed += len(failed)
        if done:
            await asyncio.to_thread(self._queues.store.delete_batch, target.queue_name, done)
            self.counts.deleted += len(done)
        return True


class SqsPoller:
    """Runs one :class:`EventSourceMapping` per target, following the target set.

    ``targets`` returns the mappings that should run now (a deploy or rollback
    changes the answer; it is read again every ``refresh_s``). A target that changes
    (a new queue, batch size, qualifier...) is a new mapping; the old one stops.
    """

    def __init__(
        self,
        queues: QueueSource,
        invoker: Invoker,
        targets: Callable[[], Sequence[MappingTarget]],
        *,
        refresh_s: float = REFRESH_S,
        grace_s: float = 30.0,
    ) -> None:
        self._queues = queues
        self._invoker = invoker
        self._targets = targets
        self._refresh_s = refresh_s
        self._grace_s = grace_s
        self._stopping = False
        self._wake = asyncio.Event()
        #: the running mappings, by target (frozen, so a changed target is a new key)
        self.mappings: dict[MappingTarget, EventSourceMapping] = {}

    def stop(self) -> None:
        """Stop every mapping; :meth:`run` returns once their batches are settled."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            try:
                while not self._stopping:
                    self._wake.clear()
                    self._reconcile(group)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._refresh_s)
            finally:
                for mapping in self.mappings.values():
                    mapping.stop()

    def _reconcile(self, group: asyncio.TaskGroup) -> None:
        try:
            wanted = set(self._targets())
        except (sqlite3.Error, OSError, ValueError):
            logger.exception("event source mappings could not be read; keeping the last set")
            return
        for target in set(self.mappings) - wanted:
            self.mappings.pop(target).stop()
        for target in wanted - set(self.mappings):
            mapping = EventSourceMapping(target, self._queues, self._invoker, grace_s=self._grace_s)
            self.mappings[target] = mapping
            group.create_task(self._supervise(mapping))

    async def _supervise(self, mapping: EventSourceMapping) -> None:
        """Run ``mapping``; one that fails unexpectedly is logged and started again (its
        unfinished messages come back), never allowed to stop the node."""
        while True:
            try:
                await mapping.run()
                return
            except Exception:
                logger.exception("event source mapping %s failed; restarting it",
                                 mapping.target.mapping_id)  # fmt: skip
            if await mapping.rest(RECEIVE_RETRY_S):
                return
