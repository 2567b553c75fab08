"""Handlers reached only through the Lambda Invoke API."""

from __future__ import annotations

import json
import os
from typing import Any


def echo(event: Any, context: Any) -> dict[str, Any]:
    print(f"echo called with {json.dumps(event)}")
    return {
        "event": event,
        "function_name": context.function_name,
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
        "aws_request_id": context.aws_request_id,
        "pid": os.getpid(),
    }


class PaymentDeclinedError(Exception):
    """A domain error, so the errorType is not a builtin name."""


def fail(event: Any, context: Any) -> dict[str, Any]:
    print("about to fail")
    raise PaymentDeclinedError(f"card {event.get('card', '?')} declined")


def record(event: Any, context: Any) -> dict[str, str]:
    # Event (asynchronous) invocations return nothing to the caller, so the test
    # learns that this ran from the function's log (CloudWatch Logs on AWS).
    print(f"recorded {event['marker']}")
    return {"recorded": event["marker"]}
