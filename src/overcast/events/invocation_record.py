"""The invocation record Lambda sends to an asynchronous invocation's destination.

Its shape, as Lambda delivers it (a record sent to an SQS OnFailure destination)::

    {"version": "1.0", "timestamp": "2020-03-09T22:01:53.075Z",
     "requestContext": {"requestId": "...", "functionArn": "arn:...:function:Name:$LATEST",
                        "condition": "RetriesExhausted", "approximateInvokeCount": 3},
     "requestPayload": {...},
     "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                         "functionError": "Unhandled"},
     "responsePayload": {...}}

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html
``condition`` is ``Success``, ``RetriesExhausted`` or ``EventAgeExceeded``;
``functionError`` appears only when the last attempt failed, and the response
fields only once some attempt ran (an event that aged out in the queue never did).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import orjson

RecordCondition = Literal["Success", "RetriesExhausted", "EventAgeExceeded"]


def _timestamp(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _json_or_text(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: RecordCondition,
    invoke_count: int,
    request_payload: bytes,
    now: float,
    executed_version: str | None = None,
    function_error: str | None = None,
    response_payload: bytes | None = None,
) -> bytes:
    """The record as the destination function's event (JSON bytes)."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _timestamp(now),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": _json_or_text(request_payload),
    }
    if executed_version is not None:
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": executed_version}
        if function_error is not None:
            response["functionError"] = function_error
        record["responseContext"] = response
        if response_payload is not None:
            record["responsePayload"] = _json_or_text(response_payload)
    return orjson.dumps(record)
