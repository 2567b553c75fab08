"""Map a function's result onto the HTTP response API Gateway would send; pure.

Formats: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
("Lambda function response format") and, for REST,
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
("Output format of a Lambda function for proxy integration").

Payload 1.0 must be an object with an integer ``statusCode``; ``body`` must be a
string. With payload 2.0, API Gateway infers a response when the function returns
anything but an object with ``statusCode``: status 200, content-type
application/json, and the function's output as body (a JSON string is sent
unquoted). Anything else invalid becomes the API's integration error, never a 200.

Nothing a function returns may frame a second response on the connection: a 1xx
status (never a final response), a header name that is not an RFC 9110 token or a
value holding a control character (CR, LF, NUL...) makes the result malformed, and a
204 or 304 loses its body (RFC 9110 §6.4.1: they carry no content).
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Final

import orjson

from overcast.asgi import status_has_body
from overcast.gateway.error_responses import Fault, error_response, gateway_headers
from overcast.gateway.messages import HttpResponse
from overcast.template.model import ApiKind, PayloadFormat

# Framing is the gateway's business: a function cannot set these.
_DROPPED: Final = frozenset({"content-length", "transfer-encoding", "connection"})


#: RFC 9110 §5.6.2 token: what a field name may be made of.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Control characters but HTAB (RFC 9110 §5.5): CR and LF would end the header line.
_CONTROL: Final = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class _Invalid(Exception):
    """Private control flow: the function's result is not a valid proxy response."""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return orjson.dumps(value).decode()
    raise _Invalid


def _headers(raw: Any) -> list[tuple[str, str]]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise _Invalid
    return [(str(name), _scalar(value)) for name, value in raw.items()]


def _multi_headers(raw: Any) -> list[tuple[str, list[str]]]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise _Invalid
    result: list[tuple[str, list[str]]] = []
    for name, values in raw.items():
        if not isinstance(values, list):
            raise _Invalid
        result.append((str(name), [_scalar(v) for v in values]))
    return result


def _status(raw: Any) -> int:
    # A 1xx is an interim answer: as a proxy result it would pass for the final one
    # while the connection goes on to something else (101: another protocol).
    if isinstance(raw, bool) or not isinstance(raw, int) or not 200 <= raw <= 599:
        raise _Invalid
    return raw


def _body(raw: Any, is_base64: Any) -> bytes:
    if is_base64 is not None and not isinstance(is_base64, bool):
        raise _Invalid
    if raw is None:
        return b""
    if not isinstance(raw, str):
        raise _Invalid
    if is_base64:
        try:
            return base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _Invalid from exc
    return raw.encode("utf-8")


def _encode(pairs: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    for name, value in pairs:
        if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            raise _Invalid
    return [
        (name.encode("latin-1", "replace"), value.encode("latin-1", "replace"))
        for name, value in pairs
        if name.lower() not in _DROPPED
    ]


def _v1(result: Any, kind: ApiKind) -> tuple[int, list[tuple[str, str]], bytes]:
    if not isinstance(result, dict) or "statusCode" not in result:
        raise _Invalid
    status = _status(result["statusCode"])
    single = _headers(result.get("headers"))
    multi = _multi_headers(result.get("multiValueHeaders"))
    # "If you specify values for both headers and multiValueHeaders, API Gateway
    # merges them into a single list. If the same key-value pair is specified in
    # both, only the values from multiValueHeaders will appear."
    in_multi = {name.lower() for name, _ in multi}
    pairs = [(n, v) for n, v in single if n.lower() not in in_multi]
    pairs.extend((name, value) for name, values in multi for value in values)
    body = _body(result.get("body"), result.get("isBase64Encoded"))
    if kind == "rest" and not any(n.lower() == "content-type" for n, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    return status, pairs, body


def _v2(payload: bytes, result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    if not isinstance(result, dict) or "statusCode" not in result:
        body = result.encode("utf-8") if isinstance(result, str) else payload
        return 200, [("content-type", "application/json")], body
    status = _status(result["statusCode"])
    pairs = _headers(result.get("headers"))
    cookies = result.get("cookies")
    if cookies is not None:
        if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
            raise _Invalid
        pairs.extend(("set-cookie", cookie) for cookie in cookies)
    return status, pairs, _body(result.get("body"), result.get("isBase64Encoded"))


def map_function_response(
    payload: bytes,
    *,
    kind: ApiKind,
    payload_format: PayloadFormat,
    request_id: str,
    extended_id: str = "",
) -> HttpResponse:
    """The response for a successful invocation's ``payload`` (JSON bytes).

    Never raises: an unusable result becomes the API's integration error response.
    """
    try:
        result = orjson.loads(payload)
        if payload_format == "2.0" and kind == "http":
            status, pairs, body = _v2(payload, result)
        else:
            status, pairs, body = _v1(result, kind)
        headers = _encode(pairs)
    except (orjson.JSONDecodeError, _Invalid):
        return error_response(Fault.INTEGRATION_ERROR, kind, request_id, extended_id)
    headers.extend(gateway_headers(kind, request_id, extended_id))
    return HttpResponse(status, tuple(headers), body if status_has_body(status) else b"")
