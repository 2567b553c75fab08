"""A function's asynchronous-invocation settings: ``EventInvokeConfig`` and ``DeadLetterQueue``.

SAM's shapes
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-eventinvokeconfiguration.html):
``MaximumEventAgeInSeconds`` (60 to 21,600), ``MaximumRetryAttempts`` (0 to 2),
``DestinationConfig: {OnSuccess, OnFailure}`` each ``{Type, Destination}`` with Type
SQS, SNS, S3 (OnFailure only), Lambda or EventBridge; ``DeadLetterQueue: {Type: SQS |
SNS, TargetArn}``. Lambda destinations run a function of the app, SQS ones (and SQS
dead-letter queues) get the record in a queue of the platform's SQS API, SNS ones (and
dead-letter topics) are published to a topic of its SNS API; the others are accepted
and warned about: overcast does not deliver to buses or buckets yet.

Pure: values in, validated values out, errors with the template's line.
"""

from __future__ import annotations

from typing import Any, Final, cast

from overcast.template.auth import function_name_from_arn
from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import (
    DeadLetterSpec,
    DestinationSpec,
    DestinationType,
    EventInvokeSpec,
    Location,
)
from overcast.template.yaml_loader import LocatedDict, key_location

#: AWS::Lambda::EventInvokeConfig bounds
RETRY_BOUNDS: Final = (0, 2)
EVENT_AGE_BOUNDS: Final = (60, 21_600)
_DESTINATION_TYPES: Final = ("Lambda", "SQS", "SNS", "EventBridge", "S3")
_CONFIG_KEYS: Final = frozenset(
    {"MaximumEventAgeInSeconds", "MaximumRetryAttempts", "DestinationConfig"}
)
_NOT_DELIVERED: Final = (
    "is not delivered to by overcast yet (only functions, SQS queues and SNS topics are); "
    "records are logged"
)


def _mapping(value: Any, what: str, loc: Location | None, hint: str) -> LocatedDict:
    if not isinstance(value, dict):
        raise InvalidTemplateError(f"{what} must be a mapping", location=loc, hint=hint)
    return cast(LocatedDict, value)


def _bounded(
    config: LocatedDict, key: str, what: str, *, bounds: tuple[int, int], default: int,
    loc: Location | None,
) -> int:  # fmt: skip
    if key not in config:
        return default
    return whole_number(config[key], what, bounds, key_location(config, key, loc))


def whole_number(raw: Any, what: str, bounds: tuple[int, int], at: Location | None) -> int:
    """``raw`` as a whole number within ``bounds`` (inclusive), or a located error."""
    text = scalar_text(raw)
    if isinstance(raw, bool) or text is None or not text.strip().lstrip("-").isdigit():
        raise InvalidTemplateError(f"{what} must be a whole number, got {raw!r}", location=at)
    value = int(text)
    if not bounds[0] <= value <= bounds[1]:
        raise InvalidTemplateError(
            f"{what} is {value}; it must be between {bounds[0]} and {bounds[1]}", location=at
        )
    return value


def _destination(
    owner: str, when: str, value: Any, loc: Location | None, log: WarningLog
) -> DestinationSpec:
    what = f"{owner} EventInvokeConfig DestinationConfig {when}"
    config = _mapping(value, what, loc, "write {Type: Lambda, Destination: !GetAtt Fn.Arn}")
    kind = scalar_text(config.get("Type"))
    type_loc = key_location(config, "Type", loc)
    if kind not in _DESTINATION_TYPES:
        raise InvalidTemplateError(
            f"{what} Type is {config.get('Type')!r}; it must be one of "
            + ", ".join(_DESTINATION_TYPES),
            location=type_loc,
        )
    if kind == "S3" and when == "OnSuccess":
        raise InvalidTemplateError(f"{what}: an S3 destination is for OnFailure only",
                                   location=type_loc)  # fmt: skip
    target = config.get("Destination")
    target_loc = key_location(config, "Destination", loc)
    arn = scalar_text(target) if target is not None else None
    if kind == "Lambda":
        name = function_name_from_arn(arn) if arn else None
        if name is None:
            raise InvalidTemplateError(
                f"{what} Destination must be a Lambda function ARN, got {target!r}",
                location=target_loc,
                hint="write Destination: !GetAtt OtherFunction.Arn",
            )
        return DestinationSpec("Lambda", cast(str, arn), name, target_loc)
    if target is not None and arn is None:
        raise InvalidTemplateError(f"{what} Destination must be an ARN", location=target_loc)
    if kind == "SQS" and arn is None:
        log.warn(
            f"{what}: SAM creates a queue for an SQS destination without Destination; "
            "overcast does not, so records are logged",
            type_loc,
        )
    elif kind not in ("SQS", "SNS"):
        log.warn(f"{what}: the {kind} destination {_NOT_DELIVERED}", type_loc)
    return DestinationSpec(cast(DestinationType, kind), arn or "", None, target_loc)


def event_invoke_config(owner: str, props: LocatedDict, log: WarningLog) -> EventInvokeSpec | None:
    """``EventInvokeConfig``, validated; None when the function has none."""
    if "EventInvokeConfig" not in props:
        return None
    loc = props.key_location("EventInvokeConfig")
    config = _mapping(
        props["EventInvokeConfig"], f"{owner} EventInvokeConfig", loc,
        "write EventInvokeConfig: {MaximumRetryAttempts: 1, DestinationConfig: {...}}",
    )  # fmt: skip
    for key in config:
        if key not in _CONFIG_KEYS:
            raise InvalidTemplateError(
                f"{owner} EventInvokeConfig has an unknown property '{key}'",
                location=key_location(config, key, loc),
                hint="use MaximumEventAgeInSeconds, MaximumRetryAttempts or DestinationConfig",
            )
    retries = _bounded(
        config, "MaximumRetryAttempts", f"{owner} MaximumRetryAttempts",
        bounds=RETRY_BOUNDS, default=2, loc=loc,
    )  # fmt: skip
    age = _bounded(
        config, "MaximumEventAgeInSeconds", f"{owner} MaximumEventAgeInSeconds",
        bounds=EVENT_AGE_BOUNDS, default=21_600, loc=loc,
    )  # fmt: skip
    on_success = on_failure = None
    if config.get("DestinationConfig") is not None:
        dest_loc = key_location(config, "DestinationConfig", loc)
        destinations = _mapping(
            config["DestinationConfig"], f"{owner} EventInvokeConfig DestinationConfig",
            dest_loc, "write DestinationConfig: {OnSuccess: {...}, OnFailure: {...}}",
        )  # fmt: skip
        for key in destinations:
            if key not in ("OnSuccess", "OnFailure"):
                raise InvalidTemplateError(
                    f"{owner} EventInvokeConfig DestinationConfig has an unknown property '{key}'",
                    location=key_location(destinations, key, dest_loc),
                    hint="use OnSuccess or OnFailure",
                )
        found = {
            when: _destination(
                owner, when, destinations[when], key_location(destinations, when, dest_loc), log
            )
            for when in ("OnSuccess", "OnFailure")
            if destinations.get(when) is not None
        }
        on_success, on_failure = found.get("OnSuccess"), found.get("OnFailure")
    return EventInvokeSpec(retries, age, on_success, on_failure)


def dead_letter_queue(owner: str, props: LocatedDict, log: WarningLog) -> DeadLetterSpec | None:
    """``DeadLetterQueue``, validated: an SQS queue or an SNS topic."""
    if props.get("DeadLetterQueue") is None:
        return None
    loc = props.key_location("DeadLetterQueue")
    config = _mapping(
        props["DeadLetterQueue"], f"{owner} DeadLetterQueue", loc,
        "write DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt MyQueue.Arn}",
    )  # fmt: skip
    kind = scalar_text(config.get("Type"))
    if kind not in ("SQS", "SNS"):
        raise InvalidTemplateError(
            f"{owner} DeadLetterQueue Type is {config.get('Type')!r}; it must be SQS or SNS",
            location=key_location(config, "Type", loc),
        )
    target = scalar_text(config.get("TargetArn"))
    if not target:
        raise InvalidTemplateError(
            f"{owner} DeadLetterQueue needs a TargetArn", location=loc,
            hint="write TargetArn: !GetAtt MyQueue.Arn",
        )  # fmt: skip
    return DeadLetterSpec("SQS" if kind == "SQS" else "SNS", target, loc)
