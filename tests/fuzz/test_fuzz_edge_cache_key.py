"""Fuzzing the cache key and the origin request computed from a viewer's request.

Query strings, headers and cookies are the viewer's bytes. For any of them, under any
cache policy and origin request policy: nothing raises or hangs; every value in the
cache key reaches the origin byte for byte; every credential that reaches the origin
outside the cache key of a cacheable request is reported (so its response is not
shared); ``Authorization``
reaches a cached GET/HEAD only through the key; and two requests whose keyed values
differ never share a key.
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.edge.cache_policy import cache_key
from overcast.edge.credentials import CredentialNames
from overcast.edge.forwarding import (
    CACHEABLE_METHODS,
    OriginRequest,
    cookie_pairs,
    origin_request,
    query_segments,
)
from overcast.edge.policies import (
    MANAGED_ORIGIN_REQUEST_POLICIES,
    NO_ORIGIN_REQUEST_POLICY,
    CachePolicy,
    KeySelection,
    OriginRequestPolicy,
)

NAMES = ["authorization", "x-api-key", "x-token", "host", "user-agent", "accept", "cookie"]
NAMES += ["connection", "proxy-authorization", "content-type", "token", "session", "page", "a"]
BYTES = st.binary(max_size=24)
NAME = st.one_of(st.sampled_from(NAMES), st.text("abcxyz-_%+=;& ", min_size=1, max_size=6))
HEADER_NAMES = st.one_of(
    st.sampled_from(NAMES).map(str.encode), st.binary(min_size=1, max_size=8).map(bytes.lower)
)
HEADERS = st.lists(st.tuples(HEADER_NAMES, BYTES), max_size=8)
QUERY = st.one_of(
    BYTES,
    st.lists(
        st.tuples(st.sampled_from([b"token", b"%74oken", b"page", b"a", b"a+b", b""]), BYTES),
        max_size=6,
    ).map(lambda pairs: b"&".join(k + b"=" + v for k, v in pairs)),
)


def selections(header_names: bool = False) -> st.SearchStrategy[KeySelection]:
    names = st.lists(st.sampled_from(NAMES) if header_names else NAME, max_size=3, unique=True)
    return st.one_of(
        st.just(KeySelection("none")),
        st.just(KeySelection("all")),
        names.map(lambda n: KeySelection("list", tuple(sorted(n)))),
        names.map(lambda n: KeySelection("all_except", tuple(sorted(n)))),
    )


CACHE_POLICIES = st.builds(
    CachePolicy,
    default_ttl=st.just(10),
    min_ttl=st.just(0),
    max_ttl=st.sampled_from([0, 100]),
    query_strings=selections(),
    headers=st.lists(st.sampled_from(NAMES), max_size=3, unique=True).map(
        lambda n: tuple(sorted(n))
    ),
    cookies=selections(),
)
ORIGIN_POLICIES = st.one_of(
    st.sampled_from([NO_ORIGIN_REQUEST_POLICY, *MANAGED_ORIGIN_REQUEST_POLICIES.values()]),
    st.builds(
        OriginRequestPolicy,
        headers=selections(header_names=True),
        cookies=selections(),
        query_strings=selections(),
    ),
)
CREDENTIALS = st.builds(
    CredentialNames,
    headers=st.just(frozenset({"authorization", "x-api-key", "x-token"})),
    query_strings=st.sampled_from([frozenset(), frozenset({"token"})]),
    any_value=st.booleans(),
)
METHODS = st.sampled_from(["GET", "HEAD", "POST", "OPTIONS", "DELETE"])


def key_of(
    cache: CachePolicy, method: str, query: bytes, headers: list[tuple[bytes, bytes]]
) -> object:
    return cache_key(
        cache,
        stage="dev",
        method=method,
        path="/p",
        query_string=query,
        headers=headers,
        encoding="",
    )


def forward(
    cache: CachePolicy,
    policy: OriginRequestPolicy,
    credentials: CredentialNames,
    method: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
) -> OriginRequest:
    return origin_request(
        cache,
        policy,
        credentials,
        method=method,
        headers=headers,
        query_string=query,
        origin_host=b"127.0.0.1:1",
    )


@given(CACHE_POLICIES, ORIGIN_POLICIES, CREDENTIALS, METHODS, QUERY, HEADERS)
@example(
    CachePolicy(max_ttl=100),
    MANAGED_ORIGIN_REQUEST_POLICIES["AllViewer"],
    CredentialNames(),
    "GET",
    b"",
    [(b"authorization", b"Bearer alice")],
)
@example(
    CachePolicy(max_ttl=100, query_strings=KeySelection("list", ("token",))),
    NO_ORIGIN_REQUEST_POLICY,
    CredentialNames(query_strings=frozenset({"token"})),
    "GET",
    b"%74oken=a&token=b&%ff=c",
    [(b"cookie", b"=;;  ; a")],
)
def test_the_origin_gets_the_key_and_every_unkeyed_credential_is_reported(
    cache: CachePolicy,
    policy: OriginRequestPolicy,
    credentials: CredentialNames,
    method: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
) -> None:
    with no_hang("cache_key and origin_request"):
        key = key_of(cache, method, query, headers)
        sent = forward(cache, policy, credentials, method, query, headers)
    _, _, _, key_query, key_headers, key_cookies, _ = key  # type: ignore[misc]
    sent_segments = [raw.decode("latin-1") for _, raw in query_segments(sent.query_string)]
    sent_cookies = [raw.decode("latin-1") for _, raw in cookie_pairs(sent.headers)]
    sent_headers = [f"{k.decode('latin-1')}:{v.decode('latin-1')}" for k, v in sent.headers]
    for segment in key_query:
        assert segment in sent_segments
    for cookie in key_cookies:
        assert cookie in sent_cookies
    for keyed in key_headers:
        name = keyed.split(":", 1)[0]
        if name not in ("connection", "proxy-authorization", "cookie"):
            assert keyed in sent_headers
    # The origin's query string is made of the viewer's own parameters, in order.
    assert all(name not in (b"connection", b"proxy-authorization") for name, _ in sent.headers)
    viewer_segments = [raw for _, raw in query_segments(query)]
    assert [raw for _, raw in query_segments(sent.query_string)] == [
        raw for raw in viewer_segments if raw in set(sent.query_string.split(b"&"))
    ]

    caching = method in CACHEABLE_METHODS and not cache.disabled
    if not caching:
        # An answer never cached is never shared: there is nothing to report.
        assert sent.unkeyed_credentials == ()
        return
    reported = set(sent.unkeyed_credentials)
    for name, value in sent.headers:
        text = name.decode("latin-1")
        if name == b"cookie" or text in cache.headers or not credentials.is_header(text):
            continue
        if (name, value) in headers:
            assert f"header {text}" in reported
    for cookie_name, _ in cookie_pairs(sent.headers):
        if not cache.cookies.includes(cookie_name):
            assert f"cookie {cookie_name}" in reported
    for query_name, _ in query_segments(sent.query_string):
        if credentials.is_query_string(query_name) and not cache.query_strings.includes(query_name):
            assert f"query {query_name}" in reported

    if "authorization" not in cache.headers:
        assert all(name != b"authorization" for name, _ in sent.headers)


@given(CACHE_POLICIES, METHODS, QUERY, HEADERS, BYTES)
def test_a_changed_keyed_value_changes_the_key(
    cache: CachePolicy,
    method: str,
    query: bytes,
    headers: list[tuple[bytes, bytes]],
    other: bytes,
) -> None:
    with no_hang("cache_key"):
        before = key_of(cache, method, query, headers)
        for name in cache.headers:
            encoded = name.encode()
            if name == "cookie":
                continue
            changed = [(k, v + b"!" + other if k == encoded else v) for k, v in headers]
            if changed != headers:
                assert key_of(cache, method, query, changed) != before
        if cache.query_strings.includes("token"):
            assert key_of(cache, method, query + b"&token=" + other, headers) != before
        if cache.cookies.includes("session"):
            more = [*headers, (b"cookie", b"session=" + other)]
            assert key_of(cache, method, query, more) != before
        # Parameters of different names may come in any order.
        reordered = b"&".join(
            raw for _, raw in sorted(query_segments(query), key=lambda item: item[0])
        )
        assert key_of(cache, method, reordered, headers) == before
