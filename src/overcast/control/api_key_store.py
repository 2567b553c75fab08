"""A platform's API keys (API Gateway usage-plan keys), kept in its state folder.

``overcast api-keys create NAME [--plan PLAN] --platform DIR`` issues one: a random
40-character value (as API Gateway generates) shown once, stored only as its SHA-256 —
the gateway only ever compares a presented ``x-api-key`` with it. The file lives
beside the access keys (``access/api-keys.json``, owner-only, replaced atomically)
and is read again only when it changed, so a key issued or revoked while the platform
runs counts from the next request.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from overcast.control.access_keys import ACCESS_DIR
from overcast.durable_files import atomic_write
from overcast.errors import OvercastError
from overcast.gateway import ApiKey

FILE = "api-keys.json"
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"  # API Gateway key ids: 10 of these


class ApiKeyStoreError(OvercastError):
    """The API key file cannot be read or changed as asked."""


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """One API key as stored: never its value."""

    key_id: str
    name: str
    usage_plan: str | None
    created: float
    value_sha256: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class FileApiKeyStore:
    """Implements the gateway's ``ApiKeyStore`` from ``<state>/access/api-keys.json``."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / ACCESS_DIR / FILE
        self._by_digest: dict[str, ApiKey] = {}
        self._stamp: tuple[int, int, int] | None = None

    def lookup(self, value: str) -> ApiKey | None:
        """The key whose value this is (file re-read only when it changed)."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            self._by_digest = {k.value_sha256: ApiKey(k.key_id, k.usage_plan) for k in self.all()}
            self._stamp = stamp
        return self._by_digest.get(_digest(value))

    def all(self) -> list[IssuedApiKey]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return [IssuedApiKey(**item) for item in raw["keys"]]
        except FileNotFoundError:
            return []
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiKeyStoreError(f"{self.path} has an unexpected shape: {exc}") from exc

    def create(self, name: str, usage_plan: str | None = None) -> tuple[IssuedApiKey, str]:
        """Issue a key; returns it and its value (shown once, never stored)."""
        if not name or len(name) > 128:
            raise ApiKeyStoreError("an API key needs a name of 1 to 128 characters")
        value = "".join(secrets.choice(_ALPHABET) for _ in range(40))
        key = IssuedApiKey(
            key_id="".join(secrets.choice(_ID_ALPHABET) for _ in range(10)),
            name=name,
            usage_plan=usage_plan,
            created=time.time(),
            value_sha256=_digest(value),
        )
        self._write([*self.all(), key])
        return key, value

    def revoke(self, key_id: str) -> IssuedApiKey:
        keys = self.all()
        kept = [k for k in keys if k.key_id != key_id]
        if len(kept) == len(keys):
            raise ApiKeyStoreError(
                f"no API key {key_id!r}", hint="`overcast api-keys list` shows them"
            )
        self._write(kept)
        return next(k for k in keys if k.key_id == key_id)

    def _write(self, keys: list[IssuedApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = {"version": 1, "keys": [_asdict(k) for k in keys]}
        atomic_write(self.path, json.dumps(data, indent=2).encode())


def _asdict(key: IssuedApiKey) -> dict[str, object]:
    return {
        "key_id": key.key_id,
        "name": key.name,
        "usage_plan": key.usage_plan,
        "created": key.created,
        "value_sha256": key.value_sha256,
    }
