"""Handlers that let integration tests observe the platform from inside a function."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

_calls = 0


def pid(event: Any, context: Any) -> dict[str, Any]:
    global _calls  # noqa: PLW0603 - a per-instance counter shows warm reuse
    _calls += 1
    return {"pid": os.getpid(), "calls": _calls, "greeting": os.environ.get("GREETING")}


def slow(event: Any, context: Any) -> dict[str, Any]:
    query = event.get("queryStringParameters") or {}
    seconds = float(query.get("seconds", "2"))
    marker = query.get("marker")
    if marker:
        # Tells the test (reading the function's log) that the invocation is in flight.
        print(f"in flight {marker}", flush=True)
    time.sleep(seconds)
    return {"slept": seconds}


def echo(event: Any, context: Any) -> dict[str, Any]:
    print("echo-log-line to stdout")
    print("echo-log-line to stderr", file=sys.stderr)
    return {"echo": event, "function_name": context.function_name}
