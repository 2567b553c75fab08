"""A function's ``Schedule`` and ``ScheduleV2`` events, validated at load.

SAM's shapes:
``Schedule`` (an EventBridge rule,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedule.html):
``Schedule``, ``Input``, ``Enabled`` or ``State``, ``Name``, ``Description``,
``RetryPolicy``; rules run in UTC and take ``rate`` and ``cron`` only.
``ScheduleV2`` (EventBridge Scheduler,
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-schedulev2.html):
``ScheduleExpression`` (also ``at(...)``), ``ScheduleExpressionTimezone``, ``Input``,
``State``, ``FlexibleTimeWindow``, ``StartDate``/``EndDate``, ``RetryPolicy``
(``MaximumEventAgeInSeconds`` 60-86,400, ``MaximumRetryAttempts`` 0-185), ``Name``,
``Description``, ``GroupName``. ``Input`` must be well-formed JSON for a Lambda target.

Pure: resolved properties in, a :class:`ScheduleSpec` out, errors with the line.
The expression grammar is :mod:`overcast.schedule_expression` (a neutral module).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Final, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from overcast.schedule_expression import At, ScheduleExpressionError, parse
from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.event_invoke import whole_number
from overcast.template.intrinsics import scalar_text
from overcast.template.model import Location, ScheduleKind, ScheduleSpec
from overcast.template.yaml_loader import LocatedDict, key_location

SCHEDULE_KINDS: Final = ("Schedule", "ScheduleV2")
#: EventBridge's and Scheduler's RetryPolicy bounds
EVENT_AGE_BOUNDS: Final = (60, 86_400)
RETRY_BOUNDS: Final = (0, 185)
WINDOW_BOUNDS: Final = (1, 1440)

_SUPPORTED: Final = {
    "Schedule": frozenset(
        {"Schedule", "Input", "Enabled", "State", "Name", "Description", "RetryPolicy"}
    ),
    "ScheduleV2": frozenset(
        {
            "ScheduleExpression", "ScheduleExpressionTimezone", "Input", "State",
            "FlexibleTimeWindow", "StartDate", "EndDate", "RetryPolicy", "Name",
            "Description", "GroupName",
        }
    ),
}  # fmt: skip
_EXPRESSION_KEY: Final = {"Schedule": "Schedule", "ScheduleV2": "ScheduleExpression"}


def _text(props: LocatedDict, key: str, what: str, loc: Location | None) -> str | None:
    if props.get(key) is None:
        return None
    text = scalar_text(props[key])
    if text is None or isinstance(props[key], bool):
        raise InvalidTemplateError(
            f"{what} {key} must be a string", location=key_location(props, key, loc)
        )
    return text


def _whole(
    config: LocatedDict, key: str, what: str, bounds: tuple[int, int], loc: Location | None
) -> int | None:
    if config.get(key) is None:
        return None
    return whole_number(config[key], f"{what} {key}", bounds, key_location(config, key, loc))


def _enabled(kind: ScheduleKind, props: LocatedDict, what: str, loc: Location | None) -> bool:
    if props.get("Enabled") is not None and props.get("State") is not None:
        raise InvalidTemplateError(
            f"{what} sets both Enabled and State", location=key_location(props, "State", loc),
            hint="keep one: State: DISABLED, or Enabled: false",
        )  # fmt: skip
    if props.get("Enabled") is not None:
        if kind == "ScheduleV2":
            raise InvalidTemplateError(
                f"{what}: a ScheduleV2 event has no Enabled property",
                location=key_location(props, "Enabled", loc), hint="write State: DISABLED",
            )  # fmt: skip
        value = props["Enabled"]
        if not isinstance(value, bool) and scalar_text(value) not in ("true", "false"):
            raise InvalidTemplateError(
                f"{what} Enabled must be true or false, got {value!r}",
                location=key_location(props, "Enabled", loc),
            )
        return value is True or scalar_text(value) == "true"
    state = _text(props, "State", what, loc)
    if state is None:
        return True
    allowed = ("ENABLED", "DISABLED") + (
        ("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",) if kind == "Schedule" else ()
    )
    if state not in allowed:
        raise InvalidTemplateError(
            f"{what} State is {state!r}; it must be one of " + ", ".join(allowed),
            location=key_location(props, "State", loc),
        )
    return state != "DISABLED"


def _input(props: LocatedDict, what: str, loc: Location | None) -> str | None:
    if props.get("Input") is None:
        return None
    raw = props["Input"]
    at = key_location(props, "Input", loc)
    if not isinstance(raw, str):
        raise InvalidTemplateError(
            f"{what} Input must be a string of JSON", location=at,
            hint="""write Input: '{"key": "value"}'""",
        )  # fmt: skip
    try:
        json.loads(raw)
    except ValueError:
        raise InvalidTemplateError(
            f"{what} Input is not valid JSON: {raw!r}", location=at,
            hint="a Lambda target's Input must be well-formed JSON",
        ) from None  # fmt: skip
    return raw


def _timezone(props: LocatedDict, what: str, loc: Location | None) -> str:
    name = _text(props, "ScheduleExpressionTimezone", what, loc)
    if name is None:
        return "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTemplateError(
            f"{what} ScheduleExpressionTimezone {name!r} is not a time zone",
            location=key_location(props, "ScheduleExpressionTimezone", loc),
            hint="use an IANA name such as America/New_York or Europe/Paris",
        ) from None
    return name


def _date(props: LocatedDict, key: str, what: str, loc: Location | None) -> float | None:
    text = _text(props, key, what, loc)
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidTemplateError(
            f"{what} {key} {text!r} is not an ISO 8601 date and time",
            location=key_location(props, key, loc), hint="write 2030-01-01T00:00:00Z",
        ) from None  # fmt: skip
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _mapping(props: LocatedDict, key: str, what: str, loc: Location | None) -> LocatedDict | None:
    value = props.get(key)
    if value is None:
        return None
    if not isinstance(value, LocatedDict):
        raise InvalidTemplateError(
            f"{what} {key} must be a mapping", location=key_location(props, key, loc)
        )
    return value


def _window(props: LocatedDict, what: str, loc: Location | None) -> int | None:
    window = _mapping(props, "FlexibleTimeWindow", what, loc)
    if window is None:
        return None
    at = key_location(props, "FlexibleTimeWindow", loc)
    mode = scalar_text(window.get("Mode"))
    if mode == "OFF":
        return None
    if mode != "FLEXIBLE":
        raise InvalidTemplateError(
            f"{what} FlexibleTimeWindow Mode is {window.get('Mode')!r}; it must be OFF or FLEXIBLE",
            location=key_location(window, "Mode", at),
        )
    minutes = _whole(window, "MaximumWindowInMinutes", f"{what} FlexibleTimeWindow",
                     WINDOW_BOUNDS, at)  # fmt: skip
    if minutes is None:
        raise InvalidTemplateError(
            f"{what} FlexibleTimeWindow Mode FLEXIBLE needs MaximumWindowInMinutes",
            location=at,
        )
    return minutes


def parse_schedule_event(
    owner: str,
    event_name: str,
    kind: ScheduleKind,
    props: LocatedDict,
    *,
    location: Location | None,
    log: WarningLog,
) -> ScheduleSpec:
    """A ``Schedule``/``ScheduleV2`` event's resolved Properties → ScheduleSpec."""
    what = f"{owner} event '{event_name}'"
    supported = _SUPPORTED[kind]
    for key in props:
        if key not in supported:
            log.warn(f"{what} property '{key}' is not used by overcast; it is ignored",
                     key_location(props, key, location))  # fmt: skip
    key = _EXPRESSION_KEY[kind]
    expression = _text(props, key, what, location)
    expr_loc = key_location(props, key, location)
    if expression is None:
        raise InvalidTemplateError(
            f"{what} needs a {key}", location=location, hint=f"write {key}: rate(5 minutes)"
        )
    try:
        parsed = parse(expression)
    except ScheduleExpressionError as exc:
        raise InvalidTemplateError(exc.message, location=expr_loc, hint=exc.hint) from None
    if kind == "Schedule" and isinstance(parsed, At):
        raise InvalidTemplateError(
            f"{what}: an EventBridge rule takes rate() or cron(), not at()", location=expr_loc,
            hint="use a ScheduleV2 event for a one-time schedule",
        )  # fmt: skip
    max_age, max_retries = _retry_policy(props, what, location)
    start_at = _date(props, "StartDate", what, location)
    end_at = _date(props, "EndDate", what, location)
    if start_at is not None and end_at is not None and end_at <= start_at:
        raise InvalidTemplateError(
            f"{what} EndDate is not after StartDate", location=key_location(props, "EndDate",
                                                                             location),
        )  # fmt: skip
    return ScheduleSpec(
        event_name=event_name,
        kind=kind,
        expression=expression,
        timezone=_timezone(props, what, location),
        input=_input(props, what, location),
        enabled=_enabled(kind, props, what, location),
        name=_text(props, "Name", what, location),
        description=_text(props, "Description", what, location) or "",
        flexible_window_minutes=_window(props, what, location),
        start_at=start_at,
        end_at=end_at,
        maximum_event_age_s=max_age,
        maximum_retry_attempts=max_retries,
        location=location,
    )


def _retry_policy(
    props: LocatedDict, what: str, location: Location | None
) -> tuple[int | None, int | None]:
    """``RetryPolicy``'s MaximumEventAgeInSeconds and MaximumRetryAttempts (None: unset)."""
    retry = _mapping(props, "RetryPolicy", what, location)
    if retry is None:
        return None, None
    where = key_location(props, "RetryPolicy", location)
    age = _whole(retry, "MaximumEventAgeInSeconds", f"{what} RetryPolicy", EVENT_AGE_BOUNDS, where)
    attempts = _whole(retry, "MaximumRetryAttempts", f"{what} RetryPolicy", RETRY_BOUNDS, where)
    return age, attempts


def is_schedule(kind: Any) -> bool:
    """Whether an event ``Type`` is one this module parses."""
    return kind in SCHEDULE_KINDS


# -- AWS::Events::Rule and AWS::Scheduler::Schedule resources --------------------------

RULE_TYPE: Final = "AWS::Events::Rule"
SCHEDULE_TYPE: Final = "AWS::Scheduler::Schedule"
_RULE_PROPERTIES: Final = frozenset(
    {"ScheduleExpression", "State", "Name", "Description", "Targets", "EventBusName"}
)
_RULE_TARGET_PROPERTIES: Final = frozenset({"Arn", "Id", "Input", "RetryPolicy"})
_SCHEDULE_PROPERTIES: Final = frozenset(
    {
        "ScheduleExpression", "ScheduleExpressionTimezone", "State", "FlexibleTimeWindow",
        "StartDate", "EndDate", "Target", "Name", "Description", "GroupName",
    }
)  # fmt: skip
_SCHEDULE_TARGET_PROPERTIES: Final = frozenset({"Arn", "Input", "RetryPolicy", "RoleArn"})


def _warn_unused(
    props: LocatedDict, supported: frozenset[str], what: str, loc: Location | None,
    log: WarningLog,
) -> None:  # fmt: skip
    for key in props:
        if key not in supported:
            log.warn(f"{what} property '{key}' is not used by overcast; it is ignored",
                     key_location(props, key, loc))  # fmt: skip


def _target_function(
    target: LocatedDict, what: str, loc: Location | None, log: WarningLog,
    function_name: Callable[[str], str | None],
) -> str | None:  # fmt: skip
    """The name of the template's function a target's ``Arn`` names (else warned, None)."""
    arn = scalar_text(target.get("Arn"))
    name = function_name(arn) if arn else None
    if name is None:
        log.warn(f"{what} target {arn or target.get('Arn')!r} is not a function of this "
                 "template; overcast does not deliver to it", loc)  # fmt: skip
    return name


def parse_schedule_resource(
    logical_id: str,
    resource_type: str,
    props: LocatedDict,
    *,
    stack_name: str,
    location: Location | None,
    log: WarningLog,
    function_name: Callable[[str], str | None],
) -> list[tuple[str, ScheduleSpec]]:
    """A scheduled rule's or schedule's resolved Properties → (function name, spec) pairs.

    ``function_name`` maps a target ARN to a function of the template (None: not one).
    A rule without ``ScheduleExpression`` (an event-pattern rule) is warned about.
    """
    what = f"Resource '{logical_id}' ({resource_type})"
    if props.get("ScheduleExpression") is None:
        log.warn(f"{what} has no ScheduleExpression; event-pattern rules are not run by "
                 "overcast", location)  # fmt: skip
        return []
    is_rule = resource_type == RULE_TYPE
    _warn_unused(props, _RULE_PROPERTIES if is_rule else _SCHEDULE_PROPERTIES, what, location, log)
    expression = cast(str, _text(props, "ScheduleExpression", what, location))
    expr_loc = key_location(props, "ScheduleExpression", location)
    try:
        parsed = parse(expression)
    except ScheduleExpressionError as exc:
        raise InvalidTemplateError(exc.message, location=expr_loc, hint=exc.hint) from None
    if is_rule and isinstance(parsed, At):
        raise InvalidTemplateError(
            f"{what}: an EventBridge rule takes rate() or cron(), not at()", location=expr_loc
        )
    kind: ScheduleKind = "Schedule" if is_rule else "ScheduleV2"
    name = _text(props, "Name", what, location) or f"{stack_name}-{logical_id}"
    base = ScheduleSpec(
        event_name=logical_id,
        kind=kind,
        expression=expression,
        timezone="UTC" if is_rule else _timezone(props, what, location),
        enabled=_enabled("Schedule" if is_rule else "ScheduleV2", props, what, location),
        name=name,
        description=_text(props, "Description", what, location) or "",
        flexible_window_minutes=None if is_rule else _window(props, what, location),
        start_at=None if is_rule else _date(props, "StartDate", what, location),
        end_at=None if is_rule else _date(props, "EndDate", what, location),
        location=location,
    )
    if is_rule:
        raw_targets = props.get("Targets") or []
        if not isinstance(raw_targets, list):
            raise InvalidTemplateError(
                f"{what} Targets must be a list", location=key_location(props, "Targets", location)
            )
        targets = raw_targets
    else:
        targets = [props.get("Target")] if props.get("Target") is not None else []
    out: list[tuple[str, ScheduleSpec]] = []
    for index, target in enumerate(targets):
        if not isinstance(target, LocatedDict):
            raise InvalidTemplateError(f"{what} target {index} must be a mapping",
                                       location=location)  # fmt: skip
        tloc = target.location or location
        _warn_unused(
            target, _RULE_TARGET_PROPERTIES if is_rule else _SCHEDULE_TARGET_PROPERTIES,
            f"{what} target", tloc, log,
        )  # fmt: skip
        function = _target_function(target, what, tloc, log, function_name)
        if function is None:
            continue
        max_age, max_retries = _retry_policy(target, what, tloc)
        target_id = scalar_text(target.get("Id")) if is_rule else None
        out.append(
            (
                function,
                replace(
                    base,
                    # two targets of one rule are two schedules (each claims its ticks)
                    event_name=f"{logical_id}.{target_id}" if target_id else logical_id,
                    input=_input(target, what, tloc),
                    maximum_event_age_s=max_age,
                    maximum_retry_attempts=max_retries,
                    location=tloc,
                ),
            )
        )
    return out
