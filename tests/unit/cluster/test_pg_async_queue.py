"""The shared async queue with many claimers: SKIP LOCKED hands each event to one
claimer, ticks are claimed once, and only a dead node's in-flight events are rerun."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest

from overcast.cluster import pg_async_queue
from overcast.cluster.node_registry import NodeRegistry
from overcast.cluster.pg_async_queue import PgAsyncQueue
from overcast.cluster.pg_connection import connect
from overcast.events.async_queue import QueuedEvent
from pg_support import PG_URL, pg_migrated, pg_schema

pytestmark = [pytest.mark.postgres]
__all__ = ["pg_migrated", "pg_schema"]


def _event(rid: str, function: str = "F", due: float = 0.0) -> QueuedEvent:
    return QueuedEvent(
        request_id=rid, function=function, qualifier="$LATEST",
        payload=b"{}", enqueued_at=0.0, due_at=due,
    )  # fmt: skip


@pytest.fixture
def queues(pg_migrated: str) -> Iterator[dict[str, PgAsyncQueue]]:
    opened = {
        name: PgAsyncQueue(PG_URL, node=name, schema=pg_migrated) for name in ("node-a", "node-b")
    }
    yield opened
    for queue in opened.values():
        queue.close()


def test_two_claimers_racing_claim_every_event_exactly_once(
    pg_migrated: str, queues: dict[str, PgAsyncQueue]
) -> None:
    a, b = queues["node-a"], queues["node-b"]
    moves = [pg_async_queue.enqueue_move(_event(f"e{n:04d}", f"F{n % 7}")) for n in range(1000)]
    assert a.apply(moves) == [None] * 1000
    claimed: dict[str, list[str]] = {"node-a": [], "node-b": []}
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def claimer(queue: PgAsyncQueue) -> None:
        try:
            start.wait()
            while batch := queue.claim_due(1.0, lambda key: 5, limit=16):
                claimed[queue.node] += [e.request_id for e in batch]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(q,)) for q in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    every = claimed["node-a"] + claimed["node-b"]
    assert len(every) == 1000
    assert Counter(every).most_common(1)[0][1] == 1
    assert a.counts().in_flight == 1000
    with connect(PG_URL, schema=pg_migrated) as conn:
        by_node = dict(
            conn.execute(
                "SELECT claimed_by, count(*) FROM async_events GROUP BY claimed_by"
            ).fetchall()
        )
    assert by_node == {n: len(ids) for n, ids in claimed.items() if ids}


def test_a_schedule_tick_is_claimed_by_one_node_only(queues: dict[str, PgAsyncQueue]) -> None:
    a, b = queues["node-a"], queues["node-b"]
    assert a.enqueue_tick("every-minute", 60.0, _event("tick-a")) is True
    assert b.enqueue_tick("every-minute", 60.0, _event("tick-b")) is False
    assert b.last_tick("every-minute") == 60.0
    assert (a.state_of("tick-a"), a.state_of("tick-b")) == ("queued", None)


def test_a_live_nodes_in_flight_events_are_left_alone_a_dead_nodes_rerun(
    pg_migrated: str, queues: dict[str, PgAsyncQueue]
) -> None:
    a, b = queues["node-a"], queues["node-b"]
    a.apply([pg_async_queue.enqueue_move(_event(rid)) for rid in ("x", "y")])
    assert a.claim(1.0) is not None  # x, in flight on node-a
    assert b.claim(1.0) is not None  # y, in flight on node-b
    with connect(PG_URL, schema=pg_migrated) as conn:
        for name in ("node-a", "node-b"):
            NodeRegistry(conn).register(name, "127.0.0.1:1", "0.1.0")
        # another node opening the queue recovers nothing of theirs
        again = PgAsyncQueue(PG_URL, node="node-c", schema=pg_migrated)
        again.close()
        assert again.recovered == 0
        assert b.recover_dead(stale_after_s=30) == 0  # both beat
        conn.execute(
            "UPDATE nodes SET heartbeat_at = now() - interval '1 hour' WHERE name = 'node-a'"
        )
        assert b.recover_dead(stale_after_s=30) == 1
    assert (a.state_of("x"), a.state_of("y")) == ("queued", "in_flight")


def test_a_nodes_restart_reruns_its_own_in_flight_events_only(
    pg_migrated: str, queues: dict[str, PgAsyncQueue]
) -> None:
    a, b = queues["node-a"], queues["node-b"]
    a.apply([pg_async_queue.enqueue_move(_event(rid)) for rid in ("x", "y")])
    assert a.claim(1.0) is not None
    assert b.claim(1.0) is not None
    restarted = PgAsyncQueue(PG_URL, node="node-a", schema=pg_migrated)
    restarted.close()
    assert restarted.recovered == 1
    assert (a.state_of("x"), a.state_of("y")) == ("queued", "in_flight")


def test_events_an_unfinished_claim_holds_are_skipped_then_free_when_it_aborts(
    pg_migrated: str, queues: dict[str, PgAsyncQueue]
) -> None:
    a = queues["node-a"]
    a.apply([pg_async_queue.enqueue_move(_event(rid, due=n)) for n, rid in enumerate("xyz")])
    holder = connect(PG_URL, schema=pg_migrated)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT 1 FROM async_events WHERE request_id = 'x' FOR UPDATE")
        # x is locked by a claim still in progress: the others are taken without waiting
        assert [e.request_id for e in a.claim_due(5.0, lambda key: 5)] == ["y", "z"]
        # That claim aborts (as when its node dies: the server rolls it back; done here
        # explicitly, as a closed socket's rollback is not waited for): x is free again.
        holder.execute("ROLLBACK")
    finally:
        holder.close()
    claimed = a.claim(5.0)
    assert claimed is not None
    assert claimed.request_id == "x"
