import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from overcast.gateway import GatewayApp
from overcast.invoke import InvokeRequest, InvokeResult, ServiceError, ThrottledError
from overcast.template.model import ApiSpec

from .helpers import HTTP, REST, FakeInvoker, cors, function, model, rest_route, route


def _app(routes: Iterable[Any], invoker: FakeInvoker, **kwargs: Any) -> GatewayApp:
    return GatewayApp(
        model(routes, **kwargs),
        invoker,
        clock=lambda: 1583348638.39,
        id_factory=lambda: "req-1",
    )


async def _request(app: GatewayApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:3000") as client:
        return await client.request(method, url, **kwargs)


def call(app: GatewayApp, method: str, url: str, **kwargs: Any) -> httpx.Response:
    return asyncio.run(_request(app, method, url, **kwargs))


def test_http_api_request_invokes_the_function_and_returns_its_response() -> None:
    invoker = FakeInvoker(result={"statusCode": 200, "headers": {"x-a": "1"}, "body": "hi"})
    app = _app(
        [route("/hello/{name}", "GET", "HelloFn")],
        invoker,
        functions=[function("HelloFn", name="hello-fn")],
    )
    response = call(app, "GET", "/hello/ada?x=1&x=2", headers={"cookie": "s=1"})
    assert response.status_code == 200
    assert response.text == "hi"
    assert response.headers["x-a"] == "1"
    assert response.headers["apigw-requestid"] == "req-1"
    (sent,) = invoker.calls
    assert sent.function_name == "hello-fn"
    assert sent.timeout_cap_s == 30.0
    event = invoker.event()
    assert event["routeKey"] == "GET /hello/{name}"
    assert event["pathParameters"] == {"name": "ada"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["cookies"] == ["s=1"]
    assert event["requestContext"]["requestId"] == "req-1"
    assert event["requestContext"]["timeEpoch"] == 1583348638390
    assert event["requestContext"]["domainName"] == "localhost:3000"


def test_rest_api_request_gets_a_v1_event_and_29_second_cap() -> None:
    invoker = FakeInvoker()
    app = _app([rest_route("/items", "POST")], invoker)
    response = call(app, "POST", "/items", content=b'{"a":1}')
    assert response.status_code == 200
    assert response.headers["x-amzn-requestid"] == "req-1"
    assert invoker.calls[0].timeout_cap_s == 29.0
    event = invoker.event()
    assert event["httpMethod"] == "POST"
    assert event["body"] == '{"a":1}'
    assert event["requestContext"]["path"] == "/Prod/items"


def test_v2_inferred_response() -> None:
    app = _app([route("/j")], FakeInvoker(result={"ok": True}))
    response = call(app, "GET", "/j")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"ok": True}


def test_unknown_route_on_http_api_is_404() -> None:
    invoker = FakeInvoker()
    response = call(_app([route("/hello")], invoker), "GET", "/nope")
    assert response.status_code == 404
    assert response.content == b'{"message":"Not Found"}'
    assert invoker.calls == []


def test_unknown_route_on_rest_only_app_is_403_missing_authentication_token() -> None:
    app = _app([rest_route("/hello")], FakeInvoker(), api_specs=[REST])
    response = call(app, "GET", "/nope")
    assert response.status_code == 403
    assert response.content == b'{"message":"Missing Authentication Token"}'
    assert response.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


def test_function_error_is_502_on_rest_and_500_on_http() -> None:
    error = {"errorMessage": "boom", "errorType": "Exception", "stackTrace": []}
    rest = call(
        _app([rest_route("/x")], FakeInvoker(result=error, function_error="Unhandled")), "GET", "/x"
    )
    assert (rest.status_code, rest.content) == (502, b'{"message": "Internal server error"}')
    http = call(
        _app([route("/x")], FakeInvoker(result=error, function_error="Unhandled")), "GET", "/x"
    )
    assert (http.status_code, http.content) == (500, b'{"message":"Internal Server Error"}')


def test_throttled_function_is_500() -> None:
    invoker = FakeInvoker(error=ThrottledError("Rate Exceeded."))
    response = call(_app([rest_route("/x")], invoker), "GET", "/x")
    assert response.status_code == 500
    assert response.content == b'{"message": "Internal server error"}'


def test_invoke_failure_is_500() -> None:
    response = call(
        _app([route("/x")], FakeInvoker(error=ServiceError("zygote gone"))), "GET", "/x"
    )
    assert response.status_code == 500


def test_a_crashing_invoker_costs_one_response_and_the_app_keeps_serving() -> None:
    invoker = FakeInvoker(error=RuntimeError("bug"))
    app = _app([route("/x")], invoker)

    async def both() -> tuple[httpx.Response, httpx.Response]:
        first = await _request(app, "GET", "/x")
        invoker.error = None
        return first, await _request(app, "GET", "/x")

    first, second = asyncio.run(both())
    assert first.status_code == 500
    assert second.status_code == 200


def test_integration_timeout_answers_503_without_cancelling_the_invocation() -> None:
    invoker = FakeInvoker(delay=0.3)
    app = _app([route("/slow", timeout_ms=50)], invoker)

    async def scenario() -> httpx.Response:
        response = await _request(app, "GET", "/slow")
        assert invoker.finished == 0
        await app.drain()
        return response

    response = asyncio.run(scenario())
    assert response.status_code == 503
    assert response.content == b'{"message":"Service Unavailable"}'
    assert invoker.calls[0].timeout_cap_s == 0.05
    assert invoker.finished == 1


def test_runtime_timeout_at_the_cap_is_an_integration_timeout_on_rest() -> None:
    invoker = FakeInvoker(
        result={"errorMessage": "Task timed out"}, function_error="Unhandled", timed_out=True
    )
    app = _app(
        [rest_route("/x", "GET", "Long")], invoker, functions=[function("Long", timeout_s=60)]
    )
    response = call(app, "GET", "/x")
    assert response.status_code == 504
    assert response.content == b'{"message": "Endpoint request timed out"}'


def test_function_own_timeout_below_the_cap_is_a_function_error() -> None:
    invoker = FakeInvoker(
        result={"errorMessage": "Task timed out"}, function_error="Unhandled", timed_out=True
    )
    app = _app(
        [rest_route("/x", "GET", "Short")], invoker, functions=[function("Short", timeout_s=3)]
    )
    assert call(app, "GET", "/x").status_code == 502


def test_declared_body_over_the_limit_is_refused_before_reading_it() -> None:
    invoker = FakeInvoker()
    app = GatewayApp(model([route("/up", "POST")]), invoker, max_request_bytes=10)
    sent: list[dict[str, Any]] = []
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        return {"type": "http.request", "body": b"x" * 100, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = _scope("POST", "/up", headers=[(b"content-length", b"100")])
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 413
    assert sent[1]["body"] == b'{"message":"Request Entity Too Large"}'
    assert received == 0
    assert invoker.calls == []


def test_streamed_body_over_the_limit_stops_reading_early() -> None:
    invoker = FakeInvoker()
    app = GatewayApp(model([rest_route("/up", "POST")]), invoker, max_request_bytes=10)
    chunks = [b"12345", b"67890", b"abcde", b"never read"]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_scope("POST", "/up"), receive, send))
    assert sent[0]["status"] == 413
    assert chunks == [b"never read"]
    assert invoker.calls == []


def test_chunked_body_is_assembled() -> None:
    invoker = FakeInvoker()
    app = GatewayApp(model([route("/up", "POST")]), invoker)
    chunks = [b'{"a":', b"1}"]

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(
        app(_scope("POST", "/up", headers=[(b"content-type", b"application/json")]), receive, send)
    )
    assert invoker.event()["body"] == '{"a":1}'


def test_event_over_lambda_payload_limit_is_413_without_invoking() -> None:
    invoker = FakeInvoker()
    app = _app([route("/up", "POST")], invoker)
    response = call(
        app,
        "POST",
        "/up",
        content=b"\x00" * (5 * 1024 * 1024),
        headers={"content-type": "application/octet-stream"},
    )
    assert response.status_code == 413
    assert invoker.calls == []


def test_head_response_has_no_body_but_a_content_length() -> None:
    app = _app([route("/h", "ANY")], FakeInvoker(result={"statusCode": 200, "body": "12345"}))
    response = call(app, "HEAD", "/h")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == "5"


def test_http_api_preflight_is_answered_by_the_gateway() -> None:
    api = ApiSpec(
        "ServerlessHttpApi",
        "http",
        "fghij67890",
        "$default",
        cors=cors(allow_origins=("*",), allow_methods=("GET", "POST")),
    )
    invoker = FakeInvoker()
    app = _app([route("/x", "POST")], invoker, api_specs=[api])
    response = call(
        app,
        "OPTIONS",
        "/x",
        headers={"origin": "https://a.example", "access-control-request-method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert invoker.calls == []


def test_http_api_adds_cors_headers_to_actual_responses() -> None:
    api = ApiSpec(
        "ServerlessHttpApi",
        "http",
        "fghij67890",
        "$default",
        cors=cors(allow_origins=("https://a.example",)),
    )
    app = _app([route("/x")], FakeInvoker(), api_specs=[api])
    response = call(app, "GET", "/x", headers={"origin": "https://a.example"})
    assert response.headers["access-control-allow-origin"] == "https://a.example"


def test_rest_api_options_is_answered_by_sams_mock() -> None:
    api = ApiSpec(
        "ServerlessRestApi", "rest", "abcde12345", "Prod", cors=cors(allow_origins=("*",))
    )
    invoker = FakeInvoker()
    app = _app([rest_route("/x", "GET"), rest_route("/x", "PUT")], invoker, api_specs=[api])
    response = call(app, "OPTIONS", "/x")
    assert response.status_code == 200
    assert response.headers["access-control-allow-methods"] == "GET,OPTIONS,PUT"
    assert invoker.calls == []


def test_options_without_cors_goes_to_the_route_or_misses() -> None:
    invoker = FakeInvoker()
    app = _app([route("/x", "ANY")], invoker)
    assert call(app, "OPTIONS", "/x").status_code == 200
    assert len(invoker.calls) == 1


def test_lifespan_startup_and_shutdown_complete() -> None:
    app = _app([route("/x")], FakeInvoker())
    inbox = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[str] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_client_disconnect_while_sending_body_sends_nothing() -> None:
    invoker = FakeInvoker()
    app = _app([route("/up", "POST")], invoker)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(_scope("POST", "/up"), receive, send))
    assert sent == []
    assert invoker.calls == []


def test_mixed_app_serves_rest_and_http_routes_side_by_side() -> None:
    invoker = FakeInvoker()
    app = _app([rest_route("/r"), route("/h")], invoker, api_specs=[REST, HTTP])
    assert call(app, "GET", "/r").headers.get("x-amzn-requestid") == "req-1"
    assert call(app, "GET", "/h").headers.get("apigw-requestid") == "req-1"
    assert "httpMethod" in orjson.loads(invoker.calls[0].payload)
    assert orjson.loads(invoker.calls[1].payload)["version"] == "2.0"


def _scope(
    method: str, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost:3000"), *(headers or [])],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 3000),
    }


@dataclass
class _CancelSafeInvoker(FakeInvoker):
    """Like the runtime: a cancelled wait leaves the invocation running to its end."""

    cancel_safe = True
    running: set["asyncio.Task[InvokeResult]"] = field(default_factory=set)

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        done = asyncio.ensure_future(super().invoke(request))
        self.running.add(done)
        return await asyncio.shield(done)


def test_a_cancel_safe_invoker_is_awaited_directly_and_times_out_the_same() -> None:
    invoker = _CancelSafeInvoker(delay=0.3)
    app = _app([route("/slow", timeout_ms=50)], invoker)

    async def scenario() -> tuple[httpx.Response, int, int]:
        response = await _request(app, "GET", "/slow")
        finished_at_answer = invoker.finished
        await asyncio.wait(invoker.running)
        return response, finished_at_answer, invoker.finished

    response, finished_at_answer, finished = asyncio.run(scenario())
    assert response.status_code == 503
    assert response.content == b'{"message":"Service Unavailable"}'
    assert (finished_at_answer, finished) == (0, 1)


def test_a_cancel_safe_invoker_errors_map_as_before() -> None:
    invoker = _CancelSafeInvoker(error=ThrottledError("Rate Exceeded."))
    app = _app([route("/x")], invoker)
    response = call(app, "GET", "/x")
    assert response.status_code == 500
    assert response.content == b'{"message":"Internal Server Error"}'
