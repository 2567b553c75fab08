"""A function's ``SQS`` events (event source mappings), validated at load.

SAM's shape
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-sqs.html)
and Lambda's rules for it (CreateEventSourceMapping): ``Queue`` (the queue's ARN),
``BatchSize`` (default 10; 1-10,000 on a standard queue, 1-10 on a FIFO queue; above
10 only with a ``MaximumBatchingWindowInSeconds`` of at least 1),
``MaximumBatchingWindowInSeconds`` (0-300; not on FIFO queues),
``FunctionResponseTypes`` (``[ReportBatchItemFailures]``),
``ScalingConfig.MaximumConcurrency`` (2-1000), ``Enabled`` (default true) and
``FilterCriteria`` (``Filters: [{Pattern: <JSON>}]``, at most five, each pattern
checked by :mod:`overcast.event_filter`).

Pure: resolved properties and the template's queues in, an :class:`SqsSourceSpec`
out, errors with the line. Where Lambda refuses a value with a message of its own,
the error repeats it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from overcast.event_filter import MAX_FILTERS, FilterPatternError, parse_pattern
from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.event_invoke import whole_number
from overcast.template.intrinsics import scalar_text
from overcast.template.model import Location, SqsSourceSpec
from overcast.template.sqs_queues import QueueSpec
from overcast.template.yaml_loader import LocatedDict, key_location

EVENT_TYPE: Final = "SQS"
DEFAULT_BATCH_SIZE: Final = 10
#: without a batching window a batch holds at most one ReceiveMessage's worth
UNWINDOWED_MAX_BATCH: Final = 10
STANDARD_BATCH_BOUNDS: Final = (1, 10_000)
FIFO_BATCH_BOUNDS: Final = (1, 10)
WINDOW_BOUNDS: Final = (0, 300)
CONCURRENCY_BOUNDS: Final = (2, 1000)
REPORT_BATCH_ITEM_FAILURES: Final = "ReportBatchItemFailures"

_SUPPORTED: Final = frozenset(
    {
        "Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes",
        "ScalingConfig", "Enabled", "FilterCriteria",
    }
)  # fmt: skip
#: accepted by SAM, changing nothing a function observes here
_QUIET: Final = frozenset({"KmsKeyArn", "MetricsConfig"})


def is_sqs(kind: Any) -> bool:
    """Whether an event ``Type`` is one this module parses."""
    return isinstance(kind, str) and kind == EVENT_TYPE


def _enabled(props: LocatedDict, what: str, loc: Location | None) -> bool:
    value = props.get("Enabled")
    if value is None:
        return True
    if scalar_text(value) not in ("true", "false"):
        raise InvalidTemplateError(
            f"{what} Enabled must be true or false, got {value!r}",
            location=key_location(props, "Enabled", loc),
        )
    return scalar_text(value) == "true"


def _queue(
    props: LocatedDict, what: str, loc: Location | None, queues: Mapping[str, QueueSpec]
) -> tuple[str, QueueSpec]:
    """The ARN ``Queue`` gives and the template's queue it names."""
    at = key_location(props, "Queue", loc)
    raw = props.get("Queue")
    arn = scalar_text(raw)
    if raw is None or arn is None or isinstance(raw, bool):
        raise InvalidTemplateError(
            f"{what} needs a Queue (the queue's ARN)", location=at,
            hint="write Queue: !GetAtt MyQueue.Arn",
        )  # fmt: skip
    queue = queues.get(arn)
    if queue is None:
        known = ", ".join(f"{spec.logical_id} ({a})" for a, spec in queues.items())
        raise InvalidTemplateError(
            # Lambda's answer to an event source it cannot read from
            f"{what}: InvalidParameterValueException: The provided queue {arn!r} does not "
            "exist or is not a queue of this template",
            location=at,
            hint=f"the template's queues: {known}" if known else "add an AWS::SQS::Queue",
        )
    return arn, queue


def _response_types(props: LocatedDict, what: str, loc: Location | None) -> bool:
    raw = props.get("FunctionResponseTypes")
    if raw is None:
        return False
    at = key_location(props, "FunctionResponseTypes", loc)
    if not isinstance(raw, list) or any(scalar_text(v) != REPORT_BATCH_ITEM_FAILURES for v in raw):
        raise InvalidTemplateError(
            f"{what}: 1 validation error detected: Value '{raw}' at 'functionResponseTypes' "
            "failed to satisfy constraint: Member must satisfy constraint: "
            f"[Member must satisfy enum value set: [{REPORT_BATCH_ITEM_FAILURES}]]",
            location=at, hint=f"write FunctionResponseTypes: [{REPORT_BATCH_ITEM_FAILURES}]",
        )  # fmt: skip
    return bool(raw)


def _maximum_concurrency(props: LocatedDict, what: str, loc: Location | None) -> int | None:
    config = props.get("ScalingConfig")
    if config is None:
        return None
    at = key_location(props, "ScalingConfig", loc)
    if not isinstance(config, LocatedDict):
        raise InvalidTemplateError(f"{what} ScalingConfig must be a mapping", location=at)
    if config.get("MaximumConcurrency") is None:
        return None
    return whole_number(
        config["MaximumConcurrency"], f"{what} ScalingConfig MaximumConcurrency",
        CONCURRENCY_BOUNDS, key_location(config, "MaximumConcurrency", at),
    )  # fmt: skip


def _filters(props: LocatedDict, what: str, loc: Location | None) -> tuple[str, ...]:
    """``FilterCriteria``'s patterns, each checked as Lambda checks it."""
    criteria = props.get("FilterCriteria")
    if criteria is None:
        return ()
    at = key_location(props, "FilterCriteria", loc)
    filters = criteria.get("Filters") if isinstance(criteria, LocatedDict) else None
    if not isinstance(filters, list):
        raise InvalidTemplateError(
            f"{what} FilterCriteria must be a mapping with a list of Filters", location=at,
            hint="""write FilterCriteria: {Filters: [{Pattern: '{"body": {"a": [1]}}'}]}""",
        )  # fmt: skip
    if len(filters) > MAX_FILTERS:
        raise InvalidTemplateError(
            f"{what}: InvalidParameterValueException: The maximum number of filters "
            f"({MAX_FILTERS}) is exceeded with {len(filters)} filters", location=at,
        )  # fmt: skip
    patterns: list[str] = []
    for index, entry in enumerate(filters):
        where = key_location(entry, "Pattern", at)
        text = entry.get("Pattern") if isinstance(entry, LocatedDict) else None
        if not isinstance(text, str):
            raise InvalidTemplateError(
                f"{what} FilterCriteria filter {index} needs a Pattern (a JSON string)",
                location=where,
            )
        try:
            parse_pattern(text)
        except FilterPatternError as exc:
            raise InvalidTemplateError(
                f"{what}: InvalidParameterValueException: {exc.message}", location=where
            ) from None
        patterns.append(text)
    return tuple(patterns)


def parse_sqs_event(
    owner: str,
    event_name: str,
    props: LocatedDict,
    *,
    queues: Mapping[str, QueueSpec],
    location: Location | None,
    log: WarningLog,
) -> SqsSourceSpec:
    """An ``SQS`` event's resolved Properties → SqsSourceSpec.

    ``queues`` maps each template queue's ARN to its spec; ``Queue`` must be one of them.
    """
    what = f"{owner} event '{event_name}'"
    for key in props:
        if key not in _SUPPORTED and key not in _QUIET:
            log.warn(f"{what} property '{key}' is not used by overcast; it is ignored",
                     key_location(props, key, location))  # fmt: skip
    arn, queue = _queue(props, what, location, queues)
    fifo = queue.attributes.get("FifoQueue") == "true"
    window = 0
    if props.get("MaximumBatchingWindowInSeconds") is not None:
        window_at = key_location(props, "MaximumBatchingWindowInSeconds", location)
        window = whole_number(
            props["MaximumBatchingWindowInSeconds"], f"{what} MaximumBatchingWindowInSeconds",
            WINDOW_BOUNDS, window_at,
        )  # fmt: skip
        if fifo:
            raise InvalidTemplateError(
                f"{what}: InvalidParameterValueException: Batching window is not supported "
                "for FIFO queues", location=window_at,
                hint="remove MaximumBatchingWindowInSeconds",
            )  # fmt: skip
    batch_size = DEFAULT_BATCH_SIZE
    if props.get("BatchSize") is not None:
        batch_at = key_location(props, "BatchSize", location)
        bounds = FIFO_BATCH_BOUNDS if fifo else STANDARD_BATCH_BOUNDS
        batch_size = whole_number(props["BatchSize"], f"{what} BatchSize", bounds, batch_at)
        if batch_size > UNWINDOWED_MAX_BATCH and window < 1:
            raise InvalidTemplateError(
                f"{what}: InvalidParameterValueException: Maximum batch window in seconds "
                "must be greater than 0 if maximum batch size is greater than 10",
                location=batch_at, hint="add MaximumBatchingWindowInSeconds: 1 (or more)",
            )  # fmt: skip
    return SqsSourceSpec(
        event_name=event_name,
        queue_logical_id=queue.logical_id,
        queue_name=queue.name,
        queue_arn=arn,
        batch_size=batch_size,
        maximum_batching_window_s=window,
        report_batch_item_failures=_response_types(props, what, location),
        maximum_concurrency=_maximum_concurrency(props, what, location),
        enabled=_enabled(props, what, location),
        filter_patterns=_filters(props, what, location),
        location=location,
    )
