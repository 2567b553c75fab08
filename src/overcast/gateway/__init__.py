"""API Gateway semantics: routes, Lambda proxy events, responses, CORS and errors.

Owns REST APIs (payload 1.0) and HTTP APIs (payload 1.0 and 2.0) as AWS defines
them: route matching, event building, response mapping, CORS and API Gateway's
own error responses — all pure functions — plus :class:`GatewayApp`, a thin ASGI
adapter for the data port. It knows no processes: functions are called through
:class:`overcast.invoke.Invoker`. Authorizers (JWT with the issuer's JWKS, Lambda
with its result cache) run between route match and invocation, only on routes
that have one. Each answered request is reported to an optional
:class:`RouteRecorder` (per-route metrics), through a protocol, not an import.
Throttling runs before authorizers: per-route token buckets (REST MethodSettings,
HTTP RouteSettings), REST API keys with usage plan throttles and quotas (keys come
from an :class:`ApiKeyStore`), and an optional per-client-address limit
(:class:`ClientLimit`, AWS WAF's rate-based rule in spirit); apps with none of it
pay nothing for it.

May import: ``overcast.asgi``, ``overcast.errors``, ``overcast.ids``, ``overcast.invoke``,
``overcast.template.model``, orjson, PyJWT (with cryptography), httpx (JWKS fetches
only) and the standard library.
"""

from overcast.gateway.api_keys import ApiKey, ApiKeyStore, InMemoryApiKeyStore, parse_api_key
from overcast.gateway.asgi import (
    HTTP_INTEGRATION_TIMEOUT_S,
    MAX_REQUEST_BYTES,
    REST_INTEGRATION_TIMEOUT_S,
    GatewayApp,
    integration_timeout_s,
)
from overcast.gateway.auth_responses import Refusal, refusal_response
from overcast.gateway.authorizers import Authorizers
from overcast.gateway.client_limit import ClientLimit, ClientLimiter
from overcast.gateway.cors import (
    apply_http_cors,
    http_preflight,
    is_preflight,
    rest_options_response,
)
from overcast.gateway.error_responses import Fault, error_response, gateway_headers
from overcast.gateway.errors import (
    GatewayError,
    InvalidApiKeyOptionError,
    InvalidRouteError,
    RouteConflictError,
)
from overcast.gateway.events import (
    Event,
    build_event,
    build_http_event,
    build_http_v1_event,
    build_rest_event,
    dump_event,
    request_time,
)
from overcast.gateway.jwks_cache import JwksCache, JwksUnavailableError
from overcast.gateway.jwt_authorizer import JwtRejectedError, JwtResult, validate_jwt
from overcast.gateway.lambda_authorizer import (
    AuthorizerAnswer,
    ResultCache,
    build_authorizer_event,
    evaluate_policy,
)
from overcast.gateway.messages import HttpRequest, HttpResponse
from overcast.gateway.quota import QuotaCounter, period_bounds
from overcast.gateway.recording import UNMATCHED, RouteRecorder
from overcast.gateway.responses import map_function_response
from overcast.gateway.route_limits import RouteLimits, UsageLedger
from overcast.gateway.route_table import Route, RouteMatch, RouteMiss, RouteTable

__all__ = [
    "HTTP_INTEGRATION_TIMEOUT_S",
    "MAX_REQUEST_BYTES",
    "REST_INTEGRATION_TIMEOUT_S",
    "UNMATCHED",
    "ApiKey",
    "ApiKeyStore",
    "AuthorizerAnswer",
    "Authorizers",
    "ClientLimit",
    "ClientLimiter",
    "Event",
    "Fault",
    "GatewayApp",
    "GatewayError",
    "HttpRequest",
    "HttpResponse",
    "InMemoryApiKeyStore",
    "InvalidApiKeyOptionError",
    "InvalidRouteError",
    "JwksCache",
    "JwksUnavailableError",
    "JwtRejectedError",
    "JwtResult",
    "QuotaCounter",
    "Refusal",
    "ResultCache",
    "Route",
    "RouteConflictError",
    "RouteLimits",
    "RouteMatch",
    "RouteMiss",
    "RouteRecorder",
    "RouteTable",
    "UsageLedger",
    "apply_http_cors",
    "build_authorizer_event",
    "build_event",
    "build_http_event",
    "build_http_v1_event",
    "build_rest_event",
    "dump_event",
    "error_response",
    "evaluate_policy",
    "gateway_headers",
    "http_preflight",
    "integration_timeout_s",
    "is_preflight",
    "map_function_response",
    "parse_api_key",
    "period_bounds",
    "refusal_response",
    "request_time",
    "rest_options_response",
    "validate_jwt",
]
