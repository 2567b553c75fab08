"""Edge (CloudFront's part) counters per stage, and what is read at scrape time: the
concurrency and sandbox gauges, and the asynchronous invocations' counters.

Edge: requests by cache result, and bytes sent, per stage.

Memory only, as every recorder on the data path: two integer additions per response
under a lock. Exposed on ``/metrics`` as ``overcast_edge_requests_total{stage,result}``
(``hit`` / ``miss``) and ``overcast_edge_bytes_total{stage}``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector


class AsyncCounts(Protocol):
    """One function's asynchronous-invocation counts (``overcast.events.AsyncCounts``)."""

    @property
    def received(self) -> int: ...
    @property
    def dropped(self) -> int: ...
    @property
    def attempts(self) -> int: ...
    @property
    def age_s_total(self) -> float: ...
    @property
    def delivery_failures(self) -> int: ...
    @property
    def dead_letter_errors(self) -> int: ...


__all__ = [
    "AsyncEventsCollector",
    "ConcurrencyCollector",
    "EdgeCollector",
    "EdgeCounters",
    "SandboxCollector",
]


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


class AsyncEventsCollector(Collector):
    """Lambda's asynchronous-invocation metrics per stage and function, from the
    dispatcher's counters (``overcast.events.AsyncCounters``, read at scrape time).

    ``counts`` gives ``(stage, function) → AsyncCounts``: its owner maps the queue's
    qualifier to a stage.
    """

    def __init__(
        self, counts: Callable[[], Mapping[tuple[str, str], AsyncCounts]], prefix: str = "overcast"
    ) -> None:
        self._counts = counts
        self._prefix = prefix

    #: (metric name after the prefix, help, AsyncCounts attribute)
    FAMILIES = (
        ("async_events_received", "Events queued for asynchronous invocation", "received"),
        ("async_events_dropped", "Events discarded without a successful run", "dropped"),
        ("async_event_age_seconds", "Sum of the events' ages when an attempt started",
         "age_s_total"),
        ("async_event_attempts", "Attempts started of queued events", "attempts"),
        ("destination_delivery_failures",
         "Invocation records not delivered to their destination", "delivery_failures"),
        ("dead_letter_errors", "Discarded events not delivered to the dead-letter queue",
         "dead_letter_errors"),
    )  # fmt: skip

    def collect(self) -> Iterator[CounterMetricFamily]:
        counts = sorted(self._counts().items())
        for name, text, attribute in self.FAMILIES:
            family = CounterMetricFamily(
                f"{self._prefix}_{name}", text, labels=["stage", "function"]
            )
            for (stage, function), count in counts:
                family.add_metric([stage, function], float(getattr(count, attribute)))
            yield family
