"""What a scheduled invocation's handler receives; pure.

An EventBridge rule (SAM ``Schedule``) sends the ``Scheduled Event``
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-run-lambda-schedule.html,
"Amazon EventBridge events" in the Lambda guide): ``version`` "0", a fresh ``id``,
``detail-type`` "Scheduled Event", ``source`` "aws.events", the ``account``, the
tick as ``time`` (``YYYY-MM-DDThh:mm:ssZ``), the ``region``, the rule's ARN in
``resources`` and an empty ``detail``; or, when the rule's target has ``Input``,
that JSON text as it is.

EventBridge Scheduler (SAM ``ScheduleV2``) sends the target's ``Input``; without
one it "delivers a default notification"
(https://docs.aws.amazon.com/scheduler/latest/APIReference/API_Target.html), which
reaches a Lambda function as ``{}``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import orjson

ScheduleKind = Literal["Schedule", "ScheduleV2"]


def rule_arn(region: str, account_id: str, name: str) -> str:
    """An EventBridge rule's ARN (on the default bus)."""
    return f"arn:aws:events:{region}:{account_id}:rule/{name}"


def scheduled_event_payload(
    kind: ScheduleKind,
    *,
    tick: float,
    event_id: str,
    region: str,
    account_id: str,
    resource_arn: str,
    input_json: str | None,
) -> bytes:
    """The bytes the function is invoked with for the tick at ``tick`` (Unix seconds)."""
    if input_json is not None:
        return input_json.encode()
    if kind == "ScheduleV2":
        return b"{}"
    time = datetime.fromtimestamp(tick, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return orjson.dumps(
        {
            "version": "0",
            "id": event_id,
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": account_id,
            "time": time,
            "region": region,
            "resources": [resource_arn],
            "detail": {},
        }
    )
