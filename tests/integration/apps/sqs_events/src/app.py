"""Logs each record it gets (one JSON line each) and reports bodies starting "fail"."""

import json


def consume(event, context):
    failures = []
    for record in event["Records"]:
        print("record " + json.dumps(record))
        if record["body"].startswith("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
