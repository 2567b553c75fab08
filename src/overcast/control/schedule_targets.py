"""The schedules a running app fires, from its template model, for the scheduler."""

from __future__ import annotations

from overcast.events.retry_policy import DEFAULT_EVENT_AGE_S
from overcast.events.scheduled_event import rule_arn
from overcast.events.scheduler import SCHEDULER_DEFAULT_EVENT_AGE_S, ScheduleTarget
from overcast.schedule_expression import parse
from overcast.template.model import AppModel, FunctionSpec, ScheduleSpec


def _catch_up_s(function: FunctionSpec, spec: ScheduleSpec) -> int:
    """How late a missed tick may fire: the RetryPolicy's maximum event age, else the
    function's (a rule's event then waits in Lambda's queue) or Scheduler's 24 h."""
    if spec.maximum_event_age_s is not None:
        return spec.maximum_event_age_s
    if spec.kind == "ScheduleV2":
        return SCHEDULER_DEFAULT_EVENT_AGE_S
    config = function.event_invoke
    return config.maximum_event_age_s if config is not None else DEFAULT_EVENT_AGE_S


def schedule_targets(model: AppModel, *, scope: str, qualifier: str) -> list[ScheduleTarget]:
    """Every enabled schedule of ``model``; ``scope`` (stage and stack) keys their ticks."""
    targets: list[ScheduleTarget] = []
    for function in model.functions.values():
        for spec in function.schedules:
            if not spec.enabled:
                continue
            # CloudFormation names a rule <stack>-<logical id>-<suffix>; no suffix here,
            # so the name (and its ticks) stays the same across deploys.
            name = spec.name or f"{model.stack_name}-{function.logical_id}{spec.event_name}"
            arn = (
                rule_arn(model.region, model.account_id, name)
                if spec.kind == "Schedule"
                else f"arn:aws:scheduler:{model.region}:{model.account_id}:schedule/default/{name}"
            )
            targets.append(
                ScheduleTarget(
                    schedule_id=f"{scope}/{function.name}/{spec.event_name}",
                    kind=spec.kind,
                    expression=parse(spec.expression),
                    function=function.name,
                    qualifier=qualifier,
                    region=model.region,
                    account_id=model.account_id,
                    resource_arn=arn,
                    timezone=spec.timezone,
                    input_json=spec.input,
                    catch_up_s=_catch_up_s(function, spec),
                    start_at=spec.start_at,
                    end_at=spec.end_at,
                )
            )
    return targets
