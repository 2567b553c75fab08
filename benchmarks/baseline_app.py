"""The baseline: a bare ASGI app returning the same JSON as the hello function."""

from __future__ import annotations

from typing import Any

import orjson


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    name = scope["path"].rsplit("/", 1)[-1]
    body = orjson.dumps({"message": f"hello {name}"})
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
