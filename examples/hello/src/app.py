"""hello: answers GET /hello and GET /hello/{name} behind an HTTP API (payload 2.0)."""

import json


def lambda_handler(event, context):
    name = (event.get("pathParameters") or {}).get("name", "world")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": "hello " + name}),
    }
