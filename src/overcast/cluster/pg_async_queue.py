"""The asynchronous-invocation queue in the cluster's PostgreSQL, shared by every node.

The same model and interface as :class:`overcast.events.async_queue.AsyncQueue` (read
its theory of operation); what changes with many nodes:

- A claim selects due events ``FOR UPDATE SKIP LOCKED``: dispatchers of several nodes
  (or several connections of one) claiming at once each get different events, without
  waiting on each other. Claimed events carry the claiming node's name.
- Recovery is per node. On open, a node requeues the in-flight events claimed under
  its own name (they are from its previous life: a name has one live node at a time,
  :mod:`overcast.cluster.node_registry`); :meth:`PgAsyncQueue.recover_dead` requeues
  those of nodes whose heartbeat stopped. A live node's in-flight events are never
  touched.
- A schedule's tick is claimed with ``INSERT ... ON CONFLICT DO NOTHING``: a second
  node inserting the same tick waits for the first's transaction and then finds it taken.

Moves are functions of a psycopg connection (the ``*_move`` functions here mirror the
SQLite ones); :meth:`PgAsyncQueue.apply` runs each in a savepoint of one transaction,
so one move that fails costs only itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Sequence
from typing import Literal, LiteralString

import psycopg

from overcast.cluster.node_registry import STALE_AFTER_S
from overcast.cluster.pg_connection import connect
from overcast.events.async_queue import KEEP_SETTLED_S, EventCounts, QueuedEvent, State

Connection = psycopg.Connection[tuple[object, ...]]
#: one move of the queue, run inside a transaction; what it returns is the caller's
PgMove = Callable[[Connection], object]

_COLUMNS = (
    "request_id, function, qualifier, payload, client_context, enqueued_at, due_at, "
    "attempts, function_errors, throttles, last_error, last_version, last_response"
)
_STATES: dict[object, State] = {
    "queued": "queued",
    "in_flight": "in_flight",
    "succeeded": "succeeded",
    "failed": "failed",
}


class PgAsyncQueue:
    """The queue's store on one connection; thread-safe (one transaction at a time)."""

    def __init__(
        self, url: str, *, node: str, schema: str | None = None, recover: bool = True
    ) -> None:
        """Open the queue as node ``node``; ``recover=False`` for readers (the CLI)."""
        self.node = node
        self._conn = connect(url, schema=schema)
        self._lock = threading.Lock()
        #: this node's events found in flight on open (its previous life died): due again
        self.recovered = self.recover_node(node) if recover else 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def recover_node(self, node: str) -> int:
        """Requeue the in-flight events of ``node`` (known dead, or this node restarting)."""
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE async_events SET state = 'queued', claimed_by = NULL "
                "WHERE state = 'in_flight' AND claimed_by = %s",
                [node],
            )
            return cursor.rowcount

    def recover_dead(self, stale_after_s: float = STALE_AFTER_S) -> int:
        """Requeue the in-flight events of every node that stopped, or whose heartbeat is
        older than ``stale_after_s`` (or that never registered)."""
        with self._lock:
            cursor = self._conn.execute(
                "UPDATE async_events SET state = 'queued', claimed_by = NULL "
                "WHERE state = 'in_flight' AND claimed_by NOT IN ("
                "SELECT name FROM nodes WHERE state <> 'stopped' "
                "AND heartbeat_at >= now() - make_interval(secs => %s))",
                [stale_after_s],
            )
            return cursor.rowcount

    def apply(self, moves: Sequence[PgMove]) -> list[object]:
        """Run ``moves`` in one committed transaction; each one's result, or the exception
        it raised (its savepoint rolled back: the others stand)."""
        results: list[object] = []
        with self._lock, self._conn.transaction():
            for move in moves:
                try:
                    with self._conn.transaction():
                        results.append(move(self._conn))
                except psycopg.Error as exc:
                    results.append(exc)
        return results

    def _one(self, move: PgMove) -> object:
        [result] = self.apply([move])
        if isinstance(result, psycopg.Error):
            raise result
        return result

    def enqueue(self, event: QueuedEvent) -> None:
        """Store a new event, durably, before the caller is told it was accepted."""
        self._one(enqueue_move(event))

    def claim(self, now: float, full: Collection[tuple[str, str]] = ()) -> QueuedEvent | None:
        """The earliest due event of a function not in ``full``, now in flight here."""
        found = self.claim_due(now, lambda key: 0 if key in full else 1, limit=1)
        return found[0] if found else None

    def claim_due(
        self, now: float, room: Callable[[tuple[str, str]], int], *, limit: int = 64
    ) -> list[QueuedEvent]:
        """Due events, earliest first, at most ``room(key)`` of each function and ``limit``
        in all, marked in flight by this node in one transaction; events another
        claimer holds are skipped, never waited for."""
        with self._lock, self._conn.transaction():
            return _claim_due(self._conn, self.node, now, room, limit)

    def retry(self, event: QueuedEvent) -> None:
        """Put an attempted event back, due at ``event.due_at`` with its new counters."""
        self._one(retry_move(event))

    def settle(
        self,
        event: QueuedEvent,
        state: Literal["succeeded", "failed"],
        now: float,
        *,
        condition: str | None = None,
        follow_up: QueuedEvent | None = None,
    ) -> None:
        """The event is done with; ``follow_up`` (a destination's event) is queued with it."""
        self._one(settle_move(event, state, now, condition=condition, follow_up=follow_up))

    def enqueue_tick(self, schedule_id: str, tick: float, event: QueuedEvent) -> bool:
        """Claim ``schedule_id``'s ``tick`` and store its event; False if it was claimed."""
        return bool(self._one(tick_move(schedule_id, tick, event)))

    def last_tick(self, schedule_id: str) -> float | None:
        """The latest tick of ``schedule_id`` claimed so far (None: it never fired)."""
        return self._scalar("SELECT MAX(tick) FROM schedule_ticks WHERE schedule_id = %s",
                            [schedule_id])  # fmt: skip

    def next_due(self) -> float | None:
        """When the earliest queued event falls due (None: nothing is queued)."""
        return self._scalar("SELECT MIN(due_at) FROM async_events WHERE state = 'queued'", [])

    def _scalar(self, sql: LiteralString, params: list[object]) -> float | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None or row[0] is None else float(str(row[0]))

    def state_of(self, request_id: str) -> State | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT state FROM async_events WHERE request_id = %s", [request_id]
            ).fetchone()
        return None if row is None else _STATES[row[0]]

    def counts(self, function: str | None = None, qualifier: str | None = None) -> EventCounts:
        """Queued, in flight, retried, failed and delivered events (of one function)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FILTER (WHERE state = 'queued'), "
                "count(*) FILTER (WHERE state = 'in_flight'), "
                "count(*) FILTER (WHERE function_errors + throttles > 0), "
                "count(*) FILTER (WHERE state = 'failed'), "
                "count(*) FILTER (WHERE state = 'succeeded') FROM async_events "
                "WHERE (%(f)s::text IS NULL OR function = %(f)s) "
                "AND (%(q)s::text IS NULL OR qualifier = %(q)s)",
                {"f": function, "q": qualifier},
            ).fetchone()
        values = [int(str(v)) for v in row] if row is not None else [0] * 5
        return EventCounts(*values)

    def prune(self, now: float, keep_s: float = KEEP_SETTLED_S) -> int:
        """Forget events settled more than ``keep_s`` ago."""
        with self._lock, self._conn.transaction():
            cursor = self._conn.execute(
                "DELETE FROM async_events WHERE state IN ('succeeded', 'failed') "
                "AND settled_at < %s",
                [now - keep_s],
            )
            # Each schedule keeps its latest tick: what a restart catches up from.
            self._conn.execute(
                "DELETE FROM schedule_ticks s WHERE claimed_at < %s AND tick < "
                "(SELECT MAX(t.tick) FROM schedule_ticks t WHERE t.schedule_id = s.schedule_id)",
                [now - keep_s],
            )
            return cursor.rowcount


def enqueue_move(event: QueuedEvent) -> PgMove:
    """Store a new event (queued)."""
    return lambda conn: _insert(conn, event)


def retry_move(event: QueuedEvent) -> PgMove:
    """Put an attempted event back, due at ``event.due_at`` with its new counters."""

    def move(conn: Connection) -> None:
        conn.execute(
            "UPDATE async_events SET state = 'queued', claimed_by = NULL, due_at = %s, "
            "attempts = %s, function_errors = %s, throttles = %s, last_error = %s, "
            "last_version = %s, last_response = %s WHERE request_id = %s",
            [
                event.due_at,
                event.attempts,
                event.function_errors,
                event.throttles,
                event.last_error,
                event.last_version,
                event.last_response,
                event.request_id,
            ],
        )

    return move


def settle_move(
    event: QueuedEvent,
    state: Literal["succeeded", "failed"],
    now: float,
    *,
    condition: str | None = None,
    follow_up: QueuedEvent | None = None,
) -> PgMove:
    """Settle an event, dropping its payload; ``follow_up`` is queued with it."""

    def move(conn: Connection) -> None:
        conn.execute(
            "UPDATE async_events SET state = %s, attempts = %s, function_errors = %s, "
            "throttles = %s, last_error = %s, last_version = %s, condition = %s, "
            "settled_at = %s, payload = NULL, last_response = NULL, claimed_by = NULL "
            "WHERE request_id = %s",
            [
                state,
                event.attempts,
                event.function_errors,
                event.throttles,
                event.last_error,
                event.last_version,
                condition,
                now,
                event.request_id,
            ],
        )
        if follow_up is not None:
            _insert(conn, follow_up)

    return move


def tick_move(schedule_id: str, tick: float, event: QueuedEvent) -> PgMove:
    """Claim a schedule's tick and store its event; False when it was claimed already."""

    def move(conn: Connection) -> bool:
        cursor = conn.execute(
            "INSERT INTO schedule_ticks (schedule_id, tick, request_id, claimed_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            [schedule_id, tick, event.request_id, event.enqueued_at],
        )
        if cursor.rowcount == 0:
            return False
        _insert(conn, event)
        return True

    return move


def _claim_due(
    conn: Connection,
    node: str,
    now: float,
    room: Callable[[tuple[str, str]], int],
    limit: int,
) -> list[QueuedEvent]:
    # Candidates are read by key alone and locked (SKIP LOCKED: another claimer's rows
    # are passed over). The chosen ones are marked at once, so a second read (past a
    # function that ran out of room) never returns them again.
    chosen: list[str] = []
    taken: dict[tuple[str, str], int] = {}
    full: set[tuple[str, str]] = set()
    while len(chosen) < limit:
        wanted = limit - len(chosen)
        rows = conn.execute(
            "SELECT request_id, function, qualifier FROM async_events "
            "WHERE state = 'queued' AND due_at <= %s "
            "AND NOT EXISTS (SELECT 1 FROM unnest(%s::text[], %s::text[]) AS f (fn, q) "
            "WHERE f.fn = function AND f.q = qualifier) "
            "ORDER BY due_at, seq LIMIT %s FOR UPDATE SKIP LOCKED",
            [now, [f for f, _ in full], [q for _, q in full], wanted],
        ).fetchall()
        filled = False
        picked: list[str] = []
        for request_id, function, qualifier in rows:
            key = (str(function), str(qualifier))
            if key in full:
                continue
            if taken.get(key, 0) >= room(key):
                full.add(key)
                filled = True
                continue
            taken[key] = taken.get(key, 0) + 1
            picked.append(str(request_id))
        if picked:
            conn.execute(
                "UPDATE async_events SET state = 'in_flight', claimed_by = %s, claimed_at = %s "
                "WHERE request_id = ANY(%s)",
                [node, now, picked],
            )
            chosen += picked
        if len(rows) < wanted or not filled:
            break
    if not chosen:
        return []
    found = {
        str(row[0]): _event(row)
        for row in conn.execute(
            f"SELECT {_COLUMNS} FROM async_events WHERE request_id = ANY(%s)",  # noqa: S608
            [chosen],
        )
    }
    return [found[rid] for rid in chosen]


def _insert(conn: Connection, event: QueuedEvent) -> None:
    conn.execute(
        f"INSERT INTO async_events ({_COLUMNS}, state) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'queued')",
        [
            event.request_id,
            event.function,
            event.qualifier,
            event.payload,
            event.client_context,
            event.enqueued_at,
            event.due_at,
            event.attempts,
            event.function_errors,
            event.throttles,
            event.last_error,
            event.last_version,
            event.last_response,
        ],
    )


def _event(row: tuple[object, ...]) -> QueuedEvent:
    (rid, function, qualifier, payload, context, enqueued, due, attempts, errors, throttles,
     last_error, last_version, last_response) = row  # fmt: skip
    return QueuedEvent(
        request_id=str(rid),
        function=str(function),
        qualifier=str(qualifier),
        payload=payload if isinstance(payload, bytes) else b"{}",
        enqueued_at=float(str(enqueued)),
        due_at=float(str(due)),
        client_context=context if isinstance(context, str) else None,
        attempts=int(str(attempts)),
        function_errors=int(str(errors)),
        throttles=int(str(throttles)),
        last_error=last_error if isinstance(last_error, str) else None,
        last_version=last_version if isinstance(last_version, str) else None,
        last_response=last_response if isinstance(last_response, bytes) else None,
    )
