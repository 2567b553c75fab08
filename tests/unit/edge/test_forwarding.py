"""What of a viewer request reaches the origin: the cache key and the origin request policy."""

import pytest

from overcast.edge.cache_policy import cache_key
from overcast.edge.credentials import CredentialNames
from overcast.edge.forwarding import (
    CLOUDFRONT_USER_AGENT,
    OriginRequest,
    cookie_pairs,
    origin_request,
    query_segments,
)
from overcast.edge.policies import (
    ALL_VIEWER,
    CACHING_DISABLED,
    CACHING_OPTIMIZED,
    MANAGED_ORIGIN_REQUEST_POLICIES,
    NO_ORIGIN_REQUEST_POLICY,
    CachePolicy,
    KeySelection,
    OriginRequestPolicy,
)

VIEWER = [
    (b"host", b"dev.example.test"),
    (b"user-agent", b"curl/8"),
    (b"accept-language", b"fr"),
    (b"authorization", b"Bearer alice"),
    (b"x-api-key", b"alice-key"),
    (b"x-token", b"alice-token"),
    (b"cookie", b"session=alice; theme=dark"),
    (b"connection", b"keep-alive"),
    (b"proxy-authorization", b"Basic c2VjcmV0"),
    (b"content-type", b"application/json"),
    (b"content-length", b"2"),
]
QUERY = b"page=2&token=alice-token&utm=x"
CREDENTIALS = CredentialNames(
    headers=frozenset({"authorization", "x-api-key", "x-token"}),
    query_strings=frozenset({"token"}),
)
KEYED = CachePolicy(
    headers=("authorization", "x-token"),
    cookies=KeySelection("list", ("session",)),
    query_strings=KeySelection("list", ("token",)),
)


def forward(
    cache: CachePolicy,
    policy: OriginRequestPolicy,
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    query: bytes = QUERY,
    credentials: CredentialNames = CREDENTIALS,
) -> OriginRequest:
    return origin_request(
        cache,
        policy,
        credentials,
        method=method,
        headers=VIEWER if headers is None else headers,
        query_string=query,
        origin_host=b"127.0.0.1:3000",
    )


def names(request: OriginRequest) -> dict[bytes, bytes]:
    return dict(request.headers)


def test_without_an_origin_request_policy_only_the_cache_key_reaches_the_origin() -> None:
    sent = forward(CACHING_OPTIMIZED, NO_ORIGIN_REQUEST_POLICY)
    assert names(sent) == {
        b"content-type": b"application/json",
        b"content-length": b"2",
        b"host": b"127.0.0.1:3000",  # the origin's own name, as CloudFront sends it
        b"user-agent": CLOUDFRONT_USER_AGENT,
    }
    assert sent.query_string == b""
    assert sent.unkeyed_credentials == ()


def test_cache_key_values_reach_the_origin_keyed() -> None:
    sent = forward(KEYED, NO_ORIGIN_REQUEST_POLICY)
    headers = names(sent)
    assert headers[b"authorization"] == b"Bearer alice"
    assert headers[b"x-token"] == b"alice-token"
    assert headers[b"cookie"] == b"session=alice"
    assert b"x-api-key" not in headers
    assert sent.query_string == b"token=alice-token"
    assert sent.unkeyed_credentials == ()


def test_all_viewer_with_caching_keeps_authorization_and_reports_unkeyed_credentials() -> None:
    sent = forward(CACHING_OPTIMIZED, ALL_VIEWER)
    headers = names(sent)
    assert b"authorization" not in headers
    assert headers[b"host"] == b"dev.example.test"
    assert headers[b"user-agent"] == b"curl/8"
    assert headers[b"cookie"] == b"session=alice; theme=dark"
    assert sent.query_string == QUERY
    assert set(sent.unkeyed_credentials) == {
        "header x-api-key",
        "header x-token",
        "cookie session",
        "cookie theme",
        "query token",
    }


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_all_viewer_forwards_authorization_on_methods_never_cached(method: str) -> None:
    assert names(forward(CACHING_OPTIMIZED, ALL_VIEWER, method=method))[b"authorization"]


def test_all_viewer_forwards_authorization_when_caching_is_off() -> None:
    sent = forward(CACHING_DISABLED, ALL_VIEWER)
    assert names(sent)[b"authorization"] == b"Bearer alice"


def test_a_listed_authorization_never_reaches_the_origin_outside_the_key() -> None:
    listed = OriginRequestPolicy(headers=KeySelection("list", ("authorization",)))
    assert b"authorization" not in names(forward(CACHING_DISABLED, listed))


def test_all_except_host_sends_the_origins_own_host() -> None:
    policy = MANAGED_ORIGIN_REQUEST_POLICIES["AllViewerExceptHostHeader"]
    assert names(forward(CACHING_DISABLED, policy))[b"host"] == b"127.0.0.1:3000"
    assert names(forward(CACHING_DISABLED, ALL_VIEWER))[b"host"] == b"dev.example.test"


def test_hop_by_hop_and_proxy_credentials_never_reach_the_origin() -> None:
    for policy in MANAGED_ORIGIN_REQUEST_POLICIES.values():
        headers = names(forward(CACHING_DISABLED, policy))
        assert b"connection" not in headers
        assert b"proxy-authorization" not in headers


def test_keyed_credentials_are_not_reported_and_others_are() -> None:
    sent = forward(KEYED, ALL_VIEWER)
    assert set(sent.unkeyed_credentials) == {"header x-api-key", "cookie theme"}


def test_encoded_query_names_count_as_their_decoded_name() -> None:
    sent = forward(KEYED, NO_ORIGIN_REQUEST_POLICY, query=b"%74oken=alice-token&tok%65n=x")
    assert sent.query_string == b"%74oken=alice-token&tok%65n=x"
    unkeyed = forward(CACHING_OPTIMIZED, ALL_VIEWER, headers=[], query=b"%74oken=alice-token")
    assert unkeyed.unkeyed_credentials == ("query token",)


def test_any_value_credentials_count_every_custom_header_and_query() -> None:
    every = CredentialNames(any_value=True)
    sent = forward(
        CACHING_OPTIMIZED,
        ALL_VIEWER,
        headers=[(b"x-custom-auth", b"1"), (b"accept", b"*/*"), (b"sec-fetch-mode", b"cors")],
        query=b"utm=1",
        credentials=every,
    )
    assert set(sent.unkeyed_credentials) == {"header x-custom-auth", "query utm"}


def test_query_segments_and_cookie_pairs_keep_raw_bytes() -> None:
    assert query_segments(b"a=1&&b&c=%20x") == [("a", b"a=1"), ("b", b"b"), ("c", b"c=%20x")]
    assert query_segments(b"a+b=1") == [("a b", b"a+b=1")]
    cookies = cookie_pairs([(b"cookie", b"a=1;b=2 ; ;c"), (b"cookie", b"d=4")])
    assert cookies == [("a", b"a=1"), ("b", b"b=2"), ("c", b"c"), ("d", b"d=4")]


def test_what_is_keyed_is_what_the_origin_gets() -> None:
    """Two requests share a key only when the origin gets the same keyed values."""
    every = CachePolicy(
        query_strings=KeySelection("all"),
        cookies=KeySelection("all"),
        headers=("authorization",),
    )

    def both(query: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[object, bytes]:
        key = cache_key(
            every,
            stage="dev",
            method="GET",
            path="/",
            query_string=query,
            headers=headers,
            encoding="",
        )
        return key, forward(
            every, NO_ORIGIN_REQUEST_POLICY, headers=headers, query=query
        ).query_string

    # Two spellings that decode alike are different bytes for the origin: two keys.
    assert both(b"id=%ff", [])[0] != both(b"id=%fe", [])[0]
    # The order of one name's values is what the origin sees first: it stays in the key.
    assert both(b"a=1&a=2", [])[0] != both(b"a=2&a=1", [])[0]
    assert both(b"a=1&b=2", [])[0] == both(b"b=2&a=1", [])[0]
    one = [(b"authorization", b"A"), (b"authorization", b"B")]
    other = [(b"authorization", b"B"), (b"authorization", b"A")]
    assert both(b"", one)[0] != both(b"", other)[0]
