from email.utils import formatdate

import pytest

from overcast.edge.cache_policy import cache_key, response_ttl
from overcast.edge.config import CachePolicy, KeySelection

NOW = 1_800_000_000.0
POLICY = CachePolicy(default_ttl=100, min_ttl=10, max_ttl=1000)


def ttl(
    headers: list[tuple[bytes, bytes]],
    *,
    status: int = 200,
    method: str = "GET",
    policy: CachePolicy = POLICY,
) -> int | None:
    return response_ttl(policy, method, status, headers, now=NOW)


def test_no_headers_gives_default_ttl() -> None:
    assert ttl([]) == 100


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"max-age=50", 50),
        (b"max-age=5", 10),
        (b"max-age=5000", 1000),
        (b"public, max-age=60, s-maxage=300", 300),
    ],
)
def test_origin_ttl_is_clamped_to_min_and_max(value: bytes, expected: int) -> None:
    assert ttl([(b"cache-control", value)]) == expected


def test_expires_used_without_max_age_and_loses_to_it() -> None:
    expires = formatdate(NOW + 500, usegmt=True).encode()
    assert ttl([(b"expires", expires)]) == 500
    assert ttl([(b"expires", expires), (b"cache-control", b"max-age=20")]) == 20
    assert ttl([(b"expires", b"not a date")]) == 10  # expired, clamped up to min_ttl


@pytest.mark.parametrize(
    "headers",
    [
        [(b"set-cookie", b"session=abc")],
        [(b"cache-control", b"private, max-age=600")],
        [(b"cache-control", b"no-store")],
        [(b"Cache-Control".lower(), b"Private")],
    ],
)
def test_personal_responses_are_never_cached_even_with_min_ttl(
    headers: list[tuple[bytes, bytes]],
) -> None:
    assert ttl(headers, policy=CachePolicy(default_ttl=100, min_ttl=50, max_ttl=1000)) is None


def test_no_cache_is_honoured_only_when_min_ttl_is_zero() -> None:
    headers = [(b"cache-control", b"no-cache")]
    assert ttl(headers, policy=CachePolicy(default_ttl=100, min_ttl=0, max_ttl=1000)) is None
    assert ttl(headers) == 100


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])
def test_only_get_and_head_are_cached(method: str) -> None:
    assert ttl([], method=method) is None
    assert ttl([], method="HEAD") == 100


def test_status_rules() -> None:
    assert ttl([], status=301) == 100
    assert ttl([], status=307) is None
    assert ttl([(b"cache-control", b"max-age=30")], status=307) == 30
    assert ttl([], status=404) == 10  # error caching minimum TTL
    assert ttl([], status=201) is None
    assert ttl([], status=418) is None


def test_disabled_policy_caches_nothing() -> None:
    assert ttl([], policy=CachePolicy(0, 0, 0)) is None


def key(
    policy: CachePolicy,
    qs: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    **kw: str,
) -> tuple[str, ...]:
    args = {"stage": "dev", "method": "GET", "path": "/p", "encoding": ""} | kw
    return cache_key(policy, query_string=qs, headers=headers or [], **args)


def test_query_strings_none_all_and_list() -> None:
    none = CachePolicy()
    assert key(none, b"a=1") == key(none, b"a=2")
    every = CachePolicy(query_strings=KeySelection("all"))
    assert key(every, b"a=1&b=2") == key(every, b"b=2&a=1")  # sorted
    assert key(every, b"a=1") != key(every, b"a=2")
    some = CachePolicy(query_strings=KeySelection("list", ("page",)))
    assert key(some, b"page=1&utm=x") == key(some, b"page=1&utm=y")
    assert key(some, b"page=1") != key(some, b"page=2")


def test_headers_and_cookies_in_key() -> None:
    policy = CachePolicy(headers=("accept-language",), cookies=KeySelection("list", ("theme",)))
    fr = [(b"accept-language", b"fr"), (b"cookie", b"theme=dark; session=1")]
    fr_other_session = [(b"accept-language", b"fr"), (b"cookie", b"session=2; theme=dark")]
    de = [(b"accept-language", b"de"), (b"cookie", b"theme=dark")]
    assert key(policy, headers=fr) == key(policy, headers=fr_other_session)
    assert key(policy, headers=fr) != key(policy, headers=de)


def test_stage_encoding_and_method_class_separate_keys() -> None:
    p = CachePolicy()
    assert key(p, stage="dev") != key(p, stage="prod")
    assert key(p, encoding="br") != key(p, encoding="gzip") != key(p)
    assert key(p, method="HEAD") == key(p, method="GET")
    assert key(p, path="/a") != key(p, path="/A")


@pytest.mark.parametrize(
    ("cache_control", "stored"),
    [
        (None, False),
        (b"max-age=60", False),
        (b"public, max-age=60", True),
        (b"s-maxage=60", True),
        (b"must-revalidate, max-age=60", True),
    ],
)
def test_a_response_to_unkeyed_credentials_is_stored_only_when_the_origin_shares_it(
    cache_control: bytes | None, stored: bool
) -> None:
    headers = [(b"cache-control", cache_control)] if cache_control else []
    assert ttl(headers) is not None
    found = response_ttl(POLICY, "GET", 200, headers, now=NOW, unkeyed_credentials=True)
    assert (found is not None) is stored
    # A 403 to a credential outside the key must not be served to the next caller either.
    assert response_ttl(POLICY, "GET", 403, [], now=NOW, unkeyed_credentials=True) is None


def test_the_key_holds_the_raw_bytes_the_origin_gets() -> None:
    every = CachePolicy(query_strings=KeySelection("all"), cookies=KeySelection("all"))
    assert key(every, b"q=%ff") != key(every, b"q=%fe")
    assert key(every, b"q=a%20b") != key(every, b"q=a+b")
    same_cookie = [(b"cookie", b"s=1")]
    assert key(every, headers=same_cookie) == key(every, headers=[(b"cookie", b" s=1 ")])
    assert key(every, headers=[(b"cookie", b"s=1; s=2")]) != key(
        every, headers=[(b"cookie", b"s=2; s=1")]
    )


def test_a_listed_header_absent_and_present_empty_are_two_keys() -> None:
    policy = CachePolicy(headers=("authorization",))
    assert key(policy) != key(policy, headers=[(b"authorization", b"")])
