"""The load balancer's health check on the data port, and the node's drain state.

``/.overcast/healthz`` answers 200 ``{"status":"ok"}`` while the node serves and 503
``{"status":"draining"}`` once it drains or stops, so a balancer takes the node out
before its listener closes. The path sits under a reserved prefix because a template's
greedy ``/{proxy+}`` route would otherwise receive a bare ``/healthz`` (API Gateway
has no such path of its own); the check answers before any route is matched, so no
function ever sees it.
"""

from __future__ import annotations

import json

from overcast.asgi import ASGIApp, Receive, Scope, Send

#: the health check's path on every node's data port (the balancer configs use it)
HEALTHZ_PATH = "/.overcast/healthz"

_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
]


class NodeHealth:
    """Whether the node still wants new requests; flipped once, never back."""

    __slots__ = ("draining",)

    def __init__(self) -> None:
        self.draining = False

    def start_draining(self) -> None:
        """Report draining from now on (the node keeps serving what reaches it)."""
        self.draining = True


def health_response(
    health: NodeHealth, method: str
) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """Status, body and headers of a health check (``method`` as the request sent it)."""
    if method not in ("GET", "HEAD"):
        body = json.dumps({"message": "Method Not Allowed"}).encode()
        return 405, body, [*_HEADERS, (b"allow", b"GET, HEAD")]
    status, word = (503, "draining") if health.draining else (200, "ok")
    body = json.dumps({"status": word}, separators=(",", ":")).encode()
    return status, body, list(_HEADERS)


class HealthzApp:
    """The data port's app with the health check in front of it."""

    def __init__(self, app: ASGIApp, health: NodeHealth) -> None:
        self.app = app
        self.health = health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != HEALTHZ_PATH:
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET")
        status, body, headers = health_response(self.health, method)
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
