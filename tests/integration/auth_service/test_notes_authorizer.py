"""The gateway's HTTP API JWT authorizer guarding examples/auth-service's notes routes.

The notes routes sit behind the template's ``AuthJwt`` authorizer; the gateway must
validate tokens against the issuer's JWKS ({Issuer}/.well-known/openid-configuration →
jwks_uri), refuse bad ones with AWS's bodies and pass the claims in
``requestContext.authorizer.jwt.claims``:
https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from auth_e2e_helpers import FAST, migrate, seeded_copy, stored_keys
from cryptography.hazmat.primitives import serialization

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


START_ATTEMPTS = 3


@pytest.fixture(scope="module")
def app(module_running_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    # The issuer URL must name the port the app serves on, so the ports are chosen here
    # and handed to the launcher through the free_port() its module calls. A port taken
    # by someone else between the choice and the bind only costs another attempt.
    launcher_globals: dict[str, Any] = type(module_running_app).__call__.__globals__
    free_port = launcher_globals["free_port"]
    failures: list[str] = []
    app_dir = seeded_copy(tmp_path_factory.mktemp("seeded"))
    for _ in range(START_ATTEMPTS):
        port, admin_port = free_port(), free_port()
        while admin_port == port:
            admin_port = free_port()
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(launcher_globals, "free_port", iter([port, admin_port]).__next__)
            try:
                running = module_running_app(
                    app_dir,
                    copy=False,
                    parameter_overrides=[*FAST, f"Issuer=http://127.0.0.1:{port}/auth"],
                )
            except pytest.fail.Exception as exc:
                failures.append(str(exc))
                continue
        migrate(running)
        return running
    pytest.fail("overcast up did not start the auth service:\n" + "\n\n".join(failures))


def _token(client: httpx.Client, email: str) -> str:
    client.post("/auth/register", json={"email": email, "password": PASSWORD})
    response = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _dev_key(app: Any) -> tuple[Any, str]:
    keys = stored_keys(app)
    private = serialization.load_pem_private_key(keys[0]["private_key"].encode(), None)
    return private, keys[0]["kid"]


def _resign(app: Any, token: str, **changes: Any) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(changes)
    key, kid = _dev_key(app)
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_notes_need_a_token(app: Any) -> None:
    with app.client() as client:
        response = client.get("/notes")
    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}


def test_notes_crud_with_a_valid_token_and_per_user_isolation(app: Any) -> None:
    with app.client() as client:
        alice, bob = _token(client, "alice@example.com"), _token(client, "bob@example.com")
        created = client.post("/notes", json={"text": "hello"}, headers=_auth(alice))
        assert created.status_code == 201
        note_id = created.json()["id"]
        assert client.get(f"/notes/{note_id}", headers=_auth(alice)).status_code == 200
        assert client.get(f"/notes/{note_id}", headers=_auth(bob)).status_code == 404
        assert client.get("/notes", headers=_auth(bob)).json() == {"notes": []}
        assert client.delete(f"/notes/{note_id}", headers=_auth(alice)).status_code == 204


def test_delete_needs_the_notes_write_scope(app: Any) -> None:
    with app.client() as client:
        token = _token(client, "reader@example.com")
        note_id = client.post("/notes", json={"text": "x"}, headers=_auth(token)).json()["id"]
        read_only = _resign(app, token, scope="notes:read")
        assert client.get("/notes", headers=_auth(read_only)).status_code == 200
        denied = client.delete(f"/notes/{note_id}", headers=_auth(read_only))
    assert denied.status_code == 403
    assert denied.json() == {"message": "Forbidden"}


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "someone-else"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600},
        {"nbf": int(time.time()) + 3600},
    ],
)
def test_bad_claims_are_refused(app: Any, change: dict[str, Any]) -> None:
    with app.client() as client:
        token = _resign(app, _token(client, "claims@example.com"), **change)
        response = client.get("/notes", headers=_auth(token))
    assert response.status_code == 401


def test_alg_none_and_key_confusion_are_refused(app: Any) -> None:
    with app.client() as client:
        token = _token(client, "forger@example.com")
        _, payload, _ = token.split(".")
        kid = jwt.get_unverified_header(token)["kid"]

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        none_header = b64(json.dumps({"alg": "none", "kid": kid, "typ": "JWT"}).encode())
        assert client.get("/notes", headers=_auth(f"{none_header}.{payload}.")).status_code == 401
        jwks = client.get("/auth/.well-known/jwks.json").json()
        public_x = next(k for k in jwks["keys"] if k["kid"] == kid)["x"]
        hs_header = b64(json.dumps({"alg": "HS256", "kid": kid, "typ": "JWT"}).encode())
        mac = hmac.new(public_x.encode(), f"{hs_header}.{payload}".encode(), hashlib.sha256)
        forged = f"{hs_header}.{payload}.{b64(mac.digest())}"
        assert client.get("/notes", headers=_auth(forged)).status_code == 401


def test_auth_routes_stay_open(app: Any) -> None:
    with app.client() as client:
        assert client.get("/auth/health").status_code == 200
        assert client.get("/auth/.well-known/jwks.json").status_code == 200
