"""The admin port's gate: who signed a request (SigV4) and whether their role allows it."""

from __future__ import annotations

import hmac
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson

from overcast.control.access_keys import AccessKey, KeyStore, role_allows
from overcast.control.asgi_types import Receive, Scope, Send, read_body, send_response
from overcast.control.function_credentials import FunctionKeys
from overcast.control.permissions import allows
from overcast.control.sigv4 import (
    MISSING_MESSAGE,
    UNKNOWN_KEY_MESSAGE,
    Request,
    SignatureError,
    Verified,
    Verifier,
    parse_authorization,
)


@dataclass(frozen=True, slots=True)
class Denied:
    """An answer to send instead of serving the request, in AWS's rest-json error shape."""

    status: int
    code: str
    message: str
    message_field: str = "message"
    #: more response headers (``Retry-After``)
    headers: tuple[tuple[bytes, bytes], ...] = ()

    async def send(self, send: Send) -> None:
        """Send it: code in ``x-amzn-ErrorType``, text in the JSON body."""
        headers = [
            (b"content-type", b"application/json"),
            (b"x-amzn-errortype", self.code.encode()),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
            *self.headers,
        ]
        body = orjson.dumps({self.message_field: self.message})
        await send_response(send, self.status, body, headers)


class AccessControl:
    """Authenticates admin-port requests against the app's key store.

    ``function_keys`` are the running node's per-function keys (memory only); a
    ``function`` key may do exactly what its function's template permissions allow.
    """

    def __init__(
        self,
        keys: KeyStore,
        account_id: str,
        verifier: Verifier | None = None,
        function_keys: FunctionKeys | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clock = clock
        #: the stack running a function in a stage (set by a platform): what a key
        #: limited to stacks is checked against on the Lambda API
        self.stack_of: Callable[[str, str], str | None] = lambda stage, function: None
        self.keys = keys
        self.function_keys = function_keys or FunctionKeys()
        self._account_id = account_id
        # "cloudfront" signs the edge's invalidation endpoint, as boto3 would; "sqs" the
        # SQS API (control/sqs_api.py); "s3" the S3 API (control/s3_api.py).
        self._verifier = verifier or Verifier(
            self._secret_for,
            services=frozenset({"lambda", "cloudfront", "overcast", "sqs", "sns", "s3"}),
        )

    def _secret_for(self, access_key_id: str) -> str | None:
        return self.function_keys.secret_for(access_key_id) or self.keys.secret_for(access_key_id)

    def _key(self, access_key_id: str) -> AccessKey | None:
        return self.function_keys.get(access_key_id) or self.keys.get(access_key_id)

    def precheck(self, scope: Scope) -> Denied | None:
        """Refuse, before the body is read, a request no key of ours could have signed.

        A missing or malformed Authorization header, or an unknown key, needs no body to
        refuse; the signature itself needs the body's hash (see
        :meth:`authenticate_head` for requests that declare it).
        """
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if header is None:
            return Denied(403, "MissingAuthenticationTokenException", MISSING_MESSAGE)
        try:
            claimed = parse_authorization(header.decode("latin-1"))
        except SignatureError as exc:
            return Denied(exc.status, exc.code, exc.message)
        if self._key(claimed.access_key_id) is None:
            return Denied(403, "UnrecognizedClientException", UNKNOWN_KEY_MESSAGE)
        return None

    async def read_signed(
        self, scope: Scope, receive: Receive, limit: int, too_large: Denied
    ) -> tuple[AccessKey, bytes] | Denied:
        """The signer and the body of a request whose signature covers its body.

        What the head settles is refused before any body byte is read; a body over
        ``limit`` (announced by Content-Length, or as it arrives) is ``too_large``.
        """
        early = self.precheck(scope)
        if early is not None:
            return early
        announced = content_length(scope)
        body = None
        if announced is None or announced <= limit:
            body = await read_body(receive, limit)
        if body is None:
            return too_large
        who = self.authenticate(scope, body)
        if isinstance(who, Denied):
            return who
        return who, body

    def authenticate(self, scope: Scope, body: bytes) -> AccessKey | Denied:
        """The key that signed this request, or why it is refused."""
        try:
            verified = self._verifier.verify(_request(scope, body))
        except SignatureError as exc:
            return Denied(exc.status, exc.code, exc.message)
        return self._signer(scope, verified)

    def authenticate_head(self, scope: Scope) -> tuple[AccessKey, str] | Denied:
        """The key that signed this request and the body's sha256 it vouches for, or why
        it is refused — from the head alone, so before a byte of the body is read.

        Needs the payload hash declared in a signed ``x-amz-content-sha256`` (the
        signature covers it); the caller checks the body against it as it reads.
        """
        try:
            verified = self._verifier.verify_head(_request(scope, b""))
        except SignatureError as exc:
            return Denied(exc.status, exc.code, exc.message)
        key = self._signer(scope, verified)
        if isinstance(key, Denied):
            return key
        return key, verified.payload_hash

    def authenticate_presigned(self, scope: Scope) -> tuple[AccessKey, str] | Denied:
        """The key that presigned this URL (S3's query-string authentication) and the
        payload hash it vouches for (``UNSIGNED-PAYLOAD``), or why it is refused."""
        try:
            verified = self._verifier.verify_presigned(_request(scope, b""))
        except SignatureError as exc:
            return Denied(exc.status, exc.code, exc.message)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        key = self._signer(scope, verified, query.get("X-Amz-Security-Token", ""))
        if isinstance(key, Denied):
            return key
        return key, verified.payload_hash

    def _signer(
        self, scope: Scope, verified: Verified, token: str | None = None
    ) -> AccessKey | Denied:
        key = self._key(verified.access_key_id)
        if key is None:  # revoked between the two look-ups
            return Denied(403, "UnrecognizedClientException", UNKNOWN_KEY_MESSAGE)
        if key.session_token:
            # Temporary credentials: the session token is part of them (STS's rules);
            # a presigned URL carries it in its query (``token``).
            offered = (
                token
                if token is not None
                else next(
                    (v for k, v in scope["headers"] if k == b"x-amz-security-token"), b""
                ).decode("latin-1")
            )
            if not hmac.compare_digest(offered.encode(), key.session_token.encode()):
                return Denied(403, "UnrecognizedClientException", UNKNOWN_KEY_MESSAGE)
            if key.expires is not None and key.expires < self._clock():
                return Denied(
                    403,
                    "ExpiredTokenException",
                    "The security token included in the request is expired",
                )
        return key

    def _within_stacks(self, resource: str, stacks: tuple[str, ...]) -> bool:
        """Whether a key limited to ``stacks`` may touch ``resource``.

        A stack's deploys, rollbacks and deletion name it; a stage-wide read (a history,
        a list) is allowed and answered with the key's stacks only; a function is the
        stack's that runs it in the stage its qualifier names; an invalidation purges
        the whole stage's edge cache, which no stack owns alone.
        """
        if resource == "*":
            return True
        function = _FUNCTION_RESOURCE.match(resource)
        if function is not None:
            qualifier = function.group(1)
            name = resource.split(":function:", 1)[1].split(":", 1)[0]
            return qualifier is not None and self.stack_of(qualifier, name) in stacks
        match = _STAGE_RESOURCE.match(resource)
        if match is None:
            return True
        if match.group(1) == "distribution":
            return False
        return match.group(3) is None or match.group(3) in stacks

    def authorize(self, key: AccessKey, action: str, resource: str) -> Denied | None:
        """None when ``key``'s role allows ``action``; else AWS's AccessDeniedException.

        Message as IAM words it:
        https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
        """
        if key.role == "function":
            # On a platform a function acts within its own stage only, as a stack's
            # execution role reaches its own stack's functions on AWS.
            if allows(key.permissions, action, resource) and (
                not key.stages or _within_stages(resource, key.stages, unqualified=True)
            ):
                return None
            # A function acts through its execution role, as in Lambda.
            name = key.function
            role = f"arn:aws:sts::{self._account_id}:assumed-role/{name}-role/{name}"
            return Denied(
                403,
                "AccessDeniedException",
                f"User: {role} is not authorized to perform: {action} on resource: {resource} "
                f"because no identity-based policy allows the {action} action",
                message_field="Message",
            )
        user = f"arn:aws:iam::{self._account_id}:user/{key.access_key_id}"
        if key.stages and not _within_stages(resource, key.stages):
            hint = ""
            if resource.startswith("arn:aws:lambda:"):
                hint = f"; name the function with its stage, as FUNCTION:{key.stages[0]}"
            return Denied(
                403,
                "AccessDeniedException",
                f"User: {user} is not authorized to perform: {action} on resource: {resource} "
                f"(the key is limited to stage(s) {', '.join(key.stages)}{hint})",
                message_field="Message",
            )
        if key.stacks and not self._within_stacks(resource, key.stacks):
            return Denied(
                403,
                "AccessDeniedException",
                f"User: {user} is not authorized to perform: {action} on resource: {resource} "
                f"(the key is limited to stack(s) {', '.join(key.stacks)})",
                message_field="Message",
            )
        if role_allows(key.role, action):
            return None
        return Denied(
            403,
            "AccessDeniedException",
            f"User: {user} is not authorized to perform: {action} on resource: {resource} "
            f"(overcast role {key.role!r})",
            message_field="Message",
        )


def within_owner(key: AccessKey, resource: str, owner: tuple[str, str] | None) -> bool:
    """Whether a key limited to stages (or stacks) may touch ``resource`` (a queue's or
    topic's ARN, ``*`` for a listing), which the live deployment of ``owner`` — a
    (stage, stack), None for no stage's — declares: its own stages' resources; a
    function, also resources no stage owns that its policies name (checked before)."""
    if owner is None:
        return key.role == "function" and resource != "*"
    stage, stack = owner
    return (not key.stages or stage in key.stages) and (not key.stacks or stack in key.stacks)


def outside_owner(
    key: AccessKey,
    action: str,
    resource: str,
    account_id: str,
    *,
    what: str,
    code: str,
    message_field: str = "message",
) -> Denied:
    """The refusal when :func:`within_owner` says no, in IAM's words (``what``: the kind
    of resource, ``code``: the service's error code for it)."""
    user = f"arn:aws:iam::{account_id}:user/{key.access_key_id}"
    if key.role == "function":
        user = f"arn:aws:sts::{account_id}:assumed-role/{key.function}-role/{key.function}"
    limits = ", ".join((*key.stages, *key.stacks))
    return Denied(
        403,
        code,
        f"User: {user} is not authorized to perform: {action} on resource: {resource} "
        f"(the key is limited to {limits}; the {what} belongs to another stage or stack, "
        "or to none)",
        message_field=message_field,
    )


def _request(scope: Scope, body: bytes) -> Request:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    return Request(
        method=scope["method"],
        raw_path=raw_path.decode("latin-1").split("?", 1)[0],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
        body=body,
    )


def declares_payload(scope: Scope) -> bool:
    """Whether the request declares its body's sha256 (so it can be verified first)."""
    return any(k == b"x-amz-content-sha256" for k, _ in scope["headers"])


def content_length(scope: Scope) -> int | None:
    """The Content-Length a request announces; None when absent or not a number."""
    value = next((v for k, v in scope["headers"] if k == b"content-length"), None)
    if value is None or not value.isdigit():
        return None
    return int(value) if len(value) < 19 else 2**63  # past any cap, and int() stays cheap


def stage_resource(region: str, account_id: str, stage: str, stack: str | None = None) -> str:
    """The ARN the deploy API acts on: a stage, or one stack of it."""
    arn = f"arn:aws:overcast:{region}:{account_id}:stage/{stage}"
    return arn + (f"/stack/{stack}" if stack else "")


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the already-read body once, then defers to the real one."""
    sent = False

    async def replayed() -> dict[str, object]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return replayed


_STAGE_RESOURCE = re.compile(
    r"^arn:aws:(?:overcast|cloudfront):[^:]*:[^:]*:(stage|distribution)/([^/]+)(?:/stack/([^/]+))?$"
)


_FUNCTION_RESOURCE = re.compile(r"^arn:aws:lambda:[^:]*:[^:]*:function:[^:]+(?::([^:]+))?$")


def resource_stage(resource: str) -> str | None:
    """The stage a stage-scoped resource ARN names (deploys, invalidations), else None."""
    match = _STAGE_RESOURCE.match(resource)
    return match.group(2) if match else None


def _within_stages(resource: str, stages: tuple[str, ...], *, unqualified: bool = False) -> bool:
    """Whether a key limited to ``stages`` may touch ``resource``.

    Deploys and invalidations name their stage. A function is reached through a stage
    alias (``Name:dev``); a version or ``$LATEST`` may run in any stage, with that
    stage's secrets, so a limited key must name its stage. ``*`` (listing) is allowed:
    the Lambda API lists only what the key's stages run.
    """
    if resource == "*":
        return True
    function = _FUNCTION_RESOURCE.match(resource)
    if function is not None:
        # ``unqualified``: a function's own call without a qualifier means its stage.
        return function.group(1) in stages or (unqualified and function.group(1) is None)
    stage = resource_stage(resource)
    return stage is None or stage in stages
