"""The durable async queue: one row per event, every state change committed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from overcast.events.async_queue import AsyncQueue, EventCounts, QueuedEvent


def _event(rid: str, function: str = "F", due: float = 0.0) -> QueuedEvent:
    return QueuedEvent(
        request_id=rid, function=function, qualifier="$LATEST",
        payload=b'{"n": 1}', enqueued_at=0.0, due_at=due,
    )  # fmt: skip


def test_claims_due_events_in_order_and_not_future_ones(tmp_path: Path) -> None:
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    queue.enqueue(_event("b", due=2.0))
    queue.enqueue(_event("a", due=1.0))
    queue.enqueue(_event("later", due=100.0))
    claimed_a = queue.claim(5.0)
    claimed_b = queue.claim(5.0)
    assert claimed_a is not None
    assert claimed_b is not None
    assert [claimed_a.request_id, claimed_b.request_id] == ["a", "b"]
    assert claimed_a.payload == b'{"n": 1}'
    assert queue.claim(5.0) is None
    assert queue.next_due() == 100.0


def test_a_full_function_is_skipped_for_the_next_one(tmp_path: Path) -> None:
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    queue.enqueue(_event("f1", "F", due=1.0))
    queue.enqueue(_event("g1", "G", due=2.0))
    claimed = queue.claim(5.0, full={("F", "$LATEST")})
    assert claimed is not None
    assert claimed.request_id == "g1"
    assert queue.state_of("f1") == "queued"


def test_in_flight_events_become_due_again_on_reopen(tmp_path: Path) -> None:
    path = tmp_path / "events.sqlite3"
    queue = AsyncQueue(path)
    queue.enqueue(_event("x"))
    queue.enqueue(_event("y"))
    assert queue.claim(1.0) is not None
    queue.close()  # the process "dies" with x in flight
    reopened = AsyncQueue(path)
    assert reopened.recovered == 1
    assert reopened.state_of("x") == "queued"
    ids = {e.request_id for e in (reopened.claim(1.0), reopened.claim(1.0)) if e is not None}
    assert ids == {"x", "y"}


def test_retry_and_settle_keep_counters_and_queue_the_follow_up(tmp_path: Path) -> None:
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    queue.enqueue(_event("x"))
    claimed = queue.claim(1.0)
    assert claimed is not None
    queue.retry(
        replace(claimed, due_at=61.0, attempts=1, function_errors=1, last_error="Unhandled")
    )
    assert queue.claim(60.0) is None
    again = queue.claim(61.0)
    assert again is not None
    assert (again.attempts, again.function_errors, again.last_error) == (1, 1, "Unhandled")
    queue.settle(replace(again, attempts=2), "failed", 62.0, condition="RetriesExhausted",
                 follow_up=_event("record", "OnFailure", due=62.0))  # fmt: skip
    assert queue.counts("F") == EventCounts(queued=0, in_flight=0, retried=1, failed=1)
    assert queue.counts("OnFailure") == EventCounts(queued=1)
    assert queue.prune(62.0 + 8 * 86_400) == 1
