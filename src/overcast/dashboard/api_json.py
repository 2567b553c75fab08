"""The JSON shapes of the dashboard's API (``/dashboard/api/``), built from the source's types.

Field names are snake_case; times are epoch seconds, money a decimal string (exact,
as priced) beside a float for charts; missing percentiles are ``null``.
"""

from __future__ import annotations

from decimal import Decimal

from overcast.dashboard.source import (
    AlarmInfo,
    CostSummary,
    DeploymentInfo,
    LogLine,
    MetricSeries,
    MetricTotals,
    StageInfo,
)

JSON = dict[str, object]


def money(value: Decimal) -> str:
    """Dollars to the hundredth of a cent for reading; the exact value stays in ``*_exact``."""
    return f"{value.quantize(Decimal('0.0001'))}"


def stage_json(stage: StageInfo) -> JSON:
    return {
        "name": stage.name,
        "hosts": list(stage.hosts),
        "current_deployment": stage.current_deployment,
        "versions": dict(stage.versions),
    }


def totals_json(totals: MetricTotals) -> JSON:
    return {
        "invocations": totals.invocations,
        "errors": totals.errors,
        "throttles": totals.throttles,
        "cold_starts": totals.cold_starts,
        "p50_ms": totals.p50_ms,
        "p99_ms": totals.p99_ms,
        "peak_concurrency": totals.peak_concurrency,
    }


def series_json(series: MetricSeries) -> JSON:
    return {
        "stage": series.stage,
        "function": series.function,
        "step_s": series.step_s,
        "timestamps": list(series.timestamps),
        "invocations": list(series.invocations),
        "errors": list(series.errors),
        "p50_ms": list(series.p50_ms),
        "p99_ms": list(series.p99_ms),
        "cold_starts": list(series.cold_starts),
        "concurrency": list(series.concurrency),
        "totals": totals_json(series.totals),
    }


def cost_json(cost: CostSummary) -> JSON:
    return {
        "currency": cost.currency,
        "period_start": cost.period_start,
        "to_date": money(cost.to_date),
        "forecast": money(cost.forecast),
        "to_date_exact": str(cost.to_date),
        "forecast_exact": str(cost.forecast),
    }


def alarm_json(alarm: AlarmInfo) -> JSON:
    return {
        "name": alarm.name,
        "state": alarm.state,
        "reason": alarm.reason,
        "updated": alarm.updated,
        "stage": alarm.stage,
        "description": alarm.description,
    }


def deployment_json(deployment: DeploymentInfo) -> JSON:
    return {
        "id": deployment.id,
        "stage": deployment.stage,
        "stack": deployment.stack,
        "kind": deployment.kind,
        "status": deployment.status,
        "created": deployment.created,
        "finished": deployment.finished,
        "versions": dict(deployment.versions),
        "message": deployment.message,
        "reason": deployment.reason,
        "current": deployment.current,
    }


def log_json(line: LogLine) -> JSON:
    return {"t": line.timestamp_ms, "stream": line.stream, "message": line.message}
