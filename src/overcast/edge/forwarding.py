"""What of a viewer request reaches the origin. Pure.

CloudFront's contract
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-origin-requests.html,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/understanding-how-origin-request-policies-and-cache-policies-work-together.html):
an origin request carries the path, the body, and the viewer's query strings, headers
and cookies that are in the cache key or that the origin request policy adds; nothing
else. Hence an authorizer behind the edge sees every credential it decides on, or
none, and refuses a request that lacks one; and a response that depends on a
credential is cached under that credential, unless the credential reached the origin
outside the cache key (which :attr:`OriginRequest.unkeyed_credentials` reports, so
the response is not shared).

Details that follow CloudFront:

- ``Authorization`` reaches the origin of a GET or HEAD only through the cache key
  while caching is on; an origin request policy forwards it (as part of "all viewer
  headers", never by name) when caching is off or for methods that are never cached.
  https://repost.aws/knowledge-center/cloudfront-authorization-header
- ``Host`` not forwarded becomes the origin's own address; ``User-Agent`` not
  forwarded becomes ``Amazon CloudFront``; hop-by-hop headers and
  ``Proxy-Authorization`` never reach the origin.
  https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/RequestAndResponseBehaviorCustomOrigin.html
- the body's own headers (``Content-Length``, ``Transfer-Encoding``, ``Content-Type``)
  travel with the body.

Query string names are compared decoded (``%74oken`` is ``token``), as the gateway
reads them; cookies are split on ``;`` as the gateway splits them. The cache key and
the origin request are computed from the same split (:func:`query_segments`,
:func:`cookie_pairs`), so what the key holds is byte for byte what the origin gets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote_plus

from overcast.edge.credentials import CredentialNames
from overcast.edge.policies import CachePolicy, KeySelection, OriginRequestPolicy

Headers = Sequence[tuple[bytes, bytes]]

CACHEABLE_METHODS = frozenset({"GET", "HEAD"})
CLOUDFRONT_USER_AGENT = b"Amazon CloudFront"
# Never forwarded: hop-by-hop headers, and what CloudFront removes from every request.
_REMOVED = frozenset(
    {
        b"connection", b"expect", b"keep-alive", b"proxy-authenticate", b"proxy-authorization",
        b"proxy-connection", b"te", b"trailer", b"upgrade", b"x-forwarded-proto", b"x-real-ip",
    }
)  # fmt: skip
_BODY = frozenset({b"content-length", b"content-type", b"transfer-encoding"})


@dataclass(frozen=True, slots=True)
class OriginRequest:
    """The headers and query string the origin gets, and what it gets unkeyed."""

    headers: tuple[tuple[bytes, bytes], ...]
    query_string: bytes
    #: credentials forwarded outside the cache key (``header x-api-key``,
    #: ``cookie session``, ``query token``) of a request whose answer could be cached
    #: (a GET or HEAD while the behavior caches): that answer must not be shared
    unkeyed_credentials: tuple[str, ...] = ()


def query_segments(query_string: bytes) -> list[tuple[str, bytes]]:
    """Each ``&``-separated parameter as (decoded name, raw bytes), in order."""
    out: list[tuple[str, bytes]] = []
    for segment in query_string.split(b"&"):
        if segment:
            name = segment.split(b"=", 1)[0]
            out.append((unquote_plus(name.decode("latin-1")), segment))
    return out


def cookie_pairs(headers: Headers) -> list[tuple[str, bytes]]:
    """Each cookie of every ``Cookie`` header as (name, raw ``name=value``), in order."""
    out: list[tuple[str, bytes]] = []
    for key, value in headers:
        if key != b"cookie":
            continue
        for part in value.split(b";"):
            pair = part.strip()
            if pair:
                out.append((pair.split(b"=", 1)[0].strip().decode("latin-1"), pair))
    return out


class ForwardingPlan:
    """A behavior's cache key and origin request policy, compiled to byte comparisons.

    Built once per behavior (:attr:`overcast.edge.config.Behavior.plan`); the request
    path then compares header names as bytes and skips the cookie and query string
    splits when neither policy selects any.
    """

    __slots__ = (
        "_all_viewer",
        "_caching_possible",
        "_cookies",
        "_headers",
        "_keyed_headers",
        "_queries",
        "cache",
        "policy",
    )

    def __init__(self, cache: CachePolicy, policy: OriginRequestPolicy) -> None:
        self.cache = cache
        self.policy = policy
        self._caching_possible = not cache.disabled
        self._keyed_headers = frozenset(name.encode("latin-1") for name in cache.headers)
        self._headers = _ByteSelection(policy.headers)
        self._cookies = (cache.cookies, policy.cookies)
        self._queries = (cache.query_strings, policy.query_strings)
        self._all_viewer = all(
            selection.mode == "all"
            for selection in (policy.headers, policy.cookies, policy.query_strings)
        )

    def apply(
        self,
        credentials: CredentialNames,
        *,
        method: str,
        headers: Headers,
        query_string: bytes,
        origin_host: bytes | None,
    ) -> OriginRequest:
        """What of this request reaches the origin (see :func:`origin_request`)."""
        caching = self._caching_possible and method in CACHEABLE_METHODS
        if not caching and self._all_viewer:
            # Nothing is cached and everything is forwarded: no split, nothing to report.
            return OriginRequest(
                tuple([(k, v) for k, v in headers if k not in _REMOVED]), query_string
            )
        keyed_headers = self._keyed_headers
        selection = self._headers
        unkeyed: list[str] = []
        out: list[tuple[bytes, bytes]] = []
        host_sent = agent_sent = has_cookie = False
        for key, value in headers:
            if key == b"cookie":
                has_cookie = True
                continue
            if key in _REMOVED:
                continue
            if key in _BODY or key in keyed_headers:
                out.append((key, value))
            elif selection.includes(key) and (
                key != b"authorization" or selection.carries_authorization(caching)
            ):
                out.append((key, value))
                if caching and credentials.is_header_bytes(key):
                    unkeyed.append(f"header {key.decode('latin-1')}")
            else:
                continue
            if key == b"host":
                host_sent = True
            elif key == b"user-agent":
                agent_sent = True
        if not host_sent and origin_host is not None:
            out.append((b"host", origin_host))
        if not agent_sent:
            out.append((b"user-agent", CLOUDFRONT_USER_AGENT))

        key_cookies, policy_cookies = self._cookies
        if has_cookie and (key_cookies.mode != "none" or policy_cookies.mode != "none"):
            jar = _forwarded(cookie_pairs(headers), key_cookies, policy_cookies)
            if jar:
                out.append((b"cookie", b"; ".join(pair for _, pair, _ in jar)))
                if caching:
                    unkeyed += [f"cookie {name}" for name, _, keyed in jar if not keyed]

        forwarded_query = b""
        key_queries, policy_queries = self._queries
        if query_string and (key_queries.mode != "none" or policy_queries.mode != "none"):
            query = _forwarded(query_segments(query_string), key_queries, policy_queries)
            if caching:
                unkeyed += [
                    f"query {name}"
                    for name, _, keyed in query
                    if not keyed and credentials.is_query_string(name)
                ]
            forwarded_query = b"&".join(segment for _, segment, _ in query)
        return OriginRequest(
            headers=tuple(out),
            query_string=forwarded_query,
            unkeyed_credentials=tuple(unkeyed),
        )


class _ByteSelection:
    """A header :class:`KeySelection` over lower-case header names as bytes."""

    __slots__ = ("_all_viewer", "_mode", "_names")

    def __init__(self, selection: KeySelection) -> None:
        self._mode = selection.mode
        self._names = frozenset(name.encode("latin-1") for name in selection.names)
        self._all_viewer = selection.mode in ("all", "all_except") and selection.includes(
            "authorization"
        )

    def includes(self, name: bytes) -> bool:
        mode = self._mode
        if mode == "all":
            return True
        if mode == "list":
            return name in self._names
        if mode == "all_except":
            return name not in self._names
        return False

    def carries_authorization(self, caching: bool) -> bool:
        # Only "all viewer headers" carries it, and only while nothing is cached.
        return self._all_viewer and not caching


def origin_request(
    cache: CachePolicy,
    policy: OriginRequestPolicy,
    credentials: CredentialNames,
    *,
    method: str,
    headers: Headers,
    query_string: bytes,
    origin_host: bytes | None,
) -> OriginRequest:
    """What reaches the origin of a behavior with ``cache`` and ``policy``.

    ``origin_host`` is the origin's own address, sent as ``Host`` when the viewer's is
    not forwarded (``None``: no ``Host`` then). Behaviors keep a compiled
    :class:`ForwardingPlan`; this builds one for a single request.
    """
    return ForwardingPlan(cache, policy).apply(
        credentials,
        method=method,
        headers=headers,
        query_string=query_string,
        origin_host=origin_host,
    )


def _forwarded(
    items: list[tuple[str, bytes]], key: KeySelection, policy: KeySelection
) -> list[tuple[str, bytes, bool]]:
    """The items the key or the policy selects, in order, each with "is it keyed"."""
    out: list[tuple[str, bytes, bool]] = []
    for name, raw in items:
        keyed = key.includes(name)
        if keyed or policy.includes(name):
            out.append((name, raw, keyed))
    return out
