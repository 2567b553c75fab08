"""edge-hello: GET /hello and /hello/{name}, the same answer as examples/hello."""

import json


def lambda_handler(event, context):
    name = (event.get("pathParameters") or {}).get("name", "world")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"message": "hello " + name}),
    }
