"""Running a route's authorizer: JWT or Lambda, then what the event's function sees.

:class:`Authorizers` is built once per app. For a guarded route it either grants
the request — returning the value API Gateway puts in
``requestContext.authorizer`` — or returns the AWS-shaped refusal. Routes without
an authorizer never reach it (the ASGI adapter checks ``route.spec.authorizer``).

What the function sees (``requestContext.authorizer``):

* JWT, payload 2.0: ``{"jwt": {"claims": {...}, "scopes": [...] | null}}``;
  payload 1.0: ``{"claims": {...}, "scopes": ...}``
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).
* Lambda, HTTP API: ``{"lambda": context}``
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
* Lambda, REST: ``{"principalId": ..., <context keys as strings>, "integrationLatency": ms}``
  (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any, Final

import orjson

from overcast.gateway.auth_responses import Refusal, bearer_challenge, refusal_response
from overcast.gateway.events import dump_event
from overcast.gateway.jwks_cache import JwksCache, JwksUnavailableError
from overcast.gateway.jwt_authorizer import (
    JwtRejectedError,
    bearer_token,
    claims_for_event,
    token_kid,
    validate_jwt,
)
from overcast.gateway.lambda_authorizer import (
    UNAUTHORIZED_MESSAGE,
    AuthorizerAnswer,
    AuthorizerFailedError,
    ResultCache,
    build_authorizer_event,
    evaluate_policy,
    identity_values,
    method_arn,
    parse_answer,
)
from overcast.gateway.messages import HttpRequest, HttpResponse
from overcast.gateway.route_table import RouteMatch
from overcast.invoke import InvokeRequest, InvokeResult
from overcast.template.model import AppModel, JwtAuthorizerSpec, LambdaAuthorizerSpec

__all__ = ["Authorizers", "CallFunction"]

_log = logging.getLogger(__name__)

#: How the gateway runs a function with a deadline (GatewayApp._call).
CallFunction = Callable[[InvokeRequest, float], Awaitable[InvokeResult]]

# Lambda authorizers must answer within the integration timeouts (REST 29 s;
# HTTP API authorizers 10 s: https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
_REST_AUTHORIZER_TIMEOUT_S: Final = 29.0
_HTTP_AUTHORIZER_TIMEOUT_S: Final = 10.0


def _rest_context_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Authorizers:
    """The authorizers of every API of an app, with their caches."""

    def __init__(
        self,
        model: AppModel,
        call: CallFunction,
        *,
        jwks: JwksCache | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._model = model
        self._call = call
        self._clock = clock
        self._monotonic = monotonic
        self.jwks = jwks if jwks is not None else JwksCache()
        self.results = ResultCache()

    async def aclose(self) -> None:
        """Release the JWKS client."""
        await self.jwks.aclose()

    async def authorize(
        self, request: HttpRequest, match: RouteMatch, extended_id: str = ""
    ) -> dict[str, Any] | HttpResponse:
        """``requestContext.authorizer`` for a granted request, or the refusal to send."""
        route = match.route
        name = route.spec.authorizer
        spec = route.api.authorizers.get(name) if name is not None else None
        if spec is None:
            # The loader refuses such routes; a hand-built model may not.
            _log.error("route %s names unknown authorizer %r", route.route_key, name)
            return refusal_response(
                Refusal.AUTHORIZER_ERROR, route.api.kind, request.request_id, extended_id
            )
        if isinstance(spec, JwtAuthorizerSpec):
            return await self._jwt(spec, request, match)
        return await self._lambda(spec, request, match, extended_id)

    # -- JWT -----------------------------------------------------------------------

    async def _jwt(
        self, spec: JwtAuthorizerSpec, request: HttpRequest, match: RouteMatch
    ) -> dict[str, Any] | HttpResponse:
        route = match.route
        scopes = route.spec.authorization_scopes

        def refuse(error: JwtRejectedError) -> HttpResponse:
            refusal = Refusal.FORBIDDEN if error.status == 403 else Refusal.UNAUTHORIZED
            challenge = bearer_challenge(
                error.description,
                scopes=scopes,
                error="insufficient_scope" if error.status == 403 else "invalid_token",
            )
            return refusal_response(
                refusal, route.api.kind, request.request_id, www_authenticate=challenge
            )

        found = identity_values((spec.identity_source,), request, match)
        token = bearer_token(found[0]) if found else None
        if token is None:
            # RFC 6750 section 3.1: no error code when the request carried no credentials.
            return refusal_response(
                Refusal.UNAUTHORIZED, route.api.kind, request.request_id, www_authenticate="Bearer"
            )
        try:
            kid = token_kid(token)
            try:
                jwk = await self.jwks.key(spec.issuer, kid)
            except JwksUnavailableError as exc:
                raise JwtRejectedError("unable to fetch the issuer's public keys") from exc
            if jwk is None:
                raise JwtRejectedError("the token's kid does not match any key of the issuer")
            result = validate_jwt(
                token,
                jwk,
                issuer=spec.issuer,
                audiences=spec.audiences,
                required_scopes=scopes,
                now=self._clock(),
            )
        except JwtRejectedError as error:
            return refuse(error)
        jwt_context = {
            "claims": claims_for_event(result.claims),
            "scopes": list(result.scopes) if result.scopes is not None else None,
        }
        if route.spec.payload_format == "1.0":
            return jwt_context
        return {"jwt": jwt_context}

    # -- Lambda --------------------------------------------------------------------

    async def _lambda(
        self,
        spec: LambdaAuthorizerSpec,
        request: HttpRequest,
        match: RouteMatch,
        extended_id: str,
    ) -> dict[str, Any] | HttpResponse:
        route = match.route
        api = route.api
        kind = api.kind

        def refuse(refusal: Refusal) -> HttpResponse:
            return refusal_response(refusal, kind, request.request_id, extended_id)

        identity = identity_values(spec.identity_sources, request, match)
        if identity is None:
            return refuse(Refusal.UNAUTHORIZED)
        if spec.validation_expression is not None and not _validates(
            spec.validation_expression, identity[0]
        ):
            return refuse(Refusal.UNAUTHORIZED)
        arn = method_arn(
            self._model.region,
            self._model.account_id,
            api.api_id,
            stage=api.stage_name,
            method=request.method,
            path=request.raw_path,
        )
        started = self._monotonic()
        # Without identity sources there is nothing to key a cache on.
        cache_key = (api.logical_id, spec.name, *identity) if spec.identity_sources else None
        answer = self.results.get(cache_key, started) if cache_key is not None else None
        latency_ms = 0
        if answer is None:
            event = build_authorizer_event(
                spec, request, match, arn=arn, identity=identity, account_id=self._model.account_id
            )
            outcome = await self._invoke(spec, event)
            if isinstance(outcome, Refusal):
                return refuse(outcome)
            answer = outcome
            finished = self._monotonic()
            latency_ms = int((finished - started) * 1000)
            if cache_key is not None:
                self.results.put(cache_key, answer, spec.ttl_s, finished)

        if answer.simple:
            if not answer.authorized:
                return refuse(Refusal.FORBIDDEN)
        else:
            verdict = evaluate_policy(answer.statements, arn)
            if verdict == "deny":
                return refuse(Refusal.EXPLICIT_DENY)
            if verdict == "none":
                return refuse(Refusal.NOT_ALLOWED)
        if kind == "http":
            return {"lambda": dict(answer.context)}
        context: dict[str, Any] = {"principalId": answer.principal_id}
        context.update((k, _rest_context_value(v)) for k, v in answer.context.items())
        context["integrationLatency"] = latency_ms
        return context

    async def _invoke(
        self, spec: LambdaAuthorizerSpec, event: dict[str, Any]
    ) -> AuthorizerAnswer | Refusal:
        cap = _REST_AUTHORIZER_TIMEOUT_S if spec.api_kind == "rest" else _HTTP_AUTHORIZER_TIMEOUT_S
        invocation = InvokeRequest(
            function_name=spec.function, payload=dump_event(event), timeout_cap_s=cap
        )
        try:
            result = await self._call(invocation, cap)
        except Exception as exc:  # noqa: BLE001 - any failure to run the authorizer is its 500
            _log.warning("authorizer %s (%s) could not run: %r", spec.name, spec.function, exc)
            return Refusal.AUTHORIZER_ERROR
        if result.function_error is not None:
            if _error_message(result.payload) == UNAUTHORIZED_MESSAGE:
                return Refusal.UNAUTHORIZED
            return Refusal.AUTHORIZER_ERROR
        try:
            return parse_answer(spec, result.payload)
        except AuthorizerFailedError as exc:
            _log.warning("authorizer %s answered badly: %s", spec.name, exc)
            return Refusal.AUTHORIZER_ERROR


def _error_message(payload: bytes) -> str | None:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    message = body.get("errorMessage") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


def _validates(expression: str, token: str) -> bool:
    try:
        return re.fullmatch(expression, token) is not None
    except re.error:
        return False
