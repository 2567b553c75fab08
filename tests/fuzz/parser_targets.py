"""The parsers of outside input as byte-fed fuzz targets (used by atheris_run.py).

Each target feeds its bytes to one parser and lets only that parser's documented error
through; anything else escaping is a crash.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs

from overcast.control.lambda_api import (
    LambdaApi,
    LambdaApiError,
    LambdaApiSettings,
    StaticCatalog,
    invoke_parameters,
    qualified,
)
from overcast.control.s3_listing import list_page
from overcast.control.s3_xml import S3Error, parse_delete
from overcast.control.sigv4 import (
    SignatureError,
    canonical_query,
    canonical_uri,
    declared_payload_hash,
    parse_authorization,
)
from overcast.control.sqs_api import new_message
from overcast.edge.config import parse_edge_config
from overcast.edge.errors import EdgeConfigError
from overcast.events.sqs_rules import (
    SqsError,
    check_body,
    check_message_attributes,
    queue_attributes,
    redrive_policy,
)
from overcast.gateway import HttpRequest, RouteMatch, RouteTable, map_function_response
from overcast.gateway.events import build_event, dump_event
from overcast.secrets.errors import PolicyParseError
from overcast.secrets.policy import Acl, parse_policy
from overcast.secrets.request_path import resolve
from overcast.storage import ObjectInfo
from overcast.template.errors import TemplateError
from overcast.template.loader import load_template
from overcast.template.model import ApiKind, ApiSpec, PayloadFormat, RouteSpec
from overcast.template.yaml_loader import parse_yaml

Target = Callable[[bytes], None]


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def template(data: bytes) -> None:
    with contextlib.suppress(TemplateError):
        load_template(_text(data), filename="template.yaml", base_dir="/nonexistent")


def vault_policy(data: bytes) -> None:
    with contextlib.suppress(PolicyParseError):
        Acl([parse_policy("fuzzed", _text(data))]).capabilities("secret/data/x")


def vault_path(data: bytes) -> None:
    # The resolver documents no error: every input is a path, a redirect or a refusal.
    raw_path, _, query = data.partition(b"?")
    resolve(raw_path, query)


def edge_config(data: bytes) -> None:
    with contextlib.suppress(EdgeConfigError, TemplateError):
        parse_edge_config(parse_yaml(_text(data), "template.yaml"))


def sigv4_authorization(data: bytes) -> None:
    with contextlib.suppress(SignatureError):
        parse_authorization(_text(data))


def sigv4_canonical(data: bytes) -> None:
    path, _, query = _text(data).partition("?")
    canonical_uri(path)
    canonical_query(query)


def sigv4_payload_hash(data: bytes) -> None:
    with contextlib.suppress(SignatureError):
        declared_payload_hash({"x-amz-content-sha256": _text(data)})


_INVOKE_HEADERS = ("x-amz-invocation-type", "x-amz-client-context", "x-amz-log-type")


def lambda_invoke(data: bytes) -> None:
    """Up to three header lines (type, client context, log type), then the body."""
    lines = data.split(b"\n", 3)
    body = lines.pop() if len(lines) == 4 else b""
    headers = {
        name: line.decode("latin-1") for name, line in zip(_INVOKE_HEADERS, lines, strict=False)
    }
    with contextlib.suppress(LambdaApiError):
        invoke_parameters(headers, body)


_ACTIONS = LambdaApi(
    None,  # type: ignore[arg-type]  (action() never invokes)
    StaticCatalog({}),
    LambdaApiSettings("us-east-1", "123456789012"),
)


def lambda_path(data: bytes) -> None:
    """A Lambda API path and query: the operation and resource a request names."""
    path, _, query = data.decode("latin-1").partition("?")
    _ACTIONS.action("POST", "/2015-03-31/functions/" + path, query)
    ref = path.split("/", 1)[0]
    qualified(ref, parse_qs(query))


_REST = ApiSpec(logical_id="Rest", kind="rest", api_id="abcde12345", stage_name="Prod")
_HTTP = ApiSpec(logical_id="Http", kind="http", api_id="fghij67890", stage_name="$default")


def _routes(api: ApiSpec, payload_format: PayloadFormat) -> RouteTable:
    specs = tuple(
        RouteSpec(api=api.logical_id, method=method, path=path, function="Fn",
                  event_name=f"E{i}", payload_format=payload_format)
        for i, (method, path) in enumerate([("GET", "/items/{id}"), ("ANY", "/{proxy+}")])
    )  # fmt: skip
    return RouteTable.build(specs, {api.logical_id: api})


#: (API kind, payload format) → a table with a path parameter and a greedy catch-all
_TABLES: dict[tuple[ApiKind, PayloadFormat], RouteTable] = {
    ("rest", "1.0"): _routes(_REST, "1.0"),
    ("http", "1.0"): _routes(_HTTP, "1.0"),
    ("http", "2.0"): _routes(_HTTP, "2.0"),
}
_SHAPES = tuple(_TABLES)


def gateway_event(data: bytes) -> None:
    """Bytes as a request: ``METHOD target`` line, ``name: value`` lines, blank, body.

    The first byte picks the API kind and payload format. Missing every route is the
    gateway's documented answer; an event must be JSON a handler can decode.
    """
    if not data:
        return
    shape = _SHAPES[data[0] % len(_SHAPES)]
    head, _, body = data[1:].partition(b"\n\n")
    first, *lines = head.decode("latin-1").split("\n")
    method, _, target = first.partition(" ")
    path, _, query = target.partition("?")
    headers = tuple(
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines)
    )
    host = next((value for name, value in headers if name == "host"), "") or "localhost"
    request = HttpRequest(
        method=method, raw_path=path, query_string=query, headers=headers, body=body, host=host
    )
    resolved = _TABLES[shape].resolve(method, path)
    if isinstance(resolved, RouteMatch):
        event = build_event(request, resolved, account_id="123456789012")
        json.loads(dump_event(event))


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def gateway_response(data: bytes) -> None:
    """Bytes as a handler's result (the first byte picks the API kind and format).

    Never raises: the response is one well-formed HTTP response or the API's error.
    """
    if not data:
        return
    kind, payload_format = _SHAPES[data[0] % len(_SHAPES)]
    response = map_function_response(
        data[1:], kind=kind, payload_format=payload_format, request_id="rid", extended_id="x"
    )
    if not 200 <= response.status <= 599:
        raise ValueError(f"status {response.status} is not a final response")
    for name, value in response.headers:
        if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            raise ValueError(f"header {name!r}: {value!r} breaks the response head")
    if response.status in (204, 304) and response.body:
        raise ValueError(f"{response.status} with a body")


def sqs_message(data: bytes) -> None:
    """A SendMessage body (JSON): its message and attributes checked as SQS checks them."""
    try:
        params = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not isinstance(params, dict):
        return
    with contextlib.suppress(SqsError):
        message = new_message(params)
        check_message_attributes(message.attributes)
        check_body(message.body, message.attributes, 262_144)


def sqs_attributes(data: bytes) -> None:
    """Queue attributes as JSON (a RedrivePolicy as its own text when not an object)."""
    text = _text(data)
    with contextlib.suppress(SqsError):
        redrive_policy(text)
    try:
        given = json.loads(data)
    except (ValueError, RecursionError):
        return
    if isinstance(given, dict):
        with contextlib.suppress(SqsError):
            queue_attributes(given, {})


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def s3_delete(data: bytes) -> None:
    """A DeleteObjects body (XML): the keys it names, or MalformedXML."""
    with contextlib.suppress(S3Error):
        parse_delete(data)


def s3_listing(data: bytes) -> None:
    """A continuation token, then (after a newline) prefix and delimiter, paged over keys."""
    token, _, rest = _text(data).partition("\n")
    prefix, _, delimiter = rest.partition("\n")
    keys = [ObjectInfo(k, 0, "", None, "", _EPOCH) for k in ("a", "a/b", "a/c/d", "b", "é")]
    with contextlib.suppress(S3Error):
        list_page(keys, prefix=prefix, delimiter=delimiter, max_keys=2, token=token)


TARGETS: dict[str, Target] = {
    "template": template,
    "vault-policy": vault_policy,
    "vault-path": vault_path,
    "edge-config": edge_config,
    "sigv4-authorization": sigv4_authorization,
    "sigv4-canonical": sigv4_canonical,
    "sigv4-payload-hash": sigv4_payload_hash,
    "lambda-invoke": lambda_invoke,
    "lambda-path": lambda_path,
    "gateway-event": gateway_event,
    "gateway-response": gateway_response,
    "sqs-message": sqs_message,
    "sqs-attributes": sqs_attributes,
    "s3-delete": s3_delete,
    "s3-listing": s3_listing,
}
