"""The admin port's ASGI app: health, and the Lambda API (secrets and deploys come later)."""

from __future__ import annotations

import orjson

from overcast.control.asgi_types import Receive, Scope, Send, send_response
from overcast.control.lambda_api import LambdaApi


class AdminApp:
    """Dispatches admin-port requests by path prefix."""

    def __init__(self, lambda_api: LambdaApi) -> None:
        self._lambda = lambda_api
        self.ready = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/health":
            status = 200 if self.ready else 503
            body = orjson.dumps({"status": "ok" if self.ready else "starting"})
            await send_response(send, status, body, [(b"content-type", b"application/json")])
            return
        if self._lambda.handles(path):
            await self._lambda(scope, receive, send)
            return
        await send_response(
            send, 404, b'{"message":"Not Found"}', [(b"content-type", b"application/json")]
        )


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
