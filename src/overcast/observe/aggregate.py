"""In-memory invocation metrics per (function, version, stage), and their exposition.

``record`` only touches dicts and integers under a lock: no I/O on the data path.
A background flusher calls ``drain(now)`` to take the closed 1-minute periods;
``downsample`` merges them into coarser periods (1m -> 1h -> 1d) for storage.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "DURATION_BUCKETS_MS",
    "Aggregator",
    "AggregatorCollector",
    "PeriodRollup",
    "SeriesKey",
    "Totals",
    "cumulative_seconds",
    "downsample",
    "quantile",
]

# Upper bounds (ms, inclusive) of the duration histogram; +inf is implied after the last.
DURATION_BUCKETS_MS: tuple[float, ...] = (
    1,
    2,
    5,
    10,
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    30_000,
    60_000,
    900_000,
)


@dataclass(frozen=True, slots=True, order=True)
class SeriesKey:
    """Which function version on which stage a metric belongs to."""

    function: str
    version: str
    stage: str
    # Hashed once: the key is looked up on every invocation.
    _hash: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.function, self.version, self.stage)))

    def __hash__(self) -> int:
        return self._hash


def _empty_buckets() -> tuple[int, ...]:
    return (0,) * (len(DURATION_BUCKETS_MS) + 1)


@dataclass(frozen=True, slots=True)
class Totals:
    """Counters and the duration histogram over some span; also one period's rollup."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    cold_starts: int = 0
    init_duration_ms: float = 0.0
    duration_ms: float = 0.0
    max_memory_mb: int = 0
    buckets: tuple[int, ...] = field(default_factory=_empty_buckets)
    #: sum of Billed Duration (ms), and of the invocations' prices in US dollars
    billed_ms: int = 0
    cost: Decimal = Decimal(0)

    def merged(self, other: Totals) -> Totals:
        """Both spans as one: counts add, max memory is the larger."""
        return Totals(
            invocations=self.invocations + other.invocations,
            errors=self.errors + other.errors,
            throttles=self.throttles + other.throttles,
            cold_starts=self.cold_starts + other.cold_starts,
            init_duration_ms=self.init_duration_ms + other.init_duration_ms,
            duration_ms=self.duration_ms + other.duration_ms,
            max_memory_mb=max(self.max_memory_mb, other.max_memory_mb),
            buckets=tuple(a + b for a, b in zip(self.buckets, other.buckets, strict=True)),
            billed_ms=self.billed_ms + other.billed_ms,
            cost=self.cost + other.cost,
        )

    def percentile(self, q: float) -> float | None:
        """Estimated duration percentile (``q`` in 0..1) from the histogram."""
        return quantile(self.buckets, q)


@dataclass(frozen=True, slots=True)
class PeriodRollup:
    """One series' totals over ``[start, start + seconds)``."""

    key: SeriesKey
    start: int
    seconds: int
    totals: Totals


def quantile(buckets: Sequence[int], q: float) -> float | None:
    """Percentile estimate by linear interpolation inside the bucket holding rank q.

    Like Prometheus' histogram_quantile: the first bucket starts at 0, and a rank
    that lands in the +inf bucket reports the largest finite bound.
    """
    total = sum(buckets)
    if total == 0:
        return None
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside 0..1")
    rank = q * total
    seen = 0
    for index, count in enumerate(buckets):
        if count and seen + count >= rank:
            if index == len(DURATION_BUCKETS_MS):
                return float(DURATION_BUCKETS_MS[-1])
            lower = 0.0 if index == 0 else float(DURATION_BUCKETS_MS[index - 1])
            upper = float(DURATION_BUCKETS_MS[index])
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return float(DURATION_BUCKETS_MS[-1])


class _Counts:
    """Mutable twin of :class:`Totals`, only ever touched under the aggregator's lock."""

    __slots__ = (
        "billed_ms",
        "buckets",
        "cold_starts",
        "cost",
        "duration_ms",
        "errors",
        "init_duration_ms",
        "invocations",
        "max_memory_mb",
        "throttles",
    )

    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.throttles = 0
        self.cold_starts = 0
        self.init_duration_ms = 0.0
        self.duration_ms = 0.0
        self.max_memory_mb = 0
        self.buckets = [0] * (len(DURATION_BUCKETS_MS) + 1)
        self.billed_ms = 0
        self.cost = Decimal(0)

    def add(
        self,
        duration_ms: float,
        error: bool,
        throttled: bool,
        init_duration_ms: float | None,
        max_memory_mb: int,
        *,
        billed_ms: int,
        cost: Decimal | None,
    ) -> None:
        if cost is not None:
            # Before the throttle check: a throttled request that came through an API
            # still pays the API's request price.
            self.cost += cost
        if throttled:
            # A throttled request never ran: no invocation, no duration (as in Lambda).
            self.throttles += 1
            return
        self.invocations += 1
        self.errors += error
        if init_duration_ms is not None:
            self.cold_starts += 1
            self.init_duration_ms += init_duration_ms
        self.duration_ms += duration_ms
        self.billed_ms += billed_ms
        self.max_memory_mb = max(self.max_memory_mb, max_memory_mb)
        self.buckets[bisect.bisect_left(DURATION_BUCKETS_MS, duration_ms)] += 1

    def frozen(self) -> Totals:
        return Totals(
            self.invocations,
            self.errors,
            self.throttles,
            self.cold_starts,
            self.init_duration_ms,
            self.duration_ms,
            self.max_memory_mb,
            tuple(self.buckets),
            self.billed_ms,
            self.cost,
        )


class Aggregator:
    """Per-period counts, and running totals folded from them; safe to share between threads.

    The data path touches only the current period's counts (one dict lookup by period,
    one by series); totals since start are the drained periods, folded when a flush
    drains them, plus the periods still open — computed when someone asks (a scrape,
    an alarm check), not per invocation.
    """

    def __init__(self, period_seconds: int = 60) -> None:
        if period_seconds <= 0:
            raise ValueError("period_seconds must be positive")
        self.period_seconds = period_seconds
        self._lock = threading.Lock()
        self._drained: dict[SeriesKey, Totals] = {}
        self._periods: dict[int, dict[SeriesKey, _Counts]] = {}

    def record(
        self,
        key: SeriesKey,
        *,
        at: float,
        duration_ms: float = 0.0,
        error: bool = False,
        throttled: bool = False,
        init_duration_ms: float | None = None,
        max_memory_mb: int = 0,
        billed_ms: int = 0,
        cost: Decimal | None = None,
    ) -> None:
        """Count one invocation finishing at ``at`` (epoch s); a cold start has init time.

        ``cost`` (US dollars) is added even for a throttled request; ``billed_ms`` is
        the invocation's Billed Duration.
        """
        start = int(at // self.period_seconds) * self.period_seconds
        with self._lock:
            period = self._periods.get(start)
            if period is None:
                period = self._periods[start] = {}
            counts = period.get(key)
            if counts is None:
                counts = period[key] = _Counts()
            counts.add(
                duration_ms,
                error,
                throttled,
                init_duration_ms,
                max_memory_mb,
                billed_ms=billed_ms,
                cost=cost,
            )

    def totals(self) -> dict[SeriesKey, Totals]:
        """A snapshot of every series' totals since this aggregator started."""
        with self._lock:
            out = dict(self._drained)
            for period in self._periods.values():
                for key, counts in period.items():
                    frozen = counts.frozen()
                    seen = out.get(key)
                    out[key] = frozen if seen is None else seen.merged(frozen)
        return out

    def drain(self, now: float) -> list[PeriodRollup]:
        """Remove and return every period that ended at or before ``now``, oldest first."""
        with self._lock:
            closed = [start for start in self._periods if start + self.period_seconds <= now]
            taken = [(start, self._periods.pop(start)) for start in closed]
            rollups = [
                PeriodRollup(key, start, self.period_seconds, counts.frozen())
                for start, period in taken
                for key, counts in period.items()
            ]
            for rollup in rollups:
                seen = self._drained.get(rollup.key)
                self._drained[rollup.key] = (
                    rollup.totals if seen is None else seen.merged(rollup.totals)
                )
        return sorted(rollups, key=lambda r: (r.start, r.key))


def cumulative_seconds(buckets: Sequence[int]) -> list[tuple[str, float]]:
    """A millisecond histogram as Prometheus wants it: cumulative counts by ``le`` seconds."""
    cumulative: list[tuple[str, float]] = []
    running = 0
    for bound, count in zip((*DURATION_BUCKETS_MS, math.inf), buckets, strict=True):
        running += count
        le = "+Inf" if math.isinf(bound) else repr(bound / 1000)
        cumulative.append((le, float(running)))
    return cumulative


def downsample(rollups: Iterable[PeriodRollup], seconds: int) -> list[PeriodRollup]:
    """Merge rollups into periods of ``seconds`` (e.g. 3600 from 60, 86400 from 3600)."""
    merged: dict[tuple[SeriesKey, int], PeriodRollup] = {}
    for rollup in rollups:
        if seconds % rollup.seconds:
            raise ValueError(f"cannot fold {rollup.seconds}s periods into {seconds}s periods")
        start = rollup.start // seconds * seconds
        seen = merged.get((rollup.key, start))
        merged[rollup.key, start] = (
            PeriodRollup(rollup.key, start, seconds, rollup.totals)
            if seen is None
            else replace(seen, totals=seen.totals.merged(rollup.totals))
        )
    return sorted(merged.values(), key=lambda r: (r.start, r.key))


_LABELS = ("function", "version", "stage")


class AggregatorCollector(Collector):
    """Exposes an :class:`Aggregator`'s totals to a prometheus_client registry."""

    def __init__(self, aggregator: Aggregator, prefix: str = "overcast") -> None:
        self._aggregator = aggregator
        self._prefix = prefix

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily]:
        """One family per metric, one sample per series (called at scrape time)."""
        p = self._prefix
        totals = sorted(self._aggregator.totals().items())
        counters: dict[str, tuple[str, Callable[[Totals], float]]] = {
            "invocations": ("Invocations that ran.", lambda t: t.invocations),
            "errors": ("Invocations that ended in a function error.", lambda t: t.errors),
            "throttles": ("Requests refused for lack of concurrency.", lambda t: t.throttles),
            "cold_starts": ("Invocations that started a new instance.", lambda t: t.cold_starts),
            "init_duration_seconds": (
                "Time spent in init on cold starts.",
                lambda t: t.init_duration_ms / 1000,
            ),
            "billed_duration_seconds": (
                "Billed Duration (1 ms granularity, Init included).",
                lambda t: t.billed_ms / 1000,
            ),
            "cost_usd": (
                "Price of the invocations (Lambda + API Gateway), US dollars.",
                lambda t: float(t.cost),
            ),
        }
        for name, (doc, get) in counters.items():
            family = CounterMetricFamily(f"{p}_{name}", doc, labels=_LABELS)
            for key, t in totals:
                family.add_metric([key.function, key.version, key.stage], get(t))
            yield family
        memory = GaugeMetricFamily(
            f"{p}_max_memory_used_megabytes", "Largest memory use seen.", labels=_LABELS
        )
        duration = HistogramMetricFamily(
            f"{p}_duration_seconds", "Invocation duration.", labels=_LABELS
        )
        for key, t in totals:
            labels = [key.function, key.version, key.stage]
            memory.add_metric(labels, t.max_memory_mb)
            duration.add_metric(labels, cumulative_seconds(t.buckets), t.duration_ms / 1000)
        yield memory
        yield duration
