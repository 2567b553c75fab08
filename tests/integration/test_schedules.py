"""Schedule and ScheduleV2 events through ``overcast up``: fired on time, payload exact.

A rate(1 minute) schedule is shrunk with OVERCAST_SCHEDULE_CLOCK_SCALE so a test takes
seconds (every rate period scaled; cron and at keep wall-clock time). The Scheduled
Event is EventBridge's
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html).
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow

WAIT_S = 60.0
APP = Path(__file__).resolve().parent / "apps" / "schedules"


def _events(app: Any, function: str) -> list[Any]:
    return [
        json.loads(event.message.split("event ", 1)[1])
        for event in LogStore(str(app.state_dir)).read(function)
        if event.message.startswith("event ")
    ]


def _wait_for(check: Callable[[], bool], what: str, app: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened\n" + app.output())
        time.sleep(0.1)


def _seconds(event: dict[str, Any]) -> int:
    return int(
        datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    )


def test_schedules_fire_with_eventbridges_payload_input_or_empty_object(running_app: Any) -> None:
    # rate(1 minute) every second
    app = running_app(APP, env={"OVERCAST_SCHEDULE_CLOCK_SCALE": str(1 / 60)})
    _wait_for(lambda: len(_events(app, "TickFunction")) >= 2, "two ticks", app)
    _wait_for(lambda: len(_events(app, "InputFunction")) >= 2, "two ticks with Input", app)
    _wait_for(lambda: len(_events(app, "SchedulerFunction")) >= 2, "two Scheduler ticks", app)

    event = _events(app, "TickFunction")[0]
    assert list(event) == [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail",
    ]  # fmt: skip
    assert (event["version"], event["detail-type"], event["source"]) == (
        "0", "Scheduled Event", "aws.events",
    )  # fmt: skip
    assert event["detail"] == {}
    assert re.fullmatch(r"\d{12}", event["account"])
    assert re.fullmatch(r"[0-9a-f-]{36}", event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])
    (resource,) = event["resources"]
    assert resource == (
        f"arn:aws:events:{event['region']}:{event['account']}:rule/" + resource.rsplit("/", 1)[1]
    )
    assert resource.endswith("-TickFunctionTick")
    ids = [e["id"] for e in _events(app, "TickFunction")]
    assert len(set(ids)) == len(ids)

    # Input replaces the event, exactly; Scheduler without Input sends {}
    assert all(e == {"job": "purge", "n": 1} for e in _events(app, "InputFunction"))
    assert all(e == {} for e in _events(app, "SchedulerFunction"))
    # Enabled: false and State: DISABLED never fire
    assert _events(app, "OffFunction") == []


def test_ticks_missed_while_down_fire_once_on_restart(running_app: Any) -> None:
    # rate(1 minute) every 10 s: a restart well within one period, even on a busy machine
    period = 10
    env = {"OVERCAST_SCHEDULE_CLOCK_SCALE": str(period / 60)}
    app = running_app(APP, env=env)
    _wait_for(lambda: len(_events(app, "TickFunction")) >= 1, "a first tick", app)
    app.stop()
    before = [_seconds(e) for e in _events(app, "TickFunction")]
    # Down over two ticks; restart just after the second, so that the latest missed
    # tick is before the restart and the next is a whole period away.
    boundary = (max(before) // period + 2) * period
    time.sleep(max(0.0, boundary + 0.2 - time.time()))
    restart_at = time.time()
    again = running_app(app.app_dir, copy=False, env=env)
    _wait_for(
        lambda: len(_events(again, "TickFunction")) >= len(before) + 2, "ticks after restart", again
    )
    after = [_seconds(e) for e in _events(again, "TickFunction")][len(before) :]
    missed = [t for t in after if t < restart_at]
    # the latest missed tick fires once, not each of those missed
    assert missed == [boundary], (before, after, restart_at)
    # then the schedule goes on at its rate, no tick twice
    assert all(b - a == period for a, b in itertools.pairwise(after)), after
