"""EdgeApp in process: what the API origin sees, and what the cache shares.

The origin is a fake gateway that answers with the caller named by its credential (or
401), with no Cache-Control, as a handler behind an authorizer usually does.
"""

import asyncio
import json

import httpx

from overcast.edge import EdgeApp, ResponseCache, StageOrigins, parse_edge_config
from overcast.edge.credentials import CredentialNames
from overcast.edge.origins import Receive, Scope, Send

USERS = {b"Bearer alice": "alice", b"alice-key": "alice", b"session=alice": "alice"}


class Api:
    """Answers GET /<what>/me with the caller's private data; records each scope."""

    def __init__(self) -> None:
        self.scopes: list[Scope] = []
        self.error_status = 401

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scopes.append(scope)
        headers = dict(scope["headers"])
        credential = (
            headers.get(b"authorization") or headers.get(b"x-api-key") or headers.get(b"cookie")
        )
        user = USERS.get(credential or b"")
        status = 200 if user else self.error_status
        body = json.dumps({"user": user, "secret": f"data of {user}"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def edge(api: Api, *, error_pages: list[dict[str, object]] | None = None) -> EdgeApp:
    config = parse_edge_config(
        {
            "behaviors": [
                {"path_pattern": "/optimized/*", "origin": "api", "cache": "CachingOptimized"},
                {
                    "path_pattern": "/allviewer/*",
                    "origin": "api",
                    "cache": "CachingOptimized",
                    "origin_request": "AllViewer",
                },
                {
                    "path_pattern": "/keyed/*",
                    "origin": "api",
                    "cache": {"headers": ["Authorization"]},
                },
                {"path_pattern": "*", "origin": "api"},
            ],
            "error_pages": error_pages or [],
            "stages": {"dev": {}},
        },
        credentials=CredentialNames(),
    )
    return EdgeApp(
        config,
        {"dev": StageOrigins(api=api)},
        cache=ResponseCache(max_bytes=1_000_000, max_entries=100),
        extra_hosts={"localhost": "dev"},
    )


def get(app: EdgeApp, path: str, **headers: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
            return await client.get(
                path, headers={k.replace("_", "-"): v for k, v in headers.items()}
            )

    return asyncio.run(go())


def test_caching_optimized_without_a_policy_sends_the_api_no_credential() -> None:
    api = Api()
    app = edge(api)
    alice = get(app, "/optimized/me?x=1", authorization="Bearer alice", cookie="session=alice")
    anonymous = get(app, "/optimized/me")
    assert alice.status_code == anonymous.status_code == 401
    seen = dict(api.scopes[0]["headers"])
    assert b"authorization" not in seen
    assert b"cookie" not in seen
    assert seen[b"user-agent"] == b"Amazon CloudFront"
    assert api.scopes[0]["query_string"] == b""


def test_a_credential_outside_the_key_is_neither_served_from_nor_stored_in_the_cache() -> None:
    api = Api()
    app = edge(api)
    anonymous = get(app, "/allviewer/me")  # 401: not an error CloudFront caches
    alice = get(app, "/allviewer/me", x_api_key="alice-key")
    again = get(app, "/allviewer/me")
    assert anonymous.status_code == 401
    assert alice.json()["user"] == "alice"
    assert again.status_code == 401
    assert b"alice" not in again.content
    assert len(api.scopes) == 3


def test_a_cached_error_is_not_served_to_a_caller_with_an_unkeyed_credential() -> None:
    api = Api()
    api.error_status = 403  # cached for 10 s when nobody's credential was involved
    app = edge(api)
    first = get(app, "/allviewer/me")
    second = get(app, "/allviewer/me")
    alice = get(app, "/allviewer/me", cookie="session=alice")
    assert (first.status_code, second.status_code) == (403, 403)
    assert second.headers["x-cache"] == "Hit from overcast"
    assert alice.status_code == 200
    assert alice.headers["x-cache"] == "Miss from overcast"


def test_an_error_page_for_an_unkeyed_credential_is_not_stored() -> None:
    api = Api()
    api.error_status = 403
    app = edge(api, error_pages=[{"status": 403, "path": "/denied", "response_status": 403}])
    get(app, "/allviewer/me", x_api_key="mallory-key")
    again = get(app, "/allviewer/me", x_api_key="mallory-key")
    assert again.headers["x-cache"] == "Miss from overcast"


def test_a_keyed_authorization_gives_each_caller_their_own_copy() -> None:
    api = Api()
    app = edge(api)
    alice = get(app, "/keyed/me", authorization="Bearer alice")
    alice_again = get(app, "/keyed/me", authorization="Bearer alice")
    anonymous = get(app, "/keyed/me")
    assert alice.json()["user"] == alice_again.json()["user"] == "alice"
    assert alice_again.headers["x-cache"] == "Hit from overcast"
    assert anonymous.status_code == 401
    assert len(api.scopes) == 2


def test_caching_disabled_forwards_the_whole_request() -> None:
    api = Api()
    app = edge(api)
    response = get(app, "/direct/me?a=1", authorization="Bearer alice", x_custom="1")
    assert response.json()["user"] == "alice"
    seen = dict(api.scopes[0]["headers"])
    assert seen[b"host"] == b"localhost"
    assert seen[b"x-custom"] == b"1"
    assert api.scopes[0]["query_string"] == b"a=1"
