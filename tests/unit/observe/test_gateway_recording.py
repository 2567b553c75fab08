"""The gateway reports each answered request to its route recorder, and tags invocations
with the API kind that is priced."""

from __future__ import annotations

import asyncio

import httpx

from overcast.gateway import UNMATCHED, GatewayApp
from overcast.invoke import InvokeRequest, InvokeResult, ThrottledError
from overcast.template.model import ApiSpec, AppModel, FunctionSpec, RouteSpec

HTTP = ApiSpec(logical_id="Api", kind="http", api_id="fghij67890", stage_name="$default")


class Invoker:
    def __init__(self) -> None:
        self.calls: list[InvokeRequest] = []

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        self.calls.append(request)
        if b"/items/8" in request.payload:
            raise ThrottledError("Rate Exceeded.")
        return InvokeResult(b'{"statusCode": 201, "body": "made"}')

    def function_names(self) -> list[str]:
        return ["Fn"]


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []
        self.latencies: list[float] = []

    def record_request(self, api: str, route: str, status: int, latency_ms: float) -> None:
        self.seen.append((api, route, status))
        self.latencies.append(latency_ms)


def _model() -> AppModel:
    routes = tuple(
        RouteSpec(
            api="Api",
            method="POST",
            path=path,
            function="Fn",
            event_name=path,
            payload_format="2.0",
        )
        for path in ("/items", "/items/{id}")
    )
    fn = FunctionSpec(
        logical_id="Fn", name="Fn", handler="app.handler", runtime="python3.11", code_dir="/tmp"
    )
    return AppModel(
        template_path="/tmp/template.yaml",
        stack_name="app",
        region="us-east-1",
        account_id="123456789012",
        functions={"Fn": fn},
        apis={"Api": HTTP},
        routes=routes,
    )


async def _send(app: GatewayApp, *requests: tuple[str, str, bytes]) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        return [
            (await client.request(method, url, content=body)).status_code
            for method, url, body in requests
        ]


def test_each_request_is_recorded_under_its_route_key() -> None:
    invoker, recorder = Invoker(), Recorder()
    app = GatewayApp(_model(), invoker, recorder=recorder)
    statuses = asyncio.run(
        _send(
            app,
            ("POST", "/items", b"{}"),
            ("POST", "/items/7", b"{}"),
            ("POST", "/items/8", b"{}"),
            ("GET", "/nowhere/a", b""),
            ("GET", "/nowhere/b", b""),
        )
    )
    assert statuses == [201, 201, 500, 404, 404]
    assert recorder.seen == [
        ("Api", "POST /items", 201),
        ("Api", "POST /items/{id}", 201),
        ("Api", "POST /items/{id}", 500),
        # misses share one label, whatever the path
        ("", UNMATCHED, 404),
        ("", UNMATCHED, 404),
    ]
    assert all(latency >= 0 for latency in recorder.latencies)
    assert {call.api_kind for call in invoker.calls} == {"http"}


def test_without_a_recorder_the_gateway_serves_as_before() -> None:
    app = GatewayApp(_model(), Invoker())
    assert asyncio.run(_send(app, ("POST", "/items", b"{}"))) == [201]
