"""Signing keys: parsed from JWT_PRIVATE_KEYS, or generated for development.

JWT_PRIVATE_KEYS is either one PEM private key, or JSON: a list (or ``{"keys": [...]}``)
of ``{"kid": ..., "private_key": "<PEM>"}``. The first key signs; the others are
still accepted and published, which is how an operator rotates by hand. Ed25519 keys
sign EdDSA, P-256 keys ES256. A missing ``kid`` becomes the key's RFC 7638 thumbprint.

Without JWT_PRIVATE_KEYS, development keys are generated once into the state folder
(created exclusively, so concurrent instances agree on one key) and a warning says so
at every init. Keys given in JWT_PRIVATE_KEYS whose signing (first) entry carries
``"development": true`` (what scripts/seed_dev_secrets.py writes into the secret store)
are announced the same way.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from authcore.config import Config, ConfigError

logger = logging.getLogger("authcore")

DEV_KEYS_FILE = "dev-signing-keys.json"

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class SigningKey:
    """One private key, its algorithm and its public JWK (with ``kid``, ``alg``, ``use``)."""

    kid: str
    alg: str
    private_key: PrivateKey
    public_jwk: dict[str, str]


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(private_key: PrivateKey) -> tuple[str, dict[str, str]]:
    """(alg, JWK members of the public key) for an Ed25519 or P-256 private key."""
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return "EdDSA", {"kty": "OKP", "crv": "Ed25519", "x": _b64u(raw)}
    if isinstance(private_key, ec.EllipticCurvePrivateKey) and isinstance(
        private_key.curve, ec.SECP256R1
    ):
        numbers = private_key.public_key().public_numbers()
        return "ES256", {
            "kty": "EC",
            "crv": "P-256",
            "x": _b64u(numbers.x.to_bytes(32, "big")),
            "y": _b64u(numbers.y.to_bytes(32, "big")),
        }
    raise ConfigError("JWT_PRIVATE_KEYS: only Ed25519 and P-256 (ES256) keys are supported")


def thumbprint(jwk: dict[str, str]) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK."""
    required = ("crv", "kty", "x") if jwk["kty"] == "OKP" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return _b64u(hashlib.sha256(canonical.encode()).digest())


def make_key(private_key: PrivateKey, kid: str | None = None) -> SigningKey:
    """Wrap a private key with its algorithm, public JWK and kid."""
    alg, jwk = public_jwk(private_key)
    kid = kid or thumbprint(jwk)
    return SigningKey(kid, alg, private_key, {**jwk, "kid": kid, "alg": alg, "use": "sig"})


def generate_key(alg: str = "ES256", kid: str | None = None) -> SigningKey:
    """A fresh key pair for ``alg`` (EdDSA → Ed25519, ES256 → P-256)."""
    private: PrivateKey = (
        ed25519.Ed25519PrivateKey.generate()
        if alg == "EdDSA"
        else ec.generate_private_key(ec.SECP256R1())
    )
    return make_key(private, kid)


def private_pem(key: SigningKey) -> str:
    """The key's private half as unencrypted PKCS#8 PEM."""
    return key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _load_pem(pem: str, where: str) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: not a readable unencrypted PEM private key ({exc})") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{where}: only Ed25519 and P-256 (ES256) keys are supported")
    return key


def parse_keys(text: str) -> list[SigningKey]:
    """Parse JWT_PRIVATE_KEYS (see the module docstring); the first key signs."""
    if text.lstrip().startswith("-----BEGIN"):
        return [make_key(_load_pem(text, "JWT_PRIVATE_KEYS"))]
    try:
        data: Any = json.loads(text)
    except ValueError:
        raise ConfigError("JWT_PRIVATE_KEYS must be a PEM key or JSON") from None
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries:
        raise ConfigError("JWT_PRIVATE_KEYS: expected a non-empty list of keys")
    keys: list[SigningKey] = []
    for index, entry in enumerate(entries):
        where = f"JWT_PRIVATE_KEYS[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("private_key"), str):
            raise ConfigError(f"{where}: expected an object with a private_key PEM string")
        kid = entry.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise ConfigError(f"{where}: kid must be a non-empty string")
        keys.append(make_key(_load_pem(entry["private_key"], where), kid))
    if len({key.kid for key in keys}) != len(keys):
        raise ConfigError("JWT_PRIVATE_KEYS: kids must be unique")
    return keys


def _marked_development(text: str) -> bool:
    """Whether the signing entry of a JSON key list says ``"development": true``."""
    try:
        data: Any = json.loads(text)
    except ValueError:
        return False
    entries = data.get("keys") if isinstance(data, dict) else data
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        return False
    return entries[0].get("development") is True


def load_signing_keys(config: Config) -> tuple[list[SigningKey], bool]:
    """(keys, whether they are development keys) for ``config``."""
    if config.private_keys:
        keys = parse_keys(config.private_keys)
        if not _marked_development(config.private_keys):
            return keys, False
        where = "JWT_PRIVATE_KEYS"
    else:
        path = config.state_dir / DEV_KEYS_FILE
        if not path.exists():
            _create_dev_keys(path, config.dev_key_algorithm)
        keys = parse_keys(path.read_text())
        where = str(path)
    logger.warning(
        "USING DEVELOPMENT SIGNING KEYS from %s (kid %s): generated on this machine, "
        "NOT FOR PRODUCTION. Put your own keys into JWT_PRIVATE_KEYS (the secret "
        "auth-service, key jwt_private_keys).",
        where,
        keys[0].kid,
    )
    return keys, True


def _create_dev_keys(path: Path, alg: str) -> None:
    key = generate_key(alg)
    body = json.dumps([{"kid": key.kid, "private_key": private_pem(key), "development": True}])
    fd, staging = tempfile.mkstemp(prefix=".dev-keys-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(body)
        os.chmod(staging, 0o600)
        # link() fails if another instance won the race; its key is then the key.
        try:
            os.link(staging, path)
        except FileExistsError:
            return
    finally:
        os.unlink(staging)
