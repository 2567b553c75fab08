"""The scheduler over a real store, a fake Invoker and a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from pathlib import Path

import orjson

from overcast.events.async_queue import AsyncQueue, QueuedEvent
from overcast.events.dispatcher import Dispatcher
from overcast.events.scheduled_event import rule_arn, scheduled_event_payload
from overcast.events.scheduler import Scheduler, ScheduleTarget, clock_scale_from_environ
from overcast.schedule_expression import parse

from .test_dispatcher import Clock, FakeInvoker, _ok, _settings, in_loop

RULE = rule_arn("us-east-1", "123456789012", "app-HelloTick")
# 2026-01-01T00:00:00Z
T0 = 1_767_225_600.0


def target(expression: str = "rate(1 minute)", **kwargs: object) -> ScheduleTarget:
    fields: dict[str, object] = {
        "schedule_id": "local/F/Tick",
        "kind": "Schedule",
        "expression": parse(expression),
        "function": "F",
        "qualifier": "$LATEST",
        "region": "us-east-1",
        "account_id": "123456789012",
        "resource_arn": RULE,
    }
    fields.update(kwargs)
    return ScheduleTarget(**fields)  # type: ignore[arg-type]


def setup(
    tmp_path: Path, targets: list[ScheduleTarget], clock: Clock
) -> tuple[Scheduler, FakeInvoker]:
    invoker = FakeInvoker(_ok)
    dispatcher = Dispatcher(
        AsyncQueue(tmp_path / "events.sqlite3"), invoker, _settings(), clock=clock
    )
    return Scheduler(dispatcher, lambda: targets, clock=clock), invoker


async def tick(scheduler: Scheduler) -> None:
    await scheduler.step()
    await scheduler._dispatcher.step()


def test_scheduled_event_is_eventbridges_shape_in_its_order() -> None:
    payload = scheduled_event_payload(
        "Schedule", tick=T0 + 60, event_id="e-1", region="us-east-1",
        account_id="123456789012", resource_arn=RULE, input_json=None,
    )  # fmt: skip
    assert payload == (
        b'{"version":"0","id":"e-1","detail-type":"Scheduled Event","source":"aws.events",'
        b'"account":"123456789012","time":"2026-01-01T00:01:00Z","region":"us-east-1",'
        b'"resources":["arn:aws:events:us-east-1:123456789012:rule/app-HelloTick"],"detail":{}}'
    )


def test_input_replaces_the_event_exactly_and_scheduler_sends_empty_object() -> None:
    common = {"tick": T0, "event_id": "e", "region": "r", "account_id": "a", "resource_arn": "x"}
    assert scheduled_event_payload("Schedule", input_json='{"a": 1}', **common) == b'{"a": 1}'  # type: ignore[arg-type]
    assert scheduled_event_payload("ScheduleV2", input_json=None, **common) == b"{}"  # type: ignore[arg-type]


@in_loop
async def test_a_rate_schedule_fires_once_per_tick(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0 + 10
    scheduler, invoker = setup(tmp_path, [target()], clock)
    await tick(scheduler)  # a new schedule starts from now: nothing yet
    assert invoker.calls == []
    clock.now = T0 + 60
    await tick(scheduler)
    await tick(scheduler)  # same instant again: the tick is not fired twice
    assert len(invoker.calls) == 1
    event = orjson.loads(invoker.calls[0].payload)
    assert event["time"] == "2026-01-01T00:01:00Z"
    assert event["resources"] == [RULE]
    clock.now = T0 + 125
    await tick(scheduler)
    assert [orjson.loads(c.payload)["time"] for c in invoker.calls] == [
        "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z",
    ]  # fmt: skip


@in_loop
async def test_ticks_missed_while_down_fire_once_on_restart(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0 + 30
    first, invoker = setup(tmp_path, [target()], clock)
    await tick(first)
    clock.now = T0 + 60
    await tick(first)
    assert len(invoker.calls) == 1
    first._dispatcher.queue.close()
    # Down for ten minutes: ticks 00:02 ... 00:10 are missed.
    clock.now = T0 + 630
    second, invoker = setup(tmp_path, [target()], clock)
    await tick(second)
    await tick(second)
    assert [orjson.loads(c.payload)["time"] for c in invoker.calls] == ["2026-01-01T00:10:00Z"]


@in_loop
async def test_a_missed_tick_older_than_the_window_does_not_fire(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0 + 30
    spec = target("rate(1 hour)", catch_up_s=600)
    first, invoker = setup(tmp_path, [spec], clock)
    await tick(first)
    clock.now = T0 + 3600
    await tick(first)
    assert len(invoker.calls) == 1
    first._dispatcher.queue.close()
    # Down past 02:00 by more than the window (10 min): 02:00 is not fired late.
    clock.now = T0 + 2 * 3600 + 900
    second, invoker = setup(tmp_path, [spec], clock)
    await tick(second)
    assert invoker.calls == []
    clock.now = T0 + 3 * 3600
    await tick(second)
    assert len(invoker.calls) == 1


@in_loop
async def test_two_schedulers_on_one_store_fire_each_tick_once(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0 + 1
    a, invoker_a = setup(tmp_path, [target()], clock)
    b, invoker_b = setup(tmp_path, [target()], clock)
    await tick(a)
    await tick(b)
    for minute in range(1, 6):
        clock.now = T0 + 60 * minute
        await asyncio.gather(a.step(), b.step())
        await asyncio.gather(a._dispatcher.step(), b._dispatcher.step())
    assert a.fired + b.fired == 5
    assert len(invoker_a.calls) + len(invoker_b.calls) == 5


def test_a_tick_is_claimed_once_by_racing_threads(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    queues = [AsyncQueue(path) for _ in range(4)]
    results: list[bool] = []
    barrier = threading.Barrier(len(queues))

    def claim(queue: AsyncQueue, n: int) -> None:
        event = QueuedEvent(f"r{n}", "F", "$LATEST", b"{}", T0, T0)
        barrier.wait()
        results.append(queue.enqueue_tick("s", T0 + 60, event))

    threads = [threading.Thread(target=claim, args=(q, n)) for n, q in enumerate(queues)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    assert queues[0].counts().queued == 1
    assert queues[0].last_tick("s") == T0 + 60
    for queue in queues:
        queue.close()


@in_loop
async def test_disabled_or_removed_schedules_stop_firing(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0 + 1
    targets = [target()]
    scheduler, invoker = setup(tmp_path, targets, clock)
    await tick(scheduler)
    targets.clear()  # a deploy removed (or disabled) it
    clock.now = T0 + 120
    await tick(scheduler)
    assert invoker.calls == []


@in_loop
async def test_cron_in_a_time_zone_and_schedule_v2_input(tmp_path: Path) -> None:
    clock = Clock()
    # 2026-01-05 (a Monday) 13:59 UTC = 08:59 in New York
    clock.now = datetime(2026, 1, 5, 13, 59, tzinfo=UTC).timestamp()
    spec = target(
        "cron(0 9 ? * MON-FRI *)", kind="ScheduleV2", timezone="America/New_York",
        input_json='{"report": "daily"}',
    )  # fmt: skip
    scheduler, invoker = setup(tmp_path, [spec], clock)
    await tick(scheduler)
    clock.now += 60
    await tick(scheduler)
    assert [c.payload for c in invoker.calls] == [b'{"report": "daily"}']


@in_loop
async def test_a_one_time_schedule_fires_once_and_dates_bound_a_rate(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0
    once = target("at(2026-01-01T00:02:00)", schedule_id="once", kind="ScheduleV2")
    bounded = target(schedule_id="bounded", start_at=T0 + 90, end_at=T0 + 200)
    scheduler, invoker = setup(tmp_path, [once, bounded], clock)
    await tick(scheduler)
    fired: list[float] = []
    for seconds in range(30, 600, 30):
        clock.now = T0 + seconds
        before = len(invoker.calls)
        await tick(scheduler)
        fired += [clock.now - T0] * (len(invoker.calls) - before)
    # bounded: ticks at StartDate + k minutes (90 s, 150 s) up to EndDate; once: 120 s
    assert fired == [90.0, 120.0, 150.0]


def test_clock_scale_comes_from_the_environment_within_bounds() -> None:
    assert clock_scale_from_environ({}) == 1.0
    assert clock_scale_from_environ({"OVERCAST_SCHEDULE_CLOCK_SCALE": "0.01"}) == 0.01
    assert clock_scale_from_environ({"OVERCAST_SCHEDULE_CLOCK_SCALE": "5"}) == 1.0
    assert clock_scale_from_environ({"OVERCAST_SCHEDULE_CLOCK_SCALE": "x"}) == 1.0


@in_loop
async def test_a_schedule_whose_date_math_fails_does_not_stop_the_others(tmp_path: Path) -> None:
    clock = Clock()
    clock.now = T0 + 1
    broken = target(schedule_id="broken", timezone="UTC", start_at=float("nan"))
    scheduler, invoker = setup(tmp_path, [broken, target()], clock)
    await tick(scheduler)
    clock.now = T0 + 60
    await tick(scheduler)
    assert len(invoker.calls) == 1
