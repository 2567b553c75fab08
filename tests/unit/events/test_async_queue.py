"""The durable async queue: one row per event, every state change committed.

The behaviours shared by both stores run against each (``backend``): the node's own
SQLite file and the cluster's PostgreSQL (skipped when it is down); group commit is
the SQLite store's alone.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from overcast.cluster import pg_async_queue
from overcast.cluster.pg_async_queue import PgAsyncQueue
from overcast.events import async_queue
from overcast.events.async_queue import AsyncQueue, EventCounts, QueuedEvent, enqueue_move
from overcast.events.group_commit import GroupCommit
from pg_support import PG_URL, pg_migrated, pg_schema

__all__ = ["pg_migrated", "pg_schema"]


def _event(rid: str, function: str = "F", due: float = 0.0) -> QueuedEvent:
    return QueuedEvent(
        request_id=rid, function=function, qualifier="$LATEST",
        payload=b'{"n": 1}', enqueued_at=0.0, due_at=due,
    )  # fmt: skip


@dataclass(frozen=True)
class Backend:
    """One store of the queue: how to open it (again), its moves, its duplicate error."""

    open: Callable[[], Any]
    enqueue_move: Callable[[QueuedEvent], Any]
    integrity_error: type[Exception]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    opened: list[Any] = []

    def track(queue: Any) -> Any:
        opened.append(queue)
        return queue

    if request.param == "sqlite":
        yield Backend(
            lambda: track(AsyncQueue(tmp_path / "events.sqlite3")),
            async_queue.enqueue_move,
            sqlite3.IntegrityError,
        )
    else:
        schema = request.getfixturevalue("pg_migrated")
        yield Backend(
            lambda: track(PgAsyncQueue(PG_URL, node="node-a", schema=schema)),
            pg_async_queue.enqueue_move,
            psycopg.IntegrityError,
        )
    for queue in opened:
        queue.close()


def test_claims_due_events_in_order_and_not_future_ones(backend: Backend) -> None:
    queue = backend.open()
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


def test_a_full_function_is_skipped_for_the_next_one(backend: Backend) -> None:
    queue = backend.open()
    queue.enqueue(_event("f1", "F", due=1.0))
    queue.enqueue(_event("g1", "G", due=2.0))
    claimed = queue.claim(5.0, full={("F", "$LATEST")})
    assert claimed is not None
    assert claimed.request_id == "g1"
    assert queue.state_of("f1") == "queued"


def test_in_flight_events_become_due_again_on_reopen(backend: Backend) -> None:
    queue = backend.open()
    queue.enqueue(_event("x"))
    queue.enqueue(_event("y"))
    assert queue.claim(1.0) is not None
    queue.close()  # the process "dies" with x in flight
    reopened = backend.open()
    assert reopened.recovered == 1
    assert reopened.state_of("x") == "queued"
    ids = {e.request_id for e in (reopened.claim(1.0), reopened.claim(1.0)) if e is not None}
    assert ids == {"x", "y"}


def test_retry_and_settle_keep_counters_and_queue_the_follow_up(backend: Backend) -> None:
    queue = backend.open()
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


def test_one_claim_takes_each_functions_room_and_looks_past_a_full_backlog(
    backend: Backend,
) -> None:
    queue = backend.open()
    for n in range(5):
        queue.enqueue(_event(f"f{n}", "F", due=float(n)))
    queue.enqueue(_event("g0", "G", due=10.0))
    rooms = {("F", "$LATEST"): 2, ("G", "$LATEST"): 5}
    claimed = queue.claim_due(20.0, lambda key: rooms[key], limit=3)
    # F's backlog comes first, but only two of it fit: G's event is found behind it.
    assert [e.request_id for e in claimed] == ["f0", "f1", "g0"]
    assert queue.counts() == EventCounts(queued=3, in_flight=3)
    queue.close()


def test_a_second_read_past_a_full_function_never_claims_an_event_twice(
    backend: Backend,
) -> None:
    queue = backend.open()
    for rid, function, due in [("g0", "G", 0.0), ("f0", "F", 1.0), ("f1", "F", 2.0),
                               ("g1", "G", 3.0)]:  # fmt: skip
        queue.enqueue(_event(rid, function, due=due))
    rooms = {("F", "$LATEST"): 1, ("G", "$LATEST"): 5}
    claimed = queue.claim_due(10.0, lambda key: rooms[key], limit=3)
    assert [e.request_id for e in claimed] == ["g0", "f0", "g1"]
    assert queue.state_of("f1") == "queued"


def test_moves_applied_together_keep_their_own_outcomes(backend: Backend) -> None:
    queue = backend.open()
    move = backend.enqueue_move
    results = queue.apply([move(_event("a")), move(_event("a")), move(_event("b"))])
    # The repeated id fails alone (its savepoint rolled back); a and b are stored.
    assert results[0] is None
    assert results[2] is None
    assert isinstance(results[1], backend.integrity_error)
    assert queue.counts().queued == 2
    queue.close()


def test_moves_asked_for_at_once_share_transactions(tmp_path: Path) -> None:
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    batches: list[int] = []
    apply = queue.apply

    def counted(moves: Any) -> list[object]:
        batches.append(len(moves))
        return apply(moves)

    queue.apply = counted  # type: ignore[method-assign]
    writes = GroupCommit(queue)

    async def main() -> None:
        await asyncio.gather(*(writes.write(enqueue_move(_event(f"e{n}"))) for n in range(50)))

    asyncio.run(main())
    assert sum(batches) == 50
    assert len(batches) <= 2  # the first caller's, then everyone who came meanwhile
    assert queue.counts().queued == 50
    queue.close()


def test_a_refused_move_raises_for_its_caller_only(tmp_path: Path) -> None:
    queue = AsyncQueue(tmp_path / "events.sqlite3")
    writes = GroupCommit(queue)

    async def main() -> list[object]:
        return await asyncio.gather(
            writes.write(enqueue_move(_event("x"))),
            writes.write(enqueue_move(_event("x"))),
            return_exceptions=True,
        )

    first, second = asyncio.run(main())
    assert first is None
    assert isinstance(second, sqlite3.IntegrityError)
    queue.close()
