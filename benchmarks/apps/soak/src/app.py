"""soak: handlers that answer, answer slowly, fail and overrun their Timeout."""

import json
import os
import time

with open(os.path.join(os.path.dirname(__file__), "version.txt")) as handle:
    VERSION = handle.read().strip()


def _answer(what):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"handler": what, "version": VERSION}),
    }


def warm(event, context):
    return _answer("warm")


def burst(event, context):
    time.sleep(0.05)
    return _answer("burst")


def fail(event, context):
    raise RuntimeError("this handler fails on purpose")


def overrun(event, context):
    time.sleep(5)
    return _answer("overrun")
