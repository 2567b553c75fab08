"""The alarms a traffic shift watches: template ``AWS::CloudWatch::Alarm`` resources
evaluated on the new version's invocations (pure: samples in, states out).

A ``DeploymentPreference`` names alarms by ``Ref``; CodeDeploy rolls the deployment
back when one of them is in ALARM while traffic shifts
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html).
overcast evaluates the ``AWS/Lambda`` metrics ``Errors``, ``Invocations`` and
``Throttles`` of the version being shifted to, with CloudWatch's rules
(``overcast.observe.alarms``). Any ``Period`` of at least one second is accepted, so
tests can use short ones; CloudWatch itself wants 10, 30 or a multiple of 60.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from overcast.errors import OvercastError
from overcast.observe.alarms import (
    AlarmSpec,
    AlarmState,
    ComparisonOperator,
    Statistic,
    TreatMissingData,
    step,
)

METRICS = ("Errors", "Invocations", "Throttles")


class DeployAlarmError(OvercastError):
    """An alarm a deployment preference names cannot be watched."""


@dataclass(frozen=True, slots=True)
class WatchedAlarm:
    """One alarm, and the metric of the new version it reads."""

    spec: AlarmSpec
    metric: str


def watched_alarm(name: str, properties: Mapping[str, Any]) -> WatchedAlarm:
    """Build the alarm ``name`` from its template Properties, or say why it cannot be."""
    namespace = properties.get("Namespace", "AWS/Lambda")
    metric = properties.get("MetricName")
    if namespace != "AWS/Lambda" or metric not in METRICS:
        raise DeployAlarmError(
            f"alarm {name}: overcast watches only AWS/Lambda {', '.join(METRICS)} during a "
            f"deployment, not {namespace}/{metric}",
            hint="alarm on the function's Errors, e.g. MetricName: Errors, Statistic: Sum",
        )
    try:
        spec = AlarmSpec(
            name=str(properties.get("AlarmName") or name),
            metric=str(metric),
            statistic=Statistic(properties.get("Statistic", "Sum")),
            period_seconds=int(properties.get("Period", 60)),
            evaluation_periods=int(properties.get("EvaluationPeriods", 1)),
            threshold=float(properties.get("Threshold", 0)),
            comparison=ComparisonOperator(
                properties.get("ComparisonOperator", "GreaterThanThreshold")
            ),
            datapoints_to_alarm=(
                int(properties["DatapointsToAlarm"]) if "DatapointsToAlarm" in properties else None
            ),
            treat_missing_data=TreatMissingData(properties.get("TreatMissingData", "missing")),
        )
    except (ValueError, TypeError, OvercastError) as exc:
        raise DeployAlarmError(f"alarm {name}: {exc}") from exc
    return WatchedAlarm(spec, str(metric))


def datapoints(
    metric: str, samples: Iterable[tuple[float, int, int]], period: int, since: float
) -> dict[int, list[float]]:
    """Per-period samples of ``metric`` from (time, error, throttled) outcomes after ``since``."""
    out: dict[int, list[float]] = {}
    for when, error, throttled in samples:
        if when < since:
            continue
        start = int(when // period) * period
        value = float(error if metric == "Errors" else throttled if metric == "Throttles" else 1)
        out.setdefault(start, []).append(value)
    return out


def alarm_state(
    alarm: WatchedAlarm,
    samples: Iterable[tuple[float, int, int]],
    since: float,
    now: float,
    current: AlarmState,
) -> AlarmState:
    """The alarm's state at ``now`` over the samples recorded since the shift began."""
    points = datapoints(alarm.metric, samples, alarm.spec.period_seconds, since)
    state, _ = step(alarm.spec, points, now, current)
    return state
