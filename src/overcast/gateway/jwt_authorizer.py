"""HTTP API JWT authorizer: token validation against a key set; pure (no I/O).

API Gateway's workflow, step by step, from
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
("Authorizing API requests with a JWT authorizer"):

1. read the token from the identity source, alone or prefixed with ``Bearer``;
2. decode it; check its algorithm and signature with the issuer's public key
   named by ``kid``;
3. check the claims: ``kid`` names a key of the ``jwks_uri``; ``iss`` equals the
   authorizer's issuer; ``aud`` or ``client_id`` (only when ``aud`` is absent)
   matches one of its audiences; ``exp`` is after now; ``nbf`` and ``iat`` are
   before now; ``scope`` or ``scp`` holds at least one of the route's scopes.

Failing steps 1-3 is a 401, a missing scope a 403. The algorithm is never taken
from the token alone: it must be one the key's type signs with (RSA → RS*, EC → ES*
on the key's curve), so ``alg: none`` and HMAC tokens "signed" with a public key
(key confusion) are refused. These are the algorithms API Gateway's JWT authorizers
accept (RS256/384/512, ES256/384/512); EdDSA and PS* tokens are refused as on AWS.
https://docs.aws.amazon.com/apigateway/latest/api/API_JwtConfiguration.html
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import jwt
from jwt.exceptions import InvalidTokenError, PyJWKError

__all__ = [
    "JwtRejectedError",
    "JwtResult",
    "bearer_token",
    "claims_for_event",
    "token_kid",
    "validate_jwt",
]

# Signing algorithms each JWK key type may verify (RFC 7518 section 3.1, RFC 8037).
_ALGORITHMS: Final[Mapping[str, frozenset[str]]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
}
_CURVES: Final[Mapping[str, str]] = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


class JwtRejectedError(Exception):
    """The token does not pass; ``status`` is 401 (invalid token) or 403 (scope)."""

    def __init__(self, description: str, *, status: int = 401) -> None:
        super().__init__(description)
        self.description = description
        self.status = status


@dataclass(frozen=True, slots=True)
class JwtResult:
    """A valid token's claims, and its scopes when the route asked for scopes."""

    claims: Mapping[str, Any]
    scopes: tuple[str, ...] | None


def bearer_token(value: str | None) -> str | None:
    """The token in an identity source value: the value itself or after ``Bearer ``."""
    if value is None:
        return None
    value = value.strip()
    if value[:7].lower() == "bearer ":
        value = value[7:].strip()
    return value or None


def token_kid(token: str) -> str:
    """The ``kid`` of a token's header; raises :class:`JwtRejectedError` when unreadable."""
    try:
        header = jwt.get_unverified_header(token)
    except InvalidTokenError as exc:
        raise JwtRejectedError("the token is malformed") from exc
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise JwtRejectedError("the token does not have a kid in its header")
    return kid


def _token_scopes(claims: Mapping[str, Any]) -> tuple[str, ...]:
    # OAuth 2.0 "scope" is a space-separated string (RFC 8693 section 4.2); some
    # issuers (Okta, Azure AD) send "scp", as a string or a list.
    for name in ("scope", "scp"):
        value = claims.get(name)
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list):
            return tuple(str(item) for item in value)
    return ()


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise JwtRejectedError(f"the token has an invalid {name} claim")
    return float(value)


def validate_jwt(
    token: str,
    jwk: Mapping[str, Any],
    *,
    issuer: str,
    audiences: tuple[str, ...],
    required_scopes: tuple[str, ...],
    now: float,
) -> JwtResult:
    """Check ``token`` with the public ``jwk`` its ``kid`` named, as API Gateway does.

    Raises :class:`JwtRejectedError` with a ``www-authenticate`` description.
    """
    try:
        header = jwt.get_unverified_header(token)
    except InvalidTokenError as exc:
        raise JwtRejectedError("the token is malformed") from exc
    alg = header.get("alg")
    key_type = str(jwk.get("kty", ""))
    allowed = _ALGORITHMS.get(key_type, frozenset())
    if not isinstance(alg, str) or alg not in allowed:
        raise JwtRejectedError(f"signing method {alg} is invalid")
    if jwk.get("alg") not in (None, alg):
        raise JwtRejectedError(f"signing method {alg} is invalid")
    if alg in _CURVES and jwk.get("crv") != _CURVES[alg]:
        raise JwtRejectedError(f"signing method {alg} is invalid")
    try:
        key = jwt.PyJWK(dict(jwk), algorithm=alg)
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key.key,
            algorithms=[alg],
            # Claims are checked below against the caller's clock, as AWS words them.
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except (InvalidTokenError, PyJWKError, ValueError, TypeError) as exc:
        raise JwtRejectedError("the token has an invalid signature") from exc

    if claims.get("iss") != issuer:
        raise JwtRejectedError("the token does not have a valid issuer")
    audience = claims["aud"] if "aud" in claims else claims.get("client_id")
    offered = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(item, str) and item in audiences for item in offered):
        raise JwtRejectedError("the token does not have a valid audience")
    exp = _number(claims, "exp")
    if exp is None or exp <= now:
        raise JwtRejectedError("the token has expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and nbf > now:
        raise JwtRejectedError("the token is not valid yet")
    iat = _number(claims, "iat")
    if iat is not None and iat > now:
        raise JwtRejectedError("the token was issued in the future")

    if not required_scopes:
        return JwtResult(claims, None)
    scopes = _token_scopes(claims)
    if not any(scope in scopes for scope in required_scopes):
        raise JwtRejectedError("the token does not have the required scopes", status=403)
    return JwtResult(claims, scopes)


def _claim_text(value: Any) -> str:
    # API Gateway (written in Go) hands every claim over as a string: numbers in
    # decimal, booleans as true/false, lists as "[a b c]" and objects as Go prints
    # maps, "map[k:v]" (measured on real HTTP APIs; see
    # https://github.com/floci-io/floci/pull/2011 and
    # https://github.com/aws-solutions-library-samples/guidance-for-claude-code-with-amazon-bedrock/pull/803).
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, list):
        return "[" + " ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        inner = " ".join(f"{key}:{_claim_text(item)}" for key, item in sorted(value.items()))
        return f"map[{inner}]"
    if value is None:
        return ""
    return json.dumps(value)


def claims_for_event(claims: Mapping[str, Any]) -> dict[str, str]:
    """The claims as ``requestContext.authorizer.jwt.claims`` carries them (all strings)."""
    return {name: _claim_text(value) for name, value in claims.items()}
