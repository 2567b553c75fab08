"""spa-with-api: GET /api/hello, answered fresh on every call (the edge does not cache /api/*)."""

import json
import time
import uuid


def lambda_handler(event, context):
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(
            {"message": "hello from the API", "id": uuid.uuid4().hex, "at": time.time()}
        ),
    }
