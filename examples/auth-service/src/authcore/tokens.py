"""Access tokens (signed JWTs), the JWKS that verifies them, and refresh tokens.

Access tokens are signed with the active key (EdDSA or ES256, PyJWT) and carry
``iss aud sub exp iat nbf jti scope sid`` and a ``kid`` header; ``sid`` is the login's
refresh-token family. Verification accepts only the algorithm of the key named by
``kid``, so ``alg: none`` and HS256-signed-with-the-public-key tokens fail before any
signature is computed.

Rotation: every instance records its active key in ``signing_keys``; a newer active
key retires the older ones, and a retired key stays in the JWKS (and keeps verifying)
for one access-token lifetime after its retirement, until every token it signed has
expired.

Refresh tokens are opaque (``secrets.token_urlsafe``); only their SHA-256 is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from authcore.config import Config
from authcore.keys import SigningKey
from authcore.store import SchemaMissing, Store, StoreUnavailable

logger = logging.getLogger("authcore")

#: JWKS rows are re-read at most this often, and on an unknown kid at most once a second.
KEY_CACHE_S = 30.0
UNKNOWN_KID_RELOAD_S = 1.0
#: tolerated clock difference between the issuer's instances
LEEWAY_S = 5


class InvalidToken(Exception):
    """An access token that must not be accepted; the message says why."""


@dataclass(frozen=True)
class PublicKey:
    kid: str
    alg: str
    jwk: dict[str, str]
    key: Any  # a cryptography public key object


def _public(jwk: dict[str, str]) -> PublicKey:
    return PublicKey(jwk["kid"], jwk["alg"], jwk, jwt.PyJWK(jwk).key)


def new_refresh_token() -> tuple[str, str]:
    """(token for the client, hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def new_one_time_token() -> tuple[str, str]:
    """(token for the mail, hash to store): a password-reset or verification token.

    256 random bits, so guessing is hopeless and a hash without salt is enough.
    """
    return new_refresh_token()


def hash_refresh_token(token: str) -> str:
    """SHA-256 (hex) of a refresh token: a lookup key, useless if the table leaks."""
    return hashlib.sha256(token.encode()).hexdigest()


class KeyRing:
    """This process's signing keys plus the published keys of all instances."""

    def __init__(
        self,
        keys: Sequence[SigningKey],
        store: Store,
        access_ttl_s: int,
        clock: Callable[[], float],
    ) -> None:
        if not keys:
            raise ValueError("at least one signing key is needed")
        self.keys = list(keys)
        self.signer = self.keys[0]
        self.store = store
        self.access_ttl_s = access_ttl_s
        self.clock = clock
        self._local = {key.kid: _public(key.public_jwk) for key in self.keys}
        self._published = False
        self._cache: dict[str, PublicKey] = {}
        self._loaded_at = float("-inf")

    def publish(self) -> bool:
        """Record the active key in the database (once); False while that is impossible."""
        if self._published:
            return True
        try:
            self.store.publish_key(
                self.signer.kid, self.signer.alg, json.dumps(self.signer.public_jwk), self.clock()
            )
        except (SchemaMissing, StoreUnavailable) as exc:
            logger.warning("signing key %s not published yet: %s", self.signer.kid, exc)
            return False
        self._published = True
        self._loaded_at = float("-inf")
        return True

    def _reload(self, now: float) -> None:
        keys = dict(self._local)
        try:
            records = self.store.list_keys(retired_after=now - self.access_ttl_s - LEEWAY_S)
        except SchemaMissing:
            records = []
        for record in records:
            if record.kid not in keys:
                keys[record.kid] = _public(json.loads(record.jwk_json))
        self._cache = keys
        self._loaded_at = now

    def public_keys(self) -> list[PublicKey]:
        """Every key whose tokens may still be live, newest first, local keys included."""
        now = self.clock()
        if now - self._loaded_at > KEY_CACHE_S:
            self._reload(now)
        return list(self._cache.values())

    def lookup(self, kid: str) -> PublicKey | None:
        """The public key for ``kid``; an unknown kid re-reads the table (rate-limited)."""
        now = self.clock()
        if now - self._loaded_at > KEY_CACHE_S:
            self._reload(now)
        key = self._cache.get(kid)
        if key is None and now - self._loaded_at > UNKNOWN_KID_RELOAD_S:
            self._reload(now)
            key = self._cache.get(kid)
        return key

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set document (RFC 7517 section 5)."""
        return {"keys": [key.jwk for key in self.public_keys()]}


class Tokens:
    """Issues and verifies access tokens for one issuer and audience."""

    def __init__(self, config: Config, ring: KeyRing, clock: Callable[[], float]) -> None:
        self.issuer = config.issuer
        self.audience = config.audience
        self.ttl_s = config.access_ttl_s
        self.ring = ring
        self.clock = clock

    def issue(self, subject: str, session_id: str, scope: str) -> tuple[str, int]:
        """(signed access token, seconds until it expires)."""
        self.ring.publish()
        now = int(self.clock())
        signer = self.ring.signer
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_s,
            "jti": uuid.uuid4().hex,
            "scope": scope,
            "sid": session_id,
        }
        token = jwt.encode(
            claims, signer.private_key, algorithm=signer.alg, headers={"kid": signer.kid}
        )
        return token, self.ttl_s

    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid access token, else :class:`InvalidToken`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from None
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not isinstance(alg, str):
            raise InvalidToken("the token header needs kid and alg")
        key = self.ring.lookup(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        if alg != key.alg:
            # alg "none", HS256 keyed with the public key...: refused before verifying.
            raise InvalidToken(f"algorithm {alg} is not the key's algorithm")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[key.alg],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat", "jti"],
                    # Time is checked below against the service's clock.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        now = self.clock()
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int | float) or exp <= now - LEEWAY_S:
            raise InvalidToken("the token has expired")
        if isinstance(nbf, int | float) and nbf > now + LEEWAY_S:
            raise InvalidToken("the token is not valid yet")
        return claims
