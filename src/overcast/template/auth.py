"""SAM ``Auth``: an API's authorizers and each event's choice among them.

Property names and defaults follow samtranslator (model/apigatewayv2.py
``ApiGatewayV2Authorizer``, model/api/http_api_generator.py ``_get_authorizers``,
model/apigateway.py ``ApiGatewayAuthorizer``, model/eventsources/push.py) and SAM's
reference pages:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-httpapi-httpapiauth.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-api-apiauth.html

overcast runs JWT authorizers (HTTP APIs) and Lambda authorizers (both API kinds),
and REST API keys (``ApiKeyRequired``) with their usage plan (see ``throttling``).
Cognito user pools and IAM are not run: defining them warns, and a route that
would be guarded by one is refused at load, so no route is ever served open by
mistake.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError, UnsupportedFeatureError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import (
    ApiKind,
    ApiSpec,
    AuthorizerSpec,
    JwtAuthorizerSpec,
    LambdaAuthorizerSpec,
    LambdaPayloadType,
    Location,
    PayloadFormat,
    UsagePlanSpec,
)
from overcast.template.throttling import parse_usage_plan
from overcast.template.yaml_loader import LocatedDict, key_location

__all__ = [
    "NONE",
    "ApiAuth",
    "EventAuth",
    "function_name_from_arn",
    "parse_api_auth",
    "parse_event_auth",
    "route_auth",
]

#: ``Auth: {Authorizer: NONE}`` opts a route out of the API's DefaultAuthorizer.
NONE: Final = "NONE"
IAM: Final = "AWS_IAM"

# API Gateway caches Lambda authorizer results for 300 s unless told otherwise
# (REST: "authorizerResultTtlInSeconds ... default 300"; HTTP APIs: "If this field is
# not set, the default value is 300. The maximum value is 3600").
# https://docs.aws.amazon.com/apigateway/latest/api/API_CreateAuthorizer.html
# https://docs.aws.amazon.com/apigatewayv2/latest/api-reference/apis-apiid-authorizers.html
DEFAULT_TTL_S: Final = 300
_TTL_BOUNDS: Final = (0, 3600)

_HTTP_AUTH_KEYS: Final = frozenset({"Authorizers", "DefaultAuthorizer", "EnableIamAuthorizer"})
_REST_AUTH_KEYS: Final = frozenset(
    {
        "Authorizers", "DefaultAuthorizer", "AddDefaultAuthorizerToCorsPreflight",
        "AddApiKeyRequiredToCorsPreflight", "ApiKeyRequired", "InvokeRole", "ResourcePolicy",
        "UsagePlan",
    }
)  # fmt: skip
_REST_AUTH_RUN: Final = frozenset(
    {"Authorizers", "DefaultAuthorizer", "ApiKeyRequired", "UsagePlan"}
)
# Keys that only grant API Gateway permissions on AWS: nothing to do locally.
_PERMISSION_KEYS: Final = frozenset(
    {"FunctionInvokeRole", "EnableFunctionDefaultPermissions", "DisableFunctionDefaultPermissions"}
)
_HTTP_JWT_KEYS: Final = frozenset({"JwtConfiguration", "IdentitySource", "AuthorizationScopes"})
_HTTP_LAMBDA_KEYS: Final = frozenset(
    {"FunctionArn", "Identity", "AuthorizerPayloadFormatVersion", "EnableSimpleResponses"}
)
_REST_LAMBDA_KEYS: Final = frozenset(
    {"FunctionArn", "FunctionPayloadType", "Identity", "AuthorizationScopes"}
)
_HTTP_EVENT_AUTH_KEYS: Final = frozenset({"Authorizer", "AuthorizationScopes"})
_REST_EVENT_AUTH_KEYS: Final = frozenset(
    {"Authorizer", "AuthorizationScopes", "ApiKeyRequired", "ResourcePolicy", "InvokeRole",
     "OverrideApiAuth"}
)  # fmt: skip

# Identity sub-properties and the selection expression prefix each maps to
# (samtranslator ApiGatewayV2Authorizer._get_identity_source).
_IDENTITY_PREFIXES: Final = (
    ("Headers", "$request.header."),
    ("QueryStrings", "$request.querystring."),
    ("StageVariables", "$stageVariables."),
    ("Context", "$context."),
)
_LAMBDA_ARN = re.compile(r"arn:[\w-]+:lambda:[\w-]*:\d*:function:([A-Za-z0-9_-]+)(?::[\w$-]+)?")


@dataclass(frozen=True, slots=True)
class ApiAuth:
    """An API's parsed ``Auth``: what overcast runs, and names it knows but cannot run."""

    authorizers: Mapping[str, AuthorizerSpec]
    default_authorizer: str | None = None
    unsupported: frozenset[str] = frozenset()
    #: REST ``ApiKeyRequired``: every route needs an API key unless its event says no
    api_key_required: bool = False
    #: REST ``UsagePlan`` unless absent or ``CreateUsagePlan: NONE``
    usage_plan: UsagePlanSpec | None = None


@dataclass(frozen=True, slots=True)
class EventAuth:
    """An event's ``Auth``: None fields were not written (the API's defaults apply)."""

    authorizer: str | None
    scopes: tuple[str, ...] | None
    location: Location | None
    #: REST ``ApiKeyRequired`` of the event; None: the API's setting applies
    api_key_required: bool | None = None


def function_name_from_arn(arn: str) -> str | None:
    """The function name in a Lambda function ARN (a qualifier is dropped), or None."""
    match = _LAMBDA_ARN.fullmatch(arn)
    return match.group(1) if match else None


# -- helpers ---------------------------------------------------------------------


def _mapping(value: Any, what: str, loc: Location | None) -> LocatedDict:
    if not isinstance(value, LocatedDict):
        raise InvalidTemplateError(f"{what} must be a mapping", location=loc)
    return value


def _strings(value: Any, what: str, loc: Location | None) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    texts = [scalar_text(item) for item in items]
    if any(text is None for text in texts):
        raise InvalidTemplateError(f"{what} must be a list of strings", location=loc)
    return tuple(text for text in texts if text is not None)


def _text(props: LocatedDict, key: str, what: str) -> str | None:
    if key not in props:
        return None
    text = scalar_text(props[key])
    if text is None:
        raise InvalidTemplateError(f"{what} must be a string", location=props.key_location(key))
    return text


def _warn_keys(log: WarningLog, owner: str, props: Mapping[str, Any], run: frozenset[str]) -> None:
    for key in props:
        if key not in run and key not in _PERMISSION_KEYS:
            log.warn(
                f"{owner}: '{key}' is not supported by overcast; it is ignored",
                key_location(props, key),
            )


def _ttl(identity: LocatedDict | None, what: str) -> int:
    if identity is None or "ReauthorizeEvery" not in identity:
        return DEFAULT_TTL_S
    raw = identity["ReauthorizeEvery"]
    text = scalar_text(raw)
    loc = identity.key_location("ReauthorizeEvery")
    if isinstance(raw, bool) or text is None or not text.strip().isdigit():
        raise InvalidTemplateError(
            f"{what} Identity ReauthorizeEvery must be a whole number of seconds", location=loc
        )
    value = int(text)
    if not _TTL_BOUNDS[0] <= value <= _TTL_BOUNDS[1]:
        raise InvalidTemplateError(
            f"{what} Identity ReauthorizeEvery is {value}; it must be between 0 and 3600",
            location=loc,
        )
    return value


def _identity_sources(identity: LocatedDict | None, what: str) -> tuple[str, ...]:
    if identity is None:
        return ()
    sources: list[str] = []
    for key, prefix in _IDENTITY_PREFIXES:
        if key in identity and identity[key] is not None:
            names = _strings(identity[key], f"{what} Identity {key}", identity.key_location(key))
            sources.extend(prefix + name for name in names)
    return tuple(sources)


def _function(props: LocatedDict, what: str, loc: Location | None) -> str:
    arn = _text(props, "FunctionArn", f"{what} FunctionArn")
    if not arn:
        raise InvalidTemplateError(
            f"{what} Lambda Authorizer must define 'FunctionArn'",
            location=loc,
            hint="write FunctionArn: !GetAtt MyAuthorizerFunction.Arn",
        )
    name = function_name_from_arn(arn)
    if name is None:
        raise InvalidTemplateError(
            f"{what} FunctionArn '{arn}' is not a Lambda function ARN",
            location=props.key_location("FunctionArn"),
            hint="write FunctionArn: !GetAtt MyAuthorizerFunction.Arn",
        )
    return name


# -- API Auth --------------------------------------------------------------------


def _flag(auth: LocatedDict, key: str, what: str) -> bool | None:
    if key not in auth or auth[key] is None:
        return None
    value = auth[key]
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise InvalidTemplateError(
            f"{what} {key} must be true or false, got {value!r}", location=auth.key_location(key)
        )
    return value


def parse_api_auth(
    owner: str, kind: ApiKind, props: LocatedDict, log: WarningLog, *, logical_id: str = ""
) -> ApiAuth:
    """The resolved ``Auth`` property of an ``HttpApi`` (``http``) or ``Api`` (``rest``).

    ``logical_id`` names the usage plan SAM would create (``<logical_id>UsagePlan``).
    """
    auth = props.get("Auth")
    if auth is None:
        return ApiAuth({})
    auth = _mapping(auth, f"{owner} Auth", props.key_location("Auth"))
    allowed = _HTTP_AUTH_KEYS if kind == "http" else _REST_AUTH_KEYS
    for key in auth:
        if key not in allowed:
            raise InvalidTemplateError(
                f"{owner} has invalid key '{key}' for 'Auth'",
                location=auth.key_location(key),
                hint="use " + ", ".join(sorted(allowed)),
            )
    unsupported: set[str] = set()
    if kind == "http":
        if auth.get("EnableIamAuthorizer") is True:
            unsupported.add(IAM)
            log.warn(
                f"{owner}: Auth EnableIamAuthorizer (AWS_IAM) is not supported by overcast; "
                "routes using it are refused",
                auth.key_location("EnableIamAuthorizer"),
            )
    else:
        for key, value in auth.items():
            if key not in _REST_AUTH_RUN and value not in (None, False):
                log.warn(
                    f"{owner} Auth: '{key}' is not supported by overcast; it is ignored",
                    auth.key_location(key),
                )

    authorizers: dict[str, AuthorizerSpec] = {}
    section = auth.get("Authorizers")
    if section is not None:
        section = _mapping(section, f"{owner} Auth Authorizers", auth.key_location("Authorizers"))
        for name, raw in section.items():
            loc = section.key_location(name)
            what = f"{owner} authorizer '{name}'"
            body = _mapping(raw, what, loc)
            spec = (
                _http_authorizer(name, body, what, loc, log)
                if kind == "http"
                else _rest_authorizer(name, body, what, loc, log)
            )
            if spec is None:
                unsupported.add(name)
            else:
                authorizers[name] = spec

    default = _text(auth, "DefaultAuthorizer", f"{owner} Auth DefaultAuthorizer")
    if default is not None:
        if kind == "rest" and default == IAM:
            unsupported.add(IAM)
            log.warn(
                f"{owner}: DefaultAuthorizer AWS_IAM is not supported by overcast; "
                "routes using it are refused",
                auth.key_location("DefaultAuthorizer"),
            )
        elif default not in authorizers and default not in unsupported:
            raise InvalidTemplateError(
                f"{owner}: Unable to set DefaultAuthorizer because '{default}' was not defined "
                "in 'Authorizers'",
                location=auth.key_location("DefaultAuthorizer"),
            )
    if kind == "http":
        return ApiAuth(authorizers, default, frozenset(unsupported))
    return ApiAuth(
        authorizers,
        default,
        frozenset(unsupported),
        api_key_required=_flag(auth, "ApiKeyRequired", f"{owner} Auth") or False,
        usage_plan=parse_usage_plan(owner, logical_id or owner, auth, log),
    )


def _http_authorizer(
    name: str, body: LocatedDict, what: str, loc: Location | None, log: WarningLog
) -> AuthorizerSpec | None:
    # samtranslator: an authorizer with JwtConfiguration is JWT, any other is REQUEST.
    if "OpenIdConnectUrl" in body:
        raise InvalidTemplateError(
            f"'OpenIdConnectUrl' is no longer a supported property for authorizer '{name}'",
            location=body.key_location("OpenIdConnectUrl"),
            hint="use JwtConfiguration: {issuer: ..., audience: [...]}",
        )
    if body.get("JwtConfiguration"):
        _reject_foreign(body, _HTTP_JWT_KEYS, _HTTP_LAMBDA_KEYS, what, "OAuth2 Authorizer")
        return _jwt_authorizer(name, body, what, loc)
    _reject_foreign(body, _HTTP_LAMBDA_KEYS, _HTTP_JWT_KEYS, what, "Lambda Authorizer")
    function = _function(body, what, loc)
    version = _text(
        body, "AuthorizerPayloadFormatVersion", f"{what} AuthorizerPayloadFormatVersion"
    )
    if version is None:
        raise InvalidTemplateError(
            f"{what} Lambda Authorizer must define 'AuthorizerPayloadFormatVersion'",
            location=loc,
            hint="write AuthorizerPayloadFormatVersion: '2.0'",
        )
    payload: PayloadFormat
    if version in ("1.0", "1"):
        payload = "1.0"
    elif version in ("2.0", "2"):
        payload = "2.0"
    else:
        raise InvalidTemplateError(
            f"{what} AuthorizerPayloadFormatVersion must be '1.0' or '2.0', got {version!r}",
            location=body.key_location("AuthorizerPayloadFormatVersion"),
        )
    simple = body.get("EnableSimpleResponses", False) is True
    if simple and payload != "2.0":
        raise InvalidTemplateError(
            f"{what}: EnableSimpleResponses needs AuthorizerPayloadFormatVersion '2.0'",
            location=body.key_location("EnableSimpleResponses"),
        )
    identity = body.get("Identity")
    if identity is not None:
        identity = _mapping(identity, f"{what} Identity", body.key_location("Identity"))
        _warn_keys(
            log,
            f"{what} Identity",
            identity,
            frozenset({"Headers", "QueryStrings", "StageVariables", "Context", "ReauthorizeEvery"}),
        )
    sources = _identity_sources(identity, what)
    # Without an identity source there is nothing to key a cache on: API Gateway
    # requires one whenever caching is on.
    ttl = _ttl(identity, what) if sources else 0
    return LambdaAuthorizerSpec(
        name=name,
        function=function,
        api_kind="http",
        payload_type="REQUEST",
        payload_format=payload,
        simple_responses=simple,
        identity_sources=sources,
        ttl_s=ttl,
        location=loc,
    )


def _reject_foreign(
    body: LocatedDict, own: frozenset[str], foreign: frozenset[str], what: str, kind: str
) -> None:
    for key in body:
        if key in foreign and key not in own:
            raise InvalidTemplateError(
                f"{what}: {key} is not a property of an {kind}",
                location=body.key_location(key),
            )


def _jwt_authorizer(
    name: str, body: LocatedDict, what: str, loc: Location | None
) -> JwtAuthorizerSpec:
    config = _mapping(
        body["JwtConfiguration"], f"{what} JwtConfiguration", body.key_location("JwtConfiguration")
    )
    # SAM lower-cases the keys: both `issuer` and `Issuer` work (ApiGatewayV2Authorizer).
    lowered = {str(key).lower(): (key, value) for key, value in config.items()}
    issuer = scalar_text(lowered["issuer"][1]) if "issuer" in lowered else None
    if not issuer:
        raise InvalidTemplateError(
            f"{what} JwtConfiguration has no issuer",
            location=body.key_location("JwtConfiguration"),
            hint="write JwtConfiguration: {issuer: https://idp.example.com, audience: [my-api]}",
        )
    audiences: tuple[str, ...] = ()
    if "audience" in lowered:
        key, value = lowered["audience"]
        audiences = _strings(value, f"{what} JwtConfiguration audience", config.key_location(key))
    source = _text(body, "IdentitySource", f"{what} IdentitySource")
    if not source:
        raise InvalidTemplateError(
            f"{what} OAuth2 Authorizer must define 'IdentitySource'",
            location=loc,
            hint="write IdentitySource: $request.header.Authorization",
        )
    scopes: tuple[str, ...] = ()
    if body.get("AuthorizationScopes") is not None:
        scopes = _strings(
            body["AuthorizationScopes"],
            f"{what} AuthorizationScopes",
            body.key_location("AuthorizationScopes"),
        )
    return JwtAuthorizerSpec(
        name=name,
        issuer=issuer,
        audiences=audiences,
        identity_source=source.strip(),
        authorization_scopes=scopes,
        location=loc,
    )


def _rest_authorizer(
    name: str, body: LocatedDict, what: str, loc: Location | None, log: WarningLog
) -> LambdaAuthorizerSpec | None:
    if body.get("UserPoolArn") is not None:
        log.warn(
            f"{what}: Cognito user pool authorizers are not supported by overcast; routes "
            "using it are refused",
            loc,
        )
        return None
    _warn_keys(log, what, body, _REST_LAMBDA_KEYS)
    function = _function(body, what, loc)
    raw_type = _text(body, "FunctionPayloadType", f"{what} FunctionPayloadType") or "TOKEN"
    if raw_type not in ("TOKEN", "REQUEST"):
        raise InvalidTemplateError(
            f"{what} has invalid 'FunctionPayloadType': {raw_type}",
            location=body.key_location("FunctionPayloadType"),
            hint="use TOKEN or REQUEST",
        )
    payload_type: LambdaPayloadType = "TOKEN" if raw_type == "TOKEN" else "REQUEST"
    identity = body.get("Identity")
    if identity is not None:
        identity = _mapping(identity, f"{what} Identity", body.key_location("Identity"))
    ttl = _ttl(identity, what)
    validation: str | None = None
    if payload_type == "TOKEN":
        header = "Authorization"
        if identity is not None:
            header = _text(identity, "Header", f"{what} Identity Header") or header
            validation = _text(identity, "ValidationExpression", f"{what} ValidationExpression")
        sources: tuple[str, ...] = (f"$request.header.{header}",)
    else:
        sources = _identity_sources(identity, what)
        # samtranslator ApiGatewayAuthorizer._is_missing_identity_source
        if not sources and ttl > 0:
            raise InvalidTemplateError(
                f"{what} Authorizer must specify Identity with at least one of Headers, "
                "QueryStrings, StageVariables, or Context",
                location=loc,
            )
    return LambdaAuthorizerSpec(
        name=name,
        function=function,
        api_kind="rest",
        payload_type=payload_type,
        payload_format="1.0",
        identity_sources=sources,
        ttl_s=ttl,
        validation_expression=validation,
        location=loc,
    )


# -- events ----------------------------------------------------------------------


def parse_event_auth(
    what: str, kind: ApiKind, props: LocatedDict, log: WarningLog
) -> EventAuth | None:
    """An Api/HttpApi event's resolved ``Auth`` property, or None when it has none."""
    auth = props.get("Auth")
    if auth is None:
        return None
    loc = props.key_location("Auth")
    auth = _mapping(auth, f"{what} Auth", loc)
    allowed = _HTTP_EVENT_AUTH_KEYS if kind == "http" else _REST_EVENT_AUTH_KEYS
    for key in auth:
        if key not in allowed:
            raise InvalidTemplateError(
                f"{what} has invalid key '{key}' for 'Auth'",
                location=auth.key_location(key),
                hint="use " + ", ".join(sorted(allowed)),
            )
        if key not in _HTTP_EVENT_AUTH_KEYS | {"ApiKeyRequired"} and auth[key] not in (
            None,
            False,
        ):
            log.warn(
                f"{what}: Auth {key} is not supported by overcast; it is ignored",
                auth.key_location(key),
            )
    authorizer = _text(auth, "Authorizer", f"{what} Auth Authorizer")
    scopes = None
    if auth.get("AuthorizationScopes") is not None:
        scopes = _strings(
            auth["AuthorizationScopes"],
            f"{what} Auth AuthorizationScopes",
            auth.key_location("AuthorizationScopes"),
        )
    api_key = _flag(auth, "ApiKeyRequired", f"{what} Auth") if kind == "rest" else None
    return EventAuth(authorizer, scopes, loc, api_key_required=api_key)


def route_auth(
    what: str, auth: EventAuth | None, api: ApiSpec, unsupported: frozenset[str]
) -> tuple[str | None, tuple[str, ...]]:
    """The authorizer guarding a route and its scopes, as SAM resolves them.

    The event's ``Authorizer`` wins, then the API's DefaultAuthorizer; ``NONE``
    (allowed only with a DefaultAuthorizer) leaves the route open. Scopes are the
    event's, else the authorizer's own AuthorizationScopes.
    """
    loc = auth.location if auth is not None else None
    name = auth.authorizer if auth is not None else None
    if name == NONE:
        if api.default_authorizer is None:
            raise InvalidTemplateError(
                f"{what}: Unable to set Authorizer because 'NONE' is only a valid value when a "
                "DefaultAuthorizer on the API is specified",
                location=loc,
            )
        return None, ()
    if name is None:
        name = api.default_authorizer
    elif name not in api.authorizers and name not in unsupported:
        raise InvalidTemplateError(
            f"{what}: Unable to set Authorizer [{name}] because "
            + (
                "the related API does not define any Authorizers"
                if not api.authorizers and not unsupported
                else "it wasn't defined in the API's Authorizers"
            ),
            location=loc,
        )
    if name is None:
        if auth is not None and auth.scopes:
            raise InvalidTemplateError(
                f"{what}: AuthorizationScopes works only when Authorizer is set", location=loc
            )
        return None, ()
    if name in unsupported:
        raise UnsupportedFeatureError(
            f"{what} is guarded by authorizer '{name}', which overcast does not run "
            "(Cognito user pools and AWS_IAM are not supported)",
            location=loc,
            hint="use a JWT or Lambda authorizer, or Auth: {Authorizer: NONE} for local runs",
        )
    spec = api.authorizers[name]
    if auth is not None and auth.scopes is not None:
        scopes = auth.scopes
    elif isinstance(spec, JwtAuthorizerSpec):
        scopes = spec.authorization_scopes
    else:
        scopes = ()
    return name, scopes
