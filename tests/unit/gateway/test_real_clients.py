"""Events built by the gateway, read by real Lambda-side libraries (in process)."""

import asyncio
import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, APIGatewayRestResolver
from fastapi import FastAPI
from mangum import Mangum

from overcast.gateway import build_event, dump_event, map_function_response
from overcast.template.model import ApiSpec

from .helpers import REST, matched, request, rest_route, route, table


@pytest.fixture(autouse=True)
def _close_mangum_loop() -> Iterator[None]:
    """Mangum makes and keeps an event loop, as it may inside Lambda; close it here."""
    yield
    policy = asyncio.get_event_loop_policy()
    with warnings.catch_warnings(), contextlib.suppress(RuntimeError):
        warnings.simplefilter("ignore", DeprecationWarning)
        policy.get_event_loop().close()
        policy.set_event_loop(None)


class _Context:
    aws_request_id = "req"
    function_name = "fn"
    memory_limit_in_mb = 128
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"

    def get_remaining_time_in_millis(self) -> int:
        return 3000


def _roundtrip(handler: Any, spec: Any, api: ApiSpec, method: str, path: str, **kwargs: Any) -> Any:
    tbl = table([spec], api)
    req = request(method, path, **kwargs)
    event = orjson.loads(dump_event(build_event(req, matched(tbl, req), account_id="1")))
    result = handler(event, _Context())
    return map_function_response(
        orjson.dumps(result),
        kind=api.kind,
        payload_format=spec.payload_format,
        request_id="rid",
    )


def test_powertools_http_resolver_routes_a_v2_event_on_a_named_stage() -> None:
    app = APIGatewayHttpResolver()

    @app.get("/hello/<name>")
    def hello(name: str) -> dict[str, Any]:
        return {"name": name, "q": app.current_event.get_query_string_value("q")}

    api = ApiSpec("ServerlessHttpApi", "http", "fghij67890", "dev")
    response = _roundtrip(
        app.resolve, route("/hello/{name}"), api, "GET", "/hello/ada", query_string="q=1"
    )
    assert response.status == 200
    assert orjson.loads(response.body) == {"name": "ada", "q": "1"}


def test_powertools_rest_resolver_routes_a_v1_event() -> None:
    app = APIGatewayRestResolver()

    @app.post("/items/<item>")
    def create(item: str) -> dict[str, Any]:
        return {"item": item, "body": app.current_event.json_body}

    response = _roundtrip(
        app.resolve,
        rest_route("/items/{item}", "POST"),
        REST,
        "POST",
        "/items/7",
        headers=[("content-type", "application/json")],
        body=b'{"a": 1}',
    )
    assert response.status == 200
    assert orjson.loads(response.body) == {"item": "7", "body": {"a": 1}}


def test_fastapi_behind_mangum_serves_a_v2_proxy_event() -> None:
    api = FastAPI()

    @api.get("/users/{uid}")
    def user(uid: int, verbose: bool = False) -> dict[str, Any]:
        return {"uid": uid, "verbose": verbose}

    handler = Mangum(api, lifespan="off")
    http_api = ApiSpec("ServerlessHttpApi", "http", "fghij67890", "$default")
    response = _roundtrip(
        handler, route("/{proxy+}", "ANY"), http_api, "GET", "/users/5", query_string="verbose=true"
    )
    assert response.status == 200
    assert orjson.loads(response.body) == {"uid": 5, "verbose": True}


def test_fastapi_behind_mangum_serves_a_rest_event() -> None:
    api = FastAPI()

    @api.post("/echo")
    def echo(payload: dict[str, Any]) -> dict[str, Any]:
        return payload

    handler = Mangum(api, lifespan="off", api_gateway_base_path="/")
    response = _roundtrip(
        handler,
        rest_route("/{proxy+}", "ANY"),
        REST,
        "POST",
        "/echo",
        headers=[("content-type", "application/json")],
        body=b'{"k": "v"}',
    )
    assert response.status == 200
    assert orjson.loads(response.body) == {"k": "v"}
