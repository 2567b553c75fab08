"""Rotating the auth service's signing key is a secret write plus a redeploy.

The operator writes a new key set to ``secret/data/auth-service`` with `overcast secrets
put` against the running node, then redeploys (stop + start on the same app folder,
which resolves the template's secret references again). New tokens carry the new kid;
tokens signed with the old key keep validating, and the JWKS keeps publishing the old
key, both while it is still in the set and, once dropped, from the keys table for one
access-token lifetime (authcore's published-keys rotation).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from auth_e2e_helpers import FAST, SECRET, migrate, seeded_copy, stored_keys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
EMAIL = "rotate@example.com"
KID_B = "prod-2026-b"


def _new_key(kid: str) -> dict[str, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {"kid": kid, "private_key": pem}


def _put_keys(app: Any, keys: list[dict[str, Any]]) -> None:
    """`overcast secrets put` against the running node (database_url stays SQLite)."""
    put = app.cli(
        "secrets",
        "put",
        SECRET,
        "database_url=",
        "--stdin",
        "jwt_private_keys",
        "--app",
        str(app.app_dir),
        input=json.dumps(keys).encode(),
    )
    assert put.returncode == 0, put.stderr.decode()
    assert b"version" in put.stdout


def _redeploy(running_app: Any, app: Any) -> Any:
    assert app.stop() in (0, 130), app.output()
    return running_app(app.app_dir, copy=False, parameter_overrides=FAST)


def _login(client: httpx.Client) -> dict[str, Any]:
    response = client.post("/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return tokens


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def _jwks_kids(client: httpx.Client) -> list[str]:
    return [key["kid"] for key in client.get("/auth/.well-known/jwks.json").json()["keys"]]


def _me(client: httpx.Client, token: str) -> httpx.Response:
    return client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_new_key_signs_after_a_secret_write_and_redeploy_and_old_tokens_stay_valid(
    running_app: Any, tmp_path: Path
) -> None:
    app = running_app(seeded_copy(tmp_path), copy=False, parameter_overrides=FAST)
    migrate(app)
    (key_a,) = stored_keys(app)
    with app.client() as client:
        registered = client.post("/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        before = _login(client)
    assert _kid(before["access_token"]) == key_a["kid"]

    # Rotation: B first (it signs), A kept so A's tokens verify on every instance.
    key_b = _new_key(KID_B)
    _put_keys(app, [key_b, key_a])
    app = _redeploy(running_app, app)

    with app.client() as client:
        after = _login(client)
        assert _kid(after["access_token"]) == KID_B
        assert _me(client, after["access_token"]).status_code == 200
        old = _me(client, before["access_token"])
        assert old.status_code == 200, old.text
        assert old.json()["email"] == EMAIL
        assert set(_jwks_kids(client)) == {KID_B, key_a["kid"]}
        # Refresh tokens live in the database: a pre-rotation one still works.
        refreshed = client.post("/auth/refresh", json={"refresh_token": before["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        assert _kid(refreshed.json()["access_token"]) == KID_B
        # The production key set is not development keys.
        assert "signing_keys" not in client.get("/auth/health").json()

    # Dropping A from the secret right away: A's public key stays published from the
    # keys table until its last tokens expire, so they still validate.
    _put_keys(app, [key_b])
    app = _redeploy(running_app, app)
    with app.client() as client:
        assert _me(client, before["access_token"]).status_code == 200
        assert set(_jwks_kids(client)) == {KID_B, key_a["kid"]}
        assert _kid(_login(client)["access_token"]) == KID_B

    assert key_b["private_key"].splitlines()[1] not in app.output()
