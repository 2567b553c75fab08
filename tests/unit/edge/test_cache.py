import pytest

from overcast.edge import CachedResponse, InvalidationPathError, ResponseCache


def entry(
    path: str, body: bytes = b"x", *, stage: str = "dev", expires_at: float = 1e12
) -> CachedResponse:
    return CachedResponse(
        200, ((b"content-type", b"text/plain"),), body, 0.0, expires_at, stage, path
    )


def k(path: str, stage: str = "dev") -> tuple[str, ...]:
    return (stage, "GET", path, "", "", "", "")


def test_get_after_put_hits_and_unknown_misses() -> None:
    cache = ResponseCache(max_bytes=1 << 20, max_entries=10)
    cache.put(k("/a"), entry("/a", b"hello"))
    got = cache.get(k("/a"), now=1)
    assert got is not None
    assert got.body == b"hello"
    assert cache.get(k("/b"), now=1) is None
    assert cache.get(k("/a", stage="prod"), now=1) is None
    s = cache.stats()
    assert (s.hits, s.misses, s.entries) == (1, 2, 1)


def test_expired_entry_is_a_miss_and_is_dropped() -> None:
    cache = ResponseCache()
    cache.put(k("/a"), entry("/a", expires_at=5))
    assert cache.get(k("/a"), now=5) is None
    assert len(cache) == 0


def test_flood_of_unique_urls_keeps_both_bounds() -> None:
    cache = ResponseCache(max_bytes=2_000_000, max_entries=1000)
    for i in range(100_000):
        cache.put(k(f"/u/{i}"), entry(f"/u/{i}", b"y" * (i % 3000)))
        assert len(cache) <= 1000
        assert cache.bytes <= 2_000_000
    assert cache.stats().evictions > 90_000


def test_hot_entry_survives_a_flood_that_plain_lru_would_lose() -> None:
    cache = ResponseCache(max_bytes=1 << 30, max_entries=100)
    cache.put(k("/hot"), entry("/hot"))
    assert cache.get(k("/hot"), now=1) is not None  # second touch: protected
    for i in range(100_000):
        cache.put(k(f"/cold/{i}"), entry(f"/cold/{i}"))
    assert cache.get(k("/hot"), now=1) is not None


def test_byte_bound_evicts_least_recently_used_first() -> None:
    cache = ResponseCache(max_bytes=3 * 1300, max_entries=100, max_entry_bytes=2000)
    for name in ("/a", "/b", "/c"):
        cache.put(k(name), entry(name, b"z" * 1000))
    cache.put(k("/d"), entry("/d", b"z" * 1000))
    assert cache.get(k("/a"), now=1) is None
    assert cache.get(k("/d"), now=1) is not None


def test_oversized_entry_is_not_stored() -> None:
    cache = ResponseCache(max_bytes=10_000, max_entries=10)
    assert cache.put(k("/big"), entry("/big", b"b" * 5000)) is False
    assert len(cache) == 0


def test_invalidate_exact_and_prefix_paths_per_stage() -> None:
    cache = ResponseCache()
    for stage in ("dev", "prod"):
        for path in ("/index.html", "/assets/app.js", "/assets/css/site.css", "/assetsX"):
            cache.put(k(path, stage), entry(path, stage=stage))
    cache.put(("dev", "GET", "/index.html", "v=2", "", "", "br"), entry("/index.html"))
    removed = cache.invalidate(["/index.html", "/assets/*"], stage="dev")
    assert removed == 4
    assert cache.get(k("/assetsX"), now=1) is not None
    assert cache.get(k("/index.html", "prod"), now=1) is not None
    assert cache.invalidate(["/*"]) == 5
    assert len(cache) == 0


@pytest.mark.parametrize("path", ["index.html", "/a*/b", ""])
def test_invalid_invalidation_paths_are_refused_before_anything_is_removed(path: str) -> None:
    cache = ResponseCache()
    cache.put(k("/index.html"), entry("/index.html"))
    with pytest.raises(InvalidationPathError):
        cache.invalidate(["/index.html", path])
    assert len(cache) == 1
