"""Edge (CloudFront's part) counters per stage, and the gauges read at scrape time.

Edge: requests by cache result, and bytes sent, per stage.

Memory only, as every recorder on the data path: two integer additions per response
under a lock. Exposed on ``/metrics`` as ``overcast_edge_requests_total{stage,result}``
(``hit`` / ``miss``) and ``overcast_edge_bytes_total{stage}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = ["ConcurrencyCollector", "EdgeCollector", "EdgeCounters", "SandboxCollector"]


class EdgeCounters:
    """Implements ``overcast.edge.recording.EdgeRecorder``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # stage → [hits, misses, bytes]
        self._counts: dict[str, list[int]] = {}

    def record_edge(self, stage: str, hit: bool, body_bytes: int) -> None:
        with self._lock:
            counts = self._counts.get(stage)
            if counts is None:
                counts = self._counts[stage] = [0, 0, 0]
            counts[0 if hit else 1] += 1
            counts[2] += body_bytes

    def snapshot(self) -> dict[str, tuple[int, int, int]]:
        """stage → (hits, misses, bytes) since start."""
        with self._lock:
            return {stage: (c[0], c[1], c[2]) for stage, c in self._counts.items()}


class EdgeCollector(Collector):
    """Prometheus view of :class:`EdgeCounters`."""

    def __init__(self, counters: EdgeCounters, prefix: str = "overcast") -> None:
        self._counters = counters
        self._prefix = prefix

    def collect(self) -> Iterator[CounterMetricFamily]:
        requests = CounterMetricFamily(
            f"{self._prefix}_edge_requests",
            "Responses sent by the edge, by cache result",
            labels=["stage", "result"],
        )
        sent = CounterMetricFamily(
            f"{self._prefix}_edge_bytes", "Body bytes sent by the edge", labels=["stage"]
        )
        for stage, (hits, misses, size) in sorted(self._counters.snapshot().items()):
            requests.add_metric([stage, "hit"], hits)
            requests.add_metric([stage, "miss"], misses)
            sent.add_metric([stage], size)
        yield requests
        yield sent


class ConcurrencyCollector(Collector):
    """``overcast_concurrent_executions{stage,function}``: instances busy at scrape time.

    Lambda's ConcurrentExecutions, read when Prometheus scrapes (``busy`` is the
    owner's count of running instances; it reads memory only).
    """

    def __init__(
        self, busy: Callable[[], Mapping[tuple[str, str], int]], prefix: str = "overcast"
    ) -> None:
        self._busy = busy
        self._prefix = prefix

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            f"{self._prefix}_concurrent_executions",
            "Instances running an invocation now",
            labels=["stage", "function"],
        )
        for (stage, function), count in sorted(self._busy().items()):
            gauge.add_metric([stage, function], count)
        yield gauge


class SandboxCollector(Collector):
    """``overcast_sandbox_enabled``: 1 when functions run sandboxed, 0 when they do not
    (``--no-sandbox``, or a machine that cannot build one): a scrape shows it."""

    def __init__(self, enabled: bool, prefix: str = "overcast") -> None:
        self._enabled = enabled
        self._prefix = prefix

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            f"{self._prefix}_sandbox_enabled",
            "1 when function instances run in their sandbox, 0 when they run unisolated",
            value=1 if self._enabled else 0,
        )
