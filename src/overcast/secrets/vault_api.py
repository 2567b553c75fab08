"""An ASGI app that speaks Vault's HTTP API under ``/v1/`` so hvac works unchanged.

Responses use Vault's envelope (request_id, lease_id, renewable, lease_duration, data,
wrap_info, warnings, auth) and its error bodies: ``{"errors": []}`` with 404 for missing
paths, ``{"errors": ["permission denied"]}`` with 403, 400 with messages, 405 for a method
a path does not support. https://developer.hashicorp.com/vault/api-docs
hvac sends the ``LIST`` verb unless built with ``strict_http=True``: serve this app with an
HTTP parser that accepts any method token (uvicorn's ``h11``); ``GET ?list=true`` works too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

import orjson

from overcast.control.asgi_types import Receive, Scope, Send, read_body, send_response
from overcast.secrets.errors import (
    InvalidRequestError,
    PermissionDeniedError,
    SecretNotFoundError,
    SecretsError,
    VersionDeletedError,
)
from overcast.secrets.policy import Acl, PolicyStore
from overcast.secrets.request_path import CanonicalPath, Redirect, Refusal, is_canonical, resolve
from overcast.secrets.store import KvStore
from overcast.secrets.tokens import TokenInfo, TokenRequest, TokenStore, parse_duration

logger = logging.getLogger(__name__)

PREFIX = "/v1/"
MOUNT = "secret"
VAULT_VERSION = "1.15.6+overcast"
_BODY_LIMIT = 1 << 20
_NO_STORE = [(b"cache-control", b"no-store")]
_JSON = [(b"content-type", b"application/json"), *_NO_STORE]


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed Vault request."""

    method: str  # GET, LIST, POST (PUT folded in), PATCH, DELETE, HEAD
    path: str  # canonical (request_path.resolve): without /v1/ and surrounding slashes
    query: dict[str, list[str]]
    body: dict[str, Any]
    token: str | None
    trailing_slash: bool = False  # the path as sent ended in "/"


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers: a status and a JSON body (None: no content)."""

    status: int
    body: dict[str, Any] | None = None


Handler = Callable[[Request], Reply]


class VaultApi:
    """Routes ``/v1/...`` to the KV v2 store, the token store and the policy store."""

    def __init__(self, store: KvStore, tokens: TokenStore, policies: PolicyStore) -> None:
        self._store = store
        self._tokens = tokens
        self._policies = policies

    def handles(self, path: str) -> bool:
        """Whether a request path belongs to this app."""
        return path.startswith(PREFIX)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        # Every route and every ACL check sees only the canonical path (request_path).
        raw_path = scope.get("raw_path") or quote(str(scope["path"]), safe="/").encode()
        where = resolve(raw_path, scope.get("query_string", b""))
        if isinstance(where, Redirect):
            headers = [(b"location", where.location.encode("latin-1")), *_NO_STORE]
            await send_response(send, 301, b"", headers)
            return
        if isinstance(where, Refusal):
            await _send(send, Reply(400, {"errors": [where.message]}))
            return
        body = await read_body(receive, _BODY_LIMIT)
        if body is None:
            await _send(send, Reply(413, {"errors": ["request body too large"]}))
            return
        try:
            request = _parse(scope, body, where)
        except InvalidRequestError as exc:
            await _send(send, Reply(400, {"errors": [exc.message]}))
            return
        # The stores do blocking file I/O with fsync; keep it off the event loop.
        try:
            reply = await asyncio.to_thread(self.dispatch, request)
        except Exception:
            # A bug must still answer in Vault's shape; the traceback stays in the log.
            logger.exception("Vault API: %s /v1/%s failed", request.method, request.path)
            reply = Reply(500, {"errors": ["internal error"]})
        await _send(send, reply, head=request.method == "HEAD")

    def dispatch(self, request: Request) -> Reply:
        """Answer one request (synchronously; used by the ASGI entry and by tests)."""
        if not is_canonical(request.path):
            return Reply(400, {"errors": [f"invalid request path {request.path!r}"]})
        if request.trailing_slash and request.method in ("POST", "PATCH"):
            # Vault's core refuses these: a key named "x/" and a folder "x/" would clash.
            return Reply(400, {"errors": ["cannot write to a path ending in '/'"]})
        try:
            return self._route(request)
        except VersionDeletedError as exc:
            return Reply(404, _envelope({"data": None, "metadata": exc.metadata}))
        except SecretNotFoundError:
            return Reply(404, {"errors": []})
        except PermissionDeniedError:
            return Reply(403, {"errors": ["permission denied"]})
        except SecretsError as exc:
            return Reply(exc.status, {"errors": [exc.message]})
        except OSError as exc:
            # A full or read-only disk, or an I/O error: every write is an atomic replace,
            # so nothing is half-written. The caller gets the cause, not our paths.
            logger.error(
                "Vault API: %s /v1/%s: storage failure: %s", request.method, request.path, exc
            )
            cause = os.strerror(exc.errno) if exc.errno else "I/O error"
            return Reply(500, {"errors": [f"storage failure: {cause}"]})

    # -- routing -----------------------------------------------------------------------

    def _route(self, request: Request) -> Reply:
        path = request.path
        if path == "sys/health":
            return self._health(request)
        if path == "sys/init":
            return Reply(200, {"initialized": True})
        if path == "sys/seal-status":
            return Reply(200, _SEAL_STATUS)
        head, _, rest = path.partition("/")
        if head == MOUNT:
            kind, _, secret_path = rest.partition("/")
            return self._kv(request, kind, secret_path)
        if path.startswith("auth/token/"):
            return self._token(request, path.removeprefix("auth/token/"))
        if path == "sys/mounts":
            self._authorize(request, path, "read")
            return _ok(_MOUNTS, merge_top=True)
        if path in ("sys/policy", "sys/policies/acl") or path.startswith(
            ("sys/policy/", "sys/policies/acl/")
        ):
            return self._policy(request)
        if path == "sys/capabilities-self":
            info = self._authorize(request, path, "update")
            return self._capabilities_self(request, info)
        return Reply(404, {"errors": [f"no handler for route {path!r}"]})

    def _authorize(self, request: Request, path: str, capability: str) -> TokenInfo:
        info = self._tokens.authenticate(request.token)
        if not Acl(self._policies.resolve(info.policies)).allows(path, capability):
            raise PermissionDeniedError("permission denied")
        return info

    def _sudo(self, info: TokenInfo, path: str) -> bool:
        return info.is_root or Acl(self._policies.resolve(info.policies)).allows(path, "sudo")

    def _health(self, request: Request) -> Reply:
        if request.method not in ("GET", "HEAD"):
            return _method_not_allowed()
        return Reply(
            200,
            {
                "initialized": True,
                "sealed": False,
                "standby": False,
                "performance_standby": False,
                "replication_performance_mode": "disabled",
                "replication_dr_mode": "disabled",
                "server_time_utc": int(time.time()),
                "version": VAULT_VERSION,
                "cluster_name": "overcast",
                "cluster_id": "overcast-embedded",
            },
        )

    # -- KV v2 -------------------------------------------------------------------------

    def _kv(self, request: Request, kind: str, secret_path: str) -> Reply:
        acl_path = f"{MOUNT}/{kind}/{secret_path}"
        method = request.method
        store = self._store
        if kind == "config":
            self._authorize(request, f"{MOUNT}/config", "read")
            return _ok({"cas_required": False, "delete_version_after": "0s", "max_versions": 0})
        if kind == "metadata" and method == "LIST":
            self._authorize(request, acl_path.rstrip("/") + "/", "list")
            return _ok({"keys": store.list_keys(secret_path)})
        if not secret_path:
            return Reply(404, {"errors": []})
        if request.trailing_slash and kind in ("data", "metadata"):
            # As in Vault, the slash stays part of the key and of the ACL path; no write
            # can make a key ending in "/", so after the check there is nothing to find.
            self._authorize(request, acl_path + "/", "delete" if method == "DELETE" else "read")
            return Reply(404, {"errors": []})
        if kind == "data":
            if method == "GET":
                self._authorize(request, acl_path, "read")
                version = _int_param(request, "version")
                secret = store.read(secret_path, version)
                return _ok({"data": dict(secret.data), "metadata": dict(secret.metadata)})
            if method == "POST":
                self._authorize(request, acl_path, self._create_or_update(secret_path))
                data = request.body.get("data")
                if not isinstance(data, dict):
                    raise InvalidRequestError("no data provided")
                return _ok(store.write(secret_path, data, _cas(request)))
            if method == "PATCH":
                self._authorize(request, acl_path, "patch")
                data = request.body.get("data")
                if not isinstance(data, dict):
                    raise InvalidRequestError("no data provided")
                return _ok(store.patch(secret_path, data, _cas(request)))
            if method == "DELETE":
                self._authorize(request, acl_path, "delete")
                store.delete_latest(secret_path)
                return Reply(204)
            return _method_not_allowed()
        if kind == "metadata":
            if method == "GET":
                self._authorize(request, acl_path, "read")
                return _ok(store.read_metadata(secret_path))
            if method == "POST":
                self._authorize(request, acl_path, self._create_or_update(secret_path))
                body = request.body
                custom = body.get("custom_metadata")
                store.write_metadata(
                    secret_path,
                    max_versions=_opt_int(body.get("max_versions")),
                    cas_required=body.get("cas_required"),
                    custom_metadata=custom if isinstance(custom, dict) else None,
                    delete_version_after=body.get("delete_version_after"),
                )
                return Reply(204)
            if method == "DELETE":
                self._authorize(request, acl_path, "delete")
                store.delete_metadata(secret_path)
                return Reply(204)
            return _method_not_allowed()
        actions = {
            "delete": store.delete_versions,
            "undelete": store.undelete_versions,
            "destroy": store.destroy_versions,
        }
        if kind in actions:
            if method != "POST":
                return _method_not_allowed()
            self._authorize(request, acl_path, "update")
            versions = request.body.get("versions")
            if not isinstance(versions, list):
                raise InvalidRequestError("no version number provided")
            actions[kind](secret_path, versions)
            return Reply(204)
        return Reply(404, {"errors": [f"no handler for route '{MOUNT}/{kind}'"]})

    def _create_or_update(self, secret_path: str) -> str:
        try:
            self._store.read_metadata(secret_path)
        except SecretNotFoundError:
            return "create"
        return "update"

    # -- tokens ------------------------------------------------------------------------

    def _token(self, request: Request, action: str) -> Reply:
        tokens = self._tokens
        method = request.method
        path = f"auth/token/{action}"
        if action in ("create", "create-orphan"):
            if method != "POST":
                return _method_not_allowed()
            parent = self._authorize(request, path, "update")
            wanted = TokenRequest.from_json(request.body)
            # create-orphan is governed by its own ACL path; no_parent needs root or sudo.
            if wanted.no_parent and not self._sudo(parent, path):
                raise InvalidRequestError("root or sudo privileges required to create orphan token")
            orphan = action == "create-orphan" or wanted.no_parent
            _token, auth = tokens.create(parent, wanted, orphan=orphan)
            return Reply(200, _envelope(None, auth=auth))
        if action == "lookup-self":
            info = self._authorize(request, path, "read")
            return _ok(dict(info.lookup))
        if action == "lookup":
            self._authorize(request, path, "update" if method == "POST" else "read")
            target = request.body.get("token") or _str_param(request, "token")
            if not target:
                raise InvalidRequestError("missing token to look up")
            return _ok(tokens.lookup(str(target)))
        if action == "lookup-accessor":
            self._authorize(request, path, "update")
            return _ok(tokens.lookup_accessor(str(request.body.get("accessor", ""))))
        if action == "renew-self":
            self._authorize(request, path, "update")
            increment = request.body.get("increment")
            auth = tokens.renew(request.token or "", _opt_duration(increment))
            return Reply(200, _envelope(None, auth=auth))
        if action == "renew":
            self._authorize(request, path, "update")
            increment = request.body.get("increment")
            auth = tokens.renew(str(request.body.get("token", "")), _opt_duration(increment))
            return Reply(200, _envelope(None, auth=auth))
        if action == "revoke-self":
            self._authorize(request, path, "update")
            tokens.revoke(request.token or "")
            return Reply(204)
        if action == "revoke":
            self._authorize(request, path, "update")
            tokens.revoke(str(request.body.get("token", "")))
            return Reply(204)
        if action == "revoke-accessor":
            self._authorize(request, path, "update")
            tokens.revoke_accessor(str(request.body.get("accessor", "")))
            return Reply(204)
        if action == "revoke-orphan":
            # Root-protected in Vault: update and sudo on the path.
            caller = self._authorize(request, path, "update")
            if not self._sudo(caller, path):
                raise PermissionDeniedError("permission denied")
            target = request.body.get("token")
            if not isinstance(target, str) or not target:
                raise InvalidRequestError("missing token")
            tokens.revoke_orphan(target)
            return Reply(204)
        if action == "accessors":
            # Vault requires sudo here: accessors can revoke tokens in bulk.
            caller = self._authorize(request, "auth/token/accessors/", "list")
            if not self._sudo(caller, "auth/token/accessors/"):
                raise PermissionDeniedError("permission denied")
            return _ok({"keys": tokens.accessors()})
        return Reply(404, {"errors": [f"no handler for route 'auth/token/{action}'"]})

    # -- policies ----------------------------------------------------------------------

    def _policy(self, request: Request) -> Reply:
        acl_form = request.path.startswith("sys/policies/acl")
        base = "sys/policies/acl" if acl_form else "sys/policy"
        name = request.path.removeprefix(base).strip("/")
        method = request.method
        policies = self._policies
        if not name:
            if method not in ("GET", "LIST"):
                return _method_not_allowed()
            self._authorize(request, base, "list" if method == "LIST" else "read")
            names = policies.names()
            if acl_form:
                return _ok({"keys": names})
            return _ok({"keys": names, "policies": names}, merge_top=True)
        acl_path = f"{base}/{name}"
        if method == "GET":
            self._authorize(request, acl_path, "read")
            policy = policies.get(name)
            if acl_form:
                return _ok({"name": name, "policy": policy.text})
            return _ok({"name": name, "rules": policy.text}, merge_top=True)
        if method == "POST":
            self._authorize(request, acl_path, "update")
            text = request.body.get("policy", request.body.get("rules"))
            if isinstance(text, dict):
                text = orjson.dumps(text).decode()
            if not isinstance(text, str):
                raise InvalidRequestError("'policy' parameter not supplied or empty")
            policies.put(name, text)
            return Reply(204)
        if method == "DELETE":
            self._authorize(request, acl_path, "delete")
            policies.delete(name)
            return Reply(204)
        return _method_not_allowed()

    def _capabilities_self(self, request: Request, info: TokenInfo) -> Reply:
        paths = request.body.get("paths") or [request.body.get("path", "")]
        acl = Acl(self._policies.resolve(info.policies))
        result: dict[str, Any] = {}
        for path in paths:
            caps = acl.capabilities(str(path))
            result[str(path)] = sorted(caps) if caps else ["deny"]
        if len(paths) == 1:
            result["capabilities"] = result[str(paths[0])]
        return _ok(result, merge_top=True)


# -- helpers ---------------------------------------------------------------------------

_SEAL_STATUS: dict[str, Any] = {
    "type": "shamir",
    "initialized": True,
    "sealed": False,
    "t": 1,
    "n": 1,
    "progress": 0,
    "nonce": "",
    "version": VAULT_VERSION,
    "migration": False,
    "recovery_seal": False,
    "storage_type": "file",
}

_MOUNTS: dict[str, Any] = {
    f"{MOUNT}/": {
        "accessor": "kv_overcast",
        "config": {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0},
        "description": "key/value secret storage",
        "external_entropy_access": False,
        "local": False,
        "options": {"version": "2"},
        "seal_wrap": False,
        "type": "kv",
        "uuid": "overcast-kv",
    },
    "sys/": {
        "accessor": "system_overcast",
        "config": {"default_lease_ttl": 0, "force_no_cache": False, "max_lease_ttl": 0},
        "description": "system endpoints used for control, policy and debugging",
        "external_entropy_access": False,
        "local": False,
        "options": None,
        "seal_wrap": True,
        "type": "system",
        "uuid": "overcast-sys",
    },
}


def _parse(scope: Scope, raw: bytes, where: CanonicalPath) -> Request:
    method = str(scope["method"]).upper()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    if method == "PUT":
        method = "POST"
    if method == "GET" and query.get("list", [""])[0].lower() in ("true", "1"):
        method = "LIST"
    body: dict[str, Any] = {}
    if raw.strip():
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequestError(f"failed to parse JSON input: {exc}") from exc
        if not isinstance(parsed, dict):
            raise InvalidRequestError("failed to parse JSON input: object expected")
        body = parsed
    token: str | None = None
    for name, value in scope.get("headers", []):
        if name == b"x-vault-token":
            token = value.decode("latin-1")
        elif name == b"authorization" and token is None:
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer":
                token = credential.strip()
    return Request(method, where.path, query, body, token, where.trailing_slash)


def _envelope(data: Any, auth: Any = None) -> dict[str, Any]:
    return {
        "request_id": str(uuid.uuid4()),
        "lease_id": "",
        "renewable": False,
        "lease_duration": 0,
        "data": data,
        "wrap_info": None,
        "warnings": None,
        "auth": auth,
    }


def _ok(data: dict[str, Any], *, merge_top: bool = False) -> Reply:
    body = _envelope(data)
    if merge_top:
        # Older sys endpoints (sys/mounts, sys/policy) repeat their data at the top level.
        body = {**data, **body}
    return Reply(200, body)


def _method_not_allowed() -> Reply:
    return Reply(405, {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]})


def _str_param(request: Request, name: str) -> str | None:
    values = request.query.get(name)
    return values[0] if values else None


def _int_param(request: Request, name: str) -> int | None:
    value = _str_param(request, name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise InvalidRequestError(f"invalid {name} {value!r}") from exc


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"expected an integer, got {value!r}") from exc


def _opt_duration(value: Any) -> int | None:
    return None if value in (None, "", 0) else parse_duration(value)


def _cas(request: Request) -> int | None:
    options = request.body.get("options")
    if isinstance(options, dict) and options.get("cas") is not None:
        return _opt_int(options["cas"])
    return None


async def _send(send: Send, reply: Reply, *, head: bool = False) -> None:
    if reply.body is None:
        await send_response(send, reply.status, b"", [(b"cache-control", b"no-store")])
        return
    payload = orjson.dumps(reply.body)
    await send_response(send, reply.status, b"" if head else payload, _JSON)
