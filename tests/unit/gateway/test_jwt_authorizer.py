"""HTTP API JWT authorizer: validation, the JWKS cache, and what the function receives."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from overcast.gateway import GatewayApp, JwksCache, JwtRejectedError, validate_jwt
from overcast.gateway.jwt_authorizer import claims_for_event
from overcast.template.model import JwtAuthorizerSpec

from .helpers import HTTP, FakeInvoker, model, route

ISSUER = "https://idp.example.com"
NOW = 1_700_000_000.0
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def public_jwk(private: Any, kid: str, alg: str) -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(
        jwt.algorithms.get_default_algorithms()[alg].to_jwk(private.public_key())
    )
    return {**jwk, "kid": kid, "use": "sig"}


RSA_JWK = public_jwk(RSA_KEY, "rsa-1", "RS256")
EC_JWK = public_jwk(EC_KEY, "ec-1", "ES256")


def claims(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": "api",
        "sub": "user-1",
        "exp": int(NOW) + 600,
        "iat": int(NOW) - 10,
        "scope": "notes:read notes:write",
    }
    base.update(changes)
    return {key: value for key, value in base.items() if value is not None}


def sign(
    payload: dict[str, Any], *, key: Any = RSA_KEY, kid: str = "rsa-1", alg: str = "RS256"
) -> str:
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check(token: str, jwk: dict[str, Any] = RSA_JWK, scopes: tuple[str, ...] = ()) -> Any:
    return validate_jwt(
        token, jwk, issuer=ISSUER, audiences=("api", "other"), required_scopes=scopes, now=NOW
    )


# -- validation --------------------------------------------------------------------


def test_a_good_token_passes_with_its_claims() -> None:
    result = check(sign(claims()))
    assert result.claims["sub"] == "user-1"
    assert result.scopes is None


def test_ec_keys_verify_es256_tokens() -> None:
    assert check(sign(claims(), key=EC_KEY, kid="ec-1", alg="ES256"), EC_JWK).claims["sub"]


@pytest.mark.parametrize("alg", ["EdDSA", "PS256"])
def test_algorithms_aws_jwt_authorizers_do_not_accept_are_refused(alg: str) -> None:
    key: Any = ed25519.Ed25519PrivateKey.generate() if alg == "EdDSA" else RSA_KEY
    jwk = public_jwk(key, "k-1", alg)
    with pytest.raises(JwtRejectedError):
        check(sign(claims(), key=key, kid="k-1", alg=alg), jwk)


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"exp": int(NOW) - 1}, "the token has expired"),
        ({"exp": None}, "the token has expired"),
        ({"nbf": int(NOW) + 60}, "the token is not valid yet"),
        ({"iat": int(NOW) + 60}, "the token was issued in the future"),
        ({"iss": "https://evil.example"}, "the token does not have a valid issuer"),
        ({"aud": "someone-else"}, "the token does not have a valid audience"),
    ],
)
def test_bad_claims_are_refused_with_a_401_description(
    change: dict[str, Any], description: str
) -> None:
    with pytest.raises(JwtRejectedError) as caught:
        check(sign(claims(**change)))
    assert (caught.value.status, caught.value.description) == (401, description)


def test_client_id_stands_in_for_a_missing_aud() -> None:
    assert check(sign(claims(aud=None, client_id="other"))).claims["client_id"] == "other"


def test_aud_list_needs_one_configured_audience() -> None:
    assert check(sign(claims(aud=["x", "api"]))).claims["aud"] == ["x", "api"]


def test_alg_none_is_refused() -> None:
    header = b64(json.dumps({"alg": "none", "kid": "rsa-1"}).encode())
    token = f"{header}.{b64(json.dumps(claims()).encode())}."
    with pytest.raises(JwtRejectedError, match="signing method none is invalid"):
        check(token)


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    header = b64(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims()).encode())
    secret = json.dumps(RSA_JWK).encode()
    mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    with pytest.raises(JwtRejectedError, match="HS256"):
        check(f"{header}.{payload}.{b64(mac)}")


def test_an_es256_header_on_an_rsa_key_is_refused() -> None:
    with pytest.raises(JwtRejectedError, match="signing method ES256"):
        check(sign(claims(), key=EC_KEY, kid="rsa-1", alg="ES256"))


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = sign(claims()).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    with pytest.raises(JwtRejectedError, match="invalid signature"):
        check(f"{header}.{forged}.{signature}")


def test_missing_route_scope_is_a_403() -> None:
    with pytest.raises(JwtRejectedError) as caught:
        check(sign(claims(scope="notes:read")), scopes=("notes:write", "admin"))
    assert caught.value.status == 403


def test_one_matching_scope_is_enough_and_scp_lists_count() -> None:
    assert check(sign(claims(scope=None, scp=["b", "admin"])), scopes=("admin",)).scopes == (
        "b",
        "admin",
    )


def test_claims_reach_the_event_as_strings_the_way_api_gateway_renders_them() -> None:
    rendered = claims_for_event(
        {"sub": "u", "exp": 1700000600, "admin": True, "groups": ["a", "b"], "x": {"k": 1}}
    )
    assert rendered == {
        "sub": "u",
        "exp": "1700000600",
        "admin": "true",
        "groups": "[a b]",
        "x": "map[k:1]",
    }


# -- the JWKS cache ----------------------------------------------------------------


class Issuer:
    """An OpenID issuer served through httpx.MockTransport, counting requests."""

    def __init__(self, keys: list[dict[str, Any]]) -> None:
        self.keys = keys
        self.requests: list[str] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.down:
            return httpx.Response(503)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": f"{ISSUER}/keys"})
        if request.url.path == "/keys":
            return httpx.Response(200, json={"keys": self.keys})
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_for(issuer: Issuer, clock: Clock | None = None) -> JwksCache:
    return JwksCache(transport=httpx.MockTransport(issuer.handler), clock=clock or Clock())


def test_keys_are_fetched_through_the_discovery_document_once() -> None:
    issuer = Issuer([RSA_JWK])
    cache = cache_for(issuer)

    async def twice() -> None:
        assert await cache.key(ISSUER, "rsa-1") == RSA_JWK
        assert await cache.key(ISSUER, "rsa-1") == RSA_JWK
        await cache.aclose()

    asyncio.run(twice())
    assert issuer.requests == ["/.well-known/openid-configuration", "/keys"]


def test_unknown_kid_refetches_once_per_interval() -> None:
    issuer = Issuer([RSA_JWK])
    clock = Clock()
    cache = cache_for(issuer, clock)

    async def run() -> None:
        assert await cache.key(ISSUER, "rsa-1") is not None
        issuer.keys = [RSA_JWK, EC_JWK]  # the issuer rotates a key in
        clock.now += 11
        assert await cache.key(ISSUER, "ec-1") == EC_JWK
        assert await cache.key(ISSUER, "made-up") is None  # within the interval: no fetch
        assert await cache.key(ISSUER, "made-up-2") is None
        clock.now += 11
        assert await cache.key(ISSUER, "made-up-3") is None
        await cache.aclose()

    asyncio.run(run())
    assert cache.fetches == 3


def test_an_unreachable_issuer_raises_and_old_keys_survive_a_failed_refresh() -> None:
    issuer = Issuer([RSA_JWK])
    issuer.down = True
    cache = cache_for(issuer)

    async def run() -> None:
        with pytest.raises(Exception, match="503"):
            await cache.key(ISSUER, "rsa-1")
        await cache.aclose()

    asyncio.run(run())


# -- through the gateway ----------------------------------------------------------

JWT_SPEC = JwtAuthorizerSpec(name="Jwt", issuer=ISSUER, audiences=("api",))
GUARDED_API = dataclasses.replace(HTTP, authorizers={"Jwt": JWT_SPEC}, default_authorizer="Jwt")


def guarded_app(invoker: FakeInvoker, issuer: Issuer, **route_kwargs: Any) -> GatewayApp:
    routes = [
        dataclasses.replace(route("/notes"), authorizer="Jwt"),
        dataclasses.replace(
            route("/notes/{id}", "DELETE"), authorizer="Jwt", authorization_scopes=("notes:write",)
        ),
        dataclasses.replace(route("/v1", payload_format="1.0"), authorizer="Jwt"),
        route("/open"),
    ]
    return GatewayApp(
        model(routes, api_specs=[GUARDED_API]),
        invoker,
        clock=lambda: NOW,
        id_factory=lambda: "req-1",
        jwks=JwksCache(transport=httpx.MockTransport(issuer.handler)),
    )


def call(app: GatewayApp, method: str, url: str, token: str | None = None) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token is not None else {}

    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            response = await client.request(method, url, headers=headers)
        await app.drain()
        return response

    return asyncio.run(run())


def test_no_authorization_header_is_401_without_invoking() -> None:
    invoker = FakeInvoker()
    response = call(guarded_app(invoker, Issuer([RSA_JWK])), "GET", "/notes")
    assert (response.status_code, response.content) == (401, b'{"message":"Unauthorized"}')
    assert response.headers["www-authenticate"] == "Bearer"
    assert invoker.calls == []


def test_valid_token_passes_claims_in_the_v2_event() -> None:
    invoker = FakeInvoker()
    response = call(guarded_app(invoker, Issuer([RSA_JWK])), "GET", "/notes", sign(claims()))
    assert response.status_code == 200
    authorizer = invoker.event()["requestContext"]["authorizer"]  # type: ignore[index]
    assert authorizer["jwt"]["claims"]["sub"] == "user-1"
    assert authorizer["jwt"]["claims"]["exp"] == str(int(NOW) + 600)
    assert authorizer["jwt"]["scopes"] is None


def test_payload_1_route_gets_claims_and_scopes_at_the_top() -> None:
    invoker = FakeInvoker()
    call(guarded_app(invoker, Issuer([RSA_JWK])), "GET", "/v1", sign(claims()))
    authorizer = invoker.event()["requestContext"]["authorizer"]  # type: ignore[index]
    assert authorizer["claims"]["sub"] == "user-1"
    assert authorizer["scopes"] is None


def test_wrong_audience_is_401_with_aws_www_authenticate() -> None:
    invoker = FakeInvoker()
    response = call(
        guarded_app(invoker, Issuer([RSA_JWK])), "GET", "/notes", sign(claims(aud="nope"))
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer scope="" error="invalid_token" '
        'error_description="the token does not have a valid audience"'
    )
    assert invoker.calls == []


def test_missing_scope_is_403_forbidden_and_present_scope_passes() -> None:
    issuer = Issuer([RSA_JWK])
    invoker = FakeInvoker()
    denied = call(
        guarded_app(invoker, issuer), "DELETE", "/notes/1", sign(claims(scope="notes:read"))
    )
    assert (denied.status_code, denied.content) == (403, b'{"message":"Forbidden"}')
    assert invoker.calls == []
    allowed = call(guarded_app(invoker, issuer), "DELETE", "/notes/1", sign(claims()))
    assert allowed.status_code == 200
    jwt_context = invoker.event()["requestContext"]["authorizer"]["jwt"]  # type: ignore[index]
    assert jwt_context["scopes"] == ["notes:read", "notes:write"]


def test_unknown_kid_is_401_and_an_unreachable_issuer_is_401_not_500() -> None:
    invoker = FakeInvoker()
    token = sign(claims(), kid="nobody")
    assert call(guarded_app(invoker, Issuer([RSA_JWK])), "GET", "/notes", token).status_code == 401
    down = Issuer([RSA_JWK])
    down.down = True
    assert call(guarded_app(invoker, down), "GET", "/notes", sign(claims())).status_code == 401
    assert invoker.calls == []


def test_open_routes_never_touch_the_authorizer() -> None:
    issuer = Issuer([RSA_JWK])
    invoker = FakeInvoker()
    assert call(guarded_app(invoker, issuer), "GET", "/open").status_code == 200
    assert "authorizer" not in invoker.event()["requestContext"]  # type: ignore[operator]
    assert issuer.requests == []


def test_apps_without_guarded_routes_build_no_authorizers() -> None:
    app = GatewayApp(model([route("/x")], api_specs=[HTTP]), FakeInvoker())
    assert app.authorizers is None
