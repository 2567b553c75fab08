"""Access tokens: claims, refusal of forged ones, and key rotation through the JWKS."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from authcore import AuthService, ConfigError
from authcore.keys import generate_key, parse_keys, private_pem
from authcore.service import build_service
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import FAST_ARGON2, FakeClock, MakeService
from .helpers import bearer, register, tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims_of(service: AuthService) -> tuple[str, dict[str, Any]]:
    register(service, "a@example.com")
    access = tokens(service, "a@example.com")["access_token"]
    return access, jwt.decode(access, options={"verify_signature": False})


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def test_access_token_carries_the_standard_claims_and_a_kid(service: AuthService) -> None:
    access, claims = _claims_of(service)
    header = jwt.get_unverified_header(access)
    assert header["alg"] == "ES256"
    assert header["kid"] == service.ring.signer.kid
    assert set(claims) >= {"iss", "aud", "sub", "exp", "iat", "jti", "scope", "sid"}
    assert claims["iss"] == "http://127.0.0.1:3000/auth"
    assert claims["aud"] == "overcast-example"
    assert claims["exp"] - claims["iat"] == 900


def test_token_verifies_against_the_published_jwks(service: AuthService) -> None:
    access, _ = _claims_of(service)
    jwks = service.jwks().body
    assert jwks is not None
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(access)["kid"]]
    claims = jwt.decode(access, key.key, algorithms=["ES256"], audience="overcast-example")
    assert claims["scope"] == "notes:read notes:write"


def test_jwks_holds_public_keys_only(service: AuthService) -> None:
    jwks = service.jwks().body
    assert jwks is not None
    assert jwks["keys"]
    for key in jwks["keys"]:
        assert "d" not in key
        assert key["use"] == "sig"


def test_alg_none_token_is_refused(service: AuthService) -> None:
    access, claims = _claims_of(service)
    kid = jwt.get_unverified_header(access)["kid"]
    forged = _unsigned({"alg": "none", "typ": "JWT", "kid": kid}, claims) + "."
    result = service.me(bearer(forged))
    assert result.status == 401


def test_hs256_token_keyed_with_the_public_key_is_refused(service: AuthService) -> None:
    access, claims = _claims_of(service)
    kid = jwt.get_unverified_header(access)["kid"]
    public_pem = service.ring.signer.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for secret in (public_pem, service.ring.signer.public_jwk["x"].encode()):
        signing_input = _unsigned({"alg": "HS256", "typ": "JWT", "kid": kid}, claims)
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        result = service.me(bearer(f"{signing_input}.{_b64(mac)}"))
        assert result.status == 401
        assert result.body is not None
        assert "algorithm" in result.body["message"]


def test_tampered_claims_are_refused(service: AuthService) -> None:
    access, claims = _claims_of(service)
    header_b64, _, signature = access.split(".")
    claims["sub"] = "someone-else"
    payload_b64 = _b64(json.dumps(claims).encode())
    assert service.me(bearer(f"{header_b64}.{payload_b64}.{signature}")).status == 401


def test_token_from_another_key_with_the_same_kid_is_refused(service: AuthService) -> None:
    _, claims = _claims_of(service)
    other = generate_key()
    forged = jwt.encode(
        claims, other.private_key, algorithm="ES256", headers={"kid": service.ring.signer.kid}
    )
    assert service.me(bearer(forged)).status == 401


@pytest.mark.parametrize(
    ("claim", "value"),
    [("aud", "another-api"), ("iss", "https://evil.example"), ("exp", 1)],
)
def test_wrong_audience_issuer_or_expiry_is_refused(
    service: AuthService, claim: str, value: object
) -> None:
    _, claims = _claims_of(service)
    claims[claim] = value
    signer = service.ring.signer
    forged = jwt.encode(claims, signer.private_key, algorithm="ES256", headers={"kid": signer.kid})
    assert service.me(bearer(forged)).status == 401


def test_access_token_expires_with_the_clock(service: AuthService, clock: FakeClock) -> None:
    access, _ = _claims_of(service)
    clock.advance(899)
    assert service.me(bearer(access)).status == 200
    clock.advance(10)
    assert service.me(bearer(access)).status == 401


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer not.a.jwt"])
def test_missing_or_malformed_authorization_is_401(
    service: AuthService, header: str | None
) -> None:
    result = service.me(header)
    assert result.status == 401
    assert result.headers["WWW-Authenticate"].startswith("Bearer")


def test_rotated_out_key_stays_in_jwks_until_its_tokens_expire(
    make_service: MakeService, clock: FakeClock
) -> None:
    old_key, new_key = generate_key(), generate_key("ES256")
    old = make_service(
        JWT_PRIVATE_KEYS=json.dumps([{"kid": "old", "private_key": private_pem(old_key)}])
    )
    register(old, "a@example.com")
    old_token = tokens(old, "a@example.com")["access_token"]

    clock.advance(60)
    new = make_service(
        JWT_PRIVATE_KEYS=json.dumps([{"kid": "new", "private_key": private_pem(new_key)}])
    )
    new_token = tokens(new, "a@example.com")["access_token"]
    assert jwt.get_unverified_header(new_token) == {"alg": "ES256", "kid": "new", "typ": "JWT"}

    jwks = new.jwks().body
    assert jwks is not None
    assert [key["kid"] for key in jwks["keys"]] == ["new", "old"]
    assert new.me(bearer(old_token)).status == 200

    # One access-token lifetime after the rotation, the old key's tokens are all dead.
    clock.advance(900 + 10)
    jwks = new.jwks().body
    assert jwks is not None
    assert [key["kid"] for key in jwks["keys"]] == ["new"]
    assert new.me(bearer(old_token)).status == 401


def test_development_keys_are_generated_once_and_shared(
    make_service: MakeService, caplog: pytest.LogCaptureFixture
) -> None:
    first = make_service()
    second = make_service()
    assert first.development_keys
    assert first.ring.signer.kid == second.ring.signer.kid
    assert "DEVELOPMENT SIGNING KEYS" in caplog.text
    assert first.health().body == {"status": "ok", "database": "ok", "signing_keys": "development"}


def test_configured_keys_accept_a_bare_pem_and_derive_the_kid() -> None:
    key = generate_key()
    parsed = parse_keys(private_pem(key))
    assert parsed[0].kid == key.kid
    assert parsed[0].alg == "ES256"


@pytest.mark.parametrize(
    "value",
    ["not a key", "[]", '[{"kid": "x"}]', '[{"kid": "x", "private_key": "-----BEGIN junk"}]'],
)
def test_malformed_key_configuration_fails_init(value: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        build_service({"AUTH_STATE_DIR": str(tmp_path), "JWT_PRIVATE_KEYS": value, **FAST_ARGON2})


def test_rsa_keys_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ConfigError, match="Ed25519"):
        parse_keys(pem)
