"""Reads secrets from a real Vault (``OVERCAST_VAULT_ADDR`` + ``OVERCAST_VAULT_TOKEN``) via hvac.

Same read interface as the embedded :class:`~overcast.secrets.store.KvStore`
(``read(path, version)`` → :class:`SecretVersion`, ``list_keys``), so resolution does not
care which backend answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import hvac  # type: ignore[import-untyped]
import hvac.exceptions  # type: ignore[import-untyped]

from overcast.secrets.errors import PermissionDeniedError, SecretNotFoundError, SecretsError
from overcast.secrets.store import SecretVersion, normalize_path

ADDR_ENV = "OVERCAST_VAULT_ADDR"
TOKEN_ENV = "OVERCAST_VAULT_TOKEN"  # noqa: S105  (a variable name)


class SecretReader(Protocol):
    """What secret resolution needs from a backend."""

    def read(self, path: str, version: int | None = None) -> SecretVersion: ...

    def list_keys(self, prefix: str = "") -> list[str]: ...


class ExternalVault:
    """A KV v2 mount on a real Vault, read with hvac."""

    def __init__(self, url: str, token: str, mount_point: str = "secret") -> None:
        self._client = hvac.Client(url=url, token=token, strict_http=True)
        self._mount = mount_point

    def read(self, path: str, version: int | None = None) -> SecretVersion:
        """The data of a version (default: current), as the embedded store answers."""
        path = normalize_path(path)
        try:
            response = self._client.secrets.kv.v2.read_secret_version(
                path=path,
                version=version,
                mount_point=self._mount,
                raise_on_deleted_version=True,
            )
        except hvac.exceptions.VaultError as exc:
            raise _translate(exc, path) from exc
        data: Mapping[str, Any] = response["data"]["data"]
        return SecretVersion(path, data, response["data"]["metadata"])

    def list_keys(self, prefix: str = "") -> list[str]:
        """Direct children of ``prefix``, folders with a trailing ``/``."""
        try:
            response = self._client.secrets.kv.v2.list_secrets(
                path=prefix.strip("/"), mount_point=self._mount
            )
        except hvac.exceptions.VaultError as exc:
            raise _translate(exc, prefix) from exc
        keys: list[str] = response["data"]["keys"]
        return keys


def _translate(exc: Exception, path: str) -> SecretsError:
    if isinstance(exc, hvac.exceptions.InvalidPath):
        return SecretNotFoundError(f"no secret at {path!r} in Vault")
    if isinstance(exc, hvac.exceptions.Forbidden):
        return PermissionDeniedError(f"Vault denied access to {path!r}")
    return SecretsError(f"Vault error for {path!r}: {type(exc).__name__}")


def external_from_env(environ: Mapping[str, str]) -> ExternalVault | None:
    """An ExternalVault when ``OVERCAST_VAULT_ADDR`` is set, else None (use the embedded store)."""
    addr = environ.get(ADDR_ENV)
    if not addr:
        return None
    token = environ.get(TOKEN_ENV) or environ.get("VAULT_TOKEN")
    if not token:
        raise PermissionDeniedError(
            f"{ADDR_ENV} is set but no token", hint=f"set {TOKEN_ENV} to a Vault token"
        )
    return ExternalVault(addr, token)


def lookup_for(reader: SecretReader) -> Callable[[str], Mapping[str, Any]]:
    """A ``lookup(kv_path) -> data`` function for :func:`resolve_references`."""

    def lookup(kv_path: str) -> Mapping[str, Any]:
        return reader.read(kv_path).data

    return lookup
