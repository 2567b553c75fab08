"""Answers with what API Gateway put in ``requestContext.authorizer``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"authorizer": authorizer}),
    }
