"""API Gateway's answers when an authorizer refuses a request or fails; pure data.

REST API gateway responses (status, default body, ``x-amzn-ErrorType``):
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
UNAUTHORIZED 401, ACCESS_DENIED 403, AUTHORIZER_CONFIGURATION_ERROR and
AUTHORIZER_FAILURE 500. The two 403 messages of a Lambda authorizer's policy:
https://repost.aws/knowledge-center/api-gateway-403-error-lambda-authorizer
and the 401 when identity sources are missing:
https://repost.aws/knowledge-center/api-gateway-401-error-lambda-authorizer

HTTP APIs: 401 ``{"message":"Unauthorized"}`` with a ``www-authenticate`` header for
JWT authorizers (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-jwt.html),
403 ``{"message":"Forbidden"}`` when a route's scopes or a Lambda authorizer say no,
500 ``{"message":"Internal Server Error"}`` when the authorizer fails
(https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
"""

from __future__ import annotations

import enum

from overcast.gateway.error_responses import JSON, gateway_headers
from overcast.gateway.messages import HttpResponse
from overcast.template.model import ApiKind

__all__ = ["Refusal", "refusal_response"]


class Refusal(enum.Enum):
    """Why an authorizer stops a request."""

    UNAUTHORIZED = "unauthorized"  # no or invalid credentials: 401
    EXPLICIT_DENY = "explicit_deny"  # the policy denies the method: 403
    NOT_ALLOWED = "not_allowed"  # no statement allows the method: 403
    FORBIDDEN = "forbidden"  # HTTP API: missing scope, isAuthorized false: 403
    AUTHORIZER_ERROR = "authorizer_error"  # the authorizer failed or answered nonsense: 500


_REST: dict[Refusal, tuple[int, bytes, bytes]] = {
    Refusal.UNAUTHORIZED: (401, b'{"message":"Unauthorized"}', b"UnauthorizedException"),
    Refusal.EXPLICIT_DENY: (
        403,
        b'{"message":"User is not authorized to access this resource with an explicit deny"}',
        b"AccessDeniedException",
    ),
    Refusal.NOT_ALLOWED: (
        403,
        b'{"message":"User is not authorized to access this resource"}',
        b"AccessDeniedException",
    ),
    Refusal.FORBIDDEN: (
        403,
        b'{"message":"User is not authorized to access this resource"}',
        b"AccessDeniedException",
    ),
    # AUTHORIZER_CONFIGURATION_ERROR's default template renders a null message.
    Refusal.AUTHORIZER_ERROR: (500, b'{"message": null}', b"AuthorizerConfigurationException"),
}
_HTTP: dict[Refusal, tuple[int, bytes]] = {
    Refusal.UNAUTHORIZED: (401, b'{"message":"Unauthorized"}'),
    Refusal.EXPLICIT_DENY: (403, b'{"message":"Forbidden"}'),
    Refusal.NOT_ALLOWED: (403, b'{"message":"Forbidden"}'),
    Refusal.FORBIDDEN: (403, b'{"message":"Forbidden"}'),
    Refusal.AUTHORIZER_ERROR: (500, b'{"message":"Internal Server Error"}'),
}


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def refusal_response(
    refusal: Refusal,
    kind: ApiKind,
    request_id: str,
    extended_id: str = "",
    *,
    www_authenticate: str | None = None,
) -> HttpResponse:
    """API Gateway's response for ``refusal`` on an API of type ``kind``."""
    headers = [JSON, *gateway_headers(kind, request_id, extended_id)]
    if kind == "rest":
        status, body, error_type = _REST[refusal]
        headers.append((b"x-amzn-ErrorType", error_type))
    else:
        status, body = _HTTP[refusal]
    if www_authenticate is not None:
        headers.append((b"www-authenticate", www_authenticate.encode("latin-1", "replace")))
    return HttpResponse(status, tuple(headers), body)


def bearer_challenge(description: str, *, scopes: tuple[str, ...] = (), error: str = "") -> str:
    """A ``www-authenticate`` value as HTTP API JWT authorizers send it.

    AWS's documented example: ``Bearer scope="" error="invalid_token"
    error_description="the token does not have a valid audience"``.
    """
    scope = " ".join(scopes)
    code = error or ("insufficient_scope" if scopes and "scope" in description else "invalid_token")
    return (
        f'Bearer scope="{_quoted(scope)}" error="{code}" error_description="{_quoted(description)}"'
    )
