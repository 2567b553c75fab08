"""Invocation metrics over time: SQLite under the state folder, downsampled as it ages.

Theory of operation
-------------------
The flusher hands :meth:`MetricsStore.write` the aggregator's 1-minute rollups. Each
write folds them at once into all three resolutions (1 minute, 1 hour, 1 day), adding
to rows already there: a period may be written several times (the flusher also
stores the still-open minute), and counts, sums, histograms and cost simply add up
(max memory takes the larger). :meth:`MetricsStore.prune` then deletes rows past
their resolution's retention, so a month of history is about 35 x 24 hourly rows
per series plus one day of minutes:

========== =========
resolution kept for
========== =========
1 minute   1 day
1 hour     35 days
1 day      2 years
========== =========

Queries pick the finest resolution still covering their window. A window is made
of whole periods: one that starts inside a coarse period includes all of it.

Cost is stored as decimal text, not a float: money adds up exactly.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import orjson

from overcast.observe.aggregate import PeriodRollup, SeriesKey, Totals, downsample
from overcast.sqlite_wal import immediate_transaction, open_wal

__all__ = [
    "RESOLUTIONS",
    "STORE_FILE",
    "MetricsStore",
    "Point",
    "Resolution",
    "resolution_for",
]

#: the store's file name in a node's or platform's state folder
STORE_FILE = "metrics.sqlite3"


@dataclass(frozen=True, slots=True)
class Resolution:
    """A period length and how long its rows are kept."""

    seconds: int
    keep_seconds: int


RESOLUTIONS: tuple[Resolution, ...] = (
    Resolution(60, 86_400),
    Resolution(3_600, 35 * 86_400),
    Resolution(86_400, 731 * 86_400),
)


@dataclass(frozen=True, slots=True)
class Point:
    """Totals over ``[start, start + seconds)``."""

    start: int
    seconds: int
    totals: Totals


def resolution_for(since: float, now: float) -> Resolution:
    """The finest resolution whose retention still reaches back to ``since``."""
    for resolution in RESOLUTIONS:
        if since >= now - resolution.keep_seconds:
            return resolution
    return RESOLUTIONS[-1]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS rollups (
    seconds          INTEGER NOT NULL,
    stage            TEXT NOT NULL,
    function         TEXT NOT NULL,
    version          TEXT NOT NULL,
    start            INTEGER NOT NULL,
    invocations      INTEGER NOT NULL,
    errors           INTEGER NOT NULL,
    throttles        INTEGER NOT NULL,
    cold_starts      INTEGER NOT NULL,
    init_duration_ms REAL NOT NULL,
    duration_ms      REAL NOT NULL,
    max_memory_mb    INTEGER NOT NULL,
    billed_ms        INTEGER NOT NULL,
    cost             TEXT NOT NULL,
    buckets          TEXT NOT NULL,
    PRIMARY KEY (seconds, stage, function, version, start)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollups_by_time ON rollups (seconds, start);
"""

_COLUMNS = (
    "invocations, errors, throttles, cold_starts, init_duration_ms, duration_ms, "
    "max_memory_mb, billed_ms, cost, buckets"
)

# Only the constant column list is interpolated; every value is a bound parameter.
_SELECT_ONE = (
    f"SELECT {_COLUMNS} FROM rollups "  # noqa: S608
    "WHERE seconds=? AND stage=? AND function=? AND version=? AND start=?"
)
_UPSERT = (
    "INSERT OR REPLACE INTO rollups (seconds, stage, function, version, start, "  # noqa: S608
    f"{_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_WINDOW = (
    f"SELECT stage, function, version, start, {_COLUMNS} FROM rollups "  # noqa: S608
    "WHERE seconds=? AND start + seconds > ? AND start < ?"
)


def _totals(row: Sequence[object]) -> Totals:
    (invocations, errors, throttles, cold, init_ms, duration_ms, memory, billed, cost, buckets) = (
        row
    )
    return Totals(
        invocations=int(str(invocations)),
        errors=int(str(errors)),
        throttles=int(str(throttles)),
        cold_starts=int(str(cold)),
        init_duration_ms=float(str(init_ms)),
        duration_ms=float(str(duration_ms)),
        max_memory_mb=int(str(memory)),
        buckets=tuple(orjson.loads(str(buckets))),
        billed_ms=int(str(billed)),
        cost=Decimal(str(cost)),
    )


def _values(t: Totals) -> tuple[object, ...]:
    return (
        t.invocations,
        t.errors,
        t.throttles,
        t.cold_starts,
        t.init_duration_ms,
        t.duration_ms,
        t.max_memory_mb,
        t.billed_ms,
        str(t.cost),
        orjson.dumps(list(t.buckets)).decode(),
    )


class MetricsStore:
    """Rollups of invocation metrics in one SQLite file (WAL: readers never wait)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._db, self._lock)

    # --- writing -----------------------------------------------------------------------

    def write(self, rollups: Iterable[PeriodRollup]) -> int:
        """Add rollups (of any period that divides 1 minute's multiples) at every resolution.

        Returns how many rows were written or updated. One transaction.
        """
        taken = list(rollups)
        if not taken:
            return 0
        written = 0
        with self._transaction() as db:
            for resolution in RESOLUTIONS:
                for rollup in downsample(taken, resolution.seconds):
                    key = rollup.key
                    ident = (resolution.seconds, key.stage, key.function, key.version, rollup.start)
                    row = db.execute(_SELECT_ONE, ident).fetchone()
                    totals = rollup.totals if row is None else _totals(row).merged(rollup.totals)
                    db.execute(_UPSERT, (*ident, *_values(totals)))
                    written += 1
        return written

    def prune(self, now: float | None = None) -> int:
        """Delete rows older than their resolution keeps; returns how many went."""
        at = time.time() if now is None else now
        deleted = 0
        with self._transaction() as db:
            for resolution in RESOLUTIONS:
                cursor = db.execute(
                    "DELETE FROM rollups WHERE seconds=? AND start + seconds <= ?",
                    (resolution.seconds, int(at) - resolution.keep_seconds),
                )
                deleted += cursor.rowcount
        return deleted

    # --- reading -----------------------------------------------------------------------

    def _rows(
        self,
        seconds: int,
        since: float,
        until: float,
        *,
        function: str | None = None,
        stage: str | None = None,
    ) -> list[tuple[SeriesKey, int, Totals]]:
        sql = _SELECT_WINDOW
        args: list[object] = [seconds, int(since), until]
        if function is not None:
            sql += " AND function=?"
            args.append(function)
        if stage is not None:
            sql += " AND stage=?"
            args.append(stage)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY start", args).fetchall()
        return [
            (SeriesKey(str(r[1]), str(r[2]), str(r[0])), int(r[3]), _totals(r[4:])) for r in rows
        ]

    def series(
        self,
        function: str,
        *,
        since: float,
        until: float | None = None,
        stage: str | None = None,
        seconds: int | None = None,
    ) -> list[Point]:
        """``function``'s totals per period over the window, versions (and stages) merged.

        ``seconds`` picks the resolution (60, 3600 or 86400); by default the finest
        one still kept for the window's start. Periods without data are left out.
        """
        end = time.time() if until is None else until
        step = seconds if seconds is not None else resolution_for(since, end).seconds
        merged: dict[int, Totals] = {}
        for _key, start, totals in self._rows(step, since, end, function=function, stage=stage):
            seen = merged.get(start)
            merged[start] = totals if seen is None else seen.merged(totals)
        return [Point(start, step, merged[start]) for start in sorted(merged)]

    def totals_by_function(
        self,
        *,
        since: float,
        until: float | None = None,
        stage: str | None = None,
    ) -> dict[tuple[str, str], Totals]:
        """(stage, function) → totals over the window, versions merged."""
        end = time.time() if until is None else until
        step = resolution_for(since, end).seconds
        merged: dict[tuple[str, str], Totals] = {}
        for key, _start, totals in self._rows(step, since, end, stage=stage):
            name = (key.stage, key.function)
            seen = merged.get(name)
            merged[name] = totals if seen is None else seen.merged(totals)
        return dict(sorted(merged.items()))

    def row_count(self) -> dict[int, int]:
        """How many rows each resolution holds (for tests and ``overcast metrics``)."""
        with self._lock:
            rows = self._db.execute("SELECT seconds, COUNT(*) FROM rollups GROUP BY seconds")
            return {int(s): int(n) for s, n in rows.fetchall()}
