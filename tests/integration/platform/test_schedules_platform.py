"""`overcast serve`: a stage's current deployment fires its schedules; deploys and
rollbacks change what fires (rate periods shrunk with OVERCAST_SCHEDULE_CLOCK_SCALE)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from overcast.events import EVENTS_FILE, AsyncQueue
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "apps" / "scheduled"


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningPlatform]:
    # rate(1 minute) every second; the platform inherits the test's environment
    monkeypatch.setenv("OVERCAST_SCHEDULE_CLOCK_SCALE", str(1 / 60))
    running = start_platform(tmp_path / "platform")
    yield running
    code = running.stop()
    assert code in (0, 130), running.output()


def _delivered(platform: RunningPlatform, stage: str) -> int:
    queue = AsyncQueue(platform.state_dir / EVENTS_FILE, recover=False)
    try:
        return queue.counts("Ticker", stage).delivered
    finally:
        queue.close()


def _wait_for_more(platform: RunningPlatform, stage: str, than: int) -> int:
    deadline = time.monotonic() + 60
    while (count := _delivered(platform, stage)) < than + 2:
        assert time.monotonic() < deadline, platform.output()
        time.sleep(0.1)
    return count


def _settled(platform: RunningPlatform, stage: str) -> int:
    """The count once nothing more arrives for a few periods (a tick queued just
    before the deploy may still run)."""
    count = -1
    deadline = time.monotonic() + 60
    while (now := _delivered(platform, stage)) != count:
        assert time.monotonic() < deadline, "the schedule never stopped\n" + platform.output()
        count = now
        time.sleep(3)
    return count


def test_only_the_current_deployment_of_a_stage_fires_its_schedule(
    platform: RunningPlatform,
) -> None:
    platform.deploy(APP, "dev")
    _wait_for_more(platform, "dev", 0)
    # a deploy that disables the schedule stops it
    platform.deploy(APP, "dev", "--parameter-overrides", "TickEnabled=false")
    stopped = _settled(platform, "dev")
    time.sleep(3)
    assert _delivered(platform, "dev") == stopped
    # rolling back to the enabling deployment starts it again
    rolled = platform.cli("rollback", "--stage", "dev")
    assert rolled.returncode == 0, rolled.stderr.decode()
    _wait_for_more(platform, "dev", stopped)
    # a stage nothing was deployed to fires nothing
    assert _delivered(platform, "qa") == 0
