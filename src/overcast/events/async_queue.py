"""The durable asynchronous-invocation queue: one SQLite file (WAL) in the state folder.

Theory of operation
-------------------
Each event is one row, keyed by its request id (the id the caller got in the 202
and the handler sees on every attempt). Its ``state`` moves through::

    queued ──claim──▶ in_flight ──succeed──▶ succeeded
       ▲                  │ ──fail──────▶ failed
       └──── retry ───────┘
       └──── recover (on open: the process died mid-attempt) ┘

Every move is committed with ``synchronous=FULL`` before the caller goes on: an
enqueued event survives a crash before its 202 is sent, and an attempt that was in
flight when the process died is run again on the next open (at least once, as
Lambda's own queue). Moves are written by :meth:`AsyncQueue.apply`: several of them
(from callers waiting at the same time) share one ``BEGIN IMMEDIATE`` transaction,
each in a savepoint of its own, so one fsync serves them all (group commit) and one
move that fails costs only itself. A claim takes every due event the caller has room
for in one transaction. A destination's
event (the invocation record for an OnSuccess/OnFailure function) is inserted in
the same transaction that settles the event it reports on.

A schedule's tick is claimed in ``schedule_ticks`` (keyed by schedule and tick
time, ``INSERT OR IGNORE``) in the same transaction that enqueues its event: the
first scheduler to claim a tick runs it, any other (another node on the same file,
a restart) finds it taken; a claimed tick is never lost to a crash before its event
is stored, nor stored twice.

Settled rows keep their counters (for ``overcast events``) but drop their payload;
:meth:`AsyncQueue.prune` deletes them after a week.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from overcast.sqlite_wal import immediate_transaction, open_wal

#: the queue's file name in a node's or platform's state folder
EVENTS_FILE = "events.sqlite3"
#: how long settled events stay countable
KEEP_SETTLED_S = 7 * 86_400.0

State = Literal["queued", "in_flight", "succeeded", "failed"]

#: one move of the queue, run inside a write transaction; what it returns is the caller's
Move = Callable[[sqlite3.Connection], object]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    request_id      TEXT PRIMARY KEY,
    function        TEXT NOT NULL,
    qualifier       TEXT NOT NULL,
    payload         BLOB,
    client_context  TEXT,
    enqueued_at     REAL NOT NULL,
    due_at          REAL NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    function_errors INTEGER NOT NULL DEFAULT 0,
    throttles       INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_version    TEXT,
    last_response   BLOB,
    condition       TEXT,
    settled_at      REAL
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, due_at);
CREATE INDEX IF NOT EXISTS events_by_function ON events (function, qualifier, state);
CREATE TABLE IF NOT EXISTS schedule_ticks (
    schedule_id TEXT NOT NULL,
    tick        REAL NOT NULL,
    request_id  TEXT NOT NULL,
    claimed_at  REAL NOT NULL,
    PRIMARY KEY (schedule_id, tick)
);
"""

_COLUMNS = (
    "request_id, function, qualifier, payload, client_context, enqueued_at, due_at, "
    "attempts, function_errors, throttles, last_error, last_version, last_response"
)


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    """One asynchronous invocation and what its attempts so far came to.

    ``attempts`` counts the times the handler ran (Lambda's
    ``approximateInvokeCount``); ``function_errors`` and ``throttles`` the attempts
    that failed each way. ``last_*`` describe the last attempt that ran.
    """

    request_id: str
    function: str
    qualifier: str
    payload: bytes
    enqueued_at: float
    due_at: float
    client_context: str | None = None
    attempts: int = 0
    function_errors: int = 0
    throttles: int = 0
    last_error: str | None = None
    last_version: str | None = None
    last_response: bytes | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.function, self.qualifier)


@dataclass(frozen=True, slots=True)
class EventCounts:
    """How a function's events stand (``overcast events``)."""

    queued: int = 0
    in_flight: int = 0
    retried: int = 0
    failed: int = 0
    delivered: int = 0


class AsyncQueue:
    """The queue's store; thread-safe (the dispatcher calls it from worker threads)."""

    def __init__(self, path: Path, *, recover: bool = True) -> None:
        """Open (or create) the queue; ``recover=False`` for readers beside a live node,
        whose in-flight events are really in flight."""
        self.path = path
        self._db = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()
        #: events found in flight on open (their process died): due again at once
        self.recovered = self._recover() if recover else 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _recover(self) -> int:
        # Their due time has passed already (they were claimed): due again at once.
        with immediate_transaction(self._db, self._lock) as db:
            cursor = db.execute("UPDATE events SET state='queued' WHERE state='in_flight'")
            return cursor.rowcount

    def apply(self, moves: Sequence[Move]) -> list[object]:
        """Run ``moves`` in one committed transaction; each one's result, or the exception
        it raised (its savepoint rolled back: the others stand)."""
        results: list[object] = []
        with immediate_transaction(self._db, self._lock) as db:
            for move in moves:
                db.execute("SAVEPOINT move")
                try:
                    results.append(move(db))
                except sqlite3.Error as exc:
                    db.execute("ROLLBACK TO move")
                    results.append(exc)
                db.execute("RELEASE move")
        return results

    def _one(self, move: Move) -> object:
        [result] = self.apply([move])
        if isinstance(result, sqlite3.Error):
            raise result
        return result

    def enqueue(self, event: QueuedEvent) -> None:
        """Store a new event, durably, before the caller is told it was accepted."""
        self._one(enqueue_move(event))

    def claim(self, now: float, full: Collection[tuple[str, str]] = ()) -> QueuedEvent | None:
        """The earliest due event of a function not in ``full``, now marked in flight."""
        found = self.claim_due(now, lambda key: 0 if key in full else 1, limit=1)
        return found[0] if found else None

    def claim_due(
        self, now: float, room: Callable[[tuple[str, str]], int], *, limit: int = 64
    ) -> list[QueuedEvent]:
        """Due events, earliest first, at most ``room(key)`` of each function and ``limit``
        in all, marked in flight in one transaction. Functions without room are skipped
        in the query, so their backlog never hides another function's events."""
        with immediate_transaction(self._db, self._lock) as db:
            return _claim_due(db, now, room, limit)

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
        with self._lock:
            row = self._db.execute(
                "SELECT MAX(tick) FROM schedule_ticks WHERE schedule_id=?", (schedule_id,)
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def next_due(self) -> float | None:
        """When the earliest queued event falls due (None: nothing is queued)."""
        with self._lock:
            row = self._db.execute("SELECT MIN(due_at) FROM events WHERE state='queued'").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def state_of(self, request_id: str) -> State | None:
        with self._lock:
            row = self._db.execute(
                "SELECT state FROM events WHERE request_id=?", (request_id,)
            ).fetchone()
        return None if row is None else row[0]

    def counts(self, function: str | None = None, qualifier: str | None = None) -> EventCounts:
        """Queued, in flight, retried, failed and delivered events (of one function)."""
        sql = (
            "SELECT "
            "SUM(state='queued'), SUM(state='in_flight'), "
            "SUM(function_errors + throttles > 0), SUM(state='failed'), "
            "SUM(state='succeeded') FROM events"
        )
        where: list[str] = []
        params: list[object] = []
        if function is not None:
            where.append("function=?")
            params.append(function)
        if qualifier is not None:
            where.append("qualifier=?")
            params.append(qualifier)
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._lock:
            row = self._db.execute(sql, params).fetchone()
        values = [int(v or 0) for v in row]
        return EventCounts(*values)

    def prune(self, now: float, keep_s: float = KEEP_SETTLED_S) -> int:
        """Forget events settled more than ``keep_s`` ago."""
        with immediate_transaction(self._db, self._lock) as db:
            cursor = db.execute(
                "DELETE FROM events WHERE state IN ('succeeded', 'failed') AND settled_at < ?",
                (now - keep_s,),
            )
            # Each schedule keeps its latest tick: what a restart catches up from.
            db.execute(
                "DELETE FROM schedule_ticks WHERE claimed_at < ? AND tick < "
                "(SELECT MAX(t.tick) FROM schedule_ticks t "
                "WHERE t.schedule_id = schedule_ticks.schedule_id)",
                (now - keep_s,),
            )
            return cursor.rowcount


def enqueue_move(event: QueuedEvent) -> Move:
    """Store a new event (queued)."""
    return lambda db: _insert(db, event)


def retry_move(event: QueuedEvent) -> Move:
    """Put an attempted event back, due at ``event.due_at`` with its new counters."""

    def move(db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE events SET state='queued', due_at=?, attempts=?, function_errors=?, "
            "throttles=?, last_error=?, last_version=?, last_response=? WHERE request_id=?",
            (
                event.due_at,
                event.attempts,
                event.function_errors,
                event.throttles,
                event.last_error,
                event.last_version,
                event.last_response,
                event.request_id,
            ),
        )

    return move


def settle_move(
    event: QueuedEvent,
    state: Literal["succeeded", "failed"],
    now: float,
    *,
    condition: str | None = None,
    follow_up: QueuedEvent | None = None,
) -> Move:
    """Settle an event, dropping its payload; ``follow_up`` is queued with it."""

    def move(db: sqlite3.Connection) -> None:
        db.execute(
            "UPDATE events SET state=?, attempts=?, function_errors=?, throttles=?, "
            "last_error=?, last_version=?, condition=?, settled_at=?, payload=NULL, "
            "last_response=NULL WHERE request_id=?",
            (
                state,
                event.attempts,
                event.function_errors,
                event.throttles,
                event.last_error,
                event.last_version,
                condition,
                now,
                event.request_id,
            ),
        )
        if follow_up is not None:
            _insert(db, follow_up)

    return move


def tick_move(schedule_id: str, tick: float, event: QueuedEvent) -> Move:
    """Claim a schedule's tick and store its event; False when it was claimed already."""

    def move(db: sqlite3.Connection) -> bool:
        cursor = db.execute(
            "INSERT OR IGNORE INTO schedule_ticks (schedule_id, tick, request_id, claimed_at) "
            "VALUES (?, ?, ?, ?)",
            (schedule_id, tick, event.request_id, event.enqueued_at),
        )
        if cursor.rowcount == 0:
            return False
        _insert(db, event)
        return True

    return move


def _claim_due(
    db: sqlite3.Connection,
    now: float,
    room: Callable[[tuple[str, str]], int],
    limit: int,
) -> list[QueuedEvent]:
    # Candidates are read by key alone (cheap rows); only the chosen ones are loaded.
    chosen: list[str] = []
    taken: dict[tuple[str, str], int] = {}
    full: set[tuple[str, str]] = set()
    while len(chosen) < limit:
        sql = (
            "SELECT request_id, function, qualifier FROM events "
            "WHERE state='queued' AND due_at <= ?"
        )
        params: list[object] = [now]
        if full:
            sql += f" AND (function, qualifier) NOT IN (VALUES {', '.join('(?, ?)' for _ in full)})"
            for function, qualifier in full:
                params += [function, qualifier]
        if chosen:
            # Chosen rows are still 'queued' until the update below: a second read must
            # not return them again (the same event claimed twice in one batch).
            sql += f" AND request_id NOT IN ({', '.join('?' for _ in chosen)})"
            params += chosen
        sql += " ORDER BY due_at, rowid LIMIT ?"
        wanted = limit - len(chosen)
        params.append(wanted)
        rows = db.execute(sql, params).fetchall()
        filled = False
        for request_id, function, qualifier in rows:
            key = (str(function), str(qualifier))
            if key in full:
                continue
            if taken.get(key, 0) >= room(key):
                full.add(key)
                filled = True
                continue
            taken[key] = taken.get(key, 0) + 1
            chosen.append(str(request_id))
        # Nothing more is due, or every row read was taken: done. Else a function ran
        # out of room, and the next read looks past its backlog.
        if len(rows) < wanted or not filled:
            break
    if not chosen:
        return []
    db.executemany(
        "UPDATE events SET state='in_flight' WHERE request_id=?", [(rid,) for rid in chosen]
    )
    marks = ", ".join("?" for _ in chosen)
    found = {
        str(row[0]): _event(row)
        for row in db.execute(
            f"SELECT {_COLUMNS} FROM events WHERE request_id IN ({marks})",  # noqa: S608
            chosen,
        )
    }
    return [found[rid] for rid in chosen]


def _insert(db: sqlite3.Connection, event: QueuedEvent) -> None:
    db.execute(
        f"INSERT INTO events ({_COLUMNS}, state) "  # noqa: S608
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
        (
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
        ),
    )


def _event(row: tuple[object, ...]) -> QueuedEvent:
    (rid, function, qualifier, payload, context, enqueued, due, attempts, errors, throttles,
     last_error, last_version, last_response) = row  # fmt: skip
    event = QueuedEvent(
        request_id=str(rid),
        function=str(function),
        qualifier=str(qualifier),
        payload=bytes(payload) if isinstance(payload, bytes | bytearray) else b"{}",
        enqueued_at=float(enqueued),  # type: ignore[arg-type]
        due_at=float(due),  # type: ignore[arg-type]
        client_context=context if isinstance(context, str) else None,
    )
    return replace(
        event,
        attempts=int(attempts),  # type: ignore[call-overload]
        function_errors=int(errors),  # type: ignore[call-overload]
        throttles=int(throttles),  # type: ignore[call-overload]
        last_error=last_error if isinstance(last_error, str) else None,
        last_version=last_version if isinstance(last_version, str) else None,
        last_response=bytes(last_response) if isinstance(last_response, bytes) else None,
    )
