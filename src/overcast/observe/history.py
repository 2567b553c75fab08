"""Recent metric history in memory: what alarms evaluate and live charts draw.

Every few seconds the owner hands :meth:`MetricHistory.observe` a snapshot of the
aggregator's running totals (and, optionally, each function's instances busy right
now). The history keeps the *difference* from the previous snapshot — what happened
in that interval, versions merged per (stage, function) — for a bounded time. Alarms
then read samples per period (:meth:`samples`) and charts read buckets
(:meth:`buckets`) without touching the store, and without lagging a flush behind.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from overcast.observe.aggregate import SeriesKey, Totals

__all__ = ["Interval", "MetricHistory"]

#: how long intervals are kept (seconds): a day covers any alarm's evaluation range
DEFAULT_KEEP_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Interval:
    """What one function did between two snapshots ending at ``at``."""

    at: float
    totals: Totals
    #: instances busy at the snapshot (sampled concurrency)
    busy: int = 0


def _minus(now: Totals, before: Totals) -> Totals:
    return Totals(
        invocations=now.invocations - before.invocations,
        errors=now.errors - before.errors,
        throttles=now.throttles - before.throttles,
        cold_starts=now.cold_starts - before.cold_starts,
        init_duration_ms=now.init_duration_ms - before.init_duration_ms,
        duration_ms=now.duration_ms - before.duration_ms,
        max_memory_mb=now.max_memory_mb,
        buckets=tuple(a - b for a, b in zip(now.buckets, before.buckets, strict=True)),
        billed_ms=now.billed_ms - before.billed_ms,
        cost=now.cost - before.cost,
    )


_ZERO = Totals()


class MetricHistory:
    """Intervals per (stage, function), newest last, at most ``keep_s`` old."""

    def __init__(self, keep_s: float = DEFAULT_KEEP_S) -> None:
        self.keep_s = keep_s
        self._last: dict[SeriesKey, Totals] = {}
        self._based = False
        self._intervals: dict[tuple[str, str], deque[Interval]] = {}
        self._lock = threading.Lock()

    def observe(
        self,
        totals: Mapping[SeriesKey, Totals],
        at: float,
        busy: Mapping[tuple[str, str], int] | None = None,
    ) -> None:
        """Record what changed since the last snapshot (the first one only sets a base)."""
        merged: dict[tuple[str, str], Totals] = {}
        # The first snapshot is the base: what happened before it is not in an interval.
        first, self._based = not self._based, True
        for key, now in totals.items():
            delta = _minus(now, self._last.get(key, _ZERO))
            name = (key.stage, key.function)
            seen = merged.get(name)
            merged[name] = delta if seen is None else seen.merged(delta)
        self._last = dict(totals)
        if first:
            return
        busy = busy or {}
        with self._lock:
            for name in set(merged) | set(busy):
                queue = self._intervals.get(name)
                if queue is None:
                    queue = self._intervals[name] = deque()
                queue.append(Interval(at, merged.get(name, _ZERO), busy.get(name, 0)))
                while queue and queue[0].at < at - self.keep_s:
                    queue.popleft()

    def intervals(self, stage: str, function: str, since: float) -> list[Interval]:
        """The function's intervals that ended after ``since``, oldest first."""
        with self._lock:
            queue = self._intervals.get((stage, function))
            return [i for i in queue if i.at > since] if queue else []

    def samples(
        self, stage: str, function: str, metric: str, period: int, since: float
    ) -> dict[int, list[float]]:
        """Samples of an ``AWS/Lambda`` metric per alarm period (start → values).

        Counts (Invocations, Errors, Throttles) give one sample per interval (the
        interval's count, so Sum adds up); Duration gives each interval's mean (a
        sample per interval that had invocations); ConcurrentExecutions the busy
        instances sampled at each snapshot.
        """
        out: dict[int, list[float]] = {}
        for interval in self.intervals(stage, function, since):
            value = _value(interval, metric)
            if value is None:
                continue
            start = int(interval.at // period) * period
            out.setdefault(start, []).append(value)
        return out

    def buckets(
        self, stage: str, function: str, since: float, step: int
    ) -> list[tuple[int, Totals, int]]:
        """(bucket start, totals, peak busy) per ``step`` seconds, for charts."""
        out: dict[int, tuple[Totals, int]] = {}
        for interval in self.intervals(stage, function, since):
            start = int(interval.at // step) * step
            seen = out.get(start)
            if seen is None:
                out[start] = (interval.totals, interval.busy)
            else:
                out[start] = (seen[0].merged(interval.totals), max(seen[1], interval.busy))
        return [(start, totals, busy) for start, (totals, busy) in sorted(out.items())]

    def names(self) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._intervals)


def _value(interval: Interval, metric: str) -> float | None:
    totals = interval.totals
    if metric == "Invocations":
        return float(totals.invocations)
    if metric == "Errors":
        return float(totals.errors)
    if metric == "Throttles":
        return float(totals.throttles)
    if metric == "ConcurrentExecutions":
        return float(interval.busy)
    if metric == "Duration":
        return totals.duration_ms / totals.invocations if totals.invocations else None
    return None
