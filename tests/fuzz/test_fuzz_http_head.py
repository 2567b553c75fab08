"""Fuzz the request-head handling of both ports: arbitrary bytes, in arbitrary reads.

Each example drives a guarded protocol (httptools as on the data port, h11 as on the
admin port) through its real parser with a recording transport, then lets every
deadline pass. Whatever comes in, the server must not raise, must never answer 500,
must answer only with whole responses of the statuses it may give, must never let a
head past its room reach the app, and must end up closed once the time is up.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from guarded_protocols import Recorder, guarded_protocol
from overcast.control.http_limits import HttpLimits

LIMITS = HttpLimits(header_timeout_s=2, body_timeout_s=2, max_header_bytes=1024)
#: what the server itself may answer (400: a malformed head, the parser's own answer)
OWN_STATUSES = {b"400", b"408", b"431", b"503"}
STATUS = re.compile(rb"HTTP/1\.1 (\d{3}) ")


class App:
    """Answers 200 once it has the whole body; records the heads it was given."""

    def __init__(self) -> None:
        self.heads: list[int] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.heads.append(
            len(scope["raw_path"]) + sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        )
        while True:
            message = await receive()
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})


_token = st.sampled_from(
    [b"GET ", b"POST ", b"LIST ", b"/x", b"?a=b", b" HTTP/1.1", b" HTTP/1.0", b"\r\n",
     b"\r\n\r\n", b"Host: a", b"Content-Length: 3", b"Content-Length: 99999",
     b"Transfer-Encoding: chunked", b"Expect: 100-continue", b"X: ", b": ", b"0\r\n\r\n",
     b"abc", b"\x00", b"\xff", b" ", b"\t", b"a" * 700, b"b" * 1500]
)  # fmt: skip
_http_ish = st.lists(_token, max_size=30).map(b"".join)
_stream = st.one_of(_http_ish, st.binary(max_size=4000))


def _reads(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    out, last = [], 0
    for point in [*points, len(stream)]:
        out.append(stream[last:point])
        last = point
    return [part for part in out if part]


@given(
    kind=st.sampled_from(["httptools", "h11"]),
    stream=_stream,
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
)
def test_any_bytes_in_any_reads_get_a_clean_answer_or_a_close(
    kind: str, stream: bytes, cuts: list[int]
) -> None:
    loop = asyncio.new_event_loop()
    try:
        app = App()
        protocol = guarded_protocol(app, kind, LIMITS, loop, log_level="critical")
        transport = Recorder(strict=True)
        with no_hang(f"{kind} fed {len(stream)} bytes"):
            protocol.connection_made(transport)
            for part in _reads(stream, cuts):
                if transport.closed:
                    break  # as asyncio does: a closed transport reads no more
                protocol.data_received(part)
                loop.run_until_complete(asyncio.sleep(0))
            loop.run_until_complete(asyncio.sleep(0.001))
            # Every deadline passes (lingering included): the connection ends closed.
            for _ in range(4):
                if transport.closed or protocol._clock.deadline is None:
                    break
                protocol._clock.deadline = loop.time() - 1
                protocol._deadline_passed()
                loop.run_until_complete(asyncio.sleep(0))
            protocol.connection_lost(None)
            loop.run_until_complete(asyncio.sleep(0.001))
        statuses = STATUS.findall(transport.written)
        assert b"500" not in statuses, transport.written[:300]
        assert set(statuses) <= OWN_STATUSES | {b"200"}, statuses
        assert transport.written.startswith(b"HTTP/1.1 ") or not transport.written
        # The app saw no head larger than the room heads have (the whole head, as
        # bytes on the wire, is at least what the app was given).
        assert all(size <= LIMITS.max_header_bytes for size in app.heads), app.heads
        assert protocol._tally.open == 0
        assert protocol._tally.refusing == 0
    finally:
        loop.close()
