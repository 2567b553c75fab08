"""``EdgeApp``: the thin ASGI adapter around the pure edge modules.

Per request: Host → stage (421 when unknown), path → behavior (403 for a method the
behavior does not allow, as CloudFront), cache lookup by the behavior's cache key,
otherwise the origin (the stage's API app, or its static bucket), then custom error
pages, compression, storage in the cache, and conditional/range handling on the way
out. The API origin sees only what the behavior's cache key and origin request policy
let through (:mod:`overcast.edge.forwarding`). Responses carry
``X-Cache: Hit from overcast`` / ``Miss from overcast`` and, on hits, ``Age``.

The hot path reads prebuilt tables only: no disk, no regex compilation, no locks.
Origin responses are buffered whole (they are cached and compressed as a whole);
streaming API responses therefore reach the viewer when complete.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from overcast.asgi import serve_lifespan, status_has_body
from overcast.edge.behaviors import BehaviorTable
from overcast.edge.cache import CachedResponse, ResponseCache
from overcast.edge.cache_policy import (
    CACHEABLE_METHODS,
    cache_control,
    cache_key,
    header,
    response_ttl,
)
from overcast.edge.compression import (
    add_vary,
    compress,
    is_compressible,
    negotiate,
    weak_etag,
)
from overcast.edge.conditional import ByteRange, Unsatisfiable, http_date, not_modified, parse_range
from overcast.edge.config import RAW_PATH_SAFE, Behavior, EdgeConfig, ErrorPage, StageEdge
from overcast.edge.forwarding import OriginRequest
from overcast.edge.hosts import HostTable
from overcast.edge.origins import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    StageOrigins,
    StaticOrigin,
)
from overcast.edge.recording import EdgeRecorder

log = logging.getLogger("overcast.edge")

X_CACHE_HIT = b"Hit from overcast"
X_CACHE_MISS = b"Miss from overcast"
X_CACHE_ERROR = b"Error from overcast"

RawHeaders = list[tuple[bytes, bytes]]
# Set by the edge itself on every response it sends.
_DROPPED = frozenset({b"content-length", b"transfer-encoding", b"connection", b"keep-alive"})


@dataclass(frozen=True, slots=True)
class _Stage:
    edge: StageEdge
    table: BehaviorTable
    origins: StageOrigins
    error_pages: Mapping[int, ErrorPage]


@dataclass(slots=True)
class _Response:
    status: int
    headers: RawHeaders
    body: bytes


class EdgeApp:
    """An ASGI app serving every stage's edge; build once per deployment."""

    def __init__(
        self,
        config: EdgeConfig,
        origins: Mapping[str, StageOrigins],
        *,
        cache: ResponseCache | None = None,
        clock: Callable[[], float] = time.time,
        extra_hosts: Mapping[str, str] | None = None,
        recorder: EdgeRecorder | None = None,
    ) -> None:
        """``extra_hosts`` maps further host names to stages (``overcast up`` maps the
        loopback names to its local stage); they join the table, never widen a match.
        ``recorder`` is told of each response (cache hit or miss, size)."""
        self.config = config
        self.recorder = recorder
        self.cache = cache if cache is not None else ResponseCache()
        self._clock = clock
        self._stages: dict[str, _Stage] = {}
        custom: dict[str, str] = {}
        for name, stage in config.stages.items():
            self._stages[name] = _Stage(
                edge=stage,
                table=BehaviorTable(stage.behaviors),
                origins=origins.get(name, StageOrigins()),
                error_pages={p.status: p for p in stage.error_pages},
            )
            custom.update(dict.fromkeys(stage.domains, name))
        for host, name in (extra_hosts or {}).items():
            if name in self._stages:
                custom.setdefault(host, name)
        self.hosts = HostTable.build(config.stages, domain=config.domain, custom=custom)

    def invalidate(self, paths: list[str], *, stage: str | None = None) -> int:
        """Purge cached responses whose path matches (CloudFront invalidation paths)."""
        return self.cache.invalidate(paths, stage=stage)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point: HTTP requests, and lifespan acknowledged."""
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await serve_lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        req_headers: RawHeaders = scope["headers"]
        host = header(req_headers, b"host")
        if host is None:
            await _send(send, _error(400, b"Bad Request: no Host header"), "GET")
            return
        method: str = scope["method"]
        stage_name = self.hosts.stage_for(host.decode("latin-1"))
        stage = self._stages.get(stage_name) if stage_name is not None else None
        if stage is None:
            await _send(
                send,
                _error(421, b"Misdirected Request: this platform does not serve that host"),
                method,
            )
            return
        path: str = scope["path"]
        behavior = stage.table.match(path)
        if method not in behavior.allowed_methods:
            await _send(send, _error(403, b"Forbidden: method not allowed for this path"), method)
            return
        is_static = behavior.origin == "static"
        range_header = header(req_headers, b"range") if is_static else None
        # CloudFront does not compress range responses; serve them from the identity copy.
        encoding = (
            negotiate(header(req_headers, b"accept-encoding"))
            if behavior.compress and range_header is None
            else ""
        )
        now = self._clock()
        use_cache = method in CACHEABLE_METHODS and not behavior.cache.disabled
        forwarded = None if is_static else self._origin_request(stage, behavior, scope)
        # Credentials that reach the origin outside the cache key make the answer the
        # origin's alone to give: a stored response is neither served to nor made from it.
        unkeyed = forwarded.unkeyed_credentials if forwarded is not None else ()
        key = None
        if use_cache:
            key = cache_key(
                behavior.cache,
                stage=stage.edge.name,
                method=method,
                path=path,
                query_string=scope.get("query_string", b""),
                headers=req_headers,
                encoding=encoding,
            )
            entry = None if unkeyed else self.cache.get(key, now=now)
            if entry is not None:
                response = _Response(entry.status, list(entry.headers), entry.body)
                response.headers.append((b"age", str(max(int(now - entry.stored_at), 0)).encode()))
                await self._reply(
                    send,
                    response,
                    req_headers,
                    method=method,
                    is_static=is_static,
                    x_cache=X_CACHE_HIT,
                    stage=stage.edge.name,
                )
                return

        response = await self._fetch(stage, behavior, scope, receive, path, forwarded=forwarded)
        ttl_override: int | None = None
        page = stage.error_pages.get(response.status)
        if page is not None:
            response = await self._error_page(stage, page, scope)
            ttl_override = page.ttl
        if behavior.compress:
            _compress(response, encoding)
        # A HEAD forwarded to the API has no body: never store it under the GET key.
        storable = key is not None and (method == "GET" or is_static)
        if storable and key is not None:
            ttl = (
                ttl_override
                if ttl_override is not None and not _uncacheable(response.headers) and not unkeyed
                else response_ttl(
                    behavior.cache,
                    method,
                    response.status,
                    response.headers,
                    now=now,
                    unkeyed_credentials=bool(unkeyed),
                )
            )
            if ttl:
                self.cache.put(
                    key,
                    CachedResponse(
                        status=response.status,
                        headers=tuple(response.headers),
                        body=response.body,
                        stored_at=now,
                        expires_at=now + ttl,
                        stage=stage.edge.name,
                        path=path,
                    ),
                )
        await self._reply(
            send,
            response,
            req_headers,
            method=method,
            is_static=is_static,
            x_cache=X_CACHE_MISS,
            stage=stage.edge.name,
        )

    @staticmethod
    def _origin_request(stage: _Stage, behavior: Behavior, scope: Scope) -> OriginRequest:
        return behavior.plan.apply(
            stage.edge.credentials,
            method=scope["method"],
            headers=scope["headers"],
            query_string=scope.get("query_string", b""),
            origin_host=_own_address(scope),
        )

    async def _fetch(
        self,
        stage: _Stage,
        behavior: Behavior,
        scope: Scope,
        receive: Receive,
        path: str,
        *,
        forwarded: OriginRequest | None = None,
    ) -> _Response:
        """The origin's response; the API gets ``forwarded`` (computed when ``None``)."""
        if behavior.origin == "static":
            # A miss may read a file (or call S3): off the event loop, so a slow disk
            # costs that request, never the others.
            return await asyncio.to_thread(
                _static, stage.origins.static, path, stage.edge.default_root_object
            )
        app = stage.origins.api
        if app is None:
            return _error(502, b"Bad Gateway: this stage has no API origin")
        if forwarded is None:
            forwarded = self._origin_request(stage, behavior, scope)
        scope = dict(scope)
        scope["headers"] = list(forwarded.headers)
        scope["query_string"] = forwarded.query_string
        if behavior.strip_prefix is not None:
            scope = strip_path_prefix(scope, behavior.strip_prefix, behavior.strip_prefix_raw)
        return await _call_app(app, scope, receive)

    async def _error_page(self, stage: _Stage, page: ErrorPage, scope: Scope) -> _Response:
        behavior = stage.table.match(page.path)
        sub_scope = dict(scope)
        sub_scope.update(
            method="GET", path=page.path, raw_path=page.path.encode(), query_string=b""
        )
        response = await self._fetch(stage, behavior, sub_scope, _empty_body, page.path)
        if response.status >= 400:
            log.warning(
                "edge error page %s for stage %s answered %s",
                page.path,
                stage.edge.name,
                response.status,
            )
            return response
        response.status = page.response_status
        return response

    async def _reply(
        self,
        send: Send,
        response: _Response,
        req_headers: RawHeaders,
        *,
        method: str,
        is_static: bool,
        x_cache: bytes,
        stage: str,
    ) -> None:
        headers = response.headers
        if response.status == 200:
            etag = header(headers, b"etag")
            last_modified = header(headers, b"last-modified")
            if not_modified(
                method,
                if_none_match=header(req_headers, b"if-none-match"),
                if_modified_since=header(req_headers, b"if-modified-since"),
                etag=etag,
                last_modified=last_modified,
            ):
                kept = [
                    (k, v)
                    for k, v in headers
                    if k
                    in (b"etag", b"last-modified", b"cache-control", b"vary", b"expires", b"age")
                ]
                kept.append((b"x-cache", x_cache))
                self._record(stage, x_cache, 0)
                await _send(send, _Response(304, kept, b""), method, with_length=False)
                return
            if is_static:
                span = parse_range(
                    header(req_headers, b"range"),
                    len(response.body),
                    if_range=header(req_headers, b"if-range"),
                    etag=etag,
                    last_modified=last_modified,
                )
                if isinstance(span, ByteRange):
                    headers = [*headers, (b"content-range", span.content_range)]
                    response = _Response(206, headers, response.body[span.start : span.end + 1])
                elif isinstance(span, Unsatisfiable):
                    response = _Response(416, [(b"content-range", span.content_range)], b"")
        response.headers.append((b"x-cache", x_cache))
        self._record(stage, x_cache, 0 if method == "HEAD" else len(response.body))
        await _send(send, response, method)

    def _record(self, stage: str, x_cache: bytes, body_bytes: int) -> None:
        """Tell the recorder what is being sent: a hit or a miss, and the body's size."""
        if self.recorder is not None:
            self.recorder.record_edge(stage, x_cache is X_CACHE_HIT, body_bytes)


def strip_path_prefix(scope: Scope, prefix: str, raw_prefix: bytes) -> Scope:
    """``scope`` with ``prefix`` removed from ``path`` and ``raw_path`` (``/api`` → ``/``).

    What an API Gateway custom domain's API mapping does with its key: the API sees the
    path after the key. https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-mappings.html
    The prefix only counts on a segment boundary (``/api`` strips ``/api/x`` and ``/api``,
    never ``/apiary``); a path it does not start is forwarded unchanged.
    """
    path: str = scope["path"]
    cut = len(prefix)
    if not path.startswith(prefix) or (len(path) > cut and path[cut] != "/"):
        return scope
    stripped = dict(scope)
    stripped["path"] = path[cut:] or "/"
    raw = scope.get("raw_path")
    if raw:
        raw_cut = len(raw_prefix)
        if raw.startswith(raw_prefix) and (len(raw) == raw_cut or raw[raw_cut] == 0x2F):
            stripped["raw_path"] = raw[raw_cut:] or b"/"
        else:
            # The viewer spelled the prefix percent-encoded (/%61pi/x): cut the decoded
            # path and encode it again rather than forward a raw_path that disagrees.
            stripped["raw_path"] = quote(stripped["path"], safe=RAW_PATH_SAFE).encode("ascii")
    return stripped


def _own_address(scope: Scope) -> bytes | None:
    """``host:port`` this node serves on: the Host an origin gets in place of the viewer's."""
    server = scope.get("server")
    if not server:
        return None
    host, port = server[0], server[1]
    if port is None:
        return str(host).encode("latin-1")
    host = f"[{host}]" if ":" in str(host) else str(host)
    return f"{host}:{port}".encode("latin-1")


def _compress(response: _Response, encoding: str) -> None:
    headers = response.headers
    content_type = header(headers, b"content-type")
    if not is_compressible(content_type, len(response.body)):
        return
    if header(headers, b"content-encoding") is not None:
        return  # the origin compressed it already: never twice
    if "no-transform" in cache_control(header(headers, b"cache-control")):
        return
    add_vary(headers)
    if not encoding or response.status != 200:
        return
    response.body = compress(response.body, encoding)
    for i, (k, v) in enumerate(headers):
        if k == b"etag":
            headers[i] = (k, weak_etag(v))
    headers.append((b"content-encoding", encoding.encode()))


def _uncacheable(headers: RawHeaders) -> bool:
    directives = cache_control(header(headers, b"cache-control"))
    return (
        "private" in directives
        or "no-store" in directives
        or any(k == b"set-cookie" for k, _ in headers)
    )


def _static(bucket: StaticOrigin | None, path: str, root_object: str) -> _Response:
    if bucket is None:
        return _error(502, b"Bad Gateway: this stage has no static origin")
    key = root_object if path == "/" else path.lstrip("/")
    try:
        found = bucket.get(key)
    except LookupError:
        found = None
    if found is None:
        # S3's NoSuchKey error body.
        # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
            b"<Message>The specified key does not exist.</Message></Error>"
        )
        return _Response(404, [(b"content-type", b"application/xml")], body)
    body, info = found
    etag = info.etag if info.etag.startswith(('"', "W/")) else f'"{info.etag}"'
    return _Response(
        200,
        [
            (b"content-type", info.content_type.encode("latin-1")),
            (b"etag", etag.encode("latin-1")),
            (b"last-modified", http_date(info.last_modified)),
            (b"accept-ranges", b"bytes"),
        ],
        body,
    )


async def _call_app(app: ASGIApp, scope: Scope, receive: Receive) -> _Response:
    response = _Response(502, [], b"")
    chunks: list[bytes] = []
    started = False

    async def send(message: Message) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            response.status = int(message["status"])
            response.headers = [
                (bytes(k).lower(), bytes(v))
                for k, v in message.get("headers", [])
                if bytes(k).lower() not in _DROPPED
            ]
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))

    try:
        await app(dict(scope), receive, send)
    except Exception:
        log.exception("edge origin raised")
        return _error(502, b"Bad Gateway: the origin failed")
    if not started:
        return _error(502, b"Bad Gateway: the origin sent no response")
    response.body = b"".join(chunks)
    return response


async def _empty_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _error(status: int, text: bytes) -> _Response:
    return _Response(
        status,
        [(b"content-type", b"text/plain; charset=utf-8"), (b"x-cache", X_CACHE_ERROR)],
        text + b"\n",
    )


async def _send(send: Send, response: _Response, method: str, *, with_length: bool = True) -> None:
    headers = [(k, v) for k, v in response.headers if k not in _DROPPED]
    has_body = status_has_body(response.status)
    if with_length and has_body:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    body = response.body if has_body and method != "HEAD" else b""
    await send({"type": "http.response.body", "body": body, "more_body": False})
