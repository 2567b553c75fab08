"""Fuzzing the Lambda API on the admin port: bodies, qualifiers, paths and headers.

Requests go through the admin app as a client sends them — signed by a good key (so
they reach the Lambda API's own parsing) or not — with arbitrary function references,
qualifiers, operation suffixes, methods, invocation headers and bodies, delivered in
arbitrary pieces. Whatever arrives, the answer is one complete response: a success, or
a 4xx in AWS's rest-json error shape (``x-amzn-ErrorType`` and a JSON message) — never
a 5xx, an exception escaping the app, or a hang.
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import quote

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.asgi_once import call_once
from fuzz.hang_guard import no_hang
from overcast.control.access import AccessControl
from overcast.control.access_keys import KeyStore
from overcast.control.admin_app import AdminApp
from overcast.control.lambda_api import LambdaApi, LambdaApiSettings, StaticCatalog
from overcast.control.sigv4 import sign
from overcast.invoke import InvokeRequest, InvokeResult
from overcast.template.model import FunctionSpec

ADMIN = "http://127.0.0.1:8081"
PREFIX = "/2015-03-31/functions"


class _EchoInvoker:
    """Answers every invocation with its payload (the Lambda API is under test)."""

    async def invoke(self, request: InvokeRequest) -> InvokeResult:
        return InvokeResult(payload=request.payload, log_tail=b"START\n")

    def function_names(self) -> list[str]:
        return ["Echo"]


@cache
def _platform() -> tuple[AdminApp, LambdaApi, tuple[str, str]]:
    """One admin app for every example (hypothesis reruns the test body, not fixtures)."""
    state = Path(tempfile.mkdtemp(prefix="fuzz-lambda-api-"))
    keys = KeyStore(state)
    admin = keys.ensure_admin_key() or keys.all()[0]
    spec = FunctionSpec("Echo", "Echo", "app.handler", "python3.12", str(state / "code"))
    api = LambdaApi(
        _EchoInvoker(),
        StaticCatalog({"Echo": spec}),
        LambdaApiSettings("us-east-1", "123456789012"),
    )
    app = AdminApp(api, AccessControl(keys, "123456789012"))
    app.ready = True
    return app, api, (admin.access_key_id, admin.secret_access_key)


REFS = st.one_of(
    st.sampled_from(["Echo", "Echo:prod", "Echo:$LATEST"]),
    st.sampled_from(
        [
            "Echo", "Echo:prod", "Echo:$LATEST", "Echo:1", "Echo:", ":prod", "Missing",
            "arn:aws:lambda:us-east-1:123456789012:function:Echo",
            "arn:aws:lambda:us-east-1:123456789012:function:Echo:dev",
            "123456789012:function:Echo", "arn:aws:lambda", "..", ".", "Echo:a:b", "",
            "E" * 200, "Echo\0", "Écho",
        ]
    ),
    st.text(max_size=40),
)  # fmt: skip
SUFFIXES = st.sampled_from(
    ["invocations", "configuration", "", "invocations/x", "policy", "..", "%2e%2e", "aliases"]
)
METHODS = st.sampled_from(["POST", "GET", "PUT", "DELETE", "HEAD", "PATCH"])
QUERIES = st.one_of(
    st.just(""),
    st.text(max_size=30).map(lambda q: "Qualifier=" + quote(q, safe="")),
    st.text(max_size=30),
)
JSON_BODIES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        st.text(),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)
    ),
    max_leaves=20,
).map(orjson.dumps)
BODIES = st.one_of(
    JSON_BODIES,
    st.binary(max_size=300),
    st.sampled_from([b"", b"{", b"null", b'"', b"\xff\xfe", b"[" * 2000, b"{}" * 100]),
)
CLIENT_CONTEXTS = st.one_of(
    st.none(),
    JSON_BODIES.map(lambda b: base64.b64encode(b).decode()),
    st.text(max_size=40),
)
INVOCATION_TYPES = st.one_of(
    st.none(), st.sampled_from(["RequestResponse", "Event", "DryRun"]), st.text(max_size=20)
)
LOG_TYPES = st.one_of(st.none(), st.sampled_from(["Tail", "None"]), st.text(max_size=10))
# Mostly well-formed and signed, so that most examples reach the Lambda API's own parsing.
OPERATIONS = st.one_of(
    st.just(("POST", "invocations")),
    st.just(("POST", "invocations")),
    st.sampled_from([("GET", ""), ("GET", "configuration")]),
    st.tuples(METHODS, SUFFIXES),
)
SIGNING = st.one_of(
    st.just("signed"),
    st.just("signed"),
    st.sampled_from(["unsigned", "bad-signature", "stale"]),
)


def _latin1(text: str) -> str:
    """What can travel in a header (HTTP headers are bytes; servers decode latin-1)."""
    return text.encode("utf-8", "replace").decode("latin-1")


async def _call(
    method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes, pieces: int
) -> tuple[int, dict[bytes, bytes], bytes]:
    app, api, _key = _platform()
    try:
        return await call_once(app, method, raw_path, query, headers, body, pieces=pieces)
    finally:
        await api.aclose()  # Event invocations finish inside the example


@given(
    operation=OPERATIONS,
    ref=REFS,
    query=QUERIES,
    body=BODIES,
    invocation_type=INVOCATION_TYPES,
    log_type=LOG_TYPES,
    client_context=CLIENT_CONTEXTS,
    signing=SIGNING,
    pieces=st.integers(1, 4),
)
@example(
    operation=("POST", "invocations"), ref="Echo", query="", body=b"{", invocation_type=None,
    log_type=None, client_context=None, signing="signed", pieces=1,
)  # fmt: skip
@example(
    operation=("POST", "invocations"), ref="Echo", query="", body=b"{}", invocation_type=None,
    log_type="Tail", client_context="e30=", signing="signed", pieces=2,
)  # fmt: skip
def test_any_lambda_api_request_gets_a_success_or_an_aws_shaped_4xx(
    operation: tuple[str, str],
    ref: str,
    query: str,
    body: bytes,
    invocation_type: str | None,
    log_type: str | None,
    client_context: str | None,
    signing: str,
    pieces: int,
) -> None:
    method, suffix = operation
    raw_path = f"{PREFIX}/{quote(ref, safe=':$@')}" + (f"/{suffix}" if suffix else "")
    query = quote(query, safe="=&%+")
    headers = {"Content-Type": "application/json"}
    for name, value in (
        ("X-Amz-Invocation-Type", invocation_type),
        ("X-Amz-Log-Type", log_type),
        ("X-Amz-Client-Context", client_context),
    ):
        if value is not None:
            headers[name] = _latin1(value).replace("\r", "").replace("\n", "")
    _app, _api, (key_id, secret) = _platform()
    if signing != "unsigned":
        headers = sign(
            method,
            f"{ADMIN}{raw_path}" + (f"?{query}" if query else ""),
            headers,
            body,
            access_key_id=key_id,
            secret=secret,
            region="us-east-1",
            service="lambda",
            now=datetime.now(UTC) - timedelta(minutes=6) if signing == "stale" else None,
        )
        if signing == "bad-signature":
            headers["Authorization"] = headers["Authorization"][:-64] + "0" * 64
    with no_hang("Lambda API request"):
        status, out_headers, out = asyncio.run(
            _call(method, raw_path, query, headers, body, pieces)
        )
    assert status < 500, (status, out)
    if status >= 400:
        assert out_headers[b"content-type"] == b"application/json"
        error = orjson.loads(out)
        assert isinstance(error.get("message", error.get("Message")), str), error
        assert b"x-amzn-errortype" in out_headers or status == 404, out_headers
