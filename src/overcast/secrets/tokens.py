"""Vault service tokens: issue, look up, renew, revoke; only their SHA-256 is stored.

Shapes follow Vault's token auth method:
https://developer.hashicorp.com/vault/api-docs/auth/token
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

# Vault's default and maximum lease for tokens without an explicit TTL (768h).
DEFAULT_TTL_S = 768 * 3600
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
        """Issue a root token (no expiry, every capability)."""
        request = TokenRequest(
            policies=(ROOT_POLICY,),
            ttl=0,
            renewable=False,
            display_name="root",
            no_default_policy=True,
        )
        return self._issue(request, path="auth/token/root")

    def has_root(self) -> bool:
        """Whether any root token exists (the first start issues one)."""
        return any(ROOT_POLICY in r["policies"] for r in self._load().values())

    def create(self, parent: TokenInfo, request: TokenRequest) -> tuple[str, dict[str, Any]]:
        """Issue a child token; a non-root parent can only hand on policies it holds."""
        wanted = list(dict.fromkeys(request.policies or parent.policies))
        if not parent.is_root:
            extra = set(wanted) - set(parent.policies) - {DEFAULT_POLICY}
            if extra:
                raise PermissionDeniedError(
                    f"child policies must be subset of parent: {sorted(extra)}"
                )
        if (
            ROOT_POLICY not in wanted
            and DEFAULT_POLICY not in wanted
            and not (request.no_default_policy)
        ):
            wanted.append(DEFAULT_POLICY)
        ttl = DEFAULT_TTL_S if request.ttl is None else request.ttl
        if ROOT_POLICY not in wanted and ttl == 0:
            ttl = DEFAULT_TTL_S
        if request.explicit_max_ttl:
            ttl = min(ttl, request.explicit_max_ttl)
        final = TokenRequest(
            policies=tuple(sorted(wanted)),
            ttl=ttl,
            explicit_max_ttl=request.explicit_max_ttl,
            renewable=request.renewable,
            num_uses=request.num_uses,
            display_name=request.display_name,
            meta=request.meta,
        )
        token = self._issue(final, path="auth/token/create")
        record = self._load()[_hash(token)]
        return token, self._auth_block(token, record)

    def _issue(self, request: TokenRequest, path: str) -> str:
        token = "hvs." + secrets.token_urlsafe(24)
        now = self._clock()
        ttl = request.ttl or 0
        record = {
            "accessor": secrets.token_urlsafe(18),
            "policies": list(request.policies),
            "display_name": _display_name(request.display_name),
            "creation_time": int(now),
            "creation_ttl": ttl,
            "expire_at": now + ttl if ttl else None,
            "explicit_max_ttl": request.explicit_max_ttl,
            "renewable": request.renewable and ttl > 0,
            "num_uses": request.num_uses,
            "meta": dict(request.meta) if request.meta else None,
            "path": path,
        }
        with exclusive_lock(self._lock_path):
            docs = self._load()
            docs[_hash(token)] = record
            self._save(docs)
        return token

    # -- using -------------------------------------------------------------------------

    def authenticate(self, token: str | None) -> TokenInfo:
        """The live token for this id, spending one use; PermissionDenied when unknown."""
        if not token:
            raise PermissionDeniedError("permission denied")
        key = _hash(token)
        record = self._load().get(key)
        if record is None or self._expired(record):
            raise PermissionDeniedError("permission denied")
        if record["num_uses"]:
            with exclusive_lock(self._lock_path):
                docs = self._load()
                record = docs.get(key)
                if record is None:
                    raise PermissionDeniedError("permission denied")
                # Vault keeps a 1-use token alive for the request that spends it.
                record["num_uses"] -= 1
                if record["num_uses"] == 0:
                    del docs[key]
                else:
                    docs[key] = record
                self._save(docs)
        return _info(record, self._lookup_data(token, record))

    def lookup(self, token: str) -> dict[str, Any]:
        """Vault's ``data`` block for ``auth/token/lookup`` and ``lookup-self``."""
        record = self._load().get(_hash(token))
        if record is None or self._expired(record):
            raise InvalidRequestError("bad token")
        return self._lookup_data(token, record)

    def lookup_accessor(self, accessor: str) -> dict[str, Any]:
        """Vault's lookup data for the token with ``accessor`` (without its id)."""
        for record in self._load().values():
            if record["accessor"] == accessor and not self._expired(record):
                return self._lookup_data("", record)
        raise InvalidRequestError("invalid accessor")

    def renew(self, token: str, increment: int | None) -> dict[str, Any]:
        """Extend a renewable token's TTL (capped by its explicit max TTL)."""
        key = _hash(token)
        with exclusive_lock(self._lock_path):
            docs = self._load()
            record = docs.get(key)
            if record is None or self._expired(record):
                raise InvalidRequestError("bad token")
            if not record["renewable"]:
                raise InvalidRequestError("lease is not renewable")
            ttl = increment or record["creation_ttl"]
            if record["explicit_max_ttl"]:
                limit = record["creation_time"] + record["explicit_max_ttl"]
                ttl = max(0, min(ttl, int(limit - self._clock())))
            record["expire_at"] = self._clock() + ttl
            docs[key] = record
            self._save(docs)
        return self._auth_block(token, record)

    def revoke(self, token: str) -> None:
        """Forget a token; revoking an unknown token is not an error (as in Vault)."""
        self._revoke_where(lambda key, _record: key == _hash(token))

    def revoke_accessor(self, accessor: str) -> None:
        """Forget the token with this accessor."""
        self._revoke_where(lambda _key, record: record["accessor"] == accessor)

    def accessors(self) -> list[str]:
        """Accessors of every live token."""
        return sorted(r["accessor"] for r in self._load().values() if not self._expired(r))

    # -- internals ---------------------------------------------------------------------

    def _revoke_where(self, predicate: Callable[[str, dict[str, Any]], bool]) -> None:
        with exclusive_lock(self._lock_path):
            docs = self._load()
            kept = {k: r for k, r in docs.items() if not predicate(k, r)}
            if len(kept) != len(docs):
                self._save(kept)

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
            "orphan": False,
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
            "orphan": False,
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

    def _save(self, docs: Mapping[str, Any]) -> None:
        atomic_write(self._file, self._envelope.seal("tokens", orjson.dumps(docs)))


def _display_name(name: str) -> str:
    # Vault prefixes tokens made through auth/token with "token-".
    clean = re.sub(r"[^A-Za-z0-9_-]", "-", name)
    return clean if clean in ("root", "token") or clean.startswith("token-") else f"token-{clean}"


def _info(record: Mapping[str, Any], lookup: Mapping[str, Any]) -> TokenInfo:
    policies: Iterable[str] = record["policies"]
    return TokenInfo(
        accessor=record["accessor"],
        policies=tuple(policies),
        display_name=record["display_name"],
        is_root=ROOT_POLICY in record["policies"],
        lookup=lookup,
    )
