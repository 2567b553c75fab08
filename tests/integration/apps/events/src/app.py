"""Handlers for the async-invocation tests: each logs what the test looks for."""

import json
import os
import time


def record(event, context):
    if event.get("fail"):
        print(f"failing {event.get('marker')} {context.aws_request_id}")
        raise RuntimeError(f"asked to fail {event.get('marker')}")
    print(f"ran {event.get('marker')} {context.aws_request_id}")
    return {"marker": event.get("marker")}


def flaky(event, context):
    """Fails on the first two attempts of a marker, succeeds on the third."""
    path = f"/tmp/flaky-{event['marker']}"
    attempts = 1
    if os.path.exists(path):
        with open(path) as previous:
            attempts = int(previous.read()) + 1
    with open(path, "w") as out:
        out.write(str(attempts))
    print(f"attempt {attempts} {event['marker']} {context.aws_request_id}")
    if attempts < 3:
        raise RuntimeError(f"attempt {attempts} fails")
    return {"attempts": attempts}


def slow_record(event, context):
    time.sleep(float(event.get("sleep", 1.0)))
    print(f"ran {event.get('marker')} {context.aws_request_id}")


def destination(event, context):
    print("record " + json.dumps(event, sort_keys=True))
