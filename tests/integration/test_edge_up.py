"""`overcast up` on an app with edge metadata: the data port is served through the edge.

One node for the module (``module_running_app``); each test uses paths no other test
caches, so the order the tests run in does not matter.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import httpx
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.slow

APP = EXAMPLES / "spa-with-api"
HIT = "Hit from overcast"
MISS = "Miss from overcast"


@pytest.fixture(scope="module")
def spa(module_running_app) -> Any:
    return module_running_app(APP)


def test_root_serves_index_html_miss_then_hit(spa: Any) -> None:
    with spa.client() as client:
        first = client.get("/")
        second = client.get("/")
    index = (APP / "public" / "index.html").read_bytes()
    assert first.status_code == 200, spa.output()
    assert first.content == index
    assert first.headers["content-type"].startswith("text/html")
    assert first.headers["x-cache"] == MISS
    assert second.headers["x-cache"] == HIT
    assert second.content == index
    assert "age" in second.headers


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_static_asset_is_compressed_when_asked(spa: Any, encoding: str) -> None:
    source = (APP / "public" / "assets" / "app.js").read_bytes()
    with spa.client() as client:
        response = client.get("/assets/app.js", headers={"Accept-Encoding": encoding})
        plain = client.get("/assets/app.js", headers={"Accept-Encoding": "identity"})
    assert response.status_code == 200, spa.output()
    assert response.headers["content-encoding"] == encoding
    assert "accept-encoding" in response.headers["vary"].lower()
    # httpx decodes gzip and br itself: the bytes it hands back are the file's.
    assert response.content == source
    assert int(response.headers["content-length"]) < len(source)
    assert "content-encoding" not in plain.headers
    assert plain.content == source


def test_gzip_body_is_real_gzip(spa: Any) -> None:
    source = (APP / "public" / "assets" / "app.js").read_bytes()
    with (
        spa.client() as client,
        client.stream("GET", "/assets/app.js", headers={"Accept-Encoding": "gzip"}) as response,
    ):
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == source


def test_api_reaches_the_function_and_is_never_cached(spa: Any) -> None:
    with spa.client() as client:
        first = client.get("/api/hello")
        second = client.get("/api/hello")
    assert first.status_code == 200, spa.output()
    assert first.json()["message"] == "hello from the API"
    # The function answers a fresh id each time: a cached copy would repeat it.
    assert first.json()["id"] != second.json()["id"]
    assert first.headers["x-cache"] == MISS
    assert second.headers["x-cache"] == MISS


def test_client_route_falls_back_to_index_html(spa: Any) -> None:
    with spa.client() as client:
        response = client.get("/some/client/route")
    assert response.status_code == 200, spa.output()
    assert response.content == (APP / "public" / "index.html").read_bytes()


def test_invalidate_makes_the_next_request_a_miss(spa: Any) -> None:
    with spa.client() as client:
        assert client.get("/index.html").headers["x-cache"] == MISS
        assert client.get("/index.html").headers["x-cache"] == HIT
        done = spa.cli("invalidate", "--app", str(spa.app_dir), "/index.html")
        assert done.returncode == 0, done.stderr.decode() + spa.output()
        assert "1 entries purged" in done.stderr.decode()
        after = client.get("/index.html")
    assert after.status_code == 200
    assert after.headers["x-cache"] == MISS


def test_invalidate_with_a_bad_path_fails_clearly(spa: Any) -> None:
    done = spa.cli("invalidate", "--app", str(spa.app_dir), "/assets/*/x")
    assert done.returncode == 1
    assert "InvalidArgument" in done.stderr.decode()


def test_invalidation_needs_a_signature(spa: Any) -> None:
    response = httpx.post(
        f"{spa.admin_url}/2020-05-31/distribution/dev/invalidation",
        json={"Paths": {"Quantity": 1, "Items": ["/index.html"]}},
    )
    assert response.status_code == 403


def test_unknown_host_is_misdirected(spa: Any) -> None:
    with spa.client() as client:
        response = client.get("/", headers={"Host": "evil.example"})
        local = client.get("/", headers={"Host": f"localhost:{spa.port}"})
    assert response.status_code == 421
    assert local.status_code == 200


def test_app_without_edge_metadata_is_served_by_the_gateway(module_running_app) -> None:
    hello = module_running_app(EXAMPLES / "hello")
    with hello.client() as client:
        response = client.get("/hello", headers={"Host": "evil.example"})
    assert response.status_code == 200
    assert "x-cache" not in response.headers
