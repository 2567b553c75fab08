"""CORS as API Gateway applies it, from an API's :class:`CorsConfig`; pure.

HTTP APIs (``CorsConfiguration``): "If you configure CORS for an API, API Gateway
automatically sends a response to preflight OPTIONS requests, even if there isn't
an OPTIONS route configured for your API. For a CORS request, API Gateway adds
the configured CORS headers to the response from an integration", and CORS
headers the integration returns itself are ignored.
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html

REST APIs (SAM ``Cors``): SAM adds an ``OPTIONS`` method with a MOCK integration
to every path of the API that answers 200 with the configured headers; actual
responses get no CORS headers unless the function sets them.
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-corsconfiguration.html
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from overcast.gateway.error_responses import JSON, gateway_headers
from overcast.gateway.messages import HttpRequest, HttpResponse
from overcast.template.model import CorsConfig

# What SAM lists for a path whose method is ANY.
_ANY_METHODS: Final = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def is_preflight(request: HttpRequest) -> bool:
    """An ``OPTIONS`` request carrying ``Origin`` and ``Access-Control-Request-Method``."""
    return (
        request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


def _allowed_origin(cors: CorsConfig, origin: str | None) -> str | None:
    """The ``Access-Control-Allow-Origin`` value for ``origin``, or None if not allowed."""
    if origin is None:
        return None
    if "*" in cors.allow_origins:
        return origin if cors.allow_credentials else "*"
    lowered = origin.lower()
    for allowed in cors.allow_origins:
        if allowed.lower() == lowered:
            return origin
    return None


def _method_allowed(cors: CorsConfig, method: str) -> bool:
    return "*" in cors.allow_methods or method.upper() in (m.upper() for m in cors.allow_methods)


def http_preflight(cors: CorsConfig, request: HttpRequest) -> HttpResponse:
    """An HTTP API's own answer to a preflight: 204, CORS headers if origin and method pass."""
    headers: list[tuple[bytes, bytes]] = []
    allow_origin = _allowed_origin(cors, request.header("origin"))
    requested = request.header("access-control-request-method") or ""
    if allow_origin is not None and _method_allowed(cors, requested):
        headers.append((b"access-control-allow-origin", allow_origin.encode()))
        if cors.allow_credentials:
            headers.append((b"access-control-allow-credentials", b"true"))
        headers.append((b"access-control-allow-methods", ",".join(cors.allow_methods).encode()))
        if cors.allow_headers:
            headers.append((b"access-control-allow-headers", ",".join(cors.allow_headers).encode()))
        if cors.max_age is not None:
            headers.append((b"access-control-max-age", str(cors.max_age).encode()))
    headers.extend(gateway_headers("http", request.request_id))
    return HttpResponse(204, tuple(headers))


def apply_http_cors(response: HttpResponse, cors: CorsConfig, origin: str | None) -> HttpResponse:
    """``response`` with the HTTP API's CORS headers in place of the integration's own."""
    allow_origin = _allowed_origin(cors, origin)
    if allow_origin is None:
        return response
    headers = [
        (name, value)
        for name, value in response.headers
        if not name.lower().startswith(b"access-control-")
    ]
    headers.append((b"access-control-allow-origin", allow_origin.encode()))
    if cors.allow_credentials:
        headers.append((b"access-control-allow-credentials", b"true"))
    if cors.expose_headers:
        headers.append((b"access-control-expose-headers", ",".join(cors.expose_headers).encode()))
    return HttpResponse(response.status, tuple(headers), response.body)


def rest_options_response(
    cors: CorsConfig, path_methods: Iterable[str], request_id: str, extended_id: str = ""
) -> HttpResponse:
    """SAM's OPTIONS mock for a REST path: 200, empty body, the configured headers.

    Without ``AllowMethods`` SAM lists the path's own methods plus OPTIONS.
    """
    if cors.allow_methods:
        methods = ",".join(cors.allow_methods)
    else:
        found: set[str] = {"OPTIONS"}
        for method in path_methods:
            found.update(_ANY_METHODS if method == "ANY" else (method,))
        methods = ",".join(sorted(found))
    headers: list[tuple[bytes, bytes]] = [JSON]
    if cors.allow_origins:
        headers.append((b"Access-Control-Allow-Origin", ",".join(cors.allow_origins).encode()))
    headers.append((b"Access-Control-Allow-Methods", methods.encode()))
    if cors.allow_headers:
        headers.append((b"Access-Control-Allow-Headers", ",".join(cors.allow_headers).encode()))
    if cors.max_age is not None:
        headers.append((b"Access-Control-Max-Age", str(cors.max_age).encode()))
    if cors.allow_credentials:
        headers.append((b"Access-Control-Allow-Credentials", b"true"))
    headers.extend(gateway_headers("rest", request_id, extended_id))
    return HttpResponse(200, tuple(headers))
