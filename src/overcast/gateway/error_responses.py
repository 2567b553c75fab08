"""API Gateway's own answers (gateway responses), per API type; pure data.

Each entry cites where AWS documents (or where people observed) the status and body.
Bodies are byte-exact: REST APIs render some messages with a space after the
colon and some without, HTTP APIs never.

REST defaults: https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
HTTP APIs: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from overcast.gateway.messages import HttpResponse
from overcast.template.model import ApiKind

JSON: Final = (b"content-type", b"application/json")


class Fault(enum.Enum):
    """Why the gateway answers instead of the function."""

    NO_ROUTE = "no_route"
    INTEGRATION_ERROR = "integration_error"  # function error or invalid function response
    INTEGRATION_TIMEOUT = "integration_timeout"
    LAMBDA_THROTTLED = "lambda_throttled"
    INVOKE_FAILED = "invoke_failed"  # the function could not be invoked at all
    REQUEST_TOO_LARGE = "request_too_large"
    THROTTLED = "throttled"  # a route, usage plan or client bucket is empty
    QUOTA_EXCEEDED = "quota_exceeded"  # the API key's usage plan quota is spent
    INVALID_API_KEY = "invalid_api_key"  # ApiKeyRequired and no (valid) x-api-key
    SPEND_CAPPED = "spend_capped"  # the function's budget cap is reached (overcast's own)


@dataclass(frozen=True, slots=True)
class _Shape:
    status: int
    body: bytes
    error_type: bytes | None = None


_REST_INTERNAL: Final = _Shape(
    500, b'{"message": "Internal server error"}', b"InternalServerErrorException"
)
_HTTP_INTERNAL: Final = _Shape(500, b'{"message":"Internal Server Error"}')

_SHAPES: Final[dict[tuple[ApiKind, Fault], _Shape]] = {
    # REST answers an unknown resource, or a resource without the method, with the
    # MISSING_AUTHENTICATION_TOKEN gateway response (403), not 404: on AWS the
    # request could have been meant for an IAM-authorised method it cannot see.
    ("rest", Fault.NO_ROUTE): _Shape(
        403, b'{"message":"Missing Authentication Token"}', b"MissingAuthenticationTokenException"
    ),
    # A Lambda proxy integration whose function raised, or returned something that
    # is not a proxy response ("Malformed Lambda proxy response"), is a 502.
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
    ("rest", Fault.INTEGRATION_ERROR): _Shape(
        502, b'{"message": "Internal server error"}', b"InternalServerErrorException"
    ),
    # INTEGRATION_TIMEOUT gateway response: 504 after 29 s.
    # https://repost.aws/knowledge-center/api-gateway-504-errors
    ("rest", Fault.INTEGRATION_TIMEOUT): _Shape(504, b'{"message": "Endpoint request timed out"}'),
    # Lambda's 429 is not passed through a proxy integration; the client sees 500.
    # https://repost.aws/questions/QUfI6bsdd0SOiPeyimzxSkfQ
    ("rest", Fault.LAMBDA_THROTTLED): _REST_INTERNAL,
    ("rest", Fault.INVOKE_FAILED): _REST_INTERNAL,
    # REQUEST_TOO_LARGE gateway response (413) above the 10 MB payload quota.
    ("rest", Fault.REQUEST_TOO_LARGE): _Shape(413, b'{"message":"Request Too Long"}'),
    # "If no routes match ... API Gateway returns {"message":"Not Found"}" (404).
    ("http", Fault.NO_ROUTE): _Shape(404, b'{"message":"Not Found"}'),
    # "My API with a Lambda integration returns {"message":"Internal Server Error"}".
    ("http", Fault.INTEGRATION_ERROR): _HTTP_INTERNAL,
    # An HTTP API gives up after its 30 s integration timeout with 503.
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
    ("http", Fault.INTEGRATION_TIMEOUT): _Shape(503, b'{"message":"Service Unavailable"}'),
    ("http", Fault.LAMBDA_THROTTLED): _HTTP_INTERNAL,
    ("http", Fault.INVOKE_FAILED): _HTTP_INTERNAL,
    ("http", Fault.REQUEST_TOO_LARGE): _Shape(413, b'{"message":"Request Entity Too Large"}'),
    # THROTTLED (429), QUOTA_EXCEEDED (429) and INVALID_API_KEY (403) gateway
    # responses (REST, types page above); their messages, "Too Many Requests" and
    # "Limit Exceeded": https://repost.aws/knowledge-center/api-gateway-429-limit
    # and a missing or unknown x-api-key answered {"message":"Forbidden"}:
    # https://stackoverflow.com/questions/39061041/using-an-api-key-in-amazon-api-gateway
    ("rest", Fault.THROTTLED): _Shape(
        429, b'{"message":"Too Many Requests"}', b"TooManyRequestsException"
    ),
    ("rest", Fault.QUOTA_EXCEEDED): _Shape(
        429, b'{"message":"Limit Exceeded"}', b"LimitExceededException"
    ),
    ("rest", Fault.INVALID_API_KEY): _Shape(403, b'{"message":"Forbidden"}', b"ForbiddenException"),
    # HTTP APIs: 429 with the same message and no error-type header.
    # https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html
    ("http", Fault.THROTTLED): _Shape(429, b'{"message":"Too Many Requests"}'),
    # HTTP APIs have no API keys or usage plans; these two only answer a REST-shaped
    # refusal when a miss (no API kind) is what a limit refused.
    ("http", Fault.QUOTA_EXCEEDED): _Shape(429, b'{"message":"Limit Exceeded"}'),
    ("http", Fault.INVALID_API_KEY): _Shape(403, b'{"message":"Forbidden"}'),
    # Not an AWS response: a budget cap stops spend, which AWS never does. Shaped as
    # the API kind's own 429s are.
    ("rest", Fault.SPEND_CAPPED): _Shape(
        429, b'{"message":"Budget cap reached"}', b"TooManyRequestsException"
    ),
    ("http", Fault.SPEND_CAPPED): _Shape(429, b'{"message":"Budget cap reached"}'),
}


def gateway_headers(
    kind: ApiKind, request_id: str, extended_id: str = ""
) -> list[tuple[bytes, bytes]]:
    """The request-id headers API Gateway puts on every response of an API type.

    REST: ``x-amzn-RequestId`` and ``x-amz-apigw-id`` (the extended request id);
    HTTP APIs: ``apigw-requestid``.
    """
    if kind == "rest":
        headers = [(b"x-amzn-RequestId", request_id.encode())]
        if extended_id:
            headers.append((b"x-amz-apigw-id", extended_id.encode()))
        return headers
    return [(b"apigw-requestid", request_id.encode())]


def error_response(
    fault: Fault, kind: ApiKind, request_id: str, extended_id: str = ""
) -> HttpResponse:
    """API Gateway's answer for ``fault`` on an API of type ``kind``."""
    shape = _SHAPES[(kind, fault)]
    headers = [JSON, *gateway_headers(kind, request_id, extended_id)]
    if kind == "rest" and shape.error_type is not None:
        headers.append((b"x-amzn-ErrorType", shape.error_type))
    return HttpResponse(shape.status, tuple(headers), shape.body)
