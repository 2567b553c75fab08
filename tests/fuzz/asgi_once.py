"""One HTTP request through an ASGI app in process, shaped as uvicorn hands it over:
what the API fuzz tests send each example through."""

from __future__ import annotations

import asyncio
from typing import Any

from overcast.control.asgi_types import ASGIApp


async def call_once(
    app: ASGIApp,
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    *,
    pieces: int = 1,
) -> tuple[int, dict[bytes, bytes], bytes]:
    """Status, headers and body of ``app``'s one response; the body arrives in ``pieces``."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "server": ("127.0.0.1", 8081),
        "client": ("127.0.0.1", 50000),
    }
    size = max(1, len(body) // pieces) if body else 1
    chunks = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # a second read of a finished body would hang here
        return {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1, sent
    out = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return starts[0]["status"], dict(starts[0]["headers"]), out
