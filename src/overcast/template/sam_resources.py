"""``AWS::Serverless::*`` resources (properties already resolved) → model specs.

Each builder takes one resource's resolved properties and returns frozen specs,
raising :class:`InvalidTemplateError` at the property's location for values Lambda
or API Gateway would reject, and warning (once) about what overcast does not do.

Property references:
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-function.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-api.html
https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-resource-httpapi.html
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from overcast.template.auth import ApiAuth, EventAuth, parse_api_auth, parse_event_auth
from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError, UnsupportedFeatureError
from overcast.template.event_invoke import dead_letter_queue, event_invoke_config
from overcast.template.intrinsics import scalar_text
from overcast.template.isolation import ephemeral_storage_mb, file_systems
from overcast.template.model import (
    ApiKind,
    ApiSpec,
    CorsConfig,
    FunctionSpec,
    Location,
    PayloadFormat,
)
from overcast.template.policies import ArnContext, parse_policies
from overcast.template.throttling import parse_http_route_settings, parse_method_settings
from overcast.template.yaml_loader import LocatedDict, key_location

__all__ = [
    "API_TYPE",
    "FUNCTION_TYPE",
    "HTTP_API_TYPE",
    "IMPLICIT_HTTP_API",
    "IMPLICIT_REST_API",
    "SUPPORTED_RUNTIMES",
    "EventSpec",
    "api_id_for",
    "build_function",
    "build_http_api",
    "build_rest_api",
    "parse_event",
    "plain",
    "unsupported_properties",
    "warn_unsupported",
]

FUNCTION_TYPE: Final = "AWS::Serverless::Function"
API_TYPE: Final = "AWS::Serverless::Api"
HTTP_API_TYPE: Final = "AWS::Serverless::HttpApi"

# SAM's names for the APIs it creates for events without RestApiId/ApiId
# (samtranslator/plugins/api/implicit_rest_api_plugin.py, implicit_http_api_plugin.py).
IMPLICIT_REST_API: Final = "ServerlessRestApi"
IMPLICIT_HTTP_API: Final = "ServerlessHttpApi"
IMPLICIT_REST_STAGE: Final = "Prod"
HTTP_DEFAULT_STAGE: Final = "$default"

SUPPORTED_RUNTIMES: Final = ("python3.9", "python3.10", "python3.11", "python3.12", "python3.13")

# Properties with no behaviour to reproduce locally (metadata only): accepted quietly.
_INERT: Final = frozenset({"Tags", "PropagateTags"})

FUNCTION_PROPERTIES: Final = frozenset(
    {
        "Handler", "Runtime", "CodeUri", "MemorySize", "Timeout", "Environment",
        "ReservedConcurrentExecutions", "ProvisionedConcurrencyConfig", "FunctionName",
        "Description", "Architectures", "Events", "PackageType", "Policies",
        "AutoPublishAlias", "DeploymentPreference", "EphemeralStorage", "VpcConfig",
        "FileSystemConfigs", "EventInvokeConfig", "DeadLetterQueue",
    }
)  # fmt: skip
REST_API_PROPERTIES: Final = frozenset(
    {"StageName", "Cors", "Variables", "BinaryMediaTypes", "Name", "Description", "Auth",
     "MethodSettings"}
)  # fmt: skip
HTTP_API_PROPERTIES: Final = frozenset(
    {"StageName", "CorsConfiguration", "StageVariables", "Name", "Description", "Auth",
     "DefaultRouteSettings", "RouteSettings"}
)  # fmt: skip
_REST_EVENT_PROPERTIES: Final = frozenset({"Path", "Method", "RestApiId", "Auth"})
_HTTP_EVENT_PROPERTIES: Final = frozenset(
    {"Path", "Method", "ApiId", "PayloadFormatVersion", "TimeoutInMillis", "Auth"}
)

# Lambda rejects these keys in Environment.Variables.
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
_RESERVED_ENV: Final = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
    }
)  # fmt: skip
# Lambda API CreateFunction: Environment.Variables key pattern and FunctionName pattern.
# https://docs.aws.amazon.com/lambda/latest/dg/API_Environment.html
_ENV_KEY = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")
# "The total size of all environment variables doesn't exceed 4 KB."
# https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html
_ENV_MAX_BYTES = 4096
# https://docs.aws.amazon.com/lambda/latest/api/API_CreateFunction.html#lambda-CreateFunction-request-FunctionName
_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_STAGE_NAME = re.compile(r"[a-zA-Z0-9_-]{1,128}")
_METHODS: Final = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
_ANY_METHOD_EXTENSION: Final = "x-amazon-apigateway-any-method"
_ARCHITECTURES: Final = frozenset({"x86_64", "arm64"})

# Lambda limits: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
_MEMORY_MB = (128, 10240)
_TIMEOUT_S = (1, 900)
# HTTP API integration timeout: 50 ms to 30 s.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html
_HTTP_TIMEOUT_MS = (50, 30000)


def api_id_for(stack_name: str, logical_id: str) -> str:
    """A stable 10-character lowercase alphanumeric id, like API Gateway's ``abc123defg``."""
    digest = hashlib.sha256(f"{stack_name}\0{logical_id}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(10):
        number, digit = divmod(number, 36)
        chars.append(alphabet[digit])
    return "".join(chars)


def unsupported_properties(properties: Mapping[str, Any], supported: frozenset[str]) -> list[str]:
    """Names in ``properties`` that overcast neither applies nor treats as metadata."""
    return [key for key in properties if key not in supported and key not in _INERT]


# -- helpers ---------------------------------------------------------------------


def _text(props: LocatedDict, key: str, what: str, default: str | None = None) -> str | None:
    if key not in props:
        return default
    text = scalar_text(props[key])
    if text is None:
        raise InvalidTemplateError(f"{what} must be a string", location=props.key_location(key))
    return text


def _integer(
    props: LocatedDict, key: str, what: str, bounds: tuple[int, int] | None = None
) -> int | None:
    if key not in props:
        return None
    raw = props[key]
    loc = props.key_location(key)
    text = scalar_text(raw)
    if isinstance(raw, bool) or text is None or not re.fullmatch(r"-?\d+", text.strip()):
        raise InvalidTemplateError(f"{what} must be a whole number, got {raw!r}", location=loc)
    value = int(text)
    if bounds and not bounds[0] <= value <= bounds[1]:
        raise InvalidTemplateError(
            f"{what} is {value}; it must be between {bounds[0]} and {bounds[1]}", location=loc
        )
    return value


def _string_map(value: Any, what: str, loc: Location | None) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidTemplateError(f"{what} must be a mapping of names to values", location=loc)
    out: dict[str, str] = {}
    for key, item in value.items():
        text = scalar_text(item)
        if text is None:
            raise InvalidTemplateError(
                f"{what} '{key}' must be a string, number or boolean, got "
                f"{'nothing' if item is None else type(item).__name__}",
                location=key_location(value, key, loc),
            )
        out[key] = text
    return out


def warn_unsupported(
    log: WarningLog, owner: str, properties: Mapping[str, Any], supported: frozenset[str]
) -> None:
    """Warn once about each property of ``properties`` that overcast ignores."""
    for key in unsupported_properties(properties, supported):
        log.warn(
            f"{owner}: property '{key}' is not supported by overcast; it is ignored",
            key_location(properties, key),
        )


# -- functions -------------------------------------------------------------------


def build_function(
    logical_id: str,
    props: LocatedDict,
    *,
    base_dir: str,
    location: Location | None,
    properties_location: Location | None,
    log: WarningLog,
    name: str,
    arn: ArnContext | None = None,
    network: tuple[str, ...] = (),
) -> FunctionSpec:
    """The :class:`FunctionSpec` for a resolved ``AWS::Serverless::Function``.

    ``name`` is the resolved FunctionName (or the logical ID); ``props`` has
    Globals merged in and no intrinsic left; ``network`` are its grants, which the
    loader reads from the function's and the template's Metadata.
    """
    owner = f"Function '{logical_id}'"
    package = _text(props, "PackageType", "PackageType", "Zip")
    if package != "Zip":
        raise UnsupportedFeatureError(
            f"{owner} uses PackageType {package}; overcast runs only Zip (code directory) "
            "functions",
            location=props.key_location("PackageType"),
            hint="use CodeUri with a folder of Python code",
        )

    handler = _text(props, "Handler", f"{owner} Handler")
    if not handler:
        raise InvalidTemplateError(
            f"{owner} has no Handler",
            location=properties_location,
            hint="add Handler: app.handler (module.function)",
        )
    module, dot, function = handler.rpartition(".")
    if not dot or not module or not function:
        raise InvalidTemplateError(
            f"{owner} Handler '{handler}' is not of the form module.function",
            location=props.key_location("Handler"),
            hint="write Handler: app.handler for def handler(event, context) in app.py",
        )

    runtime = _text(props, "Runtime", f"{owner} Runtime")
    if runtime is None:
        raise InvalidTemplateError(
            f"{owner} has no Runtime",
            location=properties_location,
            hint="add Runtime: python3.12 (or set it once under Globals: Function:)",
        )
    if runtime not in SUPPORTED_RUNTIMES:
        raise UnsupportedFeatureError(
            f"{owner} uses Runtime {runtime}; overcast supports only Python "
            f"({SUPPORTED_RUNTIMES[0]} to {SUPPORTED_RUNTIMES[-1]})",
            location=props.key_location("Runtime"),
            hint=f"use one of {', '.join(SUPPORTED_RUNTIMES)}",
        )

    if "InlineCode" in props:
        log.warn(
            f"{owner}: InlineCode is not supported by overcast; it is ignored "
            "(put the code in a file under CodeUri)",
            props.key_location("InlineCode"),
        )
    code_dir = _code_dir(owner, props, base_dir)

    if not _FUNCTION_NAME.fullmatch(name):
        raise InvalidTemplateError(
            f"{owner} FunctionName '{name}' is not a valid Lambda function name",
            location=props.key_location("FunctionName"),
            hint="use 1 to 64 letters, digits, '-' or '_'",
        )

    memory = _integer(props, "MemorySize", f"{owner} MemorySize", _MEMORY_MB)
    timeout = _integer(props, "Timeout", f"{owner} Timeout", _TIMEOUT_S)
    reserved = _integer(
        props, "ReservedConcurrentExecutions", f"{owner} ReservedConcurrentExecutions", (0, 10**6)
    )
    provisioned = _provisioned(owner, props)
    if reserved is not None and provisioned > reserved:
        raise InvalidTemplateError(
            f"{owner} asks for {provisioned} provisioned instances but reserves only {reserved}",
            location=props.key_location("ProvisionedConcurrencyConfig"),
            hint="raise ReservedConcurrentExecutions or lower ProvisionedConcurrentExecutions",
        )

    return FunctionSpec(
        logical_id=logical_id,
        name=name,
        handler=handler,
        runtime=runtime,
        code_dir=code_dir,
        memory_mb=memory if memory is not None else 128,
        timeout_s=float(timeout if timeout is not None else 3),
        environment=_environment(owner, props),
        reserved_concurrency=reserved,
        provisioned_concurrency=provisioned,
        architectures=_architectures(owner, props),
        description=_text(props, "Description", f"{owner} Description", "") or "",
        location=location,
        permissions=parse_policies(
            owner, props.get("Policies"), arn or ArnContext(), log, props.key_location("Policies")
        ),
        auto_publish_alias=_alias_name(owner, props),
        deployment_preference=_deployment_preference(owner, props),
        ephemeral_storage_mb=ephemeral_storage_mb(owner, props),
        network=network,
        file_systems=file_systems(owner, props),
        event_invoke=event_invoke_config(owner, props, log),
        dead_letter=dead_letter_queue(owner, props, log),
    )


def _code_dir(owner: str, props: LocatedDict, base_dir: str) -> str:
    code = props.get("CodeUri", ".")
    loc = props.key_location("CodeUri")
    if not isinstance(code, str) or code.startswith("s3://"):
        raise UnsupportedFeatureError(
            f"{owner} CodeUri points at S3; overcast runs code from a local folder",
            location=loc,
            hint="set CodeUri to a folder relative to the template, e.g. CodeUri: src/",
        )
    # abspath, not a file access: a relative base_dir counts from the working directory.
    return os.path.abspath(os.path.join(base_dir, code))


def _provisioned(owner: str, props: LocatedDict) -> int:
    config = props.get("ProvisionedConcurrencyConfig")
    if config is None:
        return 0
    if not isinstance(config, LocatedDict):
        raise InvalidTemplateError(
            f"{owner} ProvisionedConcurrencyConfig must be a mapping",
            location=props.key_location("ProvisionedConcurrencyConfig"),
            hint="write ProvisionedConcurrencyConfig: {ProvisionedConcurrentExecutions: 2}",
        )
    value = _integer(
        config,
        "ProvisionedConcurrentExecutions",
        f"{owner} ProvisionedConcurrentExecutions",
        (0, 10**6),
    )
    return value or 0


def _environment(owner: str, props: LocatedDict) -> dict[str, str]:
    env = props.get("Environment")
    if env is None:
        return {}
    loc = props.key_location("Environment")
    if not isinstance(env, LocatedDict):
        raise InvalidTemplateError(
            f"{owner} Environment must be a mapping with Variables",
            location=loc,
            hint="write Environment: {Variables: {NAME: value}}",
        )
    # Lambda hands every value to the process as a string: 8080 → "8080", true → "true".
    variables = _string_map(
        env.get("Variables"), f"{owner} environment variable", env.key_location("Variables")
    )
    for key in variables:
        key_loc = key_location(env.get("Variables"), key, loc)
        if not _ENV_KEY.fullmatch(key):
            raise InvalidTemplateError(
                f"{owner} environment variable name '{key}' is not allowed by Lambda",
                location=key_loc,
                hint="start with a letter; use letters, digits and '_' (two characters or more)",
            )
        if key in _RESERVED_ENV:
            raise InvalidTemplateError(
                f"{owner} sets reserved environment variable {key}",
                location=key_loc,
                hint="Lambda sets it itself; pick another name",
            )
    size = sum(len(key.encode()) + len(value.encode()) for key, value in variables.items())
    if size > _ENV_MAX_BYTES:
        raise InvalidTemplateError(
            f"{owner} environment variables take {size} bytes; Lambda allows 4 KB",
            location=loc,
            hint="move large values to a file in CodeUri or to a secret",
        )
    return variables


def _architectures(owner: str, props: LocatedDict) -> tuple[str, ...]:
    value = props.get("Architectures", ["x86_64"])
    if (
        not isinstance(value, list)
        or len(value) != 1
        or scalar_text(value[0]) not in _ARCHITECTURES
    ):
        raise InvalidTemplateError(
            f"{owner} Architectures must be [x86_64] or [arm64], got {value!r}",
            location=props.key_location("Architectures"),
        )
    return (str(value[0]),)


# -- events ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One Api/HttpApi event before it is tied to an :class:`ApiSpec`."""

    name: str
    kind: ApiKind
    api: str | None  # logical ID of the API, None for the implicit one
    method: str
    path: str
    payload_format: PayloadFormat
    timeout_ms: int | None
    location: Location | None
    auth: EventAuth | None = None


def parse_event(
    owner: str,
    event_name: str,
    kind: ApiKind,
    api: str | None,
    props: LocatedDict,
    *,
    location: Location | None,
    log: WarningLog,
) -> EventSpec:
    """An Api (``rest``) or HttpApi (``http``) event's resolved Properties → EventSpec."""
    what = f"{owner} event '{event_name}'"
    supported = _REST_EVENT_PROPERTIES if kind == "rest" else _HTTP_EVENT_PROPERTIES
    warn_unsupported(log, what, props, supported)

    path = _text(props, "Path", f"{what} Path")
    method = _text(props, "Method", f"{what} Method")
    if kind == "http" and path is None and method is None:
        # SAM: an HttpApi event with neither Path nor Method is the $default route.
        path, method = HTTP_DEFAULT_STAGE, "ANY"
    if path is None or method is None:
        missing = "Path" if path is None else "Method"
        raise InvalidTemplateError(
            f"{what} has no {missing}",
            location=location,
            hint="add Path: /hello and Method: get",
        )
    if not (path.startswith("/") or (kind == "http" and path == HTTP_DEFAULT_STAGE)):
        raise InvalidTemplateError(
            f"{what} Path '{path}' must start with '/'", location=props.key_location("Path")
        )
    upper = "ANY" if method.lower() in ("any", _ANY_METHOD_EXTENSION) else method.upper()
    if upper not in _METHODS:
        raise InvalidTemplateError(
            f"{what} Method '{method}' is not an HTTP method API Gateway routes",
            location=props.key_location("Method"),
            hint="use " + ", ".join(sorted(_METHODS)).lower(),
        )

    payload: PayloadFormat = "1.0"
    timeout_ms = None
    if kind == "http":
        # HttpApi events default to payload format 2.0 (SAM HttpApi event docs).
        version = _text(props, "PayloadFormatVersion", f"{what} PayloadFormatVersion", "2.0")
        if version == "1.0":
            payload = "1.0"
        elif version == "2.0":
            payload = "2.0"
        else:
            raise InvalidTemplateError(
                f"{what} PayloadFormatVersion must be '1.0' or '2.0', got {version!r}",
                location=props.key_location("PayloadFormatVersion"),
            )
        timeout_ms = _integer(props, "TimeoutInMillis", f"{what} TimeoutInMillis", _HTTP_TIMEOUT_MS)
    return EventSpec(
        name=event_name,
        kind=kind,
        api=api,
        method=upper,
        path=path,
        payload_format=payload,
        timeout_ms=timeout_ms,
        location=location,
        auth=parse_event_auth(what, kind, props, log),
    )


# -- APIs ------------------------------------------------------------------------


def build_rest_api(
    logical_id: str,
    props: LocatedDict,
    *,
    stack_name: str,
    location: Location | None,
    properties_location: Location | None = None,
    log: WarningLog,
    implicit: bool = False,
    auth: ApiAuth | None = None,
) -> ApiSpec:
    """The :class:`ApiSpec` for a resolved ``AWS::Serverless::Api`` (or the implicit one).

    ``auth`` is its parsed ``Auth`` when the caller parsed it already.
    """
    owner = f"Api '{logical_id}'"
    if auth is None:
        auth = parse_api_auth(owner, "rest", props, log, logical_id=logical_id)
    stage = _text(props, "StageName", f"{owner} StageName")
    if stage is None:
        raise InvalidTemplateError(
            f"{owner} has no StageName",
            location=properties_location or location,
            hint="add StageName: Prod",
        )
    _check_stage(owner, stage, props)
    return ApiSpec(
        logical_id=logical_id,
        kind="rest",
        api_id=api_id_for(stack_name, logical_id),
        stage_name=stage,
        cors=_rest_cors(owner, props, log),
        stage_variables=_string_map(
            props.get("Variables"), f"{owner} stage variable", props.key_location("Variables")
        ),
        binary_media_types=_binary_media_types(owner, props),
        implicit=implicit,
        location=location,
        authorizers=auth.authorizers,
        default_authorizer=auth.default_authorizer,
        throttle_rules=parse_method_settings(owner, props),
        api_key_required=auth.api_key_required,
        usage_plan=auth.usage_plan,
    )


def _binary_media_types(owner: str, props: LocatedDict) -> tuple[str, ...]:
    value = props.get("BinaryMediaTypes")
    if value is None:
        return ()
    texts = [scalar_text(item) for item in value] if isinstance(value, list) else [None]
    if any(text is None for text in texts):
        raise InvalidTemplateError(
            f"{owner} BinaryMediaTypes must be a list of media types",
            location=props.key_location("BinaryMediaTypes"),
            hint="write BinaryMediaTypes: [image~1png, '*~1*']",
        )
    # SAM writes "/" as "~1" (JSON pointer style) and turns it back
    # (samtranslator/swagger/swagger.py, add_binary_media_types).
    return tuple(text.replace("~1", "/") for text in texts if text is not None)


def build_http_api(
    logical_id: str,
    props: LocatedDict,
    *,
    stack_name: str,
    location: Location | None,
    properties_location: Location | None = None,
    log: WarningLog,
    implicit: bool = False,
    auth: ApiAuth | None = None,
) -> ApiSpec:
    """The :class:`ApiSpec` for a resolved ``AWS::Serverless::HttpApi`` (or the implicit one).

    ``auth`` is its parsed ``Auth`` when the caller parsed it already.
    """
    owner = f"HttpApi '{logical_id}'"
    if auth is None:
        auth = parse_api_auth(owner, "http", props, log)
    stage = _text(props, "StageName", f"{owner} StageName", HTTP_DEFAULT_STAGE) or ""
    if stage != HTTP_DEFAULT_STAGE:
        _check_stage(owner, stage, props)
    return ApiSpec(
        logical_id=logical_id,
        kind="http",
        api_id=api_id_for(stack_name, logical_id),
        stage_name=stage,
        cors=_http_cors(owner, props),
        stage_variables=_string_map(
            props.get("StageVariables"),
            f"{owner} stage variable",
            props.key_location("StageVariables"),
        ),
        implicit=implicit,
        location=location,
        authorizers=auth.authorizers,
        default_authorizer=auth.default_authorizer,
        throttle_rules=parse_http_route_settings(owner, props),
    )


def _check_stage(owner: str, stage: str, props: LocatedDict) -> None:
    if not _STAGE_NAME.fullmatch(stage):
        raise InvalidTemplateError(
            f"{owner} StageName '{stage}' is not a valid stage name",
            location=props.key_location("StageName"),
            hint="use letters, digits, '-' and '_'",
        )


def _unquote(value: str) -> str:
    # SAM's REST Cors values are API Gateway header *expressions*: "'*'" means the
    # literal * (api_generator.py, _CORS_WILDCARD = "'*'").
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


_REST_CORS_KEYS: Final = frozenset(
    {"AllowMethods", "AllowHeaders", "AllowOrigin", "MaxAge", "AllowCredentials"}
)
_HTTP_CORS_KEYS: Final = frozenset(
    {"AllowMethods", "AllowHeaders", "AllowOrigins", "MaxAge", "ExposeHeaders", "AllowCredentials"}
)


def _rest_cors(owner: str, props: LocatedDict, log: WarningLog) -> CorsConfig | None:
    """SAM ``Cors`` (samtranslator/model/api/api_generator.py, ``_add_cors``)."""
    cors = props.get("Cors")
    loc = props.key_location("Cors")
    if cors is None:
        return None
    if isinstance(cors, str):
        cors = LocatedDict({"AllowOrigin": cors}, location=loc)
    if not isinstance(cors, LocatedDict):
        raise InvalidTemplateError(
            f"{owner} Cors must be a string like \"'*'\" or a mapping", location=loc
        )
    for key in cors:
        if key not in _REST_CORS_KEYS:
            raise InvalidTemplateError(
                f"{owner} has invalid key '{key}' for 'Cors'",
                location=cors.key_location(key),
                hint="use " + ", ".join(sorted(_REST_CORS_KEYS)),
            )

    def quoted(key: str) -> str | None:
        text = _text(cors, key, f"{owner} Cors {key}")
        if text is None:
            return None
        if _unquote(text) == text:
            log.warn(
                f"{owner}: Cors {key} {text!r} should be quoted as \"'{text}'\" "
                "(API Gateway reads it as a header expression)",
                cors.key_location(key),
            )
        return _unquote(text)

    origin = quoted("AllowOrigin") or "*"
    credentials = cors.get("AllowCredentials", False) is True
    if credentials and origin == "*":
        raise InvalidTemplateError(
            f"{owner} Cors: AllowCredentials cannot be true when AllowOrigin is '*' or not set",
            location=cors.key_location("AllowCredentials"),
            hint="name the allowed origin, e.g. AllowOrigin: \"'https://example.com'\"",
        )
    methods = quoted("AllowMethods")
    headers = quoted("AllowHeaders")
    max_age = quoted("MaxAge")
    if max_age is not None and not max_age.isdigit():
        raise InvalidTemplateError(
            f"{owner} Cors MaxAge must be a number of seconds",
            location=cors.key_location("MaxAge"),
        )
    return CorsConfig(
        allow_origins=_split_list(origin),
        allow_methods=_split_list(methods) if methods else (),
        allow_headers=_split_list(headers) if headers else (),
        max_age=int(max_age) if max_age is not None else None,
        allow_credentials=credentials,
    )


def _http_cors(owner: str, props: LocatedDict) -> CorsConfig | None:
    """SAM ``CorsConfiguration`` (samtranslator/model/api/http_api_generator.py, ``_add_cors``)."""
    cors = props.get("CorsConfiguration")
    loc = props.key_location("CorsConfiguration")
    if cors is None or cors is False:
        return None
    if cors is True:
        return CorsConfig(allow_origins=("*",))
    if not isinstance(cors, LocatedDict):
        raise InvalidTemplateError(
            f"{owner} CorsConfiguration must be true or a mapping", location=loc
        )
    for key in cors:
        if key not in _HTTP_CORS_KEYS:
            raise InvalidTemplateError(
                f"{owner} has invalid key '{key}' for 'CorsConfiguration'",
                location=cors.key_location(key),
                hint="use " + ", ".join(sorted(_HTTP_CORS_KEYS)),
            )

    def strings(key: str) -> tuple[str, ...]:
        value = cors.get(key)
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        texts = [scalar_text(item) for item in items]
        if any(text is None for text in texts):
            raise InvalidTemplateError(
                f"{owner} CorsConfiguration {key} must be a list of strings",
                location=cors.key_location(key),
            )
        return tuple(_unquote(text) for text in texts if text is not None)

    origins = strings("AllowOrigins")
    credentials = cors.get("AllowCredentials", False) is True
    if credentials and origins == ("*",):
        raise InvalidTemplateError(
            f"{owner} CorsConfiguration: AllowCredentials cannot be true when AllowOrigins "
            "is ['*']",
            location=cors.key_location("AllowCredentials"),
            hint="list the allowed origins explicitly",
        )
    max_age = _integer(cors, "MaxAge", f"{owner} CorsConfiguration MaxAge", (-1, 86400))
    return CorsConfig(
        allow_origins=origins,
        allow_methods=tuple(m.upper() for m in strings("AllowMethods")),
        allow_headers=strings("AllowHeaders"),
        expose_headers=strings("ExposeHeaders"),
        max_age=max_age,
        allow_credentials=credentials,
    )


_ALIAS_NAME = re.compile(r"(?!^[0-9]+$)[a-zA-Z0-9-_]{1,128}")


def _alias_name(owner: str, props: LocatedDict) -> str | None:
    """``AutoPublishAlias``, checked as Lambda checks alias names (not all digits)."""
    name = _text(props, "AutoPublishAlias", f"{owner} AutoPublishAlias")
    if name is not None and not _ALIAS_NAME.fullmatch(name):
        raise InvalidTemplateError(
            f"{owner} AutoPublishAlias {name!r} is not a valid alias name",
            location=props.key_location("AutoPublishAlias"),
            hint="use letters, digits, '-' or '_' (not only digits), e.g. live",
        )
    return name


def _deployment_preference(owner: str, props: LocatedDict) -> Mapping[str, Any] | None:
    raw = props.get("DeploymentPreference")
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise InvalidTemplateError(
            f"{owner} DeploymentPreference must be a mapping",
            location=props.key_location("DeploymentPreference"),
            hint="e.g. DeploymentPreference: {Type: Canary10Percent5Minutes}",
        )
    if "AutoPublishAlias" not in props:
        raise InvalidTemplateError(
            f"{owner} has a DeploymentPreference but no AutoPublishAlias",
            location=props.key_location("DeploymentPreference"),
            hint="SAM shifts traffic between versions of an alias: add AutoPublishAlias: live",
        )
    mapping: dict[str, Any] = plain(raw)
    return mapping


def plain(value: Any) -> Any:
    """Template nodes as plain dicts and lists (no locations), for other packages."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
