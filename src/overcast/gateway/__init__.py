"""API Gateway semantics: routes, Lambda proxy events, responses, CORS and errors.

Owns REST APIs (payload 1.0) and HTTP APIs (payload 1.0 and 2.0) as AWS defines
them: route matching, event building, response mapping, CORS and API Gateway's
own error responses — all pure functions — plus :class:`GatewayApp`, a thin ASGI
adapter for the data port. It knows no processes: functions are called through
:class:`overcast.invoke.Invoker`.

May import: ``overcast.errors``, ``overcast.invoke``, ``overcast.template.model``,
orjson and the standard library.
"""

from overcast.gateway.asgi import (
    HTTP_INTEGRATION_TIMEOUT_S,
    MAX_REQUEST_BYTES,
    REST_INTEGRATION_TIMEOUT_S,
    GatewayApp,
    integration_timeout_s,
)
from overcast.gateway.cors import (
    apply_http_cors,
    http_preflight,
    is_preflight,
    rest_options_response,
)
from overcast.gateway.error_responses import Fault, error_response, gateway_headers
from overcast.gateway.errors import GatewayError, InvalidRouteError, RouteConflictError
from overcast.gateway.events import (
    Event,
    build_event,
    build_http_event,
    build_http_v1_event,
    build_rest_event,
    dump_event,
    request_time,
)
from overcast.gateway.messages import HttpRequest, HttpResponse
from overcast.gateway.responses import map_function_response
from overcast.gateway.route_table import Route, RouteMatch, RouteMiss, RouteTable

__all__ = [
    "HTTP_INTEGRATION_TIMEOUT_S",
    "MAX_REQUEST_BYTES",
    "REST_INTEGRATION_TIMEOUT_S",
    "Event",
    "Fault",
    "GatewayApp",
    "GatewayError",
    "HttpRequest",
    "HttpResponse",
    "InvalidRouteError",
    "Route",
    "RouteConflictError",
    "RouteMatch",
    "RouteMiss",
    "RouteTable",
    "apply_http_cors",
    "build_event",
    "build_http_event",
    "build_http_v1_event",
    "build_rest_event",
    "dump_event",
    "error_response",
    "gateway_headers",
    "http_preflight",
    "integration_timeout_s",
    "is_preflight",
    "map_function_response",
    "request_time",
    "rest_options_response",
]
