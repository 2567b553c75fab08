"""The public surface of overcast.events: exactly what __all__ lists, all importable."""

from __future__ import annotations

import overcast.events as events

EXPECTED = {
    "EVENTS_FILE",
    "AsyncQueue",
    "AsyncSettings",
    "Destination",
    "Dispatcher",
    "EventCounts",
    "EventSourceMapping",
    "EventsError",
    "GiveUp",
    "MappingTarget",
    "QueuedEvent",
    "Retry",
    "RetryConfig",
    "ScheduleTarget",
    "Scheduler",
    "SqsPoller",
    "next_attempt",
}


def test_all_lists_the_public_api() -> None:
    assert set(events.__all__) == EXPECTED
    assert all(hasattr(events, name) for name in events.__all__)
