"""Callers of tests/security/apps/private_api: Alice, Bob, a wrong credential, nobody.

Shared by the edge's security tests under ``overcast up`` and under a platform: the
credentials of each way the app knows its caller, a real OpenID issuer for the JWT
authorizer, SigV4 signing with botocore, and the check that no one but Alice reads
Alice's data through a given edge behavior.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import jwt
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from cryptography.hazmat.primitives.asymmetric import rsa

APP = Path(__file__).resolve().parent / "apps" / "private_api"
HIT = "Hit from overcast"

API_KEYS = {"alice": "alice-key-0123456789abcdef", "bob": "bob-key-0123456789abcdef"}
ACCESS_KEYS = {
    "alice": ("AKIDALICE0000000000", "alice-secret-key-0000000000000000000000"),
    "bob": ("AKIDBOB000000000000", "bob-secret-key-00000000000000000000000000"),
}
AUDIENCE = "private-api"
KID = "test-key"


class Issuer:
    """A real OpenID issuer on loopback: its discovery document and its JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=KID, use="sig", alg="RS256")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler({"keys": [jwk]}))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/issuer"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self, jwks: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/issuer/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": issuer.url,
                        "jwks_uri": f"{issuer.url}/jwks.json",
                    }
                elif self.path == "/issuer/jwks.json":
                    body = jwks
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def token(self, user: str, *, forged: bool = False) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": AUDIENCE, "sub": user, "iat": now, "exp": now + 3600}
        key = self.other_key if forged else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@dataclass(frozen=True)
class Credential:
    """What a caller adds to a request to say who they are."""

    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


# kind -> (API prefix, the refusal of a request without credentials, of a wrong one)
KINDS: dict[str, tuple[str, tuple[int, str], tuple[int, str]]] = {
    "jwt": ("http", (401, "Unauthorized"), (401, "Unauthorized")),
    "lambda": ("http", (401, "Unauthorized"), (403, "Forbidden")),
    "lambda-cached": ("http", (401, "Unauthorized"), (403, "Forbidden")),
    "token": ("rest", (401, "Unauthorized"), (401, "Unauthorized")),
    "token-fresh": ("rest", (401, "Unauthorized"), (401, "Unauthorized")),
    "query": ("rest", (401, "Unauthorized"), (401, "Unauthorized")),
    "key": ("rest", (403, "Forbidden"), (403, "Forbidden")),
    "session": ("http", (401, "Unauthorized"), (401, "Unauthorized")),
    "iam": ("http", (401, "Unauthorized"), (401, "Unauthorized")),
}
MODES = ("optimized", "allviewer", "keyed", "direct")
# The credentials that reach the API through each behavior (see the module docstring).
FORWARDED = {
    "optimized": frozenset(),
    # Authorization is kept from the origin while caching is on (jwt, token, iam).
    "allviewer": frozenset({"lambda", "lambda-cached", "query", "key", "session"}),
    "keyed": frozenset(KINDS),
    "direct": frozenset(KINDS),
}


def credential(kind: str, who: str, issuer: Issuer) -> Credential:
    """``who`` is alice, bob, or wrong (a credential the API must refuse)."""
    token = {"alice": "alice-token", "bob": "bob-token", "wrong": "mallory-token"}[who]
    if kind == "jwt":
        jwt_user = "alice" if who == "wrong" else who  # a forged token claiming Alice
        return Credential(
            headers={"Authorization": f"Bearer {issuer.token(jwt_user, forged=who == 'wrong')}"}
        )
    if kind in ("lambda", "lambda-cached"):
        return Credential(headers={"X-Token": token})
    if kind in ("token", "token-fresh"):
        return Credential(headers={"Authorization": f"Bearer {token}"})
    if kind == "query":
        return Credential(params={"token": token})
    if kind == "key":
        return Credential(headers={"X-Api-Key": API_KEYS.get(who, "mallory-key-0123456789ab")})
    if kind == "session":
        return Credential(cookies={"session": f"{who}-session"})
    return Credential()  # iam: signed per request


@dataclass(frozen=True)
class Target:
    """Where the edge listens, and the Host that picks the stage (``None``: loopback)."""

    base_url: str
    host: str | None = None


def fetch(
    target: Target, path: str, kind: str, cred: Credential | None, signer: str | None = None
) -> httpx.Response:
    """GET ``path`` with ``cred``; an ``iam`` request is signed with ``signer``'s key."""
    url = f"{target.base_url}{path}"
    headers = dict(cred.headers) if cred else {}
    if target.host is not None:
        headers["Host"] = target.host
    if kind == "iam" and signer is not None:
        key_id, secret = ACCESS_KEYS.get(signer, ("AKIDALICE0000000000", "not-alice-secret"))
        request = AWSRequest(method="GET", url=url)
        if target.host is not None:
            request.headers["host"] = target.host
        SigV4Auth(Credentials(key_id, secret), "execute-api", "us-east-1").add_auth(request)
        headers.update({k: v for k, v in request.headers.items() if k.lower() != "host"})
    with httpx.Client(timeout=30.0, cookies=cred.cookies if cred else None) as client:
        return client.get(url, headers=headers, params=cred.params if cred else None)


def ask(target: Target, path: str, kind: str, who: str | None, issuer: Issuer) -> httpx.Response:
    """``who`` (alice, bob, wrong) asks for ``path``; ``None``: without credentials."""
    if who is None:
        return fetch(target, path, kind, None)
    return fetch(target, path, kind, credential(kind, who, issuer), signer=who)


def refusal_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("message", "")


def check_only_alice_reads_alice(
    target: Target, issuer: Issuer, kind: str, mode: str, logs: str = ""
) -> None:
    """Alice, nobody, a wrong credential, Bob, Alice again: only Alice reads Alice's data."""
    prefix, missing, wrong = KINDS[kind]
    path = f"/{prefix}/{mode}/{kind}/{uuid.uuid4().hex}"
    alice = ask(target, path, kind, "alice", issuer)
    nobody = ask(target, path, kind, None, issuer)
    mallory = ask(target, path, kind, "wrong", issuer)
    bob = ask(target, path, kind, "bob", issuer)
    alice_again = ask(target, path, kind, "alice", issuer)
    context = f"{kind} via {mode}: {logs}"

    for response in (nobody, mallory, bob):
        assert b"alice" not in response.content, context
    assert refusal_of(nobody) == missing, context
    if kind in FORWARDED[mode]:
        assert alice.status_code == 200, context
        assert alice.json() == {"user": "alice", "secret": "the private data of alice"}
        assert refusal_of(mallory) == wrong, context
        assert bob.status_code == 200, context
        assert bob.json()["user"] == "bob", context
        assert alice_again.json()["user"] == "alice", context
    else:
        # The credential never reaches the API: Alice is refused like everyone else.
        for response in (alice, mallory, bob, alice_again):
            assert refusal_of(response) == missing, context
