"""Fires schedules: at each tick, claims it in the store and queues an async invocation.

Theory of operation
-------------------
The owner hands a callable returning the schedules that should fire now (the
running deployment's; a deploy or rollback changes the answer, re-read every
:data:`REFRESH_S`). For each schedule the loop keeps a cursor, the last instant it
has accounted for. When the next tick after the cursor is due it is claimed and its
event queued through :meth:`Dispatcher.submit_tick` (one transaction): retries,
maximum age and destinations are then the function's, as for any Event invocation.
Only the claim decides who fires a tick, never memory, so several schedulers on one
store fire each tick once.

Missed ticks (the node was down, or the loop was held up): only the latest tick
still within the schedule's catch-up window fires, once; the others are skipped,
as EventBridge does not replay a rule's past ticks. A schedule the store has never
seen fire starts from now (no catch-up for a new schedule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from overcast.events.dispatcher import Dispatcher, time_scale_from_environ
from overcast.events.scheduled_event import ScheduleKind, scheduled_event_payload
from overcast.ids import request_id as new_request_id
from overcast.invoke import InvokeRequest
from overcast.schedule_expression import ScheduleExpression, next_fire

logger = logging.getLogger("overcast.events")

#: seconds between reads of the schedule set (deploys and rollbacks change it)
REFRESH_S = 1.0
#: the environment variable that shrinks every rate() period (tests, demos): 1/60
#: fires rate(1 minute) every second; cron() and at() keep wall-clock times
CLOCK_SCALE_ENV = "OVERCAST_SCHEDULE_CLOCK_SCALE"
#: catch-up window of an EventBridge Scheduler schedule without a RetryPolicy
SCHEDULER_DEFAULT_EVENT_AGE_S = 86_400


def clock_scale_from_environ(environ: Mapping[str, str]) -> float:
    """The rate-period scale the environment asks for (1.0: AWS's own periods)."""
    return time_scale_from_environ(environ, CLOCK_SCALE_ENV)


@dataclass(frozen=True, slots=True)
class ScheduleTarget:
    """One enabled schedule and the function it invokes."""

    #: stable across restarts, deploys and nodes: the tick claims are keyed by it
    schedule_id: str
    kind: ScheduleKind
    expression: ScheduleExpression
    function: str
    #: the alias or version invoked (a platform stage's name; $LATEST on a node)
    qualifier: str
    region: str
    account_id: str
    #: the rule's or schedule's ARN (the Scheduled Event's ``resources``)
    resource_arn: str
    timezone: str = "UTC"
    input_json: str | None = None
    #: how late a missed tick may still fire (the event's maximum age)
    catch_up_s: float = 21_600.0
    start_at: float | None = None
    end_at: float | None = None


class Scheduler:
    """Fires each target's ticks through a dispatcher until :meth:`stop`."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        targets: Callable[[], Sequence[ScheduleTarget]],
        *,
        clock: Callable[[], float] = time.time,
        rate_scale: float = 1.0,
        refresh_s: float = REFRESH_S,
    ) -> None:
        self._dispatcher = dispatcher
        self._targets = targets
        self._clock = clock
        self._rate_scale = rate_scale
        self._refresh_s = refresh_s
        #: per schedule id: the instant up to which its ticks are accounted for
        self._cursor: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        #: ticks this scheduler claimed and queued (for tests and logs)
        self.fired = 0

    def refresh(self) -> None:
        """Read the schedule set again now (after a deploy or rollback)."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                delay = await self.step()
            except sqlite3.Error:
                logger.exception("schedules could not be fired; retrying")
                delay = self._refresh_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def step(self) -> float:
        """Fire every due tick; seconds until the next one (at most the refresh period)."""
        now = self._clock()
        targets = {t.schedule_id: t for t in self._targets()}
        for gone in set(self._cursor) - set(targets):
            del self._cursor[gone]
        delay = self._refresh_s
        for target in targets.values():
            try:
                upcoming = await self._step_target(target, now)
            except (ValueError, OverflowError, ArithmeticError):
                # One schedule's bad date math must not stop the others (nor the node).
                logger.exception("schedule %s skipped this round", target.schedule_id)
                self._cursor[target.schedule_id] = now
                continue
            if upcoming is not None:
                delay = min(delay, max(0.0, upcoming - now))
        return delay

    async def _step_target(self, target: ScheduleTarget, now: float) -> float | None:
        """Fire ``target``'s due tick, if any; its next tick after ``now``."""
        if target.schedule_id not in self._cursor:
            last = await asyncio.to_thread(self._dispatcher.queue.last_tick, target.schedule_id)
            # Never fired: from now. Fired before: catch up from its last tick.
            self._cursor[target.schedule_id] = now if last is None else last
        tick = self._latest_due(target, now)
        if tick is not None:
            await self._fire(target, tick)
        self._cursor[target.schedule_id] = max(self._cursor[target.schedule_id], now)
        return self._next(target, now)

    def _next(self, target: ScheduleTarget, after: float) -> float | None:
        """The target's first tick after ``after`` within its dates (None: no more)."""
        anchor = (
            datetime.fromtimestamp(target.start_at, UTC) if target.start_at is not None else None
        )
        if target.start_at is not None and after < target.start_at:
            # A tick exactly at StartDate counts.
            after = target.start_at - 1e-6
        fire = next_fire(
            target.expression,
            datetime.fromtimestamp(after, UTC),
            ZoneInfo(target.timezone),
            anchor=anchor,
            rate_scale=self._rate_scale,
        )
        if fire is None:
            return None
        at = fire.timestamp()
        if target.end_at is not None and at > target.end_at:
            return None
        return at

    def _latest_due(self, target: ScheduleTarget, now: float) -> float | None:
        """The latest tick in (cursor, now] still inside the catch-up window, if any."""
        start = max(self._cursor[target.schedule_id], now - target.catch_up_s)
        latest: float | None = None
        tick = self._next(target, start)
        while tick is not None and tick <= now:
            latest = tick
            tick = self._next(target, tick)
        return latest

    async def _fire(self, target: ScheduleTarget, tick: float) -> None:
        rid = new_request_id()
        payload = scheduled_event_payload(
            target.kind,
            tick=tick,
            event_id=new_request_id(),
            region=target.region,
            account_id=target.account_id,
            resource_arn=target.resource_arn,
            input_json=target.input_json,
        )
        request = InvokeRequest(
            function_name=target.function,
            payload=payload,
            qualifier=target.qualifier,
            request_id=rid,
        )
        queued = await self._dispatcher.submit_tick(request, target.schedule_id, tick)
        if queued is None:
            logger.debug("tick %s of %s was claimed elsewhere", tick, target.schedule_id)
            return
        self.fired += 1
        logger.info(
            "schedule %s fired for %s (request %s)",
            target.schedule_id, datetime.fromtimestamp(tick, UTC).isoformat(), rid,
        )  # fmt: skip
