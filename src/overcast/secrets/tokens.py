"""Vault service tokens: issue, look up, renew, revoke; only their SHA-256 is stored.

Shapes follow Vault's token auth method:
https://developer.hashicorp.com/vault/api-docs/auth/token

Theory of operation: tokens form a tree, as in Vault ("Token hierarchies and orphan
tokens", https://developer.hashicorp.com/vault/docs/concepts/tokens). Each record names
its parent's key (None: an orphan). A token is live only while it and every ancestor are
stored and unexpired, so a child can never outlive its parent, whatever the clock or a
crash left on disk; a child's TTL and explicit max TTL are also capped at issue and at
renewal by what is left of its parent's, and the system max TTL caps every token but a
root token's. Revoking removes the whole subtree in one atomic rewrite of the sealed
document; ``revoke_orphan`` removes one token and makes its children orphans.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from overcast.durable_files import atomic_write, exclusive_lock
from overcast.secrets.crypto import Envelope
from overcast.secrets.errors import InvalidRequestError, PermissionDeniedError
from overcast.secrets.policy import DEFAULT_POLICY, ROOT_POLICY
from overcast.secrets.store import vault_time

# Vault's default max lease TTL (768h): the TTL of a token that names none, and the
# most any token but a root or periodic one may live, counted from its creation.
SYSTEM_MAX_TTL_S = 768 * 3600
DEFAULT_TTL_S = SYSTEM_MAX_TTL_S
_DURATION = re.compile(r"(\d+)(ms|s|m|h|d)?")
_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> int:
    """Seconds from Vault's duration forms: an int, ``"90"``, ``"90s"``, ``"1h30m"``."""
    if isinstance(value, bool):
        raise InvalidRequestError(f"invalid duration {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text:
        return 0
    total = 0
    position = 0
    for match in _DURATION.finditer(text):
        if match.start() != position:
            break
        amount, unit = int(match.group(1)), match.group(2)
        total += amount // 1000 if unit == "ms" else amount * _UNITS[unit]
        position = match.end()
    if position != len(text):
        raise InvalidRequestError(f"invalid duration {value!r}")
    return total


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as seen by a request: who it is and what it may do."""

    accessor: str
    policies: tuple[str, ...]
    display_name: str
    is_root: bool
    lookup: Mapping[str, Any]  # Vault's lookup-self data as of this request
    key: str = ""  # the stored key (SHA-256 of the id); "" for the node's own authority


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """What ``auth/token/create`` accepts (the subset overcast implements)."""

    policies: tuple[str, ...] = ()
    ttl: int | None = None
    explicit_max_ttl: int = 0
    renewable: bool = True
    num_uses: int = 0
    display_name: str = "token"
    meta: Mapping[str, str] | None = None
    no_default_policy: bool = False
    no_parent: bool = False  # Vault lets only root or sudo callers ask for this
    period: int = 0  # periodic token (node-issued only): each renewal grants this, no max

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TokenRequest:
        """Build from Vault's request body, validating types."""
        policies = body.get("policies") or []
        if isinstance(policies, str):
            policies = [p.strip() for p in policies.split(",") if p.strip()]
        if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
            raise InvalidRequestError("policies must be a list of strings")
        num_uses = body.get("num_uses", 0)
        if not isinstance(num_uses, int) or num_uses < 0:
            raise InvalidRequestError("number of uses cannot be negative")
        meta = body.get("meta")
        return cls(
            policies=tuple(policies),
            ttl=parse_duration(body["ttl"]) if body.get("ttl") not in (None, "") else None,
            explicit_max_ttl=parse_duration(body.get("explicit_max_ttl") or 0),
            renewable=bool(body.get("renewable", True)),
            num_uses=num_uses,
            display_name=str(body.get("display_name") or "token"),
            meta={str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else None,
            no_default_policy=bool(body.get("no_default_policy", False)),
            no_parent=bool(body.get("no_parent", False)),
        )


class TokenStore:
    """Tokens keyed by the SHA-256 of their id, in one sealed document."""

    def __init__(
        self, root: Path, envelope: Envelope, clock: Callable[[], float] = time.time
    ) -> None:
        self._file = root / "tokens.rec"
        self._lock_path = root / "tokens.lock"
        self._envelope = envelope
        self._clock = clock

    # -- issuing -----------------------------------------------------------------------

    def create_root(self) -> str:
        """Issue a root token (an orphan with no expiry and every capability)."""
        request = TokenRequest(
            policies=(ROOT_POLICY,),
            ttl=0,
            renewable=False,
            display_name="root",
            no_default_policy=True,
        )
        token, _record = self._issue(None, request, path="auth/token/root")
        return token

    def has_root(self) -> bool:
        """Whether any root token exists (the first start issues one)."""
        return any(ROOT_POLICY in r["policies"] for r in self._load().values())

    def create(
        self, parent: TokenInfo, request: TokenRequest, *, orphan: bool = False
    ) -> tuple[str, dict[str, Any]]:
        """Issue a token under ``parent``; ``orphan`` (create-orphan, no_parent) detaches it.

        A non-root parent can only hand on policies it holds. Checking that the caller
        may ask for an orphan is the API's business (it knows the caller's ACL).
        """
        wanted = list(dict.fromkeys(request.policies or parent.policies))
        if not parent.is_root:
            extra = set(wanted) - set(parent.policies) - {DEFAULT_POLICY}
            if extra:
                raise PermissionDeniedError(
                    f"child policies must be subset of parent: {sorted(extra)}"
                )
            if ROOT_POLICY in wanted:
                raise PermissionDeniedError(
                    "root tokens may not be created without parent token being root"
                )
        if (
            ROOT_POLICY not in wanted
            and DEFAULT_POLICY not in wanted
            and not (request.no_default_policy)
        ):
            wanted.append(DEFAULT_POLICY)
        final = TokenRequest(
            policies=tuple(sorted(wanted)),
            ttl=request.ttl,
            explicit_max_ttl=request.explicit_max_ttl,
            renewable=request.renewable,
            num_uses=request.num_uses,
            display_name=request.display_name,
            meta=request.meta,
            period=request.period,
        )
        # The node's own authority (key "") has no record: what it issues is an orphan.
        detached = orphan or request.no_parent or not parent.key
        token, record = self._issue(
            None if detached else parent.key, final, path="auth/token/create"
        )
        return token, self._auth_block(token, record)

    def _issue(
        self, parent_key: str | None, request: TokenRequest, path: str
    ) -> tuple[str, dict[str, Any]]:
        token = "hvs." + secrets.token_urlsafe(24)
        is_root = ROOT_POLICY in request.policies
        with exclusive_lock(self._lock_path):
            docs = self._load()
            now = self._clock()
            if parent_key is not None and not self._alive(docs, parent_key):
                # Revoked since it authenticated: its child must not be born an orphan.
                raise PermissionDeniedError("permission denied")
            explicit = min(request.explicit_max_ttl, SYSTEM_MAX_TTL_S)
            if request.period:
                ttl = request.period
            elif not request.ttl:
                # Vault: the default TTL, or no expiry for a root token.
                ttl = 0 if is_root else DEFAULT_TTL_S
            else:
                ttl = min(request.ttl, SYSTEM_MAX_TTL_S)
            limits = [now + ttl] if ttl else []
            if explicit:
                limits.append(now + explicit)
            parent_expiry = docs[parent_key]["expire_at"] if parent_key is not None else None
            if parent_expiry is not None:
                limits.append(parent_expiry)
                if explicit:
                    explicit = max(1, min(explicit, int(parent_expiry - now)))
            expire_at = min(limits) if limits else None
            granted = 0 if expire_at is None else max(0, round(expire_at - now))
            record = {
                "accessor": secrets.token_urlsafe(18),
                "policies": list(request.policies),
                "display_name": _display_name(request.display_name),
                "creation_time": int(now),
                "creation_ttl": granted,
                "expire_at": expire_at,
                "explicit_max_ttl": explicit,
                "period": request.period,
                "renewable": request.renewable and expire_at is not None,
                "num_uses": request.num_uses,
                "meta": dict(request.meta) if request.meta else None,
                "path": path,
                "parent": parent_key,
            }
            docs[_hash(token)] = record
            self._save(docs)
        return token, record

    # -- using -------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> TokenInfo:
        """The live token for this id, spending one use; PermissionDenied when unknown."""
        if not token:
            raise PermissionDeniedError("permission denied")
        key = _hash(token)
        docs = self._load()
        record = docs.get(key)
        if record is None or not self._alive(docs, key):
            raise PermissionDeniedError("permission denied")
        if record["num_uses"]:
            with exclusive_lock(self._lock_path):
                docs = self._load()
                record = docs.get(key)
                if record is None or not self._alive(docs, key):
                    raise PermissionDeniedError("permission denied")
                # Vault keeps a 1-use token alive for the request that spends it, then
                # revokes it as it revokes any token: with its subtree.
                record["num_uses"] -= 1
                if record["num_uses"] == 0:
                    self._remove_subtrees(docs, {key})
                self._save(docs)
        return _info(key, record, self._lookup_data(token, record))

    def lookup(self, token: str) -> dict[str, Any]:
        """Vault's ``data`` block for ``auth/token/lookup`` and ``lookup-self``."""
        key = _hash(token)
        docs = self._load()
        record = docs.get(key)
        if record is None or not self._alive(docs, key):
            raise InvalidRequestError("bad token")
        return self._lookup_data(token, record)

    def lookup_accessor(self, accessor: str) -> dict[str, Any]:
        """Vault's lookup data for the token with ``accessor`` (without its id)."""
        docs = self._load()
        for key, record in docs.items():
            if record["accessor"] == accessor and self._alive(docs, key):
                return self._lookup_data("", record)
        raise InvalidRequestError("invalid accessor")

    def renew(self, token: str, increment: int | None) -> dict[str, Any]:
        """Extend a renewable token's TTL, never past its max TTLs or its parent's expiry."""
        key = _hash(token)
        with exclusive_lock(self._lock_path):
            docs = self._load()
            record = docs.get(key)
            if record is None or not self._alive(docs, key):
                raise InvalidRequestError("bad token")
            if not record["renewable"]:
                raise InvalidRequestError("lease is not renewable")
            now = self._clock()
            period = record.get("period", 0)
            ttl = period or increment or record["creation_ttl"]
            limits = [now + min(ttl, SYSTEM_MAX_TTL_S)]
            if record["explicit_max_ttl"]:
                limits.append(record["creation_time"] + record["explicit_max_ttl"])
            if not period:
                limits.append(record["creation_time"] + SYSTEM_MAX_TTL_S)
            parent = record.get("parent")
            if parent is not None and docs[parent]["expire_at"] is not None:
                limits.append(docs[parent]["expire_at"])
            record["expire_at"] = max(now, min(limits))
            self._save(docs)
        return self._auth_block(token, record)

    def revoke(self, token: str) -> None:
        """Revoke a token and every token under it; an unknown token is no error (as Vault)."""
        self._revoke_where(lambda key, _record: key == _hash(token))

    def revoke_accessor(self, accessor: str) -> None:
        """Revoke the token with this accessor and every token under it."""
        self._revoke_where(lambda _key, record: record["accessor"] == accessor)

    def revoke_orphan(self, token: str) -> None:
        """Revoke only this token; its children become orphans (Vault's revoke-orphan)."""
        key = _hash(token)
        with exclusive_lock(self._lock_path):
            docs = self._load()
            if docs.pop(key, None) is None:
                return
            for record in docs.values():
                if record.get("parent") == key:
                    record["parent"] = None
            self._save(docs)

    def accessors(self) -> list[str]:
        """Accessors of every live token."""
        docs = self._load()
        return sorted(r["accessor"] for k, r in docs.items() if self._alive(docs, k))

    # -- internals ---------------------------------------------------------------------

    def _revoke_where(self, predicate: Callable[[str, dict[str, Any]], bool]) -> None:
        with exclusive_lock(self._lock_path):
            docs = self._load()
            roots = {key for key, record in docs.items() if predicate(key, record)}
            if roots:
                self._remove_subtrees(docs, roots)
                self._save(docs)

    @staticmethod
    def _remove_subtrees(docs: dict[str, dict[str, Any]], roots: set[str]) -> None:
        children: dict[str, list[str]] = {}
        for key, record in docs.items():
            parent = record.get("parent")
            if parent is not None:
                children.setdefault(parent, []).append(key)
        pending = list(roots)
        while pending:
            key = pending.pop()
            if docs.pop(key, None) is not None:
                pending.extend(children.get(key, ()))

    def _alive(self, docs: Mapping[str, Mapping[str, Any]], key: str) -> bool:
        """Stored and unexpired, and so is every ancestor (a broken chain is dead)."""
        seen: set[str] = set()
        current: str | None = key
        while current is not None:
            record = docs.get(current)
            if record is None or current in seen or self._expired(record):
                return False
            seen.add(current)
            current = record.get("parent")
        return True

    def _expired(self, record: Mapping[str, Any]) -> bool:
        expire_at = record["expire_at"]
        return expire_at is not None and expire_at <= self._clock()

    def _ttl(self, record: Mapping[str, Any]) -> int:
        expire_at = record["expire_at"]
        return 0 if expire_at is None else max(0, int(expire_at - self._clock()))

    def _lookup_data(self, token: str, record: Mapping[str, Any]) -> dict[str, Any]:
        expire_at = record["expire_at"]
        return {
            "accessor": record["accessor"],
            "creation_time": record["creation_time"],
            "creation_ttl": record["creation_ttl"],
            "display_name": record["display_name"],
            "entity_id": "",
            "expire_time": None
            if expire_at is None
            else vault_time(datetime.fromtimestamp(expire_at, UTC)),
            "explicit_max_ttl": record["explicit_max_ttl"],
            "id": token,
            "issue_time": vault_time(datetime.fromtimestamp(record["creation_time"], UTC)),
            "meta": record["meta"],
            "num_uses": record["num_uses"],
            "orphan": record.get("parent") is None,
            "path": record["path"],
            "policies": record["policies"],
            "renewable": record["renewable"],
            "ttl": self._ttl(record),
            "type": "service",
        }

    def _auth_block(self, token: str, record: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "client_token": token,
            "accessor": record["accessor"],
            "policies": record["policies"],
            "token_policies": record["policies"],
            "metadata": record["meta"],
            "lease_duration": self._ttl(record),
            "renewable": record["renewable"],
            "entity_id": "",
            "token_type": "service",
            "orphan": record.get("parent") is None,
            "mfa_requirement": None,
            "num_uses": record["num_uses"],
        }

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            blob = self._file.read_bytes()
        except FileNotFoundError:
            return {}
        docs: dict[str, dict[str, Any]] = orjson.loads(self._envelope.open("tokens", blob))
        return docs

    def _save(self, docs: dict[str, dict[str, Any]]) -> None:
        # Dead tokens (expired, or under a revoked or expired ancestor) go with any write.
        for key in [k for k in docs if not self._alive(docs, k)]:
            docs.pop(key, None)
        atomic_write(self._file, self._envelope.seal("tokens", orjson.dumps(docs)))


def _display_name(name: str) -> str:
    # Vault prefixes tokens made through auth/token with "token-".
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return clean if clean in ("root", "token") or clean.startswith("token-") else f"token-{clean}"


def _info(key: str, record: Mapping[str, Any], lookup: Mapping[str, Any]) -> TokenInfo:
    policies: Iterable[str] = record["policies"]
    return TokenInfo(
        key=key,
        accessor=record["accessor"],
        policies=tuple(policies),
        display_name=record["display_name"],
        is_root=ROOT_POLICY in record["policies"],
        lookup=lookup,
    )
