"""A stage alias in process: weights pick the version; the canary's outcomes are counted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal

import pytest

from overcast.control.alias_router import AliasRouter, FunctionRoute, Target
from overcast.control.deploy_alarms import (
    DeployAlarmError,
    alarm_state,
    datapoints,
    watched_alarm,
)
from overcast.invoke import (
    FunctionNotFoundError,
    InvokeRequest,
    InvokeResult,
    SpendCapReachedError,
    ThrottledError,
)
from overcast.observe.alarms import AlarmState
from overcast.observe.spend import BudgetCap, CapPeriod, SpendMeter


class Fake:
    """An invoker that answers with its name (or fails as told)."""

    def __init__(self, name: str, error: str | None = None, throttle: bool = False) -> None:
        self.name, self.error, self.throttle = name, error, throttle
        self.qualifiers: list[str] = []

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        self.qualifiers.append(request.qualifier)
        if self.throttle:
            raise ThrottledError("Rate Exceeded.")
        return InvokeResult(payload=self.name.encode(), function_error=self.error)

    def function_names(self) -> list[str]:
        return ["Echo"]


def _draws(*values: float) -> Iterator[float]:
    yield from values


def _run(router: AliasRouter, name: str = "Echo") -> bytes:
    return asyncio.run(router.invoke(InvokeRequest(name, b"{}", qualifier="dev"))).payload


def test_without_a_canary_every_invocation_runs_the_primary_unqualified() -> None:
    old = Fake("old")
    router = AliasRouter({"Echo": FunctionRoute(Target(old, "1"))})
    assert _run(router) == b"old"
    assert old.qualifiers == [""]


def test_the_weight_decides_which_version_runs() -> None:
    draws = _draws(0.05, 0.5, 0.09)
    router = AliasRouter(
        {"Echo": FunctionRoute(Target(Fake("old"), "1"), Target(Fake("new"), "2"), 0.1)},
        draw=lambda: next(draws),
    )
    assert [_run(router) for _ in range(3)] == [b"new", b"old", b"new"]
    router.set_weight("Echo", 0.0)
    assert _run(router) == b"old"
    router.promote("Echo")
    assert router.routes["Echo"].canary is None
    assert _run(router) == b"new"


def test_canary_outcomes_count_function_errors_not_throttles() -> None:
    clock = iter([10.0, 11.0, 12.0])
    broken = Fake("new", error="Unhandled")
    router = AliasRouter(
        {"Echo": FunctionRoute(Target(Fake("old"), "1"), Target(broken, "2"), 1.0)},
        clock=lambda: next(clock),
    )
    _run(router)
    broken.error = None
    _run(router)
    broken.throttle = True
    with pytest.raises(ThrottledError):
        _run(router)
    samples = list(router.outcomes[("Echo", "2")].samples)
    assert samples == [(10.0, 1, 0), (11.0, 0, 0), (12.0, 0, 1)]


def test_an_unknown_function_is_not_found() -> None:
    router = AliasRouter({})
    with pytest.raises(FunctionNotFoundError):
        _run(router, "Nope")


ALARM = {
    "Namespace": "AWS/Lambda",
    "MetricName": "Errors",
    "Statistic": "Sum",
    "Period": 10,
    "EvaluationPeriods": 1,
    "Threshold": 0,
    "ComparisonOperator": "GreaterThanThreshold",
}


def test_errors_of_the_new_version_put_its_alarm_in_alarm() -> None:
    alarm = watched_alarm("EchoErrors", ALARM)
    clean = [(101.0, 0, 0), (105.0, 0, 0)]
    assert alarm_state(alarm, clean, 100.0, 111.0, AlarmState.INSUFFICIENT_DATA) is AlarmState.OK
    failing = [*clean, (106.0, 1, 0)]
    assert alarm_state(alarm, failing, 100.0, 111.0, AlarmState.OK) is AlarmState.ALARM
    # samples from before the shift began are not the new version's
    assert alarm_state(alarm, failing, 107.0, 111.0, AlarmState.OK) is not AlarmState.ALARM


def test_datapoints_are_grouped_by_period_per_metric() -> None:
    samples = [(100.0, 1, 0), (104.0, 0, 1), (112.0, 0, 0)]
    assert datapoints("Errors", samples, 10, 0) == {100: [1.0, 0.0], 110: [0.0]}
    assert datapoints("Throttles", samples, 10, 0) == {100: [0.0, 1.0], 110: [0.0]}
    assert datapoints("Invocations", samples, 10, 0) == {100: [1.0, 1.0], 110: [1.0]}


def test_an_alarm_on_another_namespace_cannot_be_watched() -> None:
    with pytest.raises(DeployAlarmError, match="AWS/Lambda"):
        watched_alarm("Cpu", {**ALARM, "Namespace": "AWS/EC2", "MetricName": "CPUUtilization"})
    with pytest.raises(DeployAlarmError, match="EchoErrors"):
        watched_alarm("EchoErrors", {**ALARM, "Statistic": "Median"})


def test_a_function_with_its_own_budget_cap_is_refused_once_it_is_reached() -> None:
    spend = SpendMeter({"dev/Echo": BudgetCap(Decimal("1"), CapPeriod.DAY)})
    router = AliasRouter(
        {
            "Echo": FunctionRoute(Target(Fake("old"), "1")),
            "Other": FunctionRoute(Target(Fake("x"), "1")),
        },
        spend=spend,
        stage="dev",
        worst_case={"Echo": Decimal("0.4"), "Other": Decimal("0.4")},
        clock=lambda: 1_800_000_000.0,
    )
    assert _run(router) == b"old"
    spend.add("dev/Echo", Decimal("0.7"), 1_800_000_000.0)
    with pytest.raises(SpendCapReachedError) as refused:
        _run(router)
    assert refused.value.status == 429
    assert _run(router, "Other") == b"x"  # uncapped functions are not checked
