"""Fuzzing the gateway's two translations: raw HTTP into events, handler results into HTTP.

Into the function: any method, path, query, headers, cookies and body a client can
put on the wire (decoded as the data port decodes them, latin-1) either misses every
route, which API Gateway answers with its documented error, or gives an event of
payload format 1.0 (REST, HTTP API 1.0) or 2.0 whose JSON a handler can decode, with
the body delivered intact.

Out of the function: whatever a handler returns, the response is one HTTP response
and nothing more: a final status (200-599), header names that are RFC 9110 tokens,
values without CR, LF, NUL or other control bytes, no framing header of the
function's, and no body on 204 or 304. Through the ASGI app the framing the server
is told (``content-length``) matches the body it is given.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.gateway import GatewayApp, HttpRequest, RouteMatch, map_function_response
from overcast.gateway.events import build_event, dump_event
from unit.gateway.helpers import HTTP, REST, FakeInvoker, model, rest_route, route, table

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_FRAMING = {b"content-length", b"transfer-encoding", b"connection"}

_ROUTES = {
    "rest": (rest_route("/items/{id}"), rest_route("/{proxy+}", "ANY")),
    "http": (route("/items/{id}"), route("/{proxy+}", "ANY")),
    "http1": (
        route("/items/{id}", payload_format="1.0"),
        route("/{proxy+}", "ANY", payload_format="1.0"),
    ),
}
TABLES = {
    "rest": table(_ROUTES["rest"], REST),
    "http": table(_ROUTES["http"], HTTP),
    "http1": table(_ROUTES["http1"], HTTP),
}

# --- raw HTTP → events ---------------------------------------------------------------

_latin1 = st.text(alphabet=st.characters(max_codepoint=255), max_size=30)
_METHODS = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "ANY", "get"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ-", min_size=1, max_size=10),
)
_PATH_PARTS = st.sampled_from(
    ["/", "//", "items", "a", "%2F", "%2f", "%00", "%ZZ", "%", "%e9", "%C3%A9", "%F0%9F%98",
     ".", "..", "{id}", "+", " ", ";", "?", "#", "é", "\x00", "\x7f", "\xff"]
)  # fmt: skip
_paths = st.lists(st.one_of(_PATH_PARTS, _latin1), max_size=8).map(lambda p: "/" + "".join(p))
_QUERY_PARTS = st.sampled_from(
    ["a=1", "a=2", "&", "=", "a", "b=", "%", "%ZZ", "%E9", "+", ";", "a%5B%5D=1", "=x", "&&"]
)
_queries = st.lists(st.one_of(_QUERY_PARTS, _latin1), max_size=8).map("".join)
_HEADER_NAMES = st.sampled_from(
    ["cookie", "content-type", "host", "user-agent", "x-forwarded-for", "authorization",
     "content-length", "x-api-key", "accept", "x-amzn-trace-id", "origin", "x-a"]
)  # fmt: skip
_CONTENT_TYPES = st.sampled_from(
    ["application/json", "text/plain; charset=utf-8", "application/octet-stream",
     "application/x-www-form-urlencoded", "image/png", "TEXT/HTML", ";", ""]
)  # fmt: skip
_COOKIES = st.lists(st.sampled_from(["a=1", "b=2", "; ", ";", "=", "a", " ", "c=%20"]), max_size=6)
_headers = st.lists(
    st.one_of(
        st.tuples(_HEADER_NAMES, _latin1),
        st.tuples(st.just("content-type"), _CONTENT_TYPES),
        st.tuples(st.just("cookie"), _COOKIES.map("".join)),
        st.tuples(st.text(alphabet="abcdefghijklmnopqrstuvwxyz-0123456789", max_size=12), _latin1),
    ),
    max_size=10,
)


def _request(
    method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
) -> HttpRequest:
    host = next((value for name, value in headers if name == "host"), "") or "localhost"
    return HttpRequest(
        method=method,
        raw_path=path,
        query_string=query,
        headers=tuple(headers),
        body=body,
        source_ip="192.0.2.1",
        host=host,
        time_epoch_ms=1583348638390,
        request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
    )


@given(
    api=st.sampled_from(sorted(TABLES)),
    method=_METHODS,
    path=_paths,
    query=_queries,
    headers=_headers,
    body=st.binary(max_size=300),
    binary_types=st.lists(
        st.sampled_from(["*/*", "image/*", "application/octet-stream"]), max_size=2
    ),
)
@example(
    api="http",
    method="GET",
    path="/items/%C3%A9%ZZ%00",
    query="a=%E9&a&=",
    headers=[("cookie", "a=1; ; b"), ("content-type", "text/plain")],
    body=b"\xff\xfe",
    binary_types=[],
)
def test_any_request_gets_a_json_event_or_a_documented_miss(
    api: str,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    binary_types: list[str],
) -> None:
    request = _request(method, path, query, headers, body)
    with no_hang(f"building a {api} event", cpu=True):
        resolved = TABLES[api].resolve(method, path)
        if not isinstance(resolved, RouteMatch):
            return  # answered by error_response(Fault.NO_ROUTE, ...), API Gateway's own
        event = build_event(
            request, resolved, account_id="123456789012", binary_media_types=tuple(binary_types)
        )
        decoded = json.loads(dump_event(event))
    assert decoded == orjson.loads(orjson.dumps(event))
    if not body:
        assert decoded.get("body") is None
        return
    if decoded["isBase64Encoded"]:
        assert base64.b64decode(decoded["body"]) == body
    elif api == "http":
        assert decoded["body"].encode("utf-8") == body
    if api == "http":
        assert decoded["requestContext"]["http"]["method"] == method
    else:
        assert decoded["httpMethod"] == method


# --- handler results → responses -----------------------------------------------------

_text = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        ["a\r\nb", "\n", "\r", "\x00", "\t", "x y", "ok", "Content-Length", "é", "\x7f"]
    ),
)
_INT64 = st.integers(-(2**63), 2**63 - 1)  # what a handler's JSON encoder emits
_header_values = st.one_of(_text, _INT64, st.floats(), st.booleans(), st.none())
_NAMES = st.one_of(
    _text,
    st.sampled_from(["Content-Type", "content-length", "Transfer-Encoding", "Connection",
                     "Set-Cookie", "Location", "X-A", "x-a", "Upgrade"]),
)  # fmt: skip
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), _INT64, st.floats(allow_nan=False), st.text(max_size=10)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def proxy_results(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(_JSON)
    result: dict[str, Any] = {
        "statusCode": draw(
            st.one_of(
                st.sampled_from([100, 101, 103, 199, 200, 204, 301, 304, 404, 500, 599, 600]),
                _INT64,
                _JSON,
            )
        )
    }
    if draw(st.booleans()):
        result["headers"] = draw(st.dictionaries(_NAMES, _header_values, max_size=4))
    if draw(st.booleans()):
        result["multiValueHeaders"] = draw(
            st.dictionaries(
                _NAMES, st.one_of(st.lists(_header_values, max_size=3), _JSON), max_size=3
            )
        )
    if draw(st.booleans()):
        result["cookies"] = draw(st.one_of(st.lists(_text, max_size=3), _JSON))
    if draw(st.booleans()):
        base64_body = draw(st.booleans())
        result["isBase64Encoded"] = draw(st.one_of(st.just(base64_body), _JSON))
        raw = draw(st.binary(max_size=50))
        encoded = base64.b64encode(raw).decode() if base64_body else raw.decode("latin-1")
        result["body"] = draw(st.one_of(st.just(encoded), _text, _JSON))
    return result


_FORMATS = [("rest", "1.0"), ("http", "1.0"), ("http", "2.0")]


def check_response(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    assert 200 <= status <= 599
    for name, value in headers:
        assert _TOKEN.fullmatch(name), name
        assert not _CONTROL.search(value), value
    if status in (204, 304):
        assert body == b""


@given(
    result=st.one_of(proxy_results(), st.binary(max_size=100)),
    api=st.sampled_from(_FORMATS),
)
@example(result={"statusCode": 204, "body": "HTTP/1.1 200 OK\r\n\r\n"}, api=("rest", "1.0"))
@example(result=b'{"statusCode": 200000000000000000000000000}', api=("rest", "1.0"))
@example(result={"statusCode": 101, "headers": {"Upgrade": "h2c"}}, api=("http", "2.0"))
@example(result={"statusCode": 200, "headers": {"X-A": "a\r\nb: c"}}, api=("http", "2.0"))
def test_any_handler_result_maps_to_one_well_formed_response(
    result: Any, api: tuple[str, str]
) -> None:
    kind, payload_format = api
    payload = result if isinstance(result, bytes) else orjson.dumps(result)
    with no_hang("mapping a handler result", cpu=True):
        response = map_function_response(
            payload,
            kind=kind,  # type: ignore[arg-type]
            payload_format=payload_format,  # type: ignore[arg-type]
            request_id="rid",
            extended_id="ext",
        )
    check_response(response.status, list(response.headers), response.body)
    function_framing = [name for name, _ in response.headers if name.lower() in _FRAMING]
    assert function_framing == []


_APP = GatewayApp(
    model([route("/h"), route("/h1", payload_format="1.0"), rest_route("/r")]),
    FakeInvoker(),
    clock=lambda: 1583348638.39,
    id_factory=lambda: "req-1",
)
#: one loop for every example (a new loop per example is most of the example's cost)
_LOOP = asyncio.new_event_loop()
_PATHS = {("rest", "1.0"): "/r", ("http", "1.0"): "/h1", ("http", "2.0"): "/h"}


async def _through_app(method: str, path: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:
            return {"type": "http.disconnect"}
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http", "http_version": "1.1", "method": method, "path": path,
        "raw_path": path.encode(), "query_string": b"", "headers": [(b"host", b"localhost")],
        "client": ("192.0.2.1", 1234), "server": ("127.0.0.1", 3000),
    }  # fmt: skip
    await _APP(scope, receive, send)  # type: ignore[arg-type]
    return sent


@given(
    result=proxy_results(),
    api=st.sampled_from(_FORMATS),
    method=st.sampled_from(["GET", "HEAD"]),
)
def test_what_the_server_is_told_to_send_is_one_whole_response(
    result: Any, api: tuple[str, str], method: str
) -> None:
    invoker: FakeInvoker = _APP._invoker  # type: ignore[assignment]
    invoker.result = result
    with no_hang("serving a handler result", cpu=True):
        start, body = _LOOP.run_until_complete(_through_app(method, _PATHS[api]))
    assert start["type"] == "http.response.start"
    assert body["type"] == "http.response.body"
    assert not body.get("more_body", False)
    headers = list(start["headers"])
    check_response(start["status"], headers, body["body"])
    lengths = [value for name, value in headers if name.lower() == b"content-length"]
    if start["status"] in (204, 304):
        assert lengths == []
        assert body["body"] == b""
    else:
        assert len(lengths) == 1
        if method == "GET":
            assert int(lengths[0]) == len(body["body"])
        else:
            assert body["body"] == b""
