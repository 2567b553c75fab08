"""Server-sent events: the framing, and the log tail as a browser would receive it."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from overcast.dashboard import DashboardApp, DashboardSettings
from overcast.dashboard.sse import comment, frame

from .fake_source import FakeSource
from .helpers import Clock, Visitor, authenticate, identify, parse_events, scope


def test_frame_has_event_id_and_data_and_ends_with_a_blank_line() -> None:
    assert frame('{"a":1}', event="log", event_id="17") == b'event: log\nid: 17\ndata: {"a":1}\n\n'


def test_frame_splits_multiline_data_into_data_fields() -> None:
    assert frame("one\ntwo") == b"data: one\ndata: two\n\n"


def test_newlines_cannot_inject_fields_through_event_or_id() -> None:
    framed = frame("x", event="log\ndata: forged", event_id="1\n\nevent: other")
    assert framed.count(b"\n\n") == 1
    assert b"\ndata: forged" not in framed


def test_comment_is_ignored_by_browsers() -> None:
    assert comment("keepalive") == b": keepalive\n\n"


async def _tail(
    app: DashboardApp,
    cookie: str,
    feed: Any,
    wanted_events: int,
    headers: dict[str, str] | None = None,
) -> tuple[dict[str, Any], bytes]:
    """Open the log stream, run ``feed`` while reading, disconnect after ``wanted_events``."""
    disconnected = asyncio.Event()
    received = bytearray()
    start: dict[str, Any] = {}
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            return
        received.extend(message.get("body", b""))
        if len(parse_events(bytes(received))) >= wanted_events:
            disconnected.set()

    request = scope(
        "GET", "/dashboard/api/stages/dev/functions/Echo/logs",
        {"host": "127.0.0.1:8081", "cookie": cookie, **(headers or {})},
    )  # fmt: skip
    serving = asyncio.create_task(app(request, receive, send))
    await feed()
    await asyncio.wait_for(serving, 10)
    return start, bytes(received)


def test_log_tail_streams_new_lines_as_events_and_stops_when_the_browser_leaves(
    app: DashboardApp, signed_in: Visitor, source: FakeSource, clock: Clock
) -> None:
    async def feed() -> None:
        await asyncio.sleep(0.05)
        source.log("dev", "Echo", "START RequestId: 1")
        clock.now += 0.001
        source.log("dev", "Echo", 'line with "quotes"\nand a newline')

    assert signed_in.cookie is not None
    start, raw = asyncio.run(_tail(app, signed_in.cookie, feed, 2))
    headers = dict((k.decode(), v.decode()) for k, v in start["headers"])
    assert start["status"] == 200
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["cache-control"] == "no-store"
    assert raw.startswith(b"retry: ")
    events = parse_events(raw)
    assert [e["event"] for e in events] == ["log", "log"]
    first, second = (orjson.loads(e["data"]) for e in events)
    assert first == {"t": int((clock.now - 0.001) * 1000), "stream": "s1",
                     "message": "START RequestId: 1"}  # fmt: skip
    assert second["message"] == 'line with "quotes"\nand a newline'
    assert events[1]["id"] == str(second["t"])
    assert source.open_tails == 0  # the source's iterator was closed


def test_log_tail_starts_with_recent_lines_and_resumes_after_last_event_id(
    app: DashboardApp, signed_in: Visitor, source: FakeSource, clock: Clock
) -> None:
    clock.now -= 3600
    source.log("dev", "Echo", "an hour ago")
    clock.now += 3600 - 30
    source.log("dev", "Echo", "half a minute ago")
    resume_id = int(clock.now * 1000)
    clock.now += 10
    source.log("dev", "Echo", "twenty seconds ago")
    clock.now += 20

    async def nothing() -> None:
        return None

    assert signed_in.cookie is not None
    _, raw = asyncio.run(_tail(app, signed_in.cookie, nothing, 2))
    messages = [orjson.loads(e["data"])["message"] for e in parse_events(raw)]
    assert messages == ["half a minute ago", "twenty seconds ago"]
    _, raw = asyncio.run(
        _tail(app, signed_in.cookie, nothing, 1, headers={"last-event-id": str(resume_id)})
    )
    assert [orjson.loads(e["data"])["message"] for e in parse_events(raw)] == ["twenty seconds ago"]


def test_idle_log_tail_sends_heartbeat_comments(source: FakeSource, clock: Clock) -> None:
    app = DashboardApp(
        source, authenticate, DashboardSettings(heartbeat_s=0.01), identify=identify, clock=clock
    )
    visitor = Visitor(app)
    visitor.sign_in()
    assert visitor.cookie is not None

    async def late_line() -> None:
        await asyncio.sleep(0.1)
        source.log("dev", "Echo", "finally")

    _, raw = asyncio.run(_tail(app, visitor.cookie, late_line, 1))
    assert b": keepalive\n\n" in raw


def test_log_streams_beyond_the_limit_get_503(source: FakeSource, clock: Clock) -> None:
    app = DashboardApp(
        source, authenticate, DashboardSettings(max_log_streams=0), identify=identify, clock=clock
    )
    visitor = Visitor(app)
    visitor.sign_in()
    answer = visitor.get("/dashboard/api/stages/dev/functions/Echo/logs")
    assert answer.status == 503


def test_source_failure_ends_the_stream_cleanly(clock: Clock) -> None:
    class Broken(FakeSource):
        async def tail_logs(self, stage: str, function: str, *, since_ms: int | None = None):  # type: ignore[override]
            raise RuntimeError("log store unreadable")
            yield  # unreachable: makes this an async generator, as a real tail is

    broken = Broken(clock)
    broken.add_stage("dev", ["Echo"])

    async def scenario() -> bytes:
        app = DashboardApp(broken, authenticate, identify=identify, clock=clock)
        visitor = Visitor(app)
        await asyncio.to_thread(visitor.sign_in)
        assert visitor.cookie is not None
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            await asyncio.Event().wait()
            return {}

        async def send(message: dict[str, Any]) -> None:
            chunks.append(message.get("body", b""))

        request = scope("GET", "/dashboard/api/stages/dev/functions/Echo/logs",
                        {"host": "h", "cookie": visitor.cookie})  # fmt: skip
        await asyncio.wait_for(app(request, receive, send), 10)
        return b"".join(chunks)

    raw = asyncio.run(scenario())
    assert raw.startswith(b"retry: ")
