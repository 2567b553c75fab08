"""A stage's alias as an :class:`~overcast.invoke.Invoker`: each function's traffic,
split between the version it is on and the version it is moving to.

Lambda's alias routing configuration, in process: an alias points at one version and
may send ``weight`` of invocations to a second one
(https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html). The
gateway of a deployment invokes through its router; the deployer changes weights
while it shifts traffic. A change is one attribute assignment, so every invocation
sees either the old routing or the new one, never a mix.

The router also counts, per version being shifted to, each invocation's outcome
(an error is a function error or a failed invocation): the samples the deployment's
alarms are evaluated on.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from overcast.invoke import (
    FunctionNotFoundError,
    InvokeError,
    Invoker,
    InvokeRequest,
    InvokeResult,
    SpendCapReachedError,
)
from overcast.observe.spend import SpendMeter

#: samples kept per shifted version (one per invocation); enough for any alarm window
MAX_SAMPLES = 100_000


@dataclass(frozen=True, slots=True)
class Target:
    """A function version and the invoker that runs it."""

    invoker: Invoker
    version: str


@dataclass(frozen=True, slots=True)
class FunctionRoute:
    """Where one function's invocations go: ``weight`` of them to ``canary``."""

    primary: Target
    canary: Target | None = None
    weight: float = 0.0


class Outcomes:
    """(time, errors, throttles) per invocation of one version, oldest first."""

    def __init__(self) -> None:
        self.samples: deque[tuple[float, int, int]] = deque(maxlen=MAX_SAMPLES)

    def record(self, when: float, error: bool, throttled: bool = False) -> None:
        self.samples.append((when, int(error), int(throttled)))


class AliasRouter:
    """Invokes each function on the version its route picks."""

    #: cancelling a wait leaves the invocation to the runtime, as Runtime does
    cancel_safe = True

    def __init__(
        self,
        routes: Mapping[str, FunctionRoute],
        *,
        draw: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.time,
        spend: SpendMeter | None = None,
        stage: str = "",
        worst_case: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.routes: Mapping[str, FunctionRoute] = dict(routes)
        # Functions with a budget cap of their own ("stage/function" in the meter's caps),
        # and what one invocation of each may cost at most.
        self._spend = spend
        self._capped = {
            name: (f"{stage}/{name}", (worst_case or {}).get(name, Decimal(0)))
            for name in self.routes
            if spend is not None and f"{stage}/{name}" in spend.caps
        }
        self._draw = draw
        self._clock = clock
        #: outcomes of canary versions, by (function, version)
        self.outcomes: dict[tuple[str, str], Outcomes] = {}

    def function_names(self) -> list[str]:
        return list(self.routes)

    def set_weight(self, function: str, weight: float) -> None:
        """Send ``weight`` of ``function``'s invocations to its canary version."""
        routes = dict(self.routes)
        routes[function] = replace(routes[function], weight=weight)
        self.routes = routes

    def promote(self, function: str) -> None:
        """The canary version becomes the only one (the shift is complete)."""
        route = self.routes[function]
        if route.canary is None:
            return
        routes = dict(self.routes)
        routes[function] = FunctionRoute(primary=route.canary)
        self.routes = routes

    def target_for(self, function: str) -> Target | None:
        """The target the next invocation of ``function`` would run on."""
        route = self.routes.get(function)
        if route is None:
            return None
        if route.canary is not None and route.weight > 0.0 and self._draw() < route.weight:
            return route.canary
        return route.primary

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        capped = self._capped.get(request.function_name)
        if capped is None or self._spend is None:
            return await self._invoke(request)
        key, worst = capped
        if not self._spend.admit(key, worst, self._clock()):
            raise SpendCapReachedError(
                f"Budget cap reached for {key}: requests are refused until the period "
                "rolls over or an admin lifts the cap"
            )
        try:
            return await self._invoke(request)
        finally:
            self._spend.release(key, worst)

    async def _invoke(self, request: InvokeRequest) -> InvokeResult:
        route = self.routes.get(request.function_name)
        if route is None:
            raise FunctionNotFoundError(f"Function not found: {request.function_name}")
        canary = route.canary
        if canary is None or route.weight <= 0.0 or self._draw() >= route.weight:
            return await route.primary.invoker.invoke(replace(request, qualifier=""))
        key = (request.function_name, canary.version)
        outcomes = self.outcomes.get(key)
        if outcomes is None:
            outcomes = self.outcomes[key] = Outcomes()
        try:
            result = await canary.invoker.invoke(replace(request, qualifier=""))
        except InvokeError as exc:
            outcomes.record(self._clock(), exc.status >= 500, exc.status == 429)
            raise
        outcomes.record(self._clock(), result.function_error is not None)
        return result
