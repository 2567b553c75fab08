"""Answers GET /hello (reached as /api/hello through the edge)."""

import json


def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"path": event["rawPath"]})}
