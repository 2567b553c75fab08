"""The AWS Lambda API subset on the admin port, shaped so boto3's ``lambda`` client works.

Operations (API version 2015-03-31, rest-json protocol):
``Invoke`` (POST /2015-03-31/functions/{name}/invocations), ``ListFunctions``
(GET /2015-03-31/functions/), ``GetFunction`` (GET /2015-03-31/functions/{name}) and
``GetFunctionConfiguration`` (GET .../{name}/configuration).

Error shapes follow the Lambda API reference: the code travels in the
``x-amzn-ErrorType`` header and the body is ``{"Type": "User", "message": ...}``.
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors

A request's resource, for authorization, is the function's ARN with the qualifier it
names (``Name:prod``, or ``?Qualifier=prod``), as IAM sees a qualified invocation; a
key limited to stages (``KEY_STAGES`` in the scope, set by the admin app) lists only
the functions its stages run.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote

import orjson

from overcast.control.asgi_types import Receive, Scope, Send, read_body, send_response
from overcast.errors import OvercastError
from overcast.events import Dispatcher
from overcast.ids import request_id as new_request_id
from overcast.invoke import (
    MAX_SYNC_PAYLOAD_BYTES,
    FunctionNotFoundError,
    InvokeError,
    Invoker,
    InvokeRequest,
    ThrottledError,
)
from overcast.template.model import FunctionSpec

_PREFIX = "/2015-03-31/functions"
# Event invocations may carry up to 1 MB (Lambda quotas); the body is read once either way.
_MAX_ASYNC_PAYLOAD_BYTES = 1024 * 1024
# name, partial ARN (ACCOUNT:function:NAME) or full ARN, each optionally ":QUALIFIER".
_FUNCTION_REF = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:function:|\d{12}:function:)?"
    r"(?P<name>[a-zA-Z0-9_-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)
_JSON = (b"content-type", b"application/json")
_OPERATIONS = {
    ("POST", "invocations"): "lambda:InvokeFunction",
    ("GET", ""): "lambda:GetFunction",
    ("GET", "configuration"): "lambda:GetFunctionConfiguration",
}


#: the ASGI scope key under which the admin app passes the stages a key is limited to
KEY_STAGES = "overcast.key_stages"
#: ... the stacks it is limited to, and the qualifier an unqualified name means (a
#: platform function's own stage)
KEY_STACKS = "overcast.key_stacks"
DEFAULT_QUALIFIER = "overcast.default_qualifier"


class FunctionCatalog(Protocol):
    """The functions the Lambda API describes: by qualifier, or within some stages."""

    def functions(
        self,
        qualifier: str | None = None,
        stages: Sequence[str] = (),
        stacks: Sequence[str] = (),
    ) -> Mapping[str, FunctionSpec]: ...


class StaticCatalog:
    """One app's functions, whatever the qualifier (``overcast up`` runs one version)."""

    def __init__(self, specs: Mapping[str, FunctionSpec]) -> None:
        self._by_name = {spec.name: spec for spec in specs.values()}

    def functions(
        self,
        qualifier: str | None = None,
        stages: Sequence[str] = (),
        stacks: Sequence[str] = (),
    ) -> Mapping[str, FunctionSpec]:
        return self._by_name


def qualified(
    ref: str, query: Mapping[str, list[str]], default: str = ""
) -> tuple[str, str] | None:
    """(name, qualifier) a request names, from ``Name:Qualifier`` or ``?Qualifier=``."""
    match = _FUNCTION_REF.match(ref)
    if match is None:
        return None
    qualifier = match.group("qualifier") or query.get("Qualifier", [""])[0] or default
    return match.group("name"), qualifier


def _path_parts(raw_path: str) -> list[str]:
    return raw_path.split("?", 1)[0][len(_PREFIX) :].strip("/").split("/")


class LambdaApiError(OvercastError):
    """A request the Lambda API refuses: its HTTP status and AWS's error type."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class InvokeParameters:
    """What an Invoke request asks for, checked."""

    invocation_type: str
    #: the event as JSON (``{}`` for an empty body)
    payload: bytes
    client_context: str | None
    want_log_tail: bool


_INVOCATION_TYPES = frozenset({"RequestResponse", "Event", "DryRun"})


def invocation_type(headers: Mapping[str, str]) -> str:
    """The ``X-Amz-Invocation-Type`` asked for (known before the body, which it bounds)."""
    kind = headers.get("x-amz-invocation-type", "RequestResponse")
    if kind not in _INVOCATION_TYPES:
        raise LambdaApiError(
            400, "InvalidParameterValueException", f"Unsupported invocation type: {kind[:100]}"
        )
    return kind


def invoke_parameters(headers: Mapping[str, str], body: bytes) -> InvokeParameters:
    """Check an Invoke request's headers (lower-case names) and body, sans I/O.

    The body must be JSON (an empty one is ``{}``), the client context base64, as the
    Invoke API reference requires; each refusal is a :class:`LambdaApiError`.
    """
    kind = invocation_type(headers)
    payload = body or b"{}"
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise LambdaApiError(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}"
        ) from None
    client_context = headers.get("x-amz-client-context")
    if client_context is not None:
        try:
            base64.b64decode(client_context, validate=True)
        except (binascii.Error, ValueError):
            raise LambdaApiError(
                400,
                "InvalidRequestContentException",
                "Client context must be a valid Base64-encoded JSON object.",
            ) from None
    return InvokeParameters(kind, payload, client_context, headers.get("x-amz-log-type") == "Tail")


@dataclass(frozen=True, slots=True)
class LambdaApiSettings:
    region: str
    account_id: str


class LambdaApi:
    """ASGI handler for the Lambda API paths.

    Event invocations go to ``events`` (the durable async queue) when given; without
    one they run once in a background task this object owns (no retries).
    """

    def __init__(
        self,
        invoker: Invoker,
        catalog: FunctionCatalog,
        settings: LambdaApiSettings,
        events: Dispatcher | None = None,
    ) -> None:
        self._invoker = invoker
        self._catalog = catalog
        self._settings = settings
        self._events = events
        self._background: set[asyncio.Task[None]] = set()

    def handles(self, path: str) -> bool:
        return path == _PREFIX or path.startswith(_PREFIX + "/")

    def action(self, method: str, raw_path: str, query_string: str = "") -> tuple[str, str]:
        """The IAM action and resource ARN a request asks for, for authorization.

        Names as in https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
        (Invoke is ``lambda:InvokeFunction``); a request that names no known operation
        is ``lambda:UnknownOperation``, which only the admin role may reach. The
        resource carries the qualifier the request names (``...:function:Name:prod``).
        """
        parts = _path_parts(raw_path)
        if parts == [""]:
            return ("lambda:ListFunctions" if method == "GET" else "lambda:UnknownOperation"), "*"
        ref = unquote(parts[0])
        named = qualified(ref, parse_qs(query_string))
        if named is None:
            resource = ref
        else:
            name, qualifier = named
            resource = self._arn(name) + (f":{qualifier}" if qualifier else "")
        suffix = parts[1] if len(parts) == 2 else ""
        if len(parts) > 2:
            return "lambda:UnknownOperation", resource
        return _OPERATIONS.get((method, suffix), "lambda:UnknownOperation"), resource

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        parts = _path_parts(raw_path.decode("latin-1"))
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if parts == [""] and method == "GET":
            listed = self._catalog.functions(
                stages=scope.get(KEY_STAGES, ()), stacks=scope.get(KEY_STACKS, ())
            )
            await self._json(
                send,
                200,
                {
                    "Functions": [self._configuration(s) for s in listed.values()],
                    "NextMarker": None,
                },
            )
            return
        if len(parts) in (1, 2) and parts[0]:
            ref = unquote(parts[0])
            suffix = parts[1] if len(parts) == 2 else ""
            default = scope.get(DEFAULT_QUALIFIER, "")
            if method == "POST" and suffix == "invocations":
                await self._invoke(ref, query, headers, receive, send, default=default)
                return
            if method == "GET" and suffix in ("", "configuration"):
                spec = self._lookup(ref, query, default)
                if spec is None:
                    await self._not_found(send, ref)
                    return
                config = self._configuration(spec)
                if suffix == "configuration":
                    await self._json(send, 200, config)
                else:
                    code = {"RepositoryType": "S3", "Location": f"file://{spec.code_dir}"}
                    await self._json(send, 200, {"Configuration": config, "Code": code, "Tags": {}})
                return
        await self._error(send, 404, "UnknownOperationException", "Unknown operation")

    async def aclose(self) -> None:
        """Wait for background (Event) invocations to finish."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)

    def _lookup(
        self, ref: str, query: Mapping[str, list[str]], default: str = ""
    ) -> FunctionSpec | None:
        named = qualified(ref, query, default)
        if named is None:
            return None
        name, qualifier = named
        return self._catalog.functions(qualifier or None).get(name)

    def _arn(self, name: str) -> str:
        s = self._settings
        return f"arn:aws:lambda:{s.region}:{s.account_id}:function:{name}"

    def _configuration(self, spec: FunctionSpec) -> dict[str, Any]:
        # Field set of FunctionConfiguration:
        # https://docs.aws.amazon.com/lambda/latest/api/API_FunctionConfiguration.html
        digest = base64.b64encode(hashlib.sha256(spec.code_dir.encode()).digest()).decode()
        return {
            "FunctionName": spec.name,
            "FunctionArn": self._arn(spec.name),
            "Runtime": spec.runtime,
            "Role": f"arn:aws:iam::{self._settings.account_id}:role/{spec.name}-role",
            "Handler": spec.handler,
            "CodeSize": 0,
            "Description": spec.description,
            "Timeout": int(spec.timeout_s),
            "MemorySize": spec.memory_mb,
            "LastModified": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
            "CodeSha256": digest,
            "Version": "$LATEST",
            "Environment": {"Variables": dict(spec.environment)},
            "TracingConfig": {"Mode": "PassThrough"},
            "RevisionId": str(uuid.uuid5(uuid.NAMESPACE_URL, spec.code_dir + spec.name)),
            "State": "Active",
            "LastUpdateStatus": "Successful",
            "PackageType": "Zip",
            "Architectures": list(spec.architectures),
            "EphemeralStorage": {"Size": 512},
            "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{spec.name}"},
        }

    async def _invoke(
        self,
        ref: str,
        query: Mapping[str, list[str]],
        headers: Mapping[str, str],
        receive: Receive,
        send: Send,
        *,
        default: str = "",
    ) -> None:
        spec = self._lookup(ref, query, default)
        if spec is None:
            await self._not_found(send, ref)
            return
        try:
            kind = invocation_type(headers)
        except LambdaApiError as exc:
            await self._error(send, exc.status, exc.code, exc.message)
            return
        limit = _MAX_ASYNC_PAYLOAD_BYTES if kind == "Event" else MAX_SYNC_PAYLOAD_BYTES
        body = await read_body(receive, limit)
        if body is None:
            await self._error(
                send,
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the InvokeFunction operation",
            )
            return
        try:
            parameters = invoke_parameters(headers, body)
        except LambdaApiError as exc:
            await self._error(send, exc.status, exc.code, exc.message)
            return
        if kind == "DryRun":
            await send_response(send, 204, b"", [_JSON])
            return
        named = qualified(ref, query, default)
        qualifier = named[1] if named is not None else ""
        request = InvokeRequest(
            function_name=spec.name,
            payload=parameters.payload,
            qualifier=qualifier or "$LATEST",
            client_context=parameters.client_context,
            want_log_tail=parameters.want_log_tail,
        )
        request_id = new_request_id()
        if kind == "Event":
            # The 202 names the invocation itself: the id its handler sees on every
            # attempt (Lambda keeps one request id across an event's retries).
            request = replace(request, request_id=request_id)
            if self._events is not None:
                await self._events.submit(request)
            else:
                task = asyncio.get_running_loop().create_task(self._run_event(request))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            await send_response(send, 202, b"", [_JSON, (b"x-amzn-requestid", request_id.encode())])
            return
        try:
            result = await self._invoker.invoke(request)
        except InvokeError as exc:
            await self._invoke_error(send, exc)
            return
        out = [
            _JSON,
            (b"x-amzn-requestid", (result.request_id or request_id).encode()),
            (b"x-amz-executed-version", result.executed_version.encode()),
        ]
        if result.function_error:
            out.append((b"x-amz-function-error", result.function_error.encode()))
        if request.want_log_tail:
            out.append((b"x-amz-log-result", base64.b64encode(result.log_tail[-4096:])))
        await send_response(send, 200, result.payload, out)

    async def _run_event(self, request: InvokeRequest) -> None:
        # Without a queue (no state folder): one attempt, the runtime logs its outcome.
        try:
            await self._invoker.invoke(request)
        except InvokeError:
            return

    async def _invoke_error(self, send: Send, exc: InvokeError) -> None:
        extra: dict[str, Any] = {}
        if isinstance(exc, ThrottledError):
            extra = {"Reason": exc.reason, "retryAfterSeconds": ""}
        if isinstance(exc, FunctionNotFoundError):
            await self._not_found(send, exc.message)
            return
        await self._error(send, exc.status, exc.error_type, exc.message, extra)

    async def _not_found(self, send: Send, ref: str) -> None:
        match = _FUNCTION_REF.match(ref)
        name = match.group("name") if match else ref
        await self._error(
            send, 404, "ResourceNotFoundException", f"Function not found: {self._arn(name)}"
        )

    async def _error(
        self,
        send: Send,
        status: int,
        code: str,
        message: str,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        body = {"Type": "User", "message": message, **(extra or {})}
        headers = [
            _JSON,
            (b"x-amzn-errortype", code.encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
        ]
        await send_response(send, status, orjson.dumps(body), headers)

    async def _json(self, send: Send, status: int, body: Any) -> None:
        await send_response(send, status, orjson.dumps(body), [_JSON])
