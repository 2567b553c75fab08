"""Lambda proxy events, built exactly as API Gateway builds them; pure functions.

* REST APIs send payload format 1.0:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
  ("Input format of a Lambda function for proxy integration").
* HTTP APIs send payload format 2.0, or 1.0 when the integration asks for it:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
  ("Payload format structure"). In 2.0, duplicate headers and query parameters are
  joined with commas, Cookie headers move to ``cookies``, and keys with nothing to
  say are left out rather than set to null.

Served from the root of one port like ``sam local start-api``: a REST event's
``path`` carries no stage while its ``requestContext.path`` does, as on AWS's
execute-api domain. An HTTP API event's ``rawPath`` and ``requestContext.http.path``
carry ``/<stage>`` unless the stage is ``$default``, as on AWS (clients such as
aws-lambda-powertools strip that prefix again).
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson

from overcast.gateway.messages import HttpRequest
from overcast.gateway.route_table import RouteMatch

Event = dict[str, Any]

_MONTHS: Final = [
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
]

# HTTP APIs pass a body through as text only for these media types; everything else,
# including a request with no Content-Type and form posts, arrives base64-encoded.
# AWS documents the mechanism but not the list ("If the content type of the request
# is binary, the body is base64-encoded"); the list was verified against real HTTP
# APIs in https://github.com/ministackorg/ministack/pull/766.
_HTTP_API_TEXT_TYPES: Final = frozenset(
    {"application/json", "application/xml", "application/javascript"}
)


def _format_request_time(epoch_s: int) -> str:
    t = time.gmtime(epoch_s)
    return (
        f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year:04d}:"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"
    )


# The last second formatted and its text: requests arrive many per second, and the
# text only changes once a second.
_last_request_time: tuple[int, str] = (-1, "")


def request_time(epoch_ms: int) -> str:
    """``09/Apr/2015:12:34:56 +0000``: the CLF time API Gateway puts in events."""
    global _last_request_time  # noqa: PLW0603 - a one-entry cache of a pure function
    epoch_s = epoch_ms // 1000
    second, text = _last_request_time
    if second != epoch_s:
        text = _format_request_time(epoch_s)
        _last_request_time = (epoch_s, text)
    return text


def extended_request_id(request_id: str) -> str:
    """A REST ``extendedRequestId`` (``BQGojGqMoAMFyJQ=``-like), stable per request id."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=11).digest()
    return base64.b64encode(digest).decode("ascii")


def resource_id(api_id: str, resource_path: str) -> str:
    """A stable 6-character REST ``resourceId`` for a resource of an API."""
    digest = hashlib.blake2b(f"{api_id} {resource_path}".encode(), digest_size=6).hexdigest()
    return digest[:6]


def _media_type(request: HttpRequest) -> str:
    content_type = request.header("content-type")
    if content_type is None:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def _media_type_matches(media_type: str, patterns: Iterable[str]) -> bool:
    for raw in patterns:
        pattern = raw.lower()
        if pattern in ("*/*", media_type):
            return True
        if pattern.endswith("/*") and media_type.startswith(pattern[:-1]):
            return True
    return False


def _rest_body(
    request: HttpRequest, binary_media_types: tuple[str, ...]
) -> tuple[str | None, bool]:
    """REST: base64 only when the Content-Type is one of the API's BinaryMediaTypes.

    https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings-workflow.html
    """
    if not request.body:
        return None, False
    if binary_media_types and _media_type_matches(_media_type(request), binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    return request.body.decode("utf-8", "replace"), False


def _http_body(request: HttpRequest) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    media_type = _media_type(request)
    if media_type.startswith("text/") or media_type in _HTTP_API_TEXT_TYPES:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(request.body).decode("ascii"), True


def _query(query_string: str) -> list[tuple[str, str]]:
    if not query_string:
        return []
    return parse_qsl(query_string, keep_blank_values=True)


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        multi.setdefault(key, []).append(value)
    return multi


def _stage_variables(match: RouteMatch) -> dict[str, str] | None:
    variables = match.route.api.stage_variables
    return dict(variables) if variables else None


def _domain_prefix(host: str) -> str:
    return host.split(".", 1)[0]


def _identity(request: HttpRequest) -> dict[str, Any]:
    # Field set of the 1.0 sample event; all null without IAM/Cognito auth.
    return {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.source_ip,
        "user": None,
        "userAgent": request.header("user-agent") or "",
        "userArn": None,
    }


def _v1_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    account_id: str,
    body: str | None,
    is_base64: bool,
    http_api: bool,
) -> Event:
    route = match.route
    api = route.api
    path = request.raw_path or "/"
    headers: dict[str, str] = {}
    for name, value in request.headers:
        headers[name] = value  # the last of duplicate headers wins in ``headers``
    pairs = _query(request.query_string)
    stage = api.stage_name
    if http_api:
        context_path = path if stage == "$default" else f"/{stage}{path}"
    else:
        context_path = f"/{stage}{path}"
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api.api_id,
        "domainName": request.host,
        "domainPrefix": _domain_prefix(request.host),
        "extendedRequestId": extended_request_id(request.request_id),
        "httpMethod": request.method,
        "identity": _identity(request),
        "path": context_path,
        "protocol": request.protocol,
        "requestId": request.request_id,
        "requestTime": request_time(request.time_epoch_ms),
        "requestTimeEpoch": request.time_epoch_ms,
        "resourceId": None if http_api else resource_id(api.api_id, route.resource_path),
        "resourcePath": route.resource_path,
        "stage": stage,
    }
    if http_api:
        context["authorizer"] = {"claims": None, "scopes": None}
    event: Event = {}
    if http_api:
        event["version"] = "1.0"
    event.update(
        {
            "resource": route.resource_path,
            "path": path,
            "httpMethod": request.method,
            "headers": headers or None,
            "multiValueHeaders": _multi(request.headers) or None,
            "queryStringParameters": dict(pairs) or None,
            "multiValueQueryStringParameters": _multi(pairs) or None,
            "requestContext": context,
            "pathParameters": dict(match.path_parameters) if match.path_parameters else None,
            "stageVariables": _stage_variables(match),
            "body": body,
            "isBase64Encoded": is_base64,
        }
    )
    return event


def build_rest_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    account_id: str,
    binary_media_types: tuple[str, ...] = (),
) -> Event:
    """The payload 1.0 event a REST API (Lambda proxy) sends for ``request``.

    Empty collections are null, not ``{}``, as in AWS's sample event; ``headers``
    keeps the last value of a repeated header and ``multiValueHeaders`` all of them.
    """
    body, is_base64 = _rest_body(request, binary_media_types)
    return _v1_event(
        request, match, account_id=account_id, body=body, is_base64=is_base64, http_api=False
    )


def build_http_v1_event(request: HttpRequest, match: RouteMatch, *, account_id: str) -> Event:
    """The payload 1.0 event of an HTTP API route (``PayloadFormatVersion: "1.0"``)."""
    body, is_base64 = _http_body(request)
    return _v1_event(
        request, match, account_id=account_id, body=body, is_base64=is_base64, http_api=True
    )


def build_http_event(request: HttpRequest, match: RouteMatch, *, account_id: str) -> Event:
    """The payload 2.0 event an HTTP API sends for ``request``.

    Header names are lower case and repeated headers are comma-joined; the Cookie
    headers become ``cookies`` (one entry per cookie) and leave ``headers``.
    """
    route = match.route
    api = route.api
    path = request.raw_path or "/"
    if api.stage_name != "$default":
        path = f"/{api.stage_name}{path}"
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        if name == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        previous = headers.get(name)
        headers[name] = value if previous is None else f"{previous},{value}"
    event: Event = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": request.query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    pairs = _query(request.query_string)
    if pairs:
        query: dict[str, str] = {}
        for key, value in pairs:
            previous = query.get(key)
            query[key] = value if previous is None else f"{previous},{value}"
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api.api_id,
        "domainName": request.host,
        "domainPrefix": _domain_prefix(request.host),
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request.request_id,
        "routeKey": route.route_key,
        "stage": api.stage_name,
        "time": request_time(request.time_epoch_ms),
        "timeEpoch": request.time_epoch_ms,
    }
    body, is_base64 = _http_body(request)
    if body is not None:
        event["body"] = body
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    event["isBase64Encoded"] = is_base64
    stage_variables = _stage_variables(match)
    if stage_variables:
        event["stageVariables"] = stage_variables
    return event


def build_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    account_id: str,
    binary_media_types: tuple[str, ...] = (),
) -> Event:
    """The event ``match``'s API and payload format call for."""
    route = match.route
    if route.api.kind == "rest":
        return build_rest_event(
            request, match, account_id=account_id, binary_media_types=binary_media_types
        )
    if route.spec.payload_format == "1.0":
        return build_http_v1_event(request, match, account_id=account_id)
    return build_http_event(request, match, account_id=account_id)


def dump_event(event: Event) -> bytes:
    """The event as the JSON bytes a handler will decode."""
    return orjson.dumps(event)
