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
    #: ``cookie session``, ``query token``): the response must not be shared
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
    not forwarded (``None``: no ``Host`` then).
    """
    caching = method in CACHEABLE_METHODS and not cache.disabled
    keyed_headers = frozenset(name.encode("latin-1") for name in cache.headers)
    unkeyed: list[str] = []
    out: list[tuple[bytes, bytes]] = []
    host_sent = agent_sent = False
    for key, value in headers:
        if key == b"cookie" or key in _REMOVED:
            continue
        if key in _BODY or key in keyed_headers:
            out.append((key, value))
        elif _forwards_header(policy.headers, key, caching=caching):
            out.append((key, value))
            name = key.decode("latin-1")
            if credentials.is_header(name):
                unkeyed.append(f"header {name}")
        else:
            continue
        host_sent = host_sent or key == b"host"
        agent_sent = agent_sent or key == b"user-agent"
    if not host_sent and origin_host is not None:
        out.append((b"host", origin_host))
    if not agent_sent:
        out.append((b"user-agent", CLOUDFRONT_USER_AGENT))

    jar = _forwarded(cookie_pairs(headers), cache.cookies, policy.cookies)
    if jar:
        out.append((b"cookie", b"; ".join(pair for _, pair, _ in jar)))
        unkeyed += [f"cookie {name}" for name, _, keyed in jar if not keyed]

    query = _forwarded(query_segments(query_string), cache.query_strings, policy.query_strings)
    unkeyed += [
        f"query {name}"
        for name, _, keyed in query
        if not keyed and credentials.is_query_string(name)
    ]
    return OriginRequest(
        headers=tuple(out),
        query_string=b"&".join(segment for _, segment, _ in query),
        unkeyed_credentials=tuple(unkeyed),
    )


def _forwards_header(selection: KeySelection, key: bytes, *, caching: bool) -> bool:
    name = key.decode("latin-1")
    if name == "authorization":
        # Only "all viewer headers" carries it, and only while nothing is cached.
        return not caching and selection.mode in ("all", "all_except") and selection.includes(name)
    return selection.includes(name)


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
