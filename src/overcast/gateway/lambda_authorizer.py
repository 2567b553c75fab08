"""Lambda authorizers: the event API Gateway sends, and how it reads the answer; pure.

Input formats:

* REST ``TOKEN`` and ``REQUEST``:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
  (``{"type": "TOKEN", "authorizationToken": ..., "methodArn": ...}``; a REQUEST event
  is the proxy event without its body, plus ``type`` and ``methodArn``).
* HTTP APIs, payload 1.0 and 2.0:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html
  (2.0: ``type``, ``routeArn``, ``identitySource`` as a list, then the 2.0 event
  fields; 1.0: the 1.0 event with ``methodArn``, and ``identitySource`` and
  ``authorizationToken`` as the comma-joined identity values).

Output: an IAM policy (``principalId``, ``policyDocument``, ``context``) for REST and
for HTTP APIs without simple responses, or ``{"isAuthorized": bool, "context": {}}``
for HTTP APIs with ``EnableSimpleResponses``:
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
A policy is evaluated against the request's method ARN: an explicit Deny wins,
else an Allow must match; ``*`` and ``?`` in a Resource are wildcards.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

import orjson

from overcast.gateway.events import (
    Event,
    build_http_event,
    build_http_v1_event,
    build_rest_event,
)
from overcast.gateway.messages import HttpRequest
from overcast.gateway.route_table import RouteMatch
from overcast.template.model import LambdaAuthorizerSpec

__all__ = [
    "AuthorizerAnswer",
    "AuthorizerFailedError",
    "PolicyVerdict",
    "ResultCache",
    "arn_matches",
    "build_authorizer_event",
    "evaluate_policy",
    "identity_values",
    "method_arn",
    "parse_answer",
]

PolicyVerdict = Literal["allow", "deny", "none"]
_ACTIONS: Final = frozenset({"execute-api:Invoke", "execute-api:*", "*"})
#: The errorMessage an authorizer raises to make API Gateway answer 401.
UNAUTHORIZED_MESSAGE: Final = "Unauthorized"


class AuthorizerFailedError(Exception):
    """The authorizer's answer cannot be used (API Gateway's 500)."""


def _partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def method_arn(
    region: str, account_id: str, api_id: str, *, stage: str, method: str, path: str
) -> str:
    """``arn:aws:execute-api:{region}:{account}:{api}/{stage}/{VERB}/{path}``.

    ``path`` is the request path (resources with their values, as in AWS's
    examples), without the stage.
    """
    return (
        f"arn:{_partition(region)}:execute-api:{region}:{account_id}:{api_id}/{stage}/"
        f"{method}/{path.lstrip('/')}"
    )


def _context_value(name: str, request: HttpRequest, match: RouteMatch) -> str | None:
    # The handful of $context variables that make sense as identity sources.
    values = {
        "identity.sourceIp": request.source_ip,
        "httpMethod": request.method,
        "stage": match.route.api.stage_name,
        "apiId": match.route.api.api_id,
        "domainName": request.host,
        "identity.userAgent": request.header("user-agent"),
        "path": request.raw_path,
        "routeKey": match.route.route_key,
    }
    return values.get(name)


def identity_values(
    sources: Sequence[str], request: HttpRequest, match: RouteMatch
) -> list[str] | None:
    """The values of the authorizer's identity sources, or None if one is missing or empty.

    API Gateway answers 401 without invoking the authorizer in that case ("verifying
    all of the identity-related request parameters are present in the request, not
    null, and non-empty"):
    https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html
    """
    values: list[str] = []
    query: dict[str, str] | None = None
    for source in sources:
        value: str | None
        if source.startswith("$request.header."):
            name = source[len("$request.header.") :].lower()
            found = [v for k, v in request.headers if k == name]
            value = ",".join(found) if found else None
        elif source.startswith("$request.querystring."):
            if query is None:
                query = {}
                for key, item in parse_qsl(request.query_string, keep_blank_values=True):
                    query.setdefault(key, item)
            value = query.get(source[len("$request.querystring.") :])
        elif source.startswith("$stageVariables."):
            value = match.route.api.stage_variables.get(source[len("$stageVariables.") :])
        elif source.startswith("$context."):
            value = _context_value(source[len("$context.") :], request, match)
        else:
            value = None
        if not value:
            return None
        values.append(value)
    return values


def _strip_body(event: Event) -> Event:
    event.pop("body", None)
    event.pop("isBase64Encoded", None)
    return event


def build_authorizer_event(
    spec: LambdaAuthorizerSpec,
    request: HttpRequest,
    match: RouteMatch,
    *,
    arn: str,
    identity: Sequence[str],
    account_id: str,
) -> Event:
    """The event ``spec``'s function receives for ``request``."""
    if spec.api_kind == "rest":
        if spec.payload_type == "TOKEN":
            return {"type": "TOKEN", "authorizationToken": identity[0], "methodArn": arn}
        proxy = _strip_body(build_rest_event(request, match, account_id=account_id))
        return {"type": "REQUEST", "methodArn": arn, **proxy}
    if spec.payload_format == "2.0":
        proxy = _strip_body(build_http_event(request, match, account_id=account_id))
        proxy.pop("version", None)
        return {
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": arn,
            "identitySource": list(identity),
            **proxy,
        }
    proxy = _strip_body(build_http_v1_event(request, match, account_id=account_id))
    proxy.pop("version", None)
    joined = ",".join(identity)
    return {
        "version": "1.0",
        "type": "REQUEST",
        "methodArn": arn,
        "identitySource": joined,
        "authorizationToken": joined,
        **proxy,
    }


@dataclass(frozen=True, slots=True)
class AuthorizerAnswer:
    """What an authorizer said, before it is checked against a particular ARN.

    ``simple`` answers carry ``authorized``; policy answers carry ``statements``.
    """

    principal_id: str | None
    context: Mapping[str, Any] = field(default_factory=dict)
    simple: bool = False
    authorized: bool = False
    statements: tuple[Mapping[str, Any], ...] = ()


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_answer(spec: LambdaAuthorizerSpec, payload: bytes) -> AuthorizerAnswer:
    """Read an authorizer function's successful result; raise on anything unusable."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise AuthorizerFailedError("the authorizer returned invalid JSON") from exc
    if not isinstance(body, dict):
        raise AuthorizerFailedError("the authorizer returned JSON that is not an object")
    context = body.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        raise AuthorizerFailedError("the authorizer's context is not an object")
    if spec.api_kind == "rest":
        for key, value in context.items():
            # REST context values are "a string, number, or boolean" only.
            if isinstance(value, dict | list) or value is None:
                raise AuthorizerFailedError(f"context value {key!r} is not a scalar")
    if spec.simple_responses:
        authorized = body.get("isAuthorized")
        if not isinstance(authorized, bool):
            raise AuthorizerFailedError("the authorizer's isAuthorized is not a boolean")
        return AuthorizerAnswer(None, context, simple=True, authorized=authorized)
    document = body.get("policyDocument")
    if not isinstance(document, dict):
        raise AuthorizerFailedError("the authorizer returned no policyDocument")
    statements = [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]
    if not statements:
        raise AuthorizerFailedError("the policyDocument has no Statement")
    principal = body.get("principalId")
    if spec.api_kind == "rest" and not isinstance(principal, str | int):
        raise AuthorizerFailedError("the authorizer returned no principalId")
    return AuthorizerAnswer(
        None if principal is None else str(principal),
        context,
        statements=tuple(statements),
    )


@functools.lru_cache(maxsize=1024)
def _pattern(resource: str) -> re.Pattern[str]:
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in resource)
    return re.compile("".join(parts), re.DOTALL)


def arn_matches(resource: str, arn: str) -> bool:
    """Whether an IAM Resource (with ``*``/``?`` wildcards) covers ``arn``."""
    return _pattern(resource).fullmatch(arn) is not None


def _statement_matches(statement: Mapping[str, Any], arn: str) -> bool:
    actions = _as_list(statement.get("Action"))
    if not any(isinstance(a, str) and a in _ACTIONS for a in actions):
        return False
    resources = _as_list(statement.get("Resource"))
    return any(isinstance(r, str) and arn_matches(r, arn) for r in resources)


def evaluate_policy(statements: Sequence[Mapping[str, Any]], arn: str) -> PolicyVerdict:
    """IAM evaluation of ``statements`` for ``arn``: an explicit Deny beats any Allow."""
    allowed = False
    for statement in statements:
        if not _statement_matches(statement, arn):
            continue
        effect = statement.get("Effect")
        if effect == "Deny":
            return "deny"
        if effect == "Allow":
            allowed = True
    return "allow" if allowed else "none"


class ResultCache:
    """Authorizer answers by (authorizer, identity values), each kept for its TTL.

    API Gateway caches the *answer* and evaluates a cached policy against each
    request's own method ARN, which is why authorizers return wildcard resources.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._entries: dict[tuple[str, ...], tuple[float, AuthorizerAnswer]] = {}
        self._max_entries = max_entries

    def get(self, key: tuple[str, ...], now: float) -> AuthorizerAnswer | None:
        """The cached answer for ``key`` if it has not expired at ``now``."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, answer = entry
        if now >= expires:
            del self._entries[key]
            return None
        return answer

    def put(self, key: tuple[str, ...], answer: AuthorizerAnswer, ttl_s: float, now: float) -> None:
        """Keep ``answer`` for ``ttl_s`` seconds (evicting expired or oldest entries when full)."""
        if ttl_s <= 0:
            return
        if len(self._entries) >= self._max_entries:
            expired = [k for k, (exp, _) in self._entries.items() if exp <= now]
            for k in expired:
                del self._entries[k]
            if len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = (now + ttl_s, answer)

    def __len__(self) -> int:
        return len(self._entries)
