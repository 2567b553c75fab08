"""EdgeApp end to end in process: a fake gateway ASGI app and a dict bucket as origins."""

import asyncio
import gzip
import json

import brotli  # type: ignore[import-untyped]
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from overcast.edge import DictBucket, EdgeApp, ResponseCache, StageOrigins, parse_edge_config
from overcast.edge.origins import Message, Receive, Scope, Send
from overcast.observe.recorder import Metrics

EDGE = {
    "domain": "example.test",
    "behaviors": [
        {
            "path_pattern": "/api/*",
            "origin": "api",
            "cache": {"default_ttl": 0, "min_ttl": 0, "max_ttl": 3600, "query_strings": ["page"]},
        },
        {"path_pattern": "*", "origin": "static"},
    ],
    "error_pages": [{"status": 404, "path": "/index.html", "response_status": 200}],
    "stages": {"dev": {"domains": ["dev.myapp.com"]}, "qa": {}, "prod": {}},
}

INDEX = b"<!doctype html><title>app</title>" + b"<p>hello</p>" * 200


class FakeGateway:
    """Answers /api/<what> according to <what>; counts calls."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        path = scope["path"]
        headers = [(b"content-type", b"application/json")]
        qs = scope["query_string"].decode()
        body = json.dumps({"stage": self.stage, "n": self.calls, "qs": qs}).encode()
        if path == "/api/cached":
            headers.append((b"cache-control", b"max-age=60"))
        elif path == "/api/cookie":
            headers += [(b"cache-control", b"max-age=60"), (b"set-cookie", b"sid=secret")]
        elif path == "/api/private":
            headers.append((b"cache-control", b"private, max-age=60"))
        elif path == "/api/nostore":
            headers.append((b"cache-control", b"no-store"))
        elif path == "/api/big":
            headers.append((b"cache-control", b"max-age=60"))
            body = b'{"data": "' + b"x" * 5000 + b'"}'
        elif path == "/api/precompressed":
            headers += [(b"cache-control", b"max-age=60"), (b"content-encoding", b"gzip")]
            body = gzip.compress(b"{}" * 2000)
        elif path == "/api/boom":
            raise RuntimeError("origin crashed")
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Edge:
    def __init__(self) -> None:
        self.clock = Clock()
        self.gateways = {s: FakeGateway(s) for s in ("dev", "qa", "prod")}
        self.buckets = {s: DictBucket() for s in ("dev", "qa", "prod")}
        for stage, bucket in self.buckets.items():
            bucket.put("index.html", INDEX + stage.encode(), "text/html; charset=utf-8")
            bucket.put(
                "assets/app.js",
                (b"console.log('" + stage.encode() + b"');") * 100,
                "application/javascript",
            )
            bucket.put("logo.png", bytes(range(256)) * 8, "image/png")
        self.app = EdgeApp(
            parse_edge_config(EDGE),
            {s: StageOrigins(api=self.gateways[s], static=self.buckets[s]) for s in self.gateways},
            cache=ResponseCache(max_bytes=10_000_000, max_entries=1000),
            clock=self.clock,
        )

    def get(
        self, url: str, host: str = "dev.example.test", method: str = "GET", **headers: str
    ) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
                h = {"host": host, "accept-encoding": "identity"}
                h.update({k.replace("_", "-"): v for k, v in headers.items()})
                return await client.request(method, url, headers=h)

        return asyncio.run(go())


@pytest.fixture
def edge() -> Edge:
    return Edge()


def test_second_request_is_a_hit_with_age(edge: Edge) -> None:
    first = edge.get("/api/cached")
    assert first.headers["x-cache"] == "Miss from overcast"
    assert "age" not in first.headers
    edge.clock.now += 7
    second = edge.get("/api/cached")
    assert second.headers["x-cache"] == "Hit from overcast"
    assert second.headers["age"] == "7"
    assert second.json() == first.json()
    assert edge.gateways["dev"].calls == 1


def test_entry_expires_after_its_ttl(edge: Edge) -> None:
    edge.get("/api/cached")
    edge.clock.now += 61
    assert edge.get("/api/cached").headers["x-cache"] == "Miss from overcast"
    assert edge.gateways["dev"].calls == 2


@pytest.mark.parametrize("path", ["/api/cookie", "/api/private", "/api/nostore", "/api/plain"])
def test_personal_or_uncacheable_responses_always_reach_the_origin(edge: Edge, path: str) -> None:
    for _ in range(3):
        assert edge.get(path).headers["x-cache"] == "Miss from overcast"
    assert edge.gateways["dev"].calls == 3


def test_stages_never_share_cache_entries(edge: Edge) -> None:
    dev = edge.get("/api/cached", host="dev.example.test")
    prod = edge.get("/api/cached", host="example.test")
    assert dev.json()["stage"] == "dev"
    assert prod.json()["stage"] == "prod"
    assert prod.headers["x-cache"] == "Miss from overcast"
    assert edge.get("/index.html", host="qa.example.test").text.endswith("qa")
    assert edge.get("/index.html", host="www.example.test").text.endswith("prod")


def test_custom_domain_reaches_its_stage_and_shares_its_cache(edge: Edge) -> None:
    edge.get("/api/cached", host="dev.example.test")
    via_custom = edge.get("/api/cached", host="DEV.myapp.com:8443")
    assert via_custom.json()["stage"] == "dev"
    assert via_custom.headers["x-cache"] == "Hit from overcast"


def test_query_strings_in_key_are_only_the_chosen_ones(edge: Edge) -> None:
    edge.get("/api/cached?page=1&utm=a")
    assert edge.get("/api/cached?utm=b&page=1").headers["x-cache"] == "Hit from overcast"
    assert edge.get("/api/cached?page=2").headers["x-cache"] == "Miss from overcast"


def test_unknown_host_is_misdirected(edge: Edge) -> None:
    r = edge.get("/index.html", host="staging.example.test")
    assert r.status_code == 421
    assert r.headers["x-cache"] == "Error from overcast"


def test_disallowed_method_is_forbidden_like_cloudfront(edge: Edge) -> None:
    assert edge.get("/index.html", method="POST").status_code == 403
    assert edge.get("/api/anything", method="POST").status_code == 200


def test_gzip_and_brotli_negotiation(edge: Edge) -> None:
    br = edge.get("/assets/app.js", accept_encoding="gzip, br")
    assert br.headers["content-encoding"] == "br"
    assert "Accept-Encoding" in br.headers["vary"]
    assert br.headers["etag"].startswith('W/"')
    gz = edge.get("/assets/app.js", accept_encoding="gzip;q=1, br;q=0.5")
    assert gz.headers["content-encoding"] == "gzip"
    assert gz.headers["x-cache"] == "Miss from overcast"  # encoding is part of the key
    plain = edge.get("/assets/app.js")
    assert "content-encoding" not in plain.headers
    assert plain.content == gz.content == br.content  # httpx decodes both
    assert (
        edge.get("/assets/app.js", accept_encoding="br").headers["x-cache"] == "Hit from overcast"
    )


def test_raw_brotli_body_decodes(edge: Edge) -> None:
    async def go() -> bytes:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=edge.app), base_url="http://e"
            ) as c,
            c.stream(
                "GET",
                "/assets/app.js",
                headers={"host": "dev.example.test", "accept-encoding": "br"},
            ) as r,
        ):
            return b"".join([chunk async for chunk in r.aiter_raw()])

    assert brotli.decompress(asyncio.run(go())).startswith(b"console.log('dev');")


def test_small_binary_and_precompressed_bodies_are_not_compressed(edge: Edge) -> None:
    assert "content-encoding" not in edge.get("/logo.png", accept_encoding="gzip").headers
    assert (
        "content-encoding" not in edge.get("/api/cached", accept_encoding="gzip").headers
    )  # < 1000 bytes
    assert edge.get("/api/big", accept_encoding="gzip").headers["content-encoding"] == "gzip"
    pre = edge.get("/api/precompressed", accept_encoding="br, gzip")
    assert pre.headers["content-encoding"] == "gzip"
    assert pre.content == b"{}" * 2000


def test_not_modified_on_etag_and_date(edge: Edge) -> None:
    first = edge.get("/index.html")
    etag, lm = first.headers["etag"], first.headers["last-modified"]
    by_tag = edge.get("/index.html", if_none_match=etag)
    assert by_tag.status_code == 304
    assert by_tag.content == b""
    assert by_tag.headers["etag"] == etag
    assert edge.get("/index.html", if_modified_since=lm).status_code == 304
    assert edge.get("/index.html", if_none_match='"other"').status_code == 200


def test_range_requests_on_static_objects(edge: Edge) -> None:
    whole = edge.get("/logo.png").content
    part = edge.get("/logo.png", range="bytes=10-19")
    assert part.status_code == 206
    assert part.content == whole[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(whole)}"
    bad = edge.get("/logo.png", range=f"bytes={len(whole)}-")
    assert bad.status_code == 416
    assert bad.headers["content-range"] == f"bytes */{len(whole)}"
    assert edge.get("/logo.png", range="bytes=0-1,4-5").status_code == 200


def test_spa_fallback_serves_index_with_200(edge: Edge) -> None:
    r = edge.get("/profile/settings")
    assert r.status_code == 200
    assert r.text.startswith("<!doctype html>")
    assert edge.get("/").text == r.text  # default root object


def test_head_has_headers_but_no_body(edge: Edge) -> None:
    r = edge.get("/index.html", method="HEAD")
    assert r.status_code == 200
    assert r.content == b""
    assert int(r.headers["content-length"]) == len(INDEX) + 3


def test_invalidation_purges_only_what_matches(edge: Edge) -> None:
    edge.get("/index.html")
    edge.get("/assets/app.js")
    edge.get("/index.html", host="example.test")
    edge.buckets["dev"].put("index.html", b"new", "text/html")
    assert edge.get("/index.html").text.endswith("dev")  # still cached
    assert edge.app.invalidate(["/index.html"], stage="dev") == 1
    assert edge.get("/index.html").text == "new"
    assert edge.get("/assets/app.js").headers["x-cache"] == "Hit from overcast"
    assert edge.get("/index.html", host="example.test").headers["x-cache"] == "Hit from overcast"


def test_origin_crash_is_one_502(edge: Edge) -> None:
    assert edge.get("/api/boom").status_code == 502
    assert edge.get("/api/cached").status_code == 200


def test_lifespan_is_acknowledged(edge: Edge) -> None:
    sent: list[Message] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> Message:
        return next(messages)

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(edge.app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_every_response_is_recorded_as_a_hit_or_a_miss_with_its_size(edge: Edge) -> None:
    metrics = Metrics()
    edge.app.recorder = metrics.edge
    first = edge.get("/api/cached")
    second = edge.get("/api/cached")
    edge.get("/index.html", host="prod.example.test")
    assert metrics.edge.snapshot() == {
        "dev": (1, 1, len(first.content) + len(second.content)),
        "prod": (0, 1, len(INDEX) + len(b"prod")),
    }
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    samples = {
        (s.labels["stage"], s.labels.get("result")): s.value
        for s in families["overcast_edge_requests"].samples
        if s.name.endswith("_total")
    }
    assert samples[("dev", "hit")] == 1.0
    assert samples[("prod", "miss")] == 1.0


def test_a_304_or_a_head_counts_no_body_bytes(edge: Edge) -> None:
    metrics = Metrics()
    edge.app.recorder = metrics.edge
    first = edge.get("/assets/app.js")
    edge.get("/assets/app.js", if_none_match=first.headers["etag"])
    edge.get("/assets/app.js", method="HEAD")
    assert metrics.edge.snapshot() == {"dev": (2, 1, len(first.content))}
