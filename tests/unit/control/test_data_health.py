"""The data port's health check: answered before any route, 503 once draining."""

from __future__ import annotations

import asyncio
import json

from overcast.asgi import Message, Receive, Scope, Send
from overcast.control.data_health import HEALTHZ_PATH, HealthzApp, NodeHealth


class _App:
    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(app: HealthzApp, path: str, method: str = "GET") -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "path": path, "method": method, "headers": []}
    asyncio.run(app(scope, receive, send))
    start, body = sent
    return start["status"], dict(start["headers"]), body["body"]


def test_a_serving_node_answers_200_ok_without_reaching_the_app() -> None:
    inner = _App()
    status, headers, body = _call(HealthzApp(inner, NodeHealth()), HEALTHZ_PATH)
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"cache-control"] == b"no-store"
    assert inner.paths == []


def test_a_draining_node_answers_503_draining() -> None:
    health = NodeHealth()
    health.start_draining()
    status, _headers, body = _call(HealthzApp(_App(), health), HEALTHZ_PATH)
    assert (status, json.loads(body)) == (503, {"status": "draining"})


def test_head_gets_the_status_without_a_body() -> None:
    status, headers, body = _call(HealthzApp(_App(), NodeHealth()), HEALTHZ_PATH, "HEAD")
    assert (status, body) == (200, b"")
    assert int(headers[b"content-length"]) > 0


def test_other_methods_are_refused_and_never_routed() -> None:
    inner = _App()
    status, headers, _body = _call(HealthzApp(inner, NodeHealth()), HEALTHZ_PATH, "POST")
    assert (status, headers[b"allow"]) == (405, b"GET, HEAD")
    assert inner.paths == []


def test_every_other_path_reaches_the_app_even_a_bare_healthz() -> None:
    inner = _App()
    app = HealthzApp(inner, NodeHealth())
    assert _call(app, "/healthz")[0] == 204
    assert _call(app, "/.overcast/healthz/more")[0] == 204
    assert inner.paths == ["/healthz", "/.overcast/healthz/more"]
