"""In-memory per-route request metrics (API Gateway's Count, 4XXError, 5XXError, Latency).

Like :mod:`overcast.observe.aggregate` for invocations: ``record`` touches only dicts
and integers under a lock, and a Prometheus collector exposes the totals.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from overcast.observe.aggregate import DURATION_BUCKETS_MS, cumulative_seconds

__all__ = ["RouteAggregator", "RouteCollector", "RouteKey", "RouteTotals", "StageRoutes"]


@dataclass(frozen=True, slots=True, order=True)
class RouteKey:
    """One route of one API on one stage."""

    stage: str
    api: str
    route: str


@dataclass(frozen=True, slots=True)
class RouteTotals:
    """Requests answered on a route, by status class, and their latency histogram."""

    requests: int
    client_errors: int
    server_errors: int
    latency_ms: float
    buckets: tuple[int, ...]


class _RouteCounts:
    __slots__ = ("buckets", "client_errors", "latency_ms", "requests", "server_errors")

    def __init__(self) -> None:
        self.requests = 0
        self.client_errors = 0
        self.server_errors = 0
        self.latency_ms = 0.0
        self.buckets = [0] * (len(DURATION_BUCKETS_MS) + 1)


class RouteAggregator:
    """Running per-route totals since start; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[RouteKey, _RouteCounts] = {}

    def record(self, key: RouteKey, status: int, latency_ms: float) -> None:
        """Count one answered request."""
        slot = bisect.bisect_left(DURATION_BUCKETS_MS, latency_ms)
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                counts = self._counts[key] = _RouteCounts()
            counts.requests += 1
            if 400 <= status < 500:
                counts.client_errors += 1
            elif status >= 500:
                counts.server_errors += 1
            counts.latency_ms += latency_ms
            counts.buckets[slot] += 1

    def totals(self) -> dict[RouteKey, RouteTotals]:
        """A snapshot of every route's totals."""
        with self._lock:
            return {
                key: RouteTotals(
                    c.requests, c.client_errors, c.server_errors, c.latency_ms, tuple(c.buckets)
                )
                for key, c in self._counts.items()
            }


class StageRoutes:
    """A :class:`RouteAggregator` bound to one stage: what a stage's gateway is handed.

    Implements ``overcast.gateway.RouteRecorder`` (structurally; no import).
    """

    __slots__ = ("_aggregator", "_keys", "stage")

    def __init__(self, aggregator: RouteAggregator, stage: str) -> None:
        self._aggregator = aggregator
        self.stage = stage
        self._keys: dict[tuple[str, str], RouteKey] = {}

    def record_request(self, api: str, route: str, status: int, latency_ms: float) -> None:
        """Count one answered request of ``route`` on ``api`` (no I/O)."""
        key = self._keys.get((api, route))
        if key is None:
            key = self._keys[api, route] = RouteKey(self.stage, api, route)
        self._aggregator.record(key, status, latency_ms)


_LABELS = ("stage", "api", "route")


class RouteCollector(Collector):
    """Exposes a :class:`RouteAggregator`'s totals to a prometheus_client registry."""

    def __init__(self, aggregator: RouteAggregator, prefix: str = "overcast") -> None:
        self._aggregator = aggregator
        self._prefix = prefix

    def collect(self) -> Iterator[CounterMetricFamily | HistogramMetricFamily]:
        """Requests, 4xx and 5xx counters and the latency histogram, per route."""
        p = self._prefix
        totals = sorted(self._aggregator.totals().items())
        requests = CounterMetricFamily(
            f"{p}_api_requests", "Requests the gateway answered.", labels=_LABELS
        )
        client = CounterMetricFamily(
            f"{p}_api_4xx_errors", "Requests answered with a 4xx status.", labels=_LABELS
        )
        server = CounterMetricFamily(
            f"{p}_api_5xx_errors", "Requests answered with a 5xx status.", labels=_LABELS
        )
        latency = HistogramMetricFamily(
            f"{p}_api_latency_seconds", "Time from request to response.", labels=_LABELS
        )
        for key, t in totals:
            labels = [key.stage, key.api, key.route]
            requests.add_metric(labels, t.requests)
            client.add_metric(labels, t.client_errors)
            server.add_metric(labels, t.server_errors)
            latency.add_metric(labels, cumulative_seconds(t.buckets), t.latency_ms / 1000)
        yield requests
        yield client
        yield server
        yield latency
