"""The alarms a traffic shift watches: template ``AWS::CloudWatch::Alarm`` resources
evaluated on the new version's invocations (pure: samples in, states out).

A ``DeploymentPreference`` names alarms by ``Ref``; CodeDeploy rolls the deployment
back when one of them is in ALARM while traffic shifts
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/automating-updates-to-serverless-apps.html).
The alarm is parsed as every template alarm is (``overcast.observe.alarm_specs``);
during a shift overcast can evaluate the ``AWS/Lambda`` metrics ``Errors``,
``Invocations`` and ``Throttles`` of the version being shifted to, from the alias
router's per-invocation outcomes, with CloudWatch's rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from overcast.errors import OvercastError
from overcast.observe.alarm_specs import TemplateAlarm, alarm_from_properties
from overcast.observe.alarms import AlarmState

METRICS = ("Errors", "Invocations", "Throttles")


class DeployAlarmError(OvercastError):
    """An alarm a deployment preference names cannot be watched."""


def watched_alarm(name: str, properties: Mapping[str, Any]) -> TemplateAlarm:
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
        return alarm_from_properties(name, {"Namespace": namespace, **properties})
    except OvercastError as exc:
        raise DeployAlarmError(str(exc), hint=exc.hint) from exc


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
    alarm: TemplateAlarm,
    samples: Iterable[tuple[float, int, int]],
    since: float,
    now: float,
    current: AlarmState,
) -> AlarmState:
    """The alarm's state at ``now`` over the samples recorded since the shift began."""
    points = datapoints(alarm.metric.name, samples, alarm.spec.period_seconds, since)
    state, _ = alarm.step(points, now, current)
    return state
