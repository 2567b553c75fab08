"""Template ``AWS::CloudWatch::Alarm`` resources as evaluable alarms (pure).

The loader keeps each alarm's resolved Properties (``AppModel.alarms``); this module
checks them against what overcast can measure and builds a :class:`TemplateAlarm`:
an :class:`~overcast.observe.alarms.AlarmSpec` plus the metric series it watches
(namespace, name, dimensions) and its actions.

Property shapes follow
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-cloudwatch-alarm.html
(read 2026-11-27). Single-metric alarms only: ``Metrics`` (metric math) and anomaly
detection thresholds are refused with a clear error rather than silently ignored.

Percentiles (``ExtendedStatistic: p99``) are supported by reducing each period's
samples to their percentile *before* the state machine sees them (one value per
period, which every plain statistic passes through unchanged), so
``overcast.observe.alarms`` stays as it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from overcast.errors import OvercastError
from overcast.observe.alarms import (
    AlarmSpec,
    AlarmState,
    ComparisonOperator,
    Statistic,
    Transition,
    TreatMissingData,
    step,
)
from overcast.observe.errors import InvalidAlarmError

__all__ = [
    "BILLING_NAMESPACE",
    "ESTIMATED_CHARGES",
    "SUPPORTED_METRICS",
    "MetricKey",
    "TemplateAlarm",
    "alarm_from_properties",
    "alarms_from_model",
    "estimated_charges_alarm",
    "percentile",
]

LAMBDA_NAMESPACE = "AWS/Lambda"
API_GATEWAY_NAMESPACE = "AWS/ApiGateway"
BILLING_NAMESPACE = "AWS/Billing"
ESTIMATED_CHARGES = "EstimatedCharges"

# What overcast measures, by namespace: metric names and the dimensions it can split by.
# - AWS/Lambda: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html
#   (FunctionName; Resource = "name:alias" or "name:version"; ExecutedVersion).
# - AWS/ApiGateway: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-metrics-and-dimensions.html
#   REST APIs name 4XXError/5XXError split by ApiName, Stage, Resource, Method; HTTP APIs
#   name 4xx/5xx split by ApiId, Stage, Route
#   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-metrics.html).
# - AWS/Billing EstimatedCharges, split by Currency (and ServiceName at AWS); overcast adds
#   Stage, because its "account" is the whole platform and a stage is the unit people pay for.
#   https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/monitor_estimated_charges_with_cloudwatch.html
_LAMBDA_METRICS = ("Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions")
_API_METRICS = (
    "Count", "4XXError", "5XXError", "4xx", "5xx", "Latency", "IntegrationLatency",
    "CacheHitCount", "CacheMissCount", "DataProcessed",
)  # fmt: skip
SUPPORTED_METRICS: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    LAMBDA_NAMESPACE: (
        frozenset(_LAMBDA_METRICS),
        frozenset({"FunctionName", "Resource", "ExecutedVersion"}),
    ),
    API_GATEWAY_NAMESPACE: (
        frozenset(_API_METRICS),
        frozenset({"ApiName", "ApiId", "Stage", "Resource", "Method", "Route"}),
    ),
    BILLING_NAMESPACE: (
        frozenset({ESTIMATED_CHARGES}),
        frozenset({"Currency", "Stage", "ServiceName"}),
    ),
}

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d{1,10})?|100)$")
_REQUIRED = ("ComparisonOperator", "EvaluationPeriods")
_ANOMALY_OPERATORS = frozenset(
    {
        "LessThanLowerOrGreaterThanUpperThreshold",
        "LessThanLowerThreshold",
        "GreaterThanUpperThreshold",
    }
)


@dataclass(frozen=True, slots=True)
class MetricKey:
    """One CloudWatch metric series: namespace, name and sorted (name, value) dimensions."""

    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()

    def dimension(self, name: str) -> str | None:
        """The value of dimension ``name``, or None when the series is not split by it."""
        for key, value in self.dimensions:
            if key == name:
                return value
        return None

    def __str__(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in self.dimensions)
        return f"{self.namespace}/{self.name}" + (f"{{{dims}}}" if dims else "")


@dataclass(frozen=True, slots=True)
class TemplateAlarm:
    """An alarm from a template (or made by overcast), ready to evaluate and notify."""

    logical_id: str
    spec: AlarmSpec
    metric: MetricKey
    #: ExtendedStatistic as a number (99.0 for ``p99``), or None for a plain Statistic
    percentile: float | None = None
    description: str = ""
    unit: str | None = None
    actions_enabled: bool = True
    alarm_actions: tuple[str, ...] = ()
    ok_actions: tuple[str, ...] = ()
    insufficient_data_actions: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """AlarmName if the template set one, else the logical ID."""
        return self.spec.name

    @property
    def statistic_label(self) -> str:
        """What a person reads: ``Sum``, ``Average``, ``p99``..."""
        if self.percentile is None:
            return str(self.spec.statistic)
        return f"p{self.percentile:g}"

    def actions_for(self, state: AlarmState) -> tuple[str, ...]:
        """The actions a change *into* ``state`` triggers (none when actions are disabled)."""
        if not self.actions_enabled:
            return ()
        if state is AlarmState.ALARM:
            return self.alarm_actions
        if state is AlarmState.OK:
            return self.ok_actions
        return self.insufficient_data_actions

    def datapoints(
        self, samples_by_period: Mapping[int, Sequence[float]]
    ) -> Mapping[int, Sequence[float]]:
        """Per-period samples as the state machine should see them (percentiles pre-reduced)."""
        if self.percentile is None:
            return samples_by_period
        return {
            start: [percentile(samples, self.percentile)]
            for start, samples in samples_by_period.items()
            if samples
        }

    def step(
        self,
        samples_by_period: Mapping[int, Sequence[float]],
        now: float,
        current: AlarmState,
    ) -> tuple[AlarmState, Transition | None]:
        """Evaluate at ``now``: the next state and, when it changed, the transition."""
        return step(self.spec, self.datapoints(samples_by_period), now, current)


def percentile(samples: Sequence[float], p: float) -> float:
    """The ``p``-th percentile of ``samples`` by nearest rank (a value actually seen).

    Nearest rank keeps p50 of ``[1, 2, 3, 4]`` at 2 rather than inventing 2.5; CloudWatch
    approximates percentiles anyway, so no interpolation scheme would match it exactly.
    """
    if not samples:
        raise InvalidAlarmError("a percentile of no samples is undefined")
    if not 0 <= p <= 100:
        raise InvalidAlarmError(f"percentile {p} is outside 0..100")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _fail(name: str, message: str, hint: str = "") -> InvalidAlarmError:
    return InvalidAlarmError(f"alarm {name}: {message}", hint=hint)


def _int(name: str, props: Mapping[str, Any], key: str, default: int | None = None) -> int:
    raw = props.get(key, default)
    if raw is None:
        raise _fail(name, f"{key} is required")
    try:
        value = Decimal(str(raw))
    except ArithmeticError as exc:
        raise _fail(name, f"{key} must be a whole number, not {raw!r}") from exc
    if isinstance(raw, bool) or not value.is_finite() or value != value.to_integral_value():
        raise _fail(name, f"{key} must be a whole number, not {raw!r}")
    return int(value)


def _float(name: str, props: Mapping[str, Any], key: str) -> float:
    raw = props.get(key)
    if raw is None:
        raise _fail(name, f"{key} is required", hint="add e.g. Threshold: 5")
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise _fail(name, f"{key} must be a number, not {raw!r}") from exc
    if isinstance(raw, bool) or not math.isfinite(value):
        raise _fail(name, f"{key} must be a finite number, not {raw!r}")
    return value


def _strings(name: str, props: Mapping[str, Any], key: str) -> tuple[str, ...]:
    raw = props.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise _fail(name, f"{key} must be a list of strings")
    return tuple(raw)


def _bool(name: str, props: Mapping[str, Any], key: str, default: bool) -> bool:
    raw = props.get(key, default)
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise _fail(name, f"{key} must be true or false, not {raw!r}")


def _choice(name: str, key: str, raw: Any, enum: type[Any], default: Any = None) -> Any:
    if raw is None and default is not None:
        return default
    try:
        return enum(raw)
    except ValueError as exc:
        allowed = ", ".join(str(v) for v in enum)
        raise _fail(name, f"{key} {raw!r} is not supported", hint=f"use one of: {allowed}") from exc


def _dimensions(name: str, props: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    raw = props.get("Dimensions", [])
    if not isinstance(raw, list):
        raise _fail(name, "Dimensions must be a list of {Name, Value}")
    out: dict[str, str] = {}
    for item in raw:
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("Name"), str)
            or not isinstance(item.get("Value"), str | int | float)
            or isinstance(item.get("Value"), bool)
        ):
            raise _fail(
                name,
                f"each dimension needs a Name and a Value, got {item!r}",
                hint="e.g. Dimensions: [{Name: FunctionName, Value: !Ref MyFunction}]",
            )
        if item["Name"] in out:
            raise _fail(name, f"dimension {item['Name']} is given twice")
        out[item["Name"]] = str(item["Value"])
    return tuple(sorted(out.items()))


def _metric(name: str, props: Mapping[str, Any]) -> MetricKey:
    if "Metrics" in props:
        raise _fail(
            name,
            "metric math (Metrics) is not supported",
            hint="alarm on one metric with MetricName, Namespace and Dimensions",
        )
    metric = props.get("MetricName")
    namespace = props.get("Namespace")
    if not isinstance(metric, str) or not isinstance(namespace, str):
        raise _fail(
            name,
            "MetricName and Namespace are required",
            hint="e.g. Namespace: AWS/Lambda, MetricName: Errors",
        )
    if namespace not in SUPPORTED_METRICS:
        raise _fail(
            name,
            f"namespace {namespace} is not measured by overcast",
            hint=f"use one of: {', '.join(SUPPORTED_METRICS)}",
        )
    names, dimension_names = SUPPORTED_METRICS[namespace]
    if metric not in names:
        raise _fail(
            name,
            f"{namespace} has no metric {metric} in overcast",
            hint=f"use one of: {', '.join(sorted(names))}",
        )
    dimensions = _dimensions(name, props)
    unknown = sorted({k for k, _ in dimensions} - dimension_names)
    if unknown:
        raise _fail(
            name,
            f"{namespace} is not split by {', '.join(unknown)}",
            hint=f"use dimensions among: {', '.join(sorted(dimension_names))}",
        )
    key = MetricKey(namespace, metric, dimensions)
    currency = key.dimension("Currency")
    if namespace == BILLING_NAMESPACE and currency not in (None, "USD"):
        raise _fail(name, f"estimated charges are kept in USD, not {currency}")
    return key


def _statistic(name: str, props: Mapping[str, Any]) -> tuple[Statistic, float | None]:
    plain, extended = props.get("Statistic"), props.get("ExtendedStatistic")
    if (plain is None) == (extended is None):
        raise _fail(
            name,
            "give exactly one of Statistic and ExtendedStatistic",
            hint="e.g. Statistic: Sum, or ExtendedStatistic: p99",
        )
    if plain is not None:
        return _choice(name, "Statistic", plain, Statistic), None
    match = _PERCENTILE.match(str(extended))
    if match is None:
        raise _fail(
            name,
            f"ExtendedStatistic {extended!r} is not supported",
            hint="overcast computes percentiles only, written p0 to p100 (e.g. p99, p99.9)",
        )
    # One pre-reduced value per period: Maximum passes it through unchanged.
    return Statistic.MAXIMUM, float(match.group(1))


def alarm_from_properties(logical_id: str, properties: Mapping[str, Any]) -> TemplateAlarm:
    """Build the alarm ``logical_id`` from its resolved template Properties.

    Raises :class:`InvalidAlarmError` naming the alarm and the property at fault.
    """
    name = str(properties.get("AlarmName") or logical_id)
    for key in _REQUIRED:
        if key not in properties:
            raise _fail(name, f"{key} is required")
    if (
        "ThresholdMetricId" in properties
        or str(properties["ComparisonOperator"]) in _ANOMALY_OPERATORS
    ):
        raise _fail(
            name,
            "anomaly detection alarms are not supported",
            hint="use a static Threshold with GreaterThanThreshold or similar",
        )
    metric = _metric(name, properties)
    statistic, pct = _statistic(name, properties)
    unit = properties.get("Unit")
    try:
        spec = AlarmSpec(
            name=name,
            metric=metric.name,
            statistic=statistic,
            period_seconds=_int(name, properties, "Period", 60),
            evaluation_periods=_int(name, properties, "EvaluationPeriods"),
            threshold=_float(name, properties, "Threshold"),
            comparison=_choice(
                name, "ComparisonOperator", properties["ComparisonOperator"], ComparisonOperator
            ),
            datapoints_to_alarm=(
                _int(name, properties, "DatapointsToAlarm")
                if "DatapointsToAlarm" in properties
                else None
            ),
            treat_missing_data=_choice(
                name,
                "TreatMissingData",
                properties.get("TreatMissingData"),
                TreatMissingData,
                TreatMissingData.MISSING,
            ),
        )
    except InvalidAlarmError:
        raise
    except OvercastError as exc:
        raise _fail(name, exc.message, exc.hint) from exc
    return TemplateAlarm(
        logical_id=logical_id,
        spec=spec,
        metric=metric,
        percentile=pct,
        description=str(properties.get("AlarmDescription") or ""),
        unit=str(unit) if unit is not None else None,
        actions_enabled=_bool(name, properties, "ActionsEnabled", default=True),
        alarm_actions=_strings(name, properties, "AlarmActions"),
        ok_actions=_strings(name, properties, "OKActions"),
        insufficient_data_actions=_strings(name, properties, "InsufficientDataActions"),
    )


def alarms_from_model(
    alarms: Mapping[str, Mapping[str, Any]], function_names: Sequence[str] = ()
) -> dict[str, TemplateAlarm]:
    """Every alarm of a template (``AppModel.alarms``), by logical ID.

    When ``function_names`` is given, an ``AWS/Lambda`` alarm whose FunctionName
    dimension names none of them is refused: it could never leave INSUFFICIENT_DATA.
    """
    out: dict[str, TemplateAlarm] = {}
    for logical_id, props in alarms.items():
        alarm = alarm_from_properties(logical_id, props)
        function = alarm.metric.dimension("FunctionName")
        if function_names and function is not None and function not in function_names:
            raise _fail(
                alarm.name,
                f"FunctionName {function} is not a function of this template",
                hint="use !Ref to the function's logical ID",
            )
        out[logical_id] = alarm
    return out


def estimated_charges_alarm(
    stage: str,
    threshold_usd: Decimal | float,
    *,
    name: str | None = None,
    period_seconds: int = 6 * 3600,
    evaluation_periods: int = 1,
    actions: Sequence[str] = (),
) -> TemplateAlarm:
    """A pricing alarm: ALARM once ``stage``'s month-to-date charges exceed the threshold.

    Shaped like AWS's billing alarm (``AWS/Billing`` ``EstimatedCharges``, Maximum,
    Currency USD, six-hour period); the datapoints are the stage's month-to-date spend,
    sampled. Missing data is not breaching: no samples means nothing was spent.
    """
    threshold = float(threshold_usd)
    if not math.isfinite(threshold) or threshold < 0:
        raise InvalidAlarmError(f"pricing alarm for {stage}: threshold must be >= 0 USD")
    alarm_name = name or f"{stage}-estimated-charges"
    return TemplateAlarm(
        logical_id=alarm_name,
        spec=AlarmSpec(
            name=alarm_name,
            metric=ESTIMATED_CHARGES,
            statistic=Statistic.MAXIMUM,
            period_seconds=period_seconds,
            evaluation_periods=evaluation_periods,
            threshold=threshold,
            comparison=ComparisonOperator.GREATER_THAN,
            treat_missing_data=TreatMissingData.NOT_BREACHING,
        ),
        metric=MetricKey(
            BILLING_NAMESPACE, ESTIMATED_CHARGES, (("Currency", "USD"), ("Stage", stage))
        ),
        description=f"Estimated charges of stage {stage} above {threshold:g} USD",
        alarm_actions=tuple(actions),
    )
