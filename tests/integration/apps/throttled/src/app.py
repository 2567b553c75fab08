"""Answers with the route it served (so a test can tell it from a gateway refusal)."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    request_context = event.get("requestContext") or {}
    route = request_context.get("routeKey") or request_context.get("resourcePath")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"served": route}),
    }
