"""Driving the dashboard's ASGI app directly: one request in, the whole answer out."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

import orjson

from overcast.dashboard import DashboardApp, Identity

from .fake_source import FakeSource

ADMIN = ("AKIAADMINADMINADMIN1", "admin-secret-0123456789")
VIEWER = ("AKIAVIEWERVIEWERVIE1", "viewer-secret-0123456789")
DEV_ONLY = ("AKIADEVONLYDEVONLYD1", "dev-secret-0123456789")


class KeyBook:
    """Keys a test may revoke or narrow while sessions of them are open."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, Identity]] = {
            ADMIN[0]: (ADMIN[1], Identity(ADMIN[0])),
            VIEWER[0]: (VIEWER[1], Identity(VIEWER[0], can_rollback=False)),
            DEV_ONLY[0]: (DEV_ONLY[1], Identity(DEV_ONLY[0], stages=("dev",))),
        }
        self.lookups = 0

    def authenticate(self, key_id: str, secret: str) -> Identity | None:
        entry = self.keys.get(key_id)
        return entry[1] if entry is not None and entry[0] == secret else None

    def identify(self, key_id: str) -> Identity | None:
        self.lookups += 1
        entry = self.keys.get(key_id)
        return entry[1] if entry is not None else None

    def revoke(self, key_id: str) -> None:
        del self.keys[key_id]

    def change(self, key_id: str, **grant: Any) -> None:
        secret, identity = self.keys[key_id]
        self.keys[key_id] = (secret, replace(identity, **grant))


_BOOK = KeyBook()  # never changed: for apps built without the ``keys`` fixture
authenticate = _BOOK.authenticate
identify = _BOOK.identify


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def headers_named(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def scope(
    method: str, path: str, headers: dict[str, str], query: str = "", client: str = "127.0.0.1"
) -> dict[str, Any]:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": (client, 50000),
        "server": ("127.0.0.1", 8081),
    }


async def acall(
    app: DashboardApp,
    method: str,
    target: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    client: str = "127.0.0.1",
) -> Answer:
    path, _, query = target.partition("?")
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # never: a plain request has nothing more
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(
        scope(method, path, {"host": "127.0.0.1:8081", **(headers or {})}, query, client),
        receive,
        send,
    )
    start = sent[0]
    return Answer(
        status=start["status"],
        headers=[(k.decode(), v.decode()) for k, v in start["headers"]],
        body=b"".join(m.get("body", b"") for m in sent[1:]),
    )


def call(app: DashboardApp, method: str, target: str, **kwargs: Any) -> Answer:
    return asyncio.run(acall(app, method, target, **kwargs))


class Visitor:
    """A browser's cookie (only the dashboard's) and the CSRF token its pages showed."""

    def __init__(self, app: DashboardApp, address: str = "127.0.0.1") -> None:
        self.app = app
        self.address = address
        self.cookie: str | None = None

    def request(self, method: str, target: str, **kwargs: Any) -> Answer:
        headers = dict(kwargs.pop("headers", None) or {})
        if self.cookie:
            headers.setdefault("cookie", self.cookie)
        return call(self.app, method, target, headers=headers, client=self.address, **kwargs)

    def get(self, target: str, **kwargs: Any) -> Answer:
        return self.request("GET", target, **kwargs)

    def sign_in(self, key: tuple[str, str] = ADMIN, next_path: str = "/dashboard/") -> Answer:
        form = urlencode({"access_key_id": key[0], "secret_access_key": key[1], "next": next_path})
        answer = self.request(
            "POST",
            "/dashboard/login",
            headers={"content-type": "application/x-www-form-urlencoded"},
            body=form.encode(),
        )
        cookie = answer.header("set-cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return answer

    def csrf(self) -> str:
        page = self.get("/dashboard/").text
        marker = '<meta name="csrf-token" content="'
        start = page.index(marker) + len(marker)
        return page[start : page.index('"', start)]


def sample_source(clock: Clock) -> FakeSource:
    source = FakeSource(clock)
    source.add_stage(
        "dev", ["Echo", "Orders"], hosts=["dev.localhost"], to_date="1.23456", forecast="3.5"
    )
    source.add_stage("prod", ["Echo"], hosts=["localhost", "www.localhost"])
    source.add_deployment("dev", "d-AAAAAAAA1", created=clock.now - 600, message="first")
    source.add_deployment("dev", "d-AAAAAAAA2", created=clock.now - 60, message="second")
    source.add_deployment("prod", "d-PPPPPPPP1", created=clock.now - 900)
    return source


def parse_events(raw: bytes) -> list[dict[str, str]]:
    """Split a stream as EventSource does (enough for these tests)."""
    events = []
    for block in raw.decode().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if not line or line.startswith(":"):
                continue
            name, _, value = line.partition(": ")
            fields[name] = fields[name] + "\n" + value if name in fields else value
        if "data" in fields:
            events.append(fields)
    return events
