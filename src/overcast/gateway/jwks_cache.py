"""Issuers' public keys, fetched as API Gateway fetches them and kept in memory.

API Gateway reads ``{issuer}/.well-known/openid-configuration``, follows its
``jwks_uri`` and caches the keys ("API Gateway can cache the public keys for two
hours"): https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html

A token whose ``kid`` is not in the cached set triggers one refetch, at most once
per ``refresh_interval_s`` per issuer, so a key rotated in at the issuer is picked
up at once while a flood of tokens with made-up ``kid`` s costs the issuer one
request per interval. Concurrent misses share one fetch. A fetch that fails
leaves the old keys in place; with no keys at all, the token is refused (401),
never answered with a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

__all__ = ["JwksCache", "JwksUnavailableError"]

_log = logging.getLogger(__name__)

KEYS_MAX_AGE_S: Final = 2 * 3600.0
REFRESH_INTERVAL_S: Final = 10.0
FETCH_TIMEOUT_S: Final = 3.0
_MAX_DOCUMENT_BYTES: Final = 1024 * 1024


class JwksUnavailableError(Exception):
    """The issuer's keys could not be fetched (network, status, or bad JSON)."""


@dataclass(slots=True)
class _IssuerKeys:
    keys: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    fetched_at: float | None = None  # monotonic time of the last successful fetch
    attempted_at: float | None = None  # monotonic time of the last attempt
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class JwksCache:
    """Public keys by issuer and ``kid``; one instance per gateway.

    ``transport`` replaces the network (tests pass an ``httpx.MockTransport`` or an
    ``httpx.ASGITransport``); ``clock`` is monotonic seconds.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = FETCH_TIMEOUT_S,
        refresh_interval_s: float = REFRESH_INTERVAL_S,
        max_age_s: float = KEYS_MAX_AGE_S,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._timeout_s = timeout_s
        self._refresh_interval_s = refresh_interval_s
        self._max_age_s = max_age_s
        self._issuers: dict[str, _IssuerKeys] = {}
        self._client: httpx.AsyncClient | None = None
        #: how many times the discovery document was fetched (for tests and metrics)
        self.fetches = 0

    async def key(self, issuer: str, kid: str) -> Mapping[str, Any] | None:
        """The JWK ``kid`` of ``issuer``, fetching or refreshing the set when needed.

        Returns None when the issuer has no such key; raises
        :class:`JwksUnavailableError` when no key set could ever be fetched.
        """
        state = self._issuers.get(issuer)
        if state is None:
            state = self._issuers[issuer] = _IssuerKeys()
        now = self._clock()
        fresh = state.fetched_at is not None and now - state.fetched_at < self._max_age_s
        if fresh and kid in state.keys:
            return state.keys[kid]
        async with state.lock:
            now = self._clock()
            fresh = state.fetched_at is not None and now - state.fetched_at < self._max_age_s
            if fresh and kid in state.keys:
                return state.keys[kid]  # another request refreshed while we waited
            may_fetch = (
                not fresh
                or state.attempted_at is None
                or now - state.attempted_at >= self._refresh_interval_s
            )
            if may_fetch:
                state.attempted_at = now
                try:
                    state.keys = await self._fetch(issuer)
                    state.fetched_at = self._clock()
                except JwksUnavailableError as exc:
                    _log.warning("JWKS of issuer %s unavailable: %s", issuer, exc)
                    if state.fetched_at is None:
                        raise
        return state.keys.get(kid)

    async def aclose(self) -> None:
        """Close the HTTP client, if one was opened."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _fetch(self, issuer: str) -> dict[str, Mapping[str, Any]]:
        self.fetches += 1
        discovery = await self._get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise JwksUnavailableError("the openid-configuration has no jwks_uri")
        document = await self._get_json(jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise JwksUnavailableError(f"{jwks_uri} has no 'keys' list")
        return {
            key["kid"]: key
            for key in keys
            if isinstance(key, dict)
            and isinstance(key.get("kid"), str)
            # Encryption keys cannot verify a signature.
            and key.get("use", "sig") == "sig"
        }

    async def _get_json(self, url: str) -> dict[str, Any]:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=self._timeout_s, follow_redirects=True
            )
        try:
            response = await self._client.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise JwksUnavailableError(f"GET {url}: {exc!r}") from exc
        if response.status_code != 200:
            raise JwksUnavailableError(f"GET {url} answered {response.status_code}")
        if len(response.content) > _MAX_DOCUMENT_BYTES:
            raise JwksUnavailableError(f"GET {url} answered more than 1 MB")
        try:
            body = response.json()
        except ValueError as exc:
            raise JwksUnavailableError(f"GET {url} answered invalid JSON") from exc
        if not isinstance(body, dict):
            raise JwksUnavailableError(f"GET {url} answered JSON that is not an object")
        return body
