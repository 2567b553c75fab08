"""examples/auth-service end to end through `overcast up`, with a real HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
from auth_e2e_helpers import FAST, migrate, seeded_copy, stored_keys

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def app(module_running_app: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    running = module_running_app(
        seeded_copy(tmp_path_factory.mktemp("seeded")),
        copy=False,
        parameter_overrides=[*FAST, "LoginMaxFailuresPerAccount=3"],
    )
    assert migrate(running)["status"] == "migrated"
    return running


@pytest.fixture
def client(app: Any) -> Iterator[httpx.Client]:
    with app.client() as client:
        yield client


def _login(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post("/auth/login", json={"email": email, "password": password})


def test_register_login_me_refresh_logout(client: httpx.Client) -> None:
    registered = client.post(
        "/auth/register", json={"email": "e2e@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text

    logged_in = _login(client, "e2e@example.com")
    assert logged_in.status_code == 200
    assert logged_in.headers["cache-control"] == "no-store"
    tokens = logged_in.json()

    me = client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == "e2e@example.com"

    rotated = client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    new = rotated.json()
    assert new["refresh_token"] != tokens["refresh_token"]

    out = client.post("/auth/logout", json={"refresh_token": new["refresh_token"]})
    assert out.status_code == 204
    assert out.content == b""
    again = client.post("/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


def test_reusing_a_refresh_token_revokes_its_family(client: httpx.Client) -> None:
    client.post("/auth/register", json={"email": "reuse@example.com", "password": PASSWORD})
    stolen = _login(client, "reuse@example.com").json()["refresh_token"]
    legit = client.post("/auth/refresh", json={"refresh_token": stolen}).json()["refresh_token"]
    replay = client.post("/auth/refresh", json={"refresh_token": stolen})
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_grant"
    assert client.post("/auth/refresh", json={"refresh_token": legit}).status_code == 401


def test_lockout_answers_429_with_retry_after(client: httpx.Client) -> None:
    client.post("/auth/register", json={"email": "locked@example.com", "password": PASSWORD})
    for _ in range(3):
        assert _login(client, "locked@example.com", "wrong password").status_code == 401
    locked = _login(client, "locked@example.com")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert locked.json()["error"] == "too_many_attempts"


def test_unknown_email_answers_like_a_wrong_password(client: httpx.Client) -> None:
    client.post("/auth/register", json={"email": "known@example.com", "password": PASSWORD})
    wrong = _login(client, "known@example.com", "wrong password")
    unknown = _login(client, "unknown@example.com", "wrong password")
    assert (wrong.status_code, wrong.json()) == (unknown.status_code, unknown.json())


@pytest.mark.parametrize(
    ("path", "content", "field"),
    [
        ("/auth/register", b"{not json", "body"),
        ("/auth/register", b'{"email": "x@example.com"}', "password"),
        ("/auth/register", b'{"email": 5, "password": "long enough"}', "email"),
        ("/auth/login", b'{"email": "not-an-email", "password": "x"}', "email"),
        ("/auth/refresh", b"[]", "body"),
        ("/auth/logout", b'{"refresh_token": ' + b'"' + b"x" * 5000 + b'"}', "refresh_token"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    client: httpx.Client, path: str, content: bytes, field: str
) -> None:
    response = client.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["field"] == field


def test_jwks_verifies_the_access_token(client: httpx.Client) -> None:
    client.post("/auth/register", json={"email": "jwks@example.com", "password": PASSWORD})
    access = _login(client, "jwks@example.com").json()["access_token"]
    jwks = client.get("/auth/.well-known/jwks.json").json()
    key = jwt.PyJWKSet.from_dict(jwks)[jwt.get_unverified_header(access)["kid"]]
    claims = jwt.decode(access, key.key, algorithms=["ES256"], audience="overcast-example")
    assert claims["iss"] == "http://127.0.0.1:3000/auth"
    discovery = client.get("/auth/.well-known/openid-configuration").json()
    assert discovery["jwks_uri"] == "http://127.0.0.1:3000/auth/.well-known/jwks.json"


def test_health_reports_development_keys(client: httpx.Client) -> None:
    health = client.get("/auth/health")
    assert health.status_code == 200
    assert health.json() == {"status": "ok", "database": "ok", "signing_keys": "development"}


def test_signing_keys_come_from_the_store_and_are_never_shown(app: Any) -> None:
    (key,) = stored_keys(app)
    with app.client() as client:
        jwks = client.get("/auth/.well-known/jwks.json").json()
    assert [k["kid"] for k in jwks["keys"]] == [key["kid"]]
    config = app.lambda_client().get_function(FunctionName="AuthFunction")["Configuration"]
    variables = config["Environment"]["Variables"]
    assert variables["JWT_PRIVATE_KEYS"] == (
        "{{resolve:secretsmanager:auth-service:SecretString:jwt_private_keys}}"
    )
    pem_body = key["private_key"].splitlines()[1]
    assert pem_body not in str(config)
    assert pem_body not in app.output()
