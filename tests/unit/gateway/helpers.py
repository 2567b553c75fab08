"""Builders for app models, requests and a fake invoker used by the gateway tests."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson

from overcast.gateway import HttpRequest, RouteMatch, RouteTable
from overcast.invoke import InvokeRequest, InvokeResult
from overcast.template.model import ApiSpec, AppModel, CorsConfig, FunctionSpec, RouteSpec

REST = ApiSpec(logical_id="ServerlessRestApi", kind="rest", api_id="abcde12345", stage_name="Prod")
HTTP = ApiSpec(
    logical_id="ServerlessHttpApi", kind="http", api_id="fghij67890", stage_name="$default"
)


def route(
    path: str,
    method: str = "GET",
    function: str = "Fn",
    *,
    api: str = "ServerlessHttpApi",
    payload_format: str = "2.0",
    event_name: str = "Ev",
    timeout_ms: int | None = None,
) -> RouteSpec:
    return RouteSpec(
        api=api,
        method=method,
        path=path,
        function=function,
        event_name=event_name,
        payload_format=payload_format,  # type: ignore[arg-type]
        timeout_ms=timeout_ms,
    )


def rest_route(path: str, method: str = "GET", function: str = "Fn") -> RouteSpec:
    return route(path, method, function, api="ServerlessRestApi", payload_format="1.0")


def apis(*specs: ApiSpec) -> dict[str, ApiSpec]:
    return {spec.logical_id: spec for spec in specs}


def table(routes: Iterable[RouteSpec], *specs: ApiSpec) -> RouteTable:
    return RouteTable.build(tuple(routes), apis(*(specs or (REST, HTTP))))


def function(logical_id: str, *, name: str | None = None, timeout_s: float = 3.0) -> FunctionSpec:
    return FunctionSpec(
        logical_id=logical_id,
        name=name or logical_id,
        handler="app.handler",
        runtime="python3.12",
        code_dir="/tmp/app",
        timeout_s=timeout_s,
    )


def model(
    routes: Iterable[RouteSpec],
    *,
    api_specs: Iterable[ApiSpec] = (REST, HTTP),
    functions: Iterable[FunctionSpec] = (),
) -> AppModel:
    routes = tuple(routes)
    fns = {f.logical_id: f for f in functions}
    for r in routes:
        fns.setdefault(r.function, function(r.function))
    return AppModel(
        template_path="/tmp/app/template.yaml",
        stack_name="app",
        region="us-east-1",
        account_id="123456789012",
        functions=fns,
        apis=apis(*api_specs),
        routes=routes,
    )


def request(
    method: str = "GET",
    raw_path: str = "/",
    *,
    query_string: str = "",
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> HttpRequest:
    return HttpRequest(
        method=method,
        raw_path=raw_path,
        query_string=query_string,
        headers=(("host", "localhost:3000"), ("user-agent", "curl/8.0"), *headers),
        body=body,
        source_ip="192.0.2.1",
        host="localhost:3000",
        time_epoch_ms=1583348638390,
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    )


def matched(tbl: RouteTable, req: HttpRequest) -> RouteMatch:
    found = tbl.match(req.method, req.raw_path)
    assert found is not None
    return found


def cors(**kwargs: object) -> CorsConfig:
    return CorsConfig(**kwargs)  # type: ignore[arg-type]


@dataclass
class FakeInvoker:
    """Answers each invocation with ``result`` or raises ``error``, after ``delay``."""

    result: object = field(default_factory=lambda: {"statusCode": 200, "body": "ok"})
    error: Exception | None = None
    function_error: str | None = None
    timed_out: bool = False
    delay: float = 0.0
    calls: list[InvokeRequest] = field(default_factory=list)
    finished: int = 0

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        self.calls.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        self.finished += 1
        if self.error is not None:
            raise self.error
        payload = self.result if isinstance(self.result, bytes) else orjson.dumps(self.result)
        return InvokeResult(
            payload=payload, function_error=self.function_error, timed_out=self.timed_out
        )

    def function_names(self) -> list[str]:
        return []

    def event(self, index: int = -1) -> dict[str, object]:
        return orjson.loads(self.calls[index].payload)  # type: ignore[no-any-return]
