"""The data port: a thin ASGI 3 adapter around the pure gateway functions.

It turns a scope and body into an :class:`HttpRequest`, resolves the route, builds
the event, calls the :class:`Invoker`, maps the result and sends it. Every failure
of a function, or of the invoker, costs that one request an AWS-shaped error
response; the app itself keeps serving.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from overcast.asgi import Receive, Scope, Send, serve_lifespan, status_has_body
from overcast.gateway.api_keys import ApiKeyStore
from overcast.gateway.authorizers import Authorizers
from overcast.gateway.client_limit import ClientLimit, ClientLimiter
from overcast.gateway.cors import (
    apply_http_cors,
    http_preflight,
    is_preflight,
    rest_options_response,
)
from overcast.gateway.error_responses import Fault, error_response
from overcast.gateway.events import build_event, dump_event, extended_request_id
from overcast.gateway.jwks_cache import JwksCache
from overcast.gateway.messages import HttpRequest, HttpResponse
from overcast.gateway.recording import UNMATCHED, RouteRecorder
from overcast.gateway.responses import map_function_response
from overcast.gateway.route_limits import RouteLimits, UsageLedger, needs_limits
from overcast.gateway.route_table import Route, RouteMatch, RouteMiss, RouteTable
from overcast.ids import request_id as new_request_id
from overcast.invoke import (
    MAX_SYNC_PAYLOAD_BYTES,
    InvokeError,
    Invoker,
    InvokeRequest,
    InvokeResult,
    RequestTooLargeError,
    SpendCapReachedError,
    ThrottledError,
)
from overcast.template.model import ApiKind, AppModel

#: API Gateway's request payload quota (both API types), checked while streaming.
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
MAX_REQUEST_BYTES: Final = 10 * 1024 * 1024

#: Integration timeouts: 29 s for REST APIs, 30 s for HTTP APIs (TimeoutInMillis may lower it).
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
REST_INTEGRATION_TIMEOUT_S: Final = 29.0
HTTP_INTEGRATION_TIMEOUT_S: Final = 30.0

_log = logging.getLogger(__name__)


_PROTOCOLS: Final = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0", "2": "HTTP/2"}


class _TooLarge:
    pass


class _Overtime(Exception):
    """Private control flow: the integration timeout passed before the invocation ended."""


def _expire(waiter: asyncio.Future[InvokeResult]) -> None:
    if not waiter.done():
        waiter.set_exception(_Overtime())


_TOO_LARGE: Final = _TooLarge()


def integration_timeout_s(route: Route) -> float:
    """The integration timeout that caps ``route``'s function."""
    if route.api.kind == "rest":
        return REST_INTEGRATION_TIMEOUT_S
    if route.spec.timeout_ms is not None:
        return min(route.spec.timeout_ms / 1000.0, HTTP_INTEGRATION_TIMEOUT_S)
    return HTTP_INTEGRATION_TIMEOUT_S


class GatewayApp:
    """ASGI app serving every API of ``model`` from the root of one port."""

    def __init__(
        self,
        model: AppModel,
        invoker: Invoker,
        *,
        clock: Callable[[], float] = time.time,
        id_factory: Callable[[], str] = new_request_id,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        jwks: JwksCache | None = None,
        recorder: RouteRecorder | None = None,
        api_keys: ApiKeyStore | None = None,
        usage: UsageLedger | None = None,
        client_limit: ClientLimit | None = None,
    ) -> None:
        """Serve ``model``'s APIs through ``invoker``.

        ``api_keys`` answers REST routes with ``ApiKeyRequired`` (none: every such
        request is refused 403); ``usage`` keeps per-key throttle and quota state
        (pass one that outlives this app to keep quotas across deployments);
        ``client_limit`` adds a token bucket per client address (AWS WAF's
        rate-based rule, not an API Gateway feature).
        """
        self._model = model
        #: told of every answered request (per-route metrics); None: nobody
        self.recorder = recorder
        self._invoker = invoker
        self._clock = clock
        self._id_factory = id_factory
        self._max_request_bytes = max_request_bytes
        self.route_table = RouteTable.build(model.routes, model.apis, model.functions)
        # Invocations that outlived their integration timeout: the runtime owns
        # their lifetime, the app only waits for them at shutdown.
        self._overtime: set[asyncio.Task[InvokeResult | None]] = set()
        # An invoker whose invocations survive a cancelled wait (the runtime) is
        # awaited directly under a timeout; any other runs in a task of its own.
        self._cancel_safe = getattr(invoker, "cancel_safe", False) is True
        # Only apps with a guarded route get authorizers (and their JWKS client).
        self.authorizers: Authorizers | None = None
        if any(route.spec.authorizer is not None for route in self.route_table.routes):
            self.authorizers = Authorizers(model, self._call, jwks=jwks, clock=clock)
        # Decided once: an app without throttles, API keys or a client limit pays
        # one ``is None`` test per request for all of it.
        self.limits: RouteLimits | None = None
        if needs_limits(self.route_table.routes):
            self.limits = RouteLimits(
                self.route_table.routes, clock(), api_keys=api_keys, ledger=usage
            )
        self.client_limiter = ClientLimiter(client_limit) if client_limit is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await serve_lifespan(receive, send, self.drain)

    async def drain(self) -> None:
        """Wait for invocations that outlived their integration timeout; close the JWKS client."""
        if self._overtime:
            await asyncio.wait(set(self._overtime))
        if self.authorizers is not None:
            await self.authorizers.aclose()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = self._id_factory()
        method: str = scope["method"]
        raw = scope.get("raw_path")
        raw_path = raw.decode("latin-1") if raw else scope["path"]
        headers = tuple([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]])
        client = scope.get("client")
        host = ""
        for name, value in headers:
            if name == "host":
                host = value
                break
        if not host and scope.get("server"):
            server_host, server_port = scope["server"]
            host = f"{server_host}:{server_port}"
        version = scope.get("http_version", "1.1")
        request = HttpRequest(
            method=method,
            raw_path=raw_path,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            source_ip=client[0] if client else "127.0.0.1",
            host=host or "localhost",
            protocol=_PROTOCOLS.get(version) or f"HTTP/{version}",
            time_epoch_ms=int(self._clock() * 1000),
            request_id=request_id,
        )
        started = time.perf_counter() if self.recorder is not None else 0.0
        resolved = self.route_table.resolve(method, raw_path)
        try:
            response = await self._respond(request, resolved, receive)
        except Exception:  # noqa: BLE001 - a gateway bug must cost one response, not the server
            _log.exception("gateway failed on %s %s", method, raw_path)
            response = error_response(Fault.INVOKE_FAILED, self.route_table.miss_kind, request_id)
        if response is None:
            return  # the client went away while sending its body
        recorder = self.recorder
        if recorder is not None:
            if isinstance(resolved, RouteMatch):
                api, route = resolved.route.api.logical_id, resolved.route.route_key
            else:
                api, route = "", UNMATCHED
            recorder.record_request(
                api, route, response.status, (time.perf_counter() - started) * 1000.0
            )
        framing = list(response.headers)
        has_body = status_has_body(response.status)
        if has_body:
            framing.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": framing})
        await send(
            {
                "type": "http.response.body",
                "body": response.body if has_body and method != "HEAD" else b"",
            }
        )

    async def _respond(
        self, request: HttpRequest, resolved: RouteMatch | RouteMiss, receive: Receive
    ) -> HttpResponse | None:
        clients = self.client_limiter
        if clients is not None and not clients.take(request.source_ip, self._clock()):
            # In front of everything, as AWS WAF sits in front of API Gateway.
            kind = resolved.route.api.kind if isinstance(resolved, RouteMatch) else resolved.kind
            return error_response(Fault.THROTTLED, kind, request.request_id)
        if request.method == "OPTIONS":
            answer = self._options(request)
            if answer is not None:
                return answer
        if not isinstance(resolved, RouteMatch):
            return error_response(Fault.NO_ROUTE, resolved.kind, request.request_id)
        api = resolved.route.api
        ext_id = extended_request_id(request.request_id) if api.kind == "rest" else ""
        limits = self.limits
        if limits is not None:
            # Before the authorizer and the body: a refused request costs no invocation.
            fault = limits.check(resolved.route, request, self._clock())
            if fault is not None:
                refused = error_response(fault, api.kind, request.request_id, ext_id)
                if api.kind == "http" and api.cors is not None:
                    return apply_http_cors(refused, api.cors, request.header("origin"))
                return refused
        authorizer: dict[str, Any] | None = None
        if resolved.route.spec.authorizer is not None and self.authorizers is not None:
            # Before the body is read: an unauthorised client never uploads it.
            granted = await self.authorizers.authorize(request, resolved, ext_id)
            if isinstance(granted, HttpResponse):
                if api.kind == "http" and api.cors is not None:
                    return apply_http_cors(granted, api.cors, request.header("origin"))
                return granted
            authorizer = granted
        body = await self._read_body(request, receive)
        if body is None:
            return None
        if isinstance(body, _TooLarge):
            return error_response(Fault.REQUEST_TOO_LARGE, api.kind, request.request_id, ext_id)
        if body:
            request = dataclasses.replace(request, body=body)
        response = await self._invoke(request, resolved, ext_id, authorizer)
        if api.kind == "http" and api.cors is not None:
            response = apply_http_cors(response, api.cors, request.header("origin"))
        return response

    def _options(self, request: HttpRequest) -> HttpResponse | None:
        """The gateway's own answer to OPTIONS when the API has CORS, else None."""
        routes = self.route_table.routes_at(request.raw_path)
        if routes:
            api = next(iter(routes.values())).api
        else:
            match = self.route_table.match("OPTIONS", request.raw_path)
            if match is None:
                return None
            api = match.route.api
        if api.cors is None:
            return None
        if api.kind == "http":
            return http_preflight(api.cors, request) if is_preflight(request) else None
        if "OPTIONS" in routes:
            return None  # the template defines its own OPTIONS method on this path
        return rest_options_response(
            api.cors, routes.keys(), request.request_id, extended_request_id(request.request_id)
        )

    async def _read_body(self, request: HttpRequest, receive: Receive) -> bytes | _TooLarge | None:
        declared = request.header("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self._max_request_bytes:
            return _TOO_LARGE
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._max_request_bytes:
                return _TOO_LARGE
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _invoke(
        self,
        request: HttpRequest,
        match: RouteMatch,
        ext_id: str,
        authorizer: dict[str, Any] | None = None,
    ) -> HttpResponse:
        route = match.route
        kind: ApiKind = route.api.kind
        request_id = request.request_id
        binary_types = route.api.binary_media_types
        event = build_event(
            request, match, account_id=self._model.account_id, binary_media_types=binary_types
        )
        if authorizer is not None:
            event["requestContext"]["authorizer"] = authorizer
        payload = dump_event(event)
        if len(payload) > MAX_SYNC_PAYLOAD_BYTES:
            return error_response(Fault.REQUEST_TOO_LARGE, kind, request_id, ext_id)
        cap = integration_timeout_s(route)
        invocation = InvokeRequest(
            function_name=route.function_name, payload=payload, timeout_cap_s=cap, api_kind=kind
        )
        try:
            result = await self._call(invocation, cap)
        except _Overtime:
            return error_response(Fault.INTEGRATION_TIMEOUT, kind, request_id, ext_id)
        except ThrottledError:
            return error_response(Fault.LAMBDA_THROTTLED, kind, request_id, ext_id)
        except SpendCapReachedError:
            return error_response(Fault.SPEND_CAPPED, kind, request_id, ext_id)
        except RequestTooLargeError:
            return error_response(Fault.REQUEST_TOO_LARGE, kind, request_id, ext_id)
        except InvokeError as exc:
            _log.warning("invoking %s failed: %s", route.function_name, exc)
            return error_response(Fault.INVOKE_FAILED, kind, request_id, ext_id)
        except Exception:  # noqa: BLE001 - an invoker bug costs one response, not the gateway
            _log.exception("invoker raised for %s", route.function_name)
            return error_response(Fault.INVOKE_FAILED, kind, request_id, ext_id)
        if result.function_error is not None:
            function = self._model.functions.get(route.spec.function)
            if result.timed_out and (function is None or function.timeout_s > cap):
                return error_response(Fault.INTEGRATION_TIMEOUT, kind, request_id, ext_id)
            return error_response(Fault.INTEGRATION_ERROR, kind, request_id, ext_id)
        return map_function_response(
            result.payload,
            kind=kind,
            payload_format=route.spec.payload_format,
            request_id=request_id,
            extended_id=ext_id,
        )

    async def _call(self, invocation: InvokeRequest, cap: float) -> InvokeResult:
        """The invoker's result, or :class:`_Overtime` once ``cap`` seconds have passed.

        An invocation that outlives the cap keeps running. A ``cancel_safe`` invoker
        (see :class:`overcast.invoke.Invoker`) owns such invocations itself, so it is
        awaited directly: no task, no extra trip through the event loop. Any other
        invoker runs in a task of ours, as ``wait_for(shield(task), cap)`` would run
        it, and invocations past the cap are tracked for :meth:`drain`.
        """
        if self._cancel_safe:
            timeout = asyncio.timeout(cap)
            try:
                async with timeout:
                    return await self._invoker.invoke(invocation)
            except TimeoutError:
                if timeout.expired():
                    raise _Overtime from None
                raise
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[InvokeResult] = loop.create_future()
        task = loop.create_task(self._deliver(invocation, waiter))
        timer = loop.call_later(cap, _expire, waiter)
        try:
            return await waiter
        except _Overtime:
            if task.done():
                # It ended in the same loop iteration as the cap: its outcome stands.
                result = task.result()
                if result is not None:
                    return result
            self._overtime.add(task)
            task.add_done_callback(self._forget)
            raise
        finally:
            timer.cancel()

    async def _deliver(
        self, invocation: InvokeRequest, waiter: asyncio.Future[InvokeResult]
    ) -> InvokeResult | None:
        """Run one invocation and pass its outcome to ``waiter`` from inside the task.

        Setting the waiter here rather than from the task's done callback wakes the
        request one event-loop iteration sooner.
        """
        try:
            result = await self._invoker.invoke(invocation)
        except asyncio.CancelledError:
            if not waiter.done():
                waiter.cancel()
            raise
        except Exception as exc:
            if not waiter.done():
                waiter.set_exception(exc)
                return None
            if waiter.cancelled():
                return None  # the request itself was cancelled: nobody waits for this
            raise  # past the cap: the task's own outcome, which _forget reports
        if not waiter.done():
            waiter.set_result(result)
        return result

    def _forget(self, task: asyncio.Task[InvokeResult | None]) -> None:
        self._overtime.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.debug("overtime invocation ended with %r", task.exception())
