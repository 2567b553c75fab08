"""``strip_prefix``: an api behavior forwards its path without the prefix, as an API
Gateway custom domain's API mapping does with its key (docs/edge.md)."""

import asyncio
import json
from urllib.parse import quote

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.edge import DictBucket, EdgeApp, EdgeConfigError, StageOrigins, parse_edge_config
from overcast.edge.asgi import strip_path_prefix
from overcast.edge.origins import Receive, Scope, Send

EDGE = {
    "behaviors": [
        {"path_pattern": "/api/*", "origin": "api", "strip_prefix": "/api"},
        {"path_pattern": "/api", "origin": "api", "strip_prefix": "/api"},
        {
            "path_pattern": "/cached/*",
            "origin": "api",
            "strip_prefix": "/cached",
            "cache": {"default_ttl": 60, "min_ttl": 0, "max_ttl": 60},
        },
        {"path_pattern": "/v*", "origin": "api", "strip_prefix": "/v1"},
        {"path_pattern": "/plain/*", "origin": "api"},
        {"path_pattern": "*", "origin": "static"},
    ],
    "stages": {"dev": {}},
}


class RecordingApi:
    """Answers with the path and raw_path it was given."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append((scope["path"], scope.get("raw_path", b""), scope["query_string"]))
        body = json.dumps({"path": scope["path"]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _edge(api: RecordingApi) -> EdgeApp:
    bucket = DictBucket()
    bucket.put("index.html", b"<!doctype html><title>page</title>", "text/html")
    return EdgeApp(
        parse_edge_config(EDGE),
        {"dev": StageOrigins(api=api, static=bucket)},
        extra_hosts={"127.0.0.1": "dev"},
    )


def _request(app: EdgeApp, method: str, url: str) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.request(method, url)

    return asyncio.run(go())


def test_api_prefix_is_stripped_from_path_and_raw_path() -> None:
    api = RecordingApi()
    response = _request(_edge(api), "POST", "/api/auth/login?next=%2Fme")
    assert response.status_code == 200
    assert api.seen == [("/auth/login", b"/auth/login", b"next=%2Fme")]


def test_prefix_alone_becomes_the_root() -> None:
    api = RecordingApi()
    _request(_edge(api), "GET", "/api")
    assert api.seen == [("/", b"/", b"")]


def test_trailing_slash_after_prefix_becomes_the_root() -> None:
    api = RecordingApi()
    _request(_edge(api), "GET", "/api/")
    assert api.seen == [("/", b"/", b"")]


def test_prefix_is_only_stripped_on_a_segment_boundary() -> None:
    api = RecordingApi()
    _request(_edge(api), "GET", "/v1beta/x")
    assert api.seen == [("/v1beta/x", b"/v1beta/x", b"")]


def test_behavior_without_strip_prefix_forwards_the_path_unchanged() -> None:
    api = RecordingApi()
    _request(_edge(api), "GET", "/plain/x")
    assert api.seen == [("/plain/x", b"/plain/x", b"")]


def test_static_behavior_still_sees_the_viewer_path() -> None:
    api = RecordingApi()
    response = _request(_edge(api), "GET", "/index.html")
    assert response.status_code == 200
    assert response.text.startswith("<!doctype html>")
    assert api.seen == []


def test_percent_encoded_rest_of_the_path_is_kept_encoded() -> None:
    api = RecordingApi()
    _request(_edge(api), "GET", "/api/notes/a%2Fb%20c")
    assert len(api.seen) == 1
    path, raw, _ = api.seen[0]
    assert raw == b"/notes/a%2Fb%20c"
    assert path == "/notes/a/b c"


def test_cache_key_keeps_the_viewer_path() -> None:
    api = RecordingApi()
    app = _edge(api)
    first = _request(app, "GET", "/cached/thing")
    second = _request(app, "GET", "/cached/thing")
    assert first.json() == {"path": "/thing"}
    assert second.headers["x-cache"] == "Hit from overcast"
    # Purging the origin's path purges nothing; the viewer's path is the key.
    assert app.invalidate(["/thing"]) == 0
    assert app.invalidate(["/cached/thing"]) == 1
    assert len(api.seen) == 1


def test_strip_prefix_is_precomputed_as_raw_bytes() -> None:
    config = parse_edge_config(
        {"behaviors": [{"path_pattern": "/a b/*", "origin": "api", "strip_prefix": "/a b"}]}
    )
    behavior = config.stages["dev"].behaviors[0]
    assert behavior.strip_prefix == "/a b"
    assert behavior.strip_prefix_raw == b"/a%20b"


def test_percent_encoded_prefix_is_cut_from_the_decoded_path() -> None:
    scope = {"path": "/api/x y", "raw_path": b"/%61pi/x%20y"}
    stripped = strip_path_prefix(scope, "/api", b"/api")
    assert stripped["path"] == "/x y"
    assert stripped["raw_path"] == b"/x%20y"


def test_scope_without_raw_path_gets_none_added() -> None:
    stripped = strip_path_prefix({"path": "/api/x"}, "/api", b"/api")
    assert stripped == {"path": "/x"}


def test_the_viewer_scope_is_not_modified() -> None:
    scope = {"path": "/api/x", "raw_path": b"/api/x"}
    strip_path_prefix(scope, "/api", b"/api")
    assert scope == {"path": "/api/x", "raw_path": b"/api/x"}


_segment = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/", exclude_categories=["Cs"]),
    min_size=0,
    max_size=8,
)


@given(st.lists(_segment, max_size=4))
def test_stripping_then_prefixing_gives_back_the_path(segments: list[str]) -> None:
    rest = "/" + "/".join(segments)
    raw_rest = quote(rest, safe="/").encode()
    stripped = strip_path_prefix(
        {"path": "/api" + rest, "raw_path": b"/api" + raw_rest}, "/api", b"/api"
    )
    assert stripped["path"] == rest
    assert stripped["raw_path"] == raw_rest


@pytest.mark.parametrize(
    ("behavior", "message"),
    [
        ({"path_pattern": "/api/*", "strip_prefix": "api"}, "starting with /"),
        ({"path_pattern": "/api/*", "strip_prefix": "/api/"}, "must not end with /"),
        ({"path_pattern": "/api/*", "strip_prefix": "/"}, "must not end with /"),
        ({"path_pattern": "/api/*", "strip_prefix": ""}, "starting with /"),
        ({"path_pattern": "/api/*", "strip_prefix": 5}, "starting with /"),
        ({"path_pattern": "/api/*", "strip_prefix": "/api*"}, "plain path"),
        ({"path_pattern": "/api/*", "strip_prefix": "/a?b"}, "plain path"),
        ({"path_pattern": "/api/*", "strip_prefix": "/a//b"}, "empty segment"),
        (
            {"path_pattern": "/web/*", "origin": "static", "strip_prefix": "/web"},
            "origin is api",
        ),
    ],
)
def test_invalid_strip_prefix_names_its_key(behavior: dict[str, object], message: str) -> None:
    with pytest.raises(EdgeConfigError) as info:
        parse_edge_config({"behaviors": [behavior]})
    assert info.value.where == "behaviors[0].strip_prefix"
    assert message in str(info.value)
