"""Whether a response may be cached, for how long, and under which key. Pure.

CloudFront's rules, from "Manage how long content stays in the cache (expiration)"
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html)
and "How CloudFront processes HTTP 3xx/4xx/5xx status codes"
(https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-3xx-status-codes.html,
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/HTTPStatusCodes.html):

- only GET and HEAD responses are cached;
- ``s-maxage`` wins over ``max-age``, which wins over ``Expires``; the result is
  clamped to [min_ttl, max_ttl]; with none of them the default TTL applies;
- ``no-cache``/``no-store``/``private`` are honoured when min_ttl is 0 (CloudFront
  then does not cache). overcast is stricter on purpose: ``private``, ``no-store``
  and any ``Set-Cookie`` are never cached whatever min_ttl says, because serving one
  user's response to another is the one cache bug that leaks data;
- a response to a request whose credentials reached the origin outside the cache key
  (see :mod:`overcast.edge.forwarding`) is stored only when the origin says it may be
  shared (``public``, ``s-maxage`` or ``must-revalidate``, RFC 9111 §3.5's exceptions
  for ``Authorization``): otherwise the next caller would get the previous caller's
  answer without their credential ever being checked;
- 307/308 are cached only with an explicit ``Cache-Control``;
- 4xx/5xx errors CloudFront caches (404, 410, ...) are kept for the error caching
  minimum TTL (10 s by default) unless the origin says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from email.utils import parsedate_to_datetime

from overcast.edge.forwarding import CACHEABLE_METHODS, cookie_pairs, query_segments
from overcast.edge.policies import CachePolicy

Headers = Sequence[tuple[bytes, bytes]]

__all__ = ["CACHEABLE_METHODS", "CacheKey", "cache_control", "cache_key", "header", "response_ttl"]

# RFC 9111 §3.5: what lets a shared cache store a response to an authenticated request.
_SHAREABLE = ("public", "s-maxage", "must-revalidate")
# Statuses CloudFront caches by default (200-family and the permanent redirects).
_CACHEABLE_OK = frozenset({200, 203, 204, 206, 300, 301, 302, 303})
_CACHEABLE_WITH_CACHE_CONTROL = frozenset({307, 308})
# Errors CloudFront caches, for the error caching minimum TTL.
_CACHEABLE_ERRORS = frozenset({400, 403, 404, 405, 410, 414, 416, 500, 501, 502, 503, 504})
ERROR_CACHING_MIN_TTL = 10


def header(headers: Headers, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes), or ``None``."""
    for key, value in headers:
        if key == name:
            return value
    return None


def cache_control(value: bytes | None) -> dict[str, str]:
    """Parse a Cache-Control value into lower-case directive → argument ('' if none)."""
    if not value:
        return {}
    out: dict[str, str] = {}
    for part in value.decode("latin-1").split(","):
        name, _, arg = part.strip().partition("=")
        if name:
            out[name.lower()] = arg.strip().strip('"')
    return out


def response_ttl(
    policy: CachePolicy,
    method: str,
    status: int,
    headers: Headers,
    *,
    now: float,
    unkeyed_credentials: bool = False,
) -> int | None:
    """Seconds the response may be served from cache, or ``None`` if it is not cacheable.

    ``unkeyed_credentials``: the request carried credentials to the origin that are
    not in the cache key.
    """
    if method not in CACHEABLE_METHODS or policy.disabled:
        return None
    for key, _ in headers:
        if key == b"set-cookie":
            return None
    directives = cache_control(header(headers, b"cache-control"))
    if "private" in directives or "no-store" in directives:
        return None
    if unkeyed_credentials and not any(name in directives for name in _SHAREABLE):
        return None
    if "no-cache" in directives and policy.min_ttl == 0:
        return None
    if status in _CACHEABLE_WITH_CACHE_CONTROL and not directives:
        return None
    if status not in _CACHEABLE_OK and status not in _CACHEABLE_WITH_CACHE_CONTROL:
        if status not in _CACHEABLE_ERRORS:
            return None
        origin_ttl = _origin_ttl(directives, headers, now)
        ttl = ERROR_CACHING_MIN_TTL if origin_ttl is None else origin_ttl
        return ttl or None
    origin_ttl = _origin_ttl(directives, headers, now)
    if origin_ttl is None:
        ttl = policy.default_ttl
    else:
        ttl = min(max(origin_ttl, policy.min_ttl), policy.max_ttl)
    return ttl or None


def _origin_ttl(directives: Mapping[str, str], headers: Headers, now: float) -> int | None:
    for name in ("s-maxage", "max-age"):
        if name in directives:
            try:
                return max(int(directives[name]), 0)
            except ValueError:
                return 0
    expires = header(headers, b"expires")
    if expires is None:
        return None
    try:
        when = parsedate_to_datetime(expires.decode("latin-1"))
    except (TypeError, ValueError):
        return 0  # RFC 9111 §5.3: an invalid Expires means "already expired"
    return max(int(when.timestamp() - now), 0)


#: stage, method class, path, query strings, headers, cookies, encoding
CacheKey = tuple[str | tuple[str, ...], ...]


def cache_key(
    policy: CachePolicy,
    *,
    stage: str,
    method: str,
    path: str,
    query_string: bytes,
    headers: Headers,
    encoding: str,
) -> CacheKey:
    """The cache key: stage, method class, path, chosen query/headers/cookies, encoding.

    GET and HEAD share a key (CloudFront answers HEAD from a cached GET). The Host is
    not part of it unless the policy lists ``host``: every domain of a stage reaches
    the same distribution, as in CloudFront. ``encoding`` is the normalised
    Accept-Encoding (``br``, ``gzip`` or ``""``), which CloudFront adds to the key when
    compression is on.

    Query strings and cookies are kept as the raw bytes the origin gets, sorted by
    name (a name's own values keep their order); headers by name, each value in
    request order. Two requests share a key only if the origin gets the same keyed
    values from both.
    """
    method_class = "GET" if method in CACHEABLE_METHODS else method
    qs: tuple[str, ...] = ()
    if policy.query_strings.mode != "none" and query_string:
        qs = tuple(
            raw.decode("latin-1")
            for name, raw in sorted(query_segments(query_string), key=_by_name)
            if policy.query_strings.includes(name)
        )
    hdrs: tuple[str, ...] = ()
    for name in policy.headers:
        wanted = name.encode("latin-1")
        hdrs += tuple(f"{name}:{v.decode('latin-1')}" for k, v in headers if k == wanted)
    cookies: tuple[str, ...] = ()
    if policy.cookies.mode != "none":
        cookies = tuple(
            raw.decode("latin-1")
            for name, raw in sorted(cookie_pairs(headers), key=_by_name)
            if policy.cookies.includes(name)
        )
    return (stage, method_class, path, qs, hdrs, cookies, encoding)


def _by_name(item: tuple[str, bytes]) -> str:
    return item[0]
