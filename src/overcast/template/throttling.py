"""API Gateway throttling in a SAM template: per-route limits and usage plans.

* HTTP APIs (``AWS::Serverless::HttpApi``): ``DefaultRouteSettings`` applies to
  every route, ``RouteSettings`` (keyed by route key, ``"GET /pets"``) to one;
  each carries ``ThrottlingBurstLimit`` and ``ThrottlingRateLimit``.
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-httpapi.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigatewayv2-stage-routesettings.html
* REST APIs (``AWS::Serverless::Api``): ``MethodSettings`` is a list of entries
  with ``ResourcePath`` (slashes written ``~1`` after the leading one, ``/*`` for
  every resource) and ``HttpMethod`` (``*`` for every method).
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-apigateway-stage-methodsetting.html
* REST usage plans: ``Auth: {ApiKeyRequired, UsagePlan: {CreateUsagePlan,
  Throttle: {BurstLimit, RateLimit}, Quota: {Limit, Period, Offset}, UsagePlanName}}``.
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-apiusageplan.html
  https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-apigateway-usageplan.html

A route's limit is resolved from its most specific rule, property by property:
an exact path beats ``/*``, then an exact method beats ``*``; a property a rule
leaves out comes from the next rule down (as a route's own settings fall back to
the stage's defaults). A rate without a burst gets a burst of the rate rounded up;
a burst without any rate cannot be enforced and is warned about.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any, Final

from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import (
    ApiKind,
    Location,
    QuotaPeriod,
    QuotaSettings,
    RouteSpec,
    ThrottleRule,
    ThrottleSettings,
    UsagePlanSpec,
)
from overcast.template.yaml_loader import LocatedDict

__all__ = [
    "ALL_METHODS",
    "ALL_RESOURCES",
    "SHARED_USAGE_PLAN",
    "check_plan_conflicts",
    "decode_resource_path",
    "parse_http_route_settings",
    "parse_method_settings",
    "parse_usage_plan",
    "route_throttle",
    "rule_target",
    "unused_rules",
]

ALL_RESOURCES: Final = "/*"
ALL_METHODS: Final = "*"
#: SAM's logical ID of the plan every ``CreateUsagePlan: SHARED`` API shares
SHARED_USAGE_PLAN: Final = "ServerlessUsagePlan"
_HTTP_DEFAULT_ROUTE: Final = "$default"

_ROUTE_SETTING_KEYS: Final = frozenset(
    {"ThrottlingBurstLimit", "ThrottlingRateLimit", "DataTraceEnabled", "DetailedMetricsEnabled",
     "LoggingLevel"}
)  # fmt: skip
_METHOD_SETTING_KEYS: Final = frozenset(
    {"ResourcePath", "HttpMethod", "ThrottlingBurstLimit", "ThrottlingRateLimit",
     "CacheDataEncrypted", "CacheTtlInSeconds", "CachingEnabled", "DataTraceEnabled",
     "LoggingLevel", "MetricsEnabled"}
)  # fmt: skip
_THROTTLE_KEYS: Final = frozenset({"ThrottlingBurstLimit", "ThrottlingRateLimit"})
_USAGE_PLAN_KEYS: Final = frozenset(
    {"CreateUsagePlan", "Description", "Quota", "Tags", "Throttle", "UsagePlanName"}
)
_CREATE_USAGE_PLAN: Final = ("PER_API", "SHARED", "NONE")
_PERIODS: Final[tuple[QuotaPeriod, ...]] = ("DAY", "WEEK", "MONTH")
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
_ROUTE_KEY = re.compile(r"(?P<method>[A-Za-z]+) (?P<path>/\S*)")


# -- scalars ---------------------------------------------------------------------


def _mapping(value: Any, what: str, loc: Location | None) -> LocatedDict:
    if not isinstance(value, LocatedDict):
        raise InvalidTemplateError(f"{what} must be a mapping", location=loc)
    return value


def _number(props: LocatedDict, key: str, what: str) -> float | None:
    """A non-negative number (API Gateway's Double limits), None when not written."""
    if key not in props or props[key] is None:
        return None
    raw = props[key]
    text = scalar_text(raw)
    loc = props.key_location(key)
    try:
        value = float(text) if text is not None and not isinstance(raw, bool) else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise InvalidTemplateError(
            f"{what} {key} must be a number of 0 or more, got {raw!r}", location=loc
        )
    return value


def _whole(props: LocatedDict, key: str, what: str) -> int | None:
    """A non-negative whole number, None when not written."""
    if key not in props or props[key] is None:
        return None
    raw = props[key]
    text = scalar_text(raw)
    if isinstance(raw, bool) or text is None or not re.fullmatch(r"\d+", text.strip()):
        raise InvalidTemplateError(
            f"{what} {key} must be a whole number of 0 or more, got {raw!r}",
            location=props.key_location(key),
        )
    return int(text)


def _rule(
    body: LocatedDict, what: str, path: str, method: str, loc: Location | None
) -> ThrottleRule:
    return ThrottleRule(
        resource_path=path,
        http_method=method,
        rate_limit=_number(body, "ThrottlingRateLimit", what),
        burst_limit=_whole(body, "ThrottlingBurstLimit", what),
        location=loc,
    )


def _check_keys(body: LocatedDict, allowed: frozenset[str], what: str) -> None:
    for key in body:
        if key not in allowed:
            raise InvalidTemplateError(
                f"{what} has invalid key '{key}'",
                location=body.key_location(key),
                hint="use " + ", ".join(sorted(allowed)),
            )


# -- HTTP APIs -------------------------------------------------------------------


def parse_http_route_settings(owner: str, props: LocatedDict) -> tuple[ThrottleRule, ...]:
    """``DefaultRouteSettings`` and ``RouteSettings`` of an ``HttpApi`` → throttle rules."""
    rules: list[ThrottleRule] = []
    default = props.get("DefaultRouteSettings")
    if default is not None:
        loc = props.key_location("DefaultRouteSettings")
        what = f"{owner} DefaultRouteSettings"
        body = _mapping(default, what, loc)
        _check_keys(body, _ROUTE_SETTING_KEYS, what)
        rules.append(_rule(body, what, ALL_RESOURCES, ALL_METHODS, loc))
    routes = props.get("RouteSettings")
    if routes is not None:
        section = _mapping(
            routes,
            f"{owner} RouteSettings (route keys to settings)",
            props.key_location("RouteSettings"),
        )
        for route_key, raw in section.items():
            loc = section.key_location(route_key)
            what = f"{owner} RouteSettings '{route_key}'"
            body = _mapping(raw, what, loc)
            _check_keys(body, _ROUTE_SETTING_KEYS, what)
            path, method = _split_route_key(route_key, what, loc)
            rules.append(_rule(body, what, path, method, loc))
    return tuple(rules)


def _split_route_key(route_key: str, what: str, loc: Location | None) -> tuple[str, str]:
    if route_key == _HTTP_DEFAULT_ROUTE:
        return _HTTP_DEFAULT_ROUTE, "ANY"
    match = _ROUTE_KEY.fullmatch(route_key)
    if match is None or match["method"].upper() not in _METHODS:
        raise InvalidTemplateError(
            f"{what}: '{route_key}' is not a route key",
            location=loc,
            hint="write the key as METHOD /path, e.g. 'GET /pets/{id}', or $default",
        )
    return match["path"], match["method"].upper()


# -- REST APIs -------------------------------------------------------------------


def decode_resource_path(path: str) -> str:
    """A MethodSettings ResourcePath as a template path: ``/~1a~1b`` → ``/a/b``.

    CloudFormation wants slashes after the first written ``~1`` (JSON pointer
    style); a path written plainly (``/a/b``) is taken as it stands.
    """
    if path in ("/", ALL_RESOURCES):
        return path
    return "/" + path.lstrip("/").replace("~1", "/").lstrip("/")


def parse_method_settings(owner: str, props: LocatedDict) -> tuple[ThrottleRule, ...]:
    """A REST ``Api``'s ``MethodSettings`` → throttle rules (entries without limits dropped)."""
    raw = props.get("MethodSettings")
    if raw is None:
        return ()
    loc = props.key_location("MethodSettings")
    if not isinstance(raw, list):
        raise InvalidTemplateError(
            f"{owner} MethodSettings must be a list of method settings",
            location=loc,
            hint="write MethodSettings: [{ResourcePath: /*, HttpMethod: '*', "
            "ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20}]",
        )
    rules: list[ThrottleRule] = []
    for index, item in enumerate(raw):
        what = f"{owner} MethodSettings[{index}]"
        body = _mapping(item, what, loc)
        item_loc = body.location or loc
        _check_keys(body, _METHOD_SETTING_KEYS, what)
        if not _THROTTLE_KEYS & body.keys():
            continue  # logging, metrics or caching only: nothing overcast applies
        path = _text(body, "ResourcePath", what)
        method = _text(body, "HttpMethod", what)
        if path is None or method is None:
            raise InvalidTemplateError(
                f"{what} needs both ResourcePath and HttpMethod",
                location=item_loc,
                hint="use ResourcePath: /* and HttpMethod: '*' for every method",
            )
        if not path.startswith("/"):
            raise InvalidTemplateError(
                f"{what} ResourcePath '{path}' must start with '/'",
                location=body.key_location("ResourcePath"),
                hint="e.g. /~1users~1{id} for /users/{id}, or /* for every resource",
            )
        upper = method.upper()
        if upper != ALL_METHODS and upper not in _METHODS:
            raise InvalidTemplateError(
                f"{what} HttpMethod '{method}' is not an HTTP method",
                location=body.key_location("HttpMethod"),
                hint="use GET, POST, ... or '*' for every method",
            )
        rules.append(_rule(body, what, decode_resource_path(path), upper, item_loc))
    return tuple(rules)


def _text(body: LocatedDict, key: str, what: str) -> str | None:
    if key not in body:
        return None
    text = scalar_text(body[key])
    if text is None:
        raise InvalidTemplateError(
            f"{what} {key} must be a string", location=body.key_location(key)
        )
    return text


# -- usage plans -----------------------------------------------------------------


def parse_usage_plan(
    owner: str, api_logical_id: str, auth: LocatedDict, log: WarningLog
) -> UsagePlanSpec | None:
    """``Auth.UsagePlan`` of a REST API; None when absent or ``CreateUsagePlan: NONE``."""
    raw = auth.get("UsagePlan")
    if raw is None:
        return None
    loc = auth.key_location("UsagePlan")
    what = f"{owner} Auth UsagePlan"
    body = _mapping(raw, what, loc)
    _check_keys(body, _USAGE_PLAN_KEYS, what)
    create = _text(body, "CreateUsagePlan", what)
    if create is None:
        raise InvalidTemplateError(
            f"{what} must define 'CreateUsagePlan'",
            location=loc,
            hint="write CreateUsagePlan: PER_API (or SHARED, or NONE)",
        )
    if create not in _CREATE_USAGE_PLAN:
        raise InvalidTemplateError(
            f"{what} CreateUsagePlan must be one of {', '.join(_CREATE_USAGE_PLAN)}, "
            f"got {create!r}",
            location=body.key_location("CreateUsagePlan"),
        )
    if create == "NONE":
        return None
    logical_id = SHARED_USAGE_PLAN if create == "SHARED" else f"{api_logical_id}UsagePlan"
    return UsagePlanSpec(
        logical_id=logical_id,
        name=_text(body, "UsagePlanName", what) or logical_id,
        throttle=_plan_throttle(body, what, log),
        quota=_quota(body, what),
        location=loc,
    )


def _plan_throttle(body: LocatedDict, what: str, log: WarningLog) -> ThrottleSettings | None:
    raw = body.get("Throttle")
    if raw is None:
        return None
    loc = body.key_location("Throttle")
    section = _mapping(raw, f"{what} Throttle", loc)
    _check_keys(section, frozenset({"BurstLimit", "RateLimit"}), f"{what} Throttle")
    rate = _number(section, "RateLimit", f"{what} Throttle")
    burst = _whole(section, "BurstLimit", f"{what} Throttle")
    return _complete(rate, burst, f"{what} Throttle", loc, log)


def _quota(body: LocatedDict, what: str) -> QuotaSettings | None:
    raw = body.get("Quota")
    if raw is None:
        return None
    loc = body.key_location("Quota")
    section = _mapping(raw, f"{what} Quota", loc)
    _check_keys(section, frozenset({"Limit", "Offset", "Period"}), f"{what} Quota")
    limit = _whole(section, "Limit", f"{what} Quota")
    period = _text(section, "Period", f"{what} Quota")
    if limit is None or period is None:
        raise InvalidTemplateError(
            f"{what} Quota needs Limit and Period",
            location=loc,
            hint="e.g. Quota: {Limit: 5000, Period: MONTH}",
        )
    chosen = next((p for p in _PERIODS if p == period.upper()), None)
    if chosen is None:
        raise InvalidTemplateError(
            f"{what} Quota Period must be DAY, WEEK or MONTH, got {period!r}",
            location=section.key_location("Period"),
        )
    offset = _whole(section, "Offset", f"{what} Quota") or 0
    if offset > limit:
        raise InvalidTemplateError(
            f"{what} Quota Offset {offset} is larger than its Limit {limit}",
            location=section.key_location("Offset"),
        )
    return QuotaSettings(limit=limit, period=chosen, offset=offset)


# -- resolution --------------------------------------------------------------------


def _complete(
    rate: float | None, burst: int | None, what: str, loc: Location | None, log: WarningLog
) -> ThrottleSettings | None:
    if rate is None:
        if burst is not None:
            log.warn(
                f"{what}: a burst limit without a rate limit cannot be enforced by overcast; "
                "add ThrottlingRateLimit (or RateLimit)",
                loc,
            )
        return None
    if burst is None:
        burst = math.ceil(rate)
    return ThrottleSettings(rate_limit=rate, burst_limit=burst)


def _specificity(rule: ThrottleRule) -> int:
    return (2 if rule.resource_path != ALL_RESOURCES else 0) + (
        1 if rule.http_method != ALL_METHODS else 0
    )


def _applies(rule: ThrottleRule, route: RouteSpec) -> bool:
    return (rule.resource_path in (ALL_RESOURCES, route.path)) and (
        rule.http_method in (ALL_METHODS, route.method)
    )


def route_throttle(
    what: str, route: RouteSpec, rules: Iterable[ThrottleRule], log: WarningLog
) -> ThrottleSettings | None:
    """The throttle of ``route`` from its API's rules (most specific first, per property)."""
    matching = sorted((r for r in rules if _applies(r, route)), key=_specificity, reverse=True)
    if not matching:
        return None
    rate = next((r.rate_limit for r in matching if r.rate_limit is not None), None)
    burst = next((r.burst_limit for r in matching if r.burst_limit is not None), None)
    return _complete(rate, burst, what, matching[0].location, log)


def unused_rules(rules: Iterable[ThrottleRule], routes: Iterable[RouteSpec]) -> list[ThrottleRule]:
    """Rules naming a route (or resource) that no route of the API has."""
    routes = list(routes)
    return [
        rule
        for rule in rules
        if rule.resource_path != ALL_RESOURCES and not any(_applies(rule, r) for r in routes)
    ]


def rule_target(rule: ThrottleRule, kind: ApiKind) -> str:
    """How the template names the rule's target, for messages."""
    if kind == "http":
        if rule.resource_path == _HTTP_DEFAULT_ROUTE:
            return _HTTP_DEFAULT_ROUTE
        return f"route {rule.http_method} {rule.resource_path}"
    return f"ResourcePath {rule.resource_path} HttpMethod {rule.http_method}"


def check_plan_conflicts(
    plans: Iterable[UsagePlanSpec], log: WarningLog
) -> dict[str, UsagePlanSpec]:
    """One spec per plan logical ID: the SHARED plan takes the first configured definition."""
    chosen: dict[str, UsagePlanSpec] = {}
    for plan in plans:
        first = chosen.get(plan.logical_id)
        if first is None:
            chosen[plan.logical_id] = plan
            continue
        configured = plan.throttle is not None or plan.quota is not None
        if not configured:
            continue
        if first.throttle is None and first.quota is None:
            chosen[plan.logical_id] = plan
        elif (first.throttle, first.quota) != (plan.throttle, plan.quota):
            log.warn(
                f"usage plan {plan.logical_id} is configured differently by several APIs; "
                f"overcast uses the definition at {first.location}",
                plan.location,
            )
    return chosen
