"""Small ASGI request/response helpers for the dashboard, with its security headers.

Every answer carries the same strict Content-Security-Policy: scripts, styles, images
and connections from the dashboard's own origin only, no inline script or style, no
framing, forms posting back to itself. The page code is written for it (no inline
handlers, no ``style=`` attributes; charts styled through the DOM).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qs

import orjson

from overcast.asgi import Receive, Scope, Send

COOKIE_NAME = "overcast_dashboard"
COOKIE_PATH = "/dashboard"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

_SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # not no-referrer: under it Chromium sends "Origin: null" with form posts
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_NO_STORE = (b"cache-control", b"no-store")


@dataclass(frozen=True, slots=True)
class Request:
    """The parts of an HTTP scope the dashboard looks at."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    cookies: Mapping[str, str]

    @classmethod
    def from_scope(cls, scope: Scope) -> Request:
        """Decode an ASGI HTTP scope (later duplicate headers and parameters win)."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query = {k: v[-1] for k, v in parse_qs(raw_query).items()}
        return cls(
            method=scope["method"],
            path=scope["path"],
            query=query,
            headers=headers,
            cookies=parse_cookies(headers.get("cookie", "")),
        )

    @property
    def session_token(self) -> str | None:
        return self.cookies.get(COOKIE_NAME)

    def same_origin(self) -> bool:
        """False when the browser says the request comes from another origin.

        Browsers send ``Origin`` on every POST; a missing one (curl, old clients) is
        left to the CSRF token and the SameSite=Strict cookie.
        """
        origin = self.headers.get("origin")
        if origin is None:
            return True
        host = self.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")


def parse_cookies(header: str) -> dict[str, str]:
    """Cookie header → name/value pairs; a malformed header counts as no cookies."""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def parse_form(body: bytes) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body → fields (last one wins)."""
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in fields.items()}


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body; None when it grows past ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def session_cookie(token: str, max_age_s: int, *, secure: bool = False) -> tuple[bytes, bytes]:
    """The Set-Cookie header that signs a browser in (``Secure`` when served over HTTPS)."""
    value = (
        f"{COOKIE_NAME}={token}; Path={COOKIE_PATH}; Max-Age={max_age_s}; "
        "HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
    )
    return (b"set-cookie", value.encode())


def clear_cookie() -> tuple[bytes, bytes]:
    """The Set-Cookie header that signs a browser out."""
    value = f"{COOKIE_NAME}=; Path={COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Strict"
    return (b"set-cookie", value.encode())


async def respond(
    send: Send,
    status: int,
    body: bytes,
    content_type: str,
    extra: list[tuple[bytes, bytes]] | None = None,
    *,
    cacheable: bool = False,
) -> None:
    """Send one whole response with the security headers (and no-store unless cacheable)."""
    headers = [(b"content-type", content_type.encode()), *_SECURITY_HEADERS]
    if not cacheable:
        headers.append(_NO_STORE)
    headers.extend(extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def respond_html(
    send: Send, status: int, html: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    await respond(send, status, html.encode(), "text/html; charset=utf-8", extra)


async def respond_json(send: Send, status: int, data: object) -> None:
    await respond(send, status, orjson.dumps(data), "application/json")


async def redirect(
    send: Send, location: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    """303 See Other: after a form POST the browser follows with a GET."""
    headers = [(b"location", location.encode()), *(extra or [])]
    await respond(send, 303, b"", "text/plain; charset=utf-8", headers)


def stream_headers() -> list[tuple[bytes, bytes]]:
    """Headers of a server-sent events response."""
    return [
        (b"content-type", b"text/event-stream; charset=utf-8"),
        *_SECURITY_HEADERS,
        _NO_STORE,
        # Proxies (nginx) would otherwise buffer the stream and the tail would stall.
        (b"x-accel-buffering", b"no"),
    ]
