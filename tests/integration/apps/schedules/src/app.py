"""Logs each event it gets, as one JSON line the schedule tests read back."""

import json


def record(event, context):
    print("event " + json.dumps(event, sort_keys=False))
    return {}
