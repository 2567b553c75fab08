"""ASGI typing and the lifespan handshake, shared by every app overcast serves.

A neutral module (like ``ids``): the gateway, the edge and the admin-port apps all
speak bare ASGI, and none of them may import the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def serve_lifespan(
    receive: Receive, send: Send, on_shutdown: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Answer an ASGI lifespan scope: startup at once, shutdown after ``on_shutdown``."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def status_has_body(status: int) -> bool:
    """Whether a response of ``status`` may carry content (RFC 9110 §6.4.1: not 1xx, 204, 304)."""
    return status >= 200 and status not in (204, 304)
