"""A session lasts only while its key grants what it granted at sign-in, on every surface.

The key book stands for the platform's key store: revoking or narrowing a key there
ends its sessions at their next request — JSON API (401), pages (to sign-in, the
stale cookie cleared), rollback (refused, not done) — and an open log stream sends
``session-ended`` and closes at its next event or its next check.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from overcast.dashboard import DashboardApp, DashboardSettings

from .fake_source import FakeSource
from .helpers import ADMIN, DEV_ONLY, Clock, KeyBook, Visitor, parse_events, scope


def test_a_revoked_keys_session_gets_401_from_the_api(signed_in: Visitor, keys: KeyBook) -> None:
    assert signed_in.get("/dashboard/api/stages").status == 200
    keys.revoke(ADMIN[0])
    answer = signed_in.get("/dashboard/api/stages")
    assert answer.status == 401
    assert answer.json() == {"message": "Sign in first"}


def test_a_revoked_keys_pages_go_to_sign_in_and_drop_the_cookie(
    signed_in: Visitor, keys: KeyBook
) -> None:
    keys.revoke(ADMIN[0])
    answer = signed_in.get("/dashboard/deployments")
    assert answer.status == 303
    assert answer.header("location") == "/dashboard/login?next=/dashboard/deployments"
    assert "Max-Age=0" in (answer.header("set-cookie") or "")


def test_a_revoked_key_rolls_nothing_back(
    signed_in: Visitor, keys: KeyBook, source: FakeSource
) -> None:
    csrf = signed_in.csrf()
    keys.revoke(ADMIN[0])
    answer = signed_in.request(
        "POST", "/dashboard/api/stages/dev/rollback", headers={"x-csrf-token": csrf}
    )
    assert answer.status == 401
    assert source.rollbacks == []


def test_narrowing_a_key_ends_its_session_and_a_new_one_sees_less(
    app: DashboardApp, keys: KeyBook
) -> None:
    visitor = Visitor(app)
    visitor.sign_in()
    assert [s["name"] for s in visitor.get("/dashboard/api/stages").json()["stages"]] == [
        "dev",
        "prod",
    ]
    keys.change(ADMIN[0], stages=("dev",))
    assert visitor.get("/dashboard/api/stages").status == 401
    visitor.sign_in()
    assert [s["name"] for s in visitor.get("/dashboard/api/stages").json()["stages"]] == ["dev"]


def test_other_keys_sessions_go_on(app: DashboardApp, keys: KeyBook) -> None:
    admin, dev = Visitor(app), Visitor(app)
    admin.sign_in()
    dev.sign_in(DEV_ONLY)
    keys.revoke(ADMIN[0])
    assert admin.get("/dashboard/").status == 303
    assert dev.get("/dashboard/").status == 200


# -- the log stream ------------------------------------------------------------------------


async def _tail_until_closed(app: DashboardApp, cookie: str, during: Any) -> bytes:
    """Open the log stream, run ``during`` while it is open, read until the app ends it."""
    received = bytearray()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the browser never leaves: only the app may end it
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        received.extend(message.get("body", b""))

    request = scope(
        "GET", "/dashboard/api/stages/dev/functions/Echo/logs",
        {"host": "127.0.0.1:8081", "cookie": cookie},
    )  # fmt: skip
    serving = asyncio.create_task(app(request, receive, send))
    await during()
    await asyncio.wait_for(serving, 30)
    return bytes(received)


def _app(source: FakeSource, clock: Clock, keys: KeyBook, check_s: float) -> DashboardApp:
    settings = DashboardSettings(session_check_s=check_s, heartbeat_s=3600)
    return DashboardApp(source, keys.authenticate, settings, identify=keys.identify, clock=clock)


def test_an_open_log_stream_closes_at_its_next_check_after_revocation(
    source: FakeSource, clock: Clock, keys: KeyBook
) -> None:
    app = _app(source, clock, keys, check_s=0.01)
    visitor = Visitor(app)
    visitor.sign_in()
    assert visitor.cookie is not None

    async def revoke_while_open() -> None:
        await asyncio.sleep(0.05)
        source.log("dev", "Echo", "before")
        await asyncio.sleep(0.05)
        keys.revoke(ADMIN[0])

    raw = asyncio.run(_tail_until_closed(app, visitor.cookie, revoke_while_open))
    events = parse_events(raw)
    assert [e.get("event") for e in events] == ["log", "session-ended"]
    assert orjson.loads(events[0]["data"])["message"] == "before"
    assert source.open_tails == 0
    assert len(app.sessions) == 0


def test_an_open_log_stream_closes_at_its_next_event_after_revocation(
    source: FakeSource, clock: Clock, keys: KeyBook
) -> None:
    app = _app(source, clock, keys, check_s=3600)  # no timed check would come in time
    visitor = Visitor(app)
    visitor.sign_in()
    assert visitor.cookie is not None

    async def revoke_then_log() -> None:
        await asyncio.sleep(0.05)
        keys.revoke(ADMIN[0])
        source.log("dev", "Echo", "after the key was revoked")

    raw = asyncio.run(_tail_until_closed(app, visitor.cookie, revoke_then_log))
    assert [e.get("event") for e in parse_events(raw)] == ["session-ended"]
    assert b"after the key was revoked" not in raw


def test_signing_out_elsewhere_closes_the_stream_too(
    source: FakeSource, clock: Clock, keys: KeyBook
) -> None:
    app = _app(source, clock, keys, check_s=0.01)
    visitor = Visitor(app)
    visitor.sign_in()
    assert visitor.cookie is not None
    token = visitor.cookie.split("=", 1)[1]

    async def sign_out() -> None:
        await asyncio.sleep(0.05)
        app.sessions.end(token)

    raw = asyncio.run(_tail_until_closed(app, visitor.cookie, sign_out))
    assert [e.get("event") for e in parse_events(raw)] == ["session-ended"]
