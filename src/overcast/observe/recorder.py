"""The recorder handed to the runtime and the gateways: prices and counts, in memory.

:class:`Metrics` implements ``overcast.invoke.InvocationRecorder`` (each finished
invocation is priced with :mod:`overcast.observe.pricing` and counted in an
:class:`~overcast.observe.aggregate.Aggregator`) and hands out per-stage route
recorders. Nothing here does I/O: the flusher stores what the aggregator holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from prometheus_client import CollectorRegistry, generate_latest

from overcast.invoke import InvocationReport
from overcast.observe.aggregate import Aggregator, AggregatorCollector, SeriesKey
from overcast.observe.edge_metrics import EdgeCollector, EdgeCounters
from overcast.observe.pricing import GatewayKind, PriceBook, UnitPrice, unit_price
from overcast.observe.routes import RouteAggregator, RouteCollector, StageRoutes
from overcast.observe.spend import SpendMeter, stack_cap_key

__all__ = ["Metrics"]

_GATEWAYS = {"http": GatewayKind.HTTP_API, "rest": GatewayKind.REST_API}


class Metrics:
    """Per-(function, version, stage) invocation metrics and cost, per-route requests."""

    def __init__(
        self,
        prices: PriceBook | None = None,
        *,
        period_seconds: int = 60,
        clock: Callable[[], float] = time.time,
        spend: SpendMeter | None = None,
    ) -> None:
        self.prices = prices or PriceBook()
        #: each stage's running spend, for budget caps (None: nobody caps spend)
        self.spend = spend
        self.aggregator = Aggregator(period_seconds)
        self.routes = RouteAggregator()
        self._clock = clock
        # (stage, function, version, memory, api) → its series and unit price, built
        # on first sight so that recording allocates nothing but the lookup key.
        self._series: dict[tuple[str, str, str, int, str | None], tuple[SeriesKey, UnitPrice]] = {}
        self._stages: dict[str, StageRoutes] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(AggregatorCollector(self.aggregator))
        self.registry.register(RouteCollector(self.routes))
        #: the edge's responses per stage (``overcast.edge.recording.EdgeRecorder``)
        self.edge = EdgeCounters()
        self.registry.register(EdgeCollector(self.edge))

    def record_invocation(self, report: InvocationReport) -> Decimal:
        """Price and count one finished (or throttled) invocation; returns its price."""
        lookup = (
            report.stage,
            report.function_name,
            report.version,
            report.memory_mb,
            report.api_kind,
        )
        known = self._series.get(lookup)
        if known is None:
            known = self._series[lookup] = self._describe(report)
        key, unit = known
        # Lambda does not charge a throttled request; the API that answered it does.
        cost = unit.gateway if report.throttled else unit.total(report.billed_ms)
        now = self._clock()
        if self.spend is not None:
            self.spend.add(report.stage, cost, now)
            function_key = f"{report.stage}/{report.function_name}"
            if function_key in self.spend.caps:
                self.spend.add(function_key, cost, now)
            stack_key = stack_cap_key(report.stage, report.stack)
            if stack_key in self.spend.caps:
                self.spend.add(stack_key, cost, now)
        self.aggregator.record(
            key,
            at=now,
            duration_ms=report.duration_ms,
            error=report.error,
            throttled=report.throttled,
            init_duration_ms=report.init_duration_ms,
            max_memory_mb=report.max_memory_used_mb,
            billed_ms=report.billed_ms,
            cost=cost,
        )
        return cost

    def _describe(self, report: InvocationReport) -> tuple[SeriesKey, UnitPrice]:
        table = self.prices.table_for(report.stage, report.function_name)
        gateway = _GATEWAYS.get(report.api_kind or "", GatewayKind.NONE)
        return (
            SeriesKey(report.function_name, report.version, report.stage),
            unit_price(report.memory_mb, gateway=gateway, prices=table),
        )

    def route_recorder(self, stage: str) -> StageRoutes:
        """The route recorder for ``stage``'s gateways (``overcast.gateway.RouteRecorder``)."""
        recorder = self._stages.get(stage)
        if recorder is None:
            recorder = self._stages[stage] = StageRoutes(self.routes, stage)
        return recorder

    def exposition(self) -> bytes:
        """Every metric in Prometheus' text format (what ``/metrics`` serves)."""
        return generate_latest(self.registry)
