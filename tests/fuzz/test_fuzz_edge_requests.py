"""Fuzzing what the edge reads from viewers and origins, end to end in process.

A viewer sends any method, path, query string and headers (Host, Range, If-*,
Accept-Encoding, Cookie, credentials); an origin answers any status with any
Cache-Control, Expires, ETag, Set-Cookie. Whatever they send, the edge answers (no
exception, no hang), and it keeps its one promise about credentials: a caller who
does not send a credential never reads an answer the origin gave to that credential,
unless the origin said the answer may be shared (``public``, ``s-maxage``,
``must-revalidate``). The header parsers (Range, conditional headers,
Accept-Encoding, Host, Cache-Control) are fuzzed on their own too.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.edge import (
    ByteRange,
    DictBucket,
    EdgeApp,
    HostTable,
    ResponseCache,
    StageOrigins,
    Unsatisfiable,
    negotiate,
    not_modified,
    parse_edge_config,
    parse_range,
)
from overcast.edge.cache_policy import cache_control, response_ttl
from overcast.edge.credentials import CredentialNames
from overcast.edge.policies import CachePolicy

CONFIG = parse_edge_config(
    {
        "behaviors": [
            {"path_pattern": "/optimized/*", "origin": "api", "cache": "CachingOptimized"},
            {
                "path_pattern": "/allviewer/*",
                "origin": "api",
                "cache": "CachingOptimized",
                "origin_request": "AllViewer",
            },
            {
                "path_pattern": "/keyed/*",
                "origin": "api",
                "cache": {
                    "headers": ["Authorization", "X-Token"],
                    "cookies": ["session"],
                    "query_strings": ["token"],
                },
                "origin_request": "AllViewer",
            },
            {"path_pattern": "/static/*", "origin": "static"},
            {"path_pattern": "*", "origin": "api"},
        ],
        "error_pages": [{"status": 403, "path": "/static/denied.html", "response_status": 403}],
        "stages": {"dev": {"domains": ["dev.example.test"]}},
    },
    credentials=CredentialNames(
        headers=frozenset({"authorization", "x-api-key", "x-token"}),
        query_strings=frozenset({"token"}),
    ),
)
SECRET = "S3CRET"
SHAREABLE = ("public", "s-maxage", "must-revalidate")


class EchoApi:
    """Answers with everything it was sent, and the status and headers it is told."""

    def __init__(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.headers = headers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen = {
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
            "query": scope["query_string"].decode("latin-1"),
        }
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": json.dumps(seen).encode()})


def edge(api: EchoApi) -> EdgeApp:
    bucket = DictBucket()
    bucket.put("static/denied.html", b"<p>denied</p>", "text/html")
    bucket.put("static/app.js", b"console.log(1);" * 100, "application/javascript")
    return EdgeApp(
        CONFIG,
        {"dev": StageOrigins(api=api, static=bucket)},
        cache=ResponseCache(max_bytes=1_000_000, max_entries=100),
        clock=lambda: 1_800_000_000.0,
        extra_hosts={"localhost": "dev"},
    )


async def call(
    app: EdgeApp, method: str, path: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, bytes]:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode("utf-8", "surrogateescape"),
        "query_string": query,
        "headers": headers,
        "server": ("127.0.0.1", 3000),
        "http_version": "1.1",
    }
    await app(scope, receive, send)
    assert messages[0]["type"] == "http.response.start"
    status = int(messages[0]["status"])
    assert 100 <= status <= 599
    return status, b"".join(m.get("body", b"") for m in messages[1:])


VALUES = st.binary(max_size=40)
HEADER_NAMES = st.sampled_from(
    [
        b"host", b"range", b"if-range", b"if-none-match", b"if-modified-since",
        b"accept-encoding", b"cookie", b"authorization", b"x-api-key", b"x-token",
        b"user-agent", b"connection", b"proxy-authorization", b"content-type", b"x-other",
    ]
)  # fmt: skip
HEADERS = st.lists(st.tuples(HEADER_NAMES, VALUES), max_size=8)
PATHS = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(["/optimized/", "/allviewer/", "/keyed/", "/static/", "/", "/direct/"]),
    st.text(max_size=12),
)
# GET most of the time: only its answers are stored, and storing is what can leak.
METHODS = st.one_of(
    st.just("GET"), st.sampled_from(["HEAD", "POST", "OPTIONS", "DELETE", "PATCH", "PUT", "BREW"])
)
CACHE_CONTROL = st.one_of(
    st.none(),
    st.sampled_from(
        [
            b"max-age=60",
            b"public, max-age=60",
            b"s-maxage=30",
            b"private",
            b"no-store",
            b"no-cache",
            b"must-revalidate, max-age=5",
            b"max-age=-1",
            b"max-age=abc",
            b"",
        ]
    ),
    VALUES,
)
ORIGIN_HEADERS = st.builds(
    lambda cc, extra: ([(b"cache-control", cc)] if cc is not None else []) + extra,
    CACHE_CONTROL,
    st.lists(
        st.tuples(
            st.sampled_from([b"expires", b"etag", b"set-cookie", b"content-type", b"vary"]),
            VALUES,
        ),
        max_size=3,
    ),
)
SLOTS = st.sampled_from(["authorization", "x-api-key", "x-token", "cookie", "query"])


def with_credential(
    slot: str, headers: list[tuple[bytes, bytes]], query: bytes
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    if slot == "query":
        return headers, (query + b"&" if query else b"") + f"token={SECRET}".encode()
    if slot == "cookie":
        return [*headers, (b"cookie", f"session={SECRET}".encode())], query
    return [*headers, (slot.encode(), SECRET.encode())], query


def strip_secrets(
    headers: list[tuple[bytes, bytes]], query: bytes
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    kept = [(k, v) for k, v in headers if SECRET.encode() not in v]
    return kept, b"&".join(p for p in query.split(b"&") if SECRET.encode() not in p)


@given(
    st.one_of(st.just(200), st.integers(200, 599)),
    ORIGIN_HEADERS,
    METHODS,
    PATHS,
    VALUES,
    HEADERS,
    SLOTS,
)
@example(
    200, [], "GET", "/optimized/me", b"", [(b"host", b"localhost")], "authorization"
)  # the reported leak
@example(200, [], "GET", "/allviewer/me", b"", [(b"host", b"localhost")], "x-api-key")
@example(404, [], "GET", "/allviewer/me", b"", [(b"host", b"localhost")], "cookie")
@example(403, [], "GET", "/allviewer/me", b"", [(b"host", b"localhost")], "x-api-key")
@example(200, [], "GET", "/keyed/me", b"token=a&%74oken=b", [(b"host", b"localhost")], "query")
def test_a_callers_credential_answer_reaches_no_one_without_it(
    status: int,
    origin_headers: list[tuple[bytes, bytes]],
    method: str,
    path: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    slot: str,
) -> None:
    api = EchoApi(status, origin_headers)
    app = edge(api)
    viewer = [(b"host", b"localhost"), *[(k, v) for k, v in headers if k != b"host"]]
    viewer, query = strip_secrets(viewer, query)
    with_secret, secret_query = with_credential(slot, viewer, query)

    async def both() -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        first = await call(app, method, path, secret_query, with_secret)
        second = await call(app, "GET", path, query, viewer)
        return first, second

    with no_hang("EdgeApp"):
        _, (_, body) = asyncio.run(both())
    if SECRET.encode() in body:
        directives = cache_control(dict(origin_headers).get(b"cache-control"))
        assert any(name in directives for name in SHAREABLE), (path, slot, origin_headers)


@given(
    st.one_of(st.none(), VALUES),
    st.integers(0, 10_000),
    st.one_of(st.none(), VALUES),
    st.one_of(st.none(), VALUES),
    st.one_of(st.none(), VALUES),
)
@example(b"bytes=0-", 0, None, None, None)
@example(b"bytes=-0", 10, None, None, None)
@example(b"bytes=99999999999999999999-", 10, None, None, None)
def test_range_headers_parse_or_are_ignored(
    header: bytes | None,
    size: int,
    if_range: bytes | None,
    etag: bytes | None,
    last_modified: bytes | None,
) -> None:
    with no_hang("parse_range"):
        found = parse_range(header, size, if_range=if_range, etag=etag, last_modified=last_modified)
    assert found is None or isinstance(found, ByteRange | Unsatisfiable)
    if isinstance(found, ByteRange):
        assert 0 <= found.start <= found.end < size


@given(
    st.sampled_from(["GET", "HEAD", "POST"]),
    st.one_of(st.none(), VALUES),
    st.one_of(st.none(), VALUES),
    st.one_of(st.none(), VALUES),
    st.one_of(st.none(), VALUES),
    st.one_of(st.none(), VALUES),
    st.text(max_size=30),
)
def test_conditional_encoding_host_and_cache_control_headers_never_fail(
    method: str,
    if_none_match: bytes | None,
    if_modified_since: bytes | None,
    etag: bytes | None,
    last_modified: bytes | None,
    accept_encoding: bytes | None,
    host: str,
) -> None:
    with no_hang("edge header parsers"):
        assert isinstance(
            not_modified(
                method,
                if_none_match=if_none_match,
                if_modified_since=if_modified_since,
                etag=etag,
                last_modified=last_modified,
            ),
            bool,
        )
        assert negotiate(accept_encoding) in ("br", "gzip", "")
        table = HostTable.build(["dev", "prod"], domain="example.test")
        assert table.stage_for(host) in (None, "dev", "prod")
        origin = [(b"cache-control", etag or b""), (b"expires", last_modified or b"")]
        ttl = response_ttl(CachePolicy(), method, 200, origin, now=1_800_000_000.0)
        assert ttl is None or ttl > 0
