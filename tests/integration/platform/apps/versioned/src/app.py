"""Answers with its code marker, stage, greeting and version; raises when CODE says broken."""

import json
import os

CODE = "v1"


def handler(event, context):
    if CODE.startswith("broken"):
        raise RuntimeError("this version is broken on purpose")
    body = {
        "code": CODE,
        "stage": os.environ.get("STAGE"),
        "greeting": os.environ.get("GREETING"),
        "version": context.function_version,
    }
    return {"statusCode": 200, "body": json.dumps(body)}
