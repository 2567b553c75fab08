"""The guarded uvicorn protocols, driven by hand with a recording transport (no socket).

These fail loudly when a uvicorn upgrade moves what the subclasses hook into: the
methods (:func:`check_uvicorn`) and the request state they read (``cycle``'s fields).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from guarded_protocols import GuardedProtocol, Recorder, guarded_protocol
from overcast.control.http_limits import LINGER_S, ConnectionTally, HttpLimits, Phase
from overcast.control.http_server import (
    UVICORN_CYCLE_STATE,
    check_uvicorn,
)

LIMITS = HttpLimits(header_timeout_s=2, body_timeout_s=3, max_header_bytes=1024)
GET = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n"


async def _app(scope: Any, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"2")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(params=["httptools", "h11"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _protocol(
    loop: asyncio.AbstractEventLoop, kind: str, tally: ConnectionTally | None = None
) -> tuple[GuardedProtocol, Recorder]:
    protocol = guarded_protocol(_app, kind, LIMITS, loop, tally=tally)
    transport = Recorder()
    protocol.connection_made(transport)
    return protocol, transport


def _settle(loop: asyncio.AbstractEventLoop) -> None:
    loop.run_until_complete(asyncio.sleep(0.01))


def _expire(protocol: GuardedProtocol) -> None:
    """Pretend the deadline passed: move it into the past and fire the timer's callback."""
    assert protocol._clock.deadline is not None
    protocol._clock.deadline = protocol.loop.time() - 1
    protocol._deadline_passed()


def test_the_installed_uvicorn_has_every_hook() -> None:
    check_uvicorn()


def test_uvicorns_request_state_is_where_the_protocols_read_it(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, _ = _protocol(loop, kind)
    protocol.data_received(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
    for name in UVICORN_CYCLE_STATE:
        assert hasattr(protocol.cycle, name), f"uvicorn's request cycle lost {name}"
    protocol.data_received(b"cde")
    _settle(loop)


def test_a_whole_request_is_served_and_leaves_no_deadline(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    protocol.data_received(GET)
    _settle(loop)
    assert transport.written.startswith(b"HTTP/1.1 200")
    assert protocol._clock.phase is Phase.IDLE
    assert protocol._clock.deadline is None


def test_a_head_split_over_reads_is_timed_as_one(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    protocol.data_received(b"GET /x HTTP/1.1\r\n")
    protocol.data_received(b"Host: a\r\n")
    assert protocol._clock.phase is Phase.HEAD
    _expire(protocol)
    assert transport.written.startswith(b"HTTP/1.1 408 ")
    assert transport.eof
    assert not transport.closed, "a refused client is drained before the close"
    protocol.data_received(b"X-More: 1\r\n\r\n")
    assert b"200" not in transport.written, "the app never sees a refused request"
    assert protocol._clock.deadline is not None
    assert protocol._clock.deadline <= protocol.loop.time() + LINGER_S
    _expire(protocol)
    assert transport.closed


def test_a_silent_connection_is_closed_without_an_answer(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    _expire(protocol)
    assert transport.closed
    assert transport.written == b""


def test_a_head_past_its_room_is_answered_431_at_once(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    protocol.data_received(b"GET /x HTTP/1.1\r\nX-Big: " + b"a" * 2000)
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    assert b"1024 bytes" in transport.written


def test_a_head_and_body_in_one_read_larger_than_the_room_is_served(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    body = b"b" * 3000
    protocol.data_received(
        b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    )
    _settle(loop)
    assert transport.written.startswith(b"HTTP/1.1 200")


def test_a_stalled_body_is_answered_408_and_the_app_reads_a_disconnect(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    protocol.data_received(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab")
    _settle(loop)
    assert protocol._clock.phase is Phase.BODY
    _expire(protocol)
    assert transport.written.startswith(b"HTTP/1.1 408 ")
    assert b"body" in transport.written
    _settle(loop)
    assert transport.written.count(b"HTTP/1.1") == 1, "the app's late answer is dropped"


def test_a_connection_over_the_cap_is_refused_before_it_speaks(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    tally = ConnectionTally(HttpLimits(max_connections=1, max_client_connections=1))
    first, _ = _protocol(loop, kind, tally)
    second, transport = _protocol(loop, kind, tally)
    assert transport.written.startswith(b"HTTP/1.1 503 ")
    second.data_received(GET)
    _settle(loop)
    assert transport.written.count(b"HTTP/1.1") == 1
    second.connection_lost(None)
    first.connection_lost(None)
    assert tally.open == 0
    assert tally.refusing == 0
    assert not tally.by_client


def test_a_head_that_fills_its_room_exactly_and_goes_on_is_answered_431(
    loop: asyncio.AbstractEventLoop, kind: str
) -> None:
    protocol, transport = _protocol(loop, kind)
    head = b"GET /x HTTP/1.1\r\nX-Fill: "
    protocol.data_received(head + b"f" * (LIMITS.max_header_bytes - len(head)))
    assert transport.written == b""
    protocol.data_received(b"more")
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    assert not transport.closed, "h11 must not take the refusal for the peer's close"
