"""Whole-body reads and responses for the admin-port apps (ASGI types from overcast.asgi)."""

from __future__ import annotations

from overcast.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "ASGIApp",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "read_body",
    "send_response",
]


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """Read a request body; None when it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_response(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    """Send one complete HTTP response."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
