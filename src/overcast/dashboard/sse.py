"""Server-sent events: framing, and streaming an async iterator until the browser leaves.

Framing follows the HTML standard's ``text/event-stream`` format
(https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream):
fields ``event:``, ``id:`` and one ``data:`` line per line of data, an empty line
ending the event; a line starting with ``:`` is a comment, sent as a heartbeat so
idle connections are not timed out by proxies and a vanished browser is noticed.

A stream outlives the request that opened it, so whoever opened it must still be
allowed to read it: ``alive`` is asked before every event and every ``check_s``
seconds, and once it says no the stream sends its ``farewell`` and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import TypeVar

from overcast.asgi import Receive, Send
from overcast.dashboard.http import stream_headers

logger = logging.getLogger("overcast.dashboard.sse")

T = TypeVar("T")


def frame(data: str, *, event: str | None = None, event_id: str | None = None) -> bytes:
    """One event; ``data`` may span lines (each gets its own ``data:`` field)."""
    lines: list[str] = []
    if event is not None:
        lines.append(f"event: {_one_line(event)}")
    if event_id is not None:
        lines.append(f"id: {_one_line(event_id)}")
    lines.extend(f"data: {line}" for line in data.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str = "") -> bytes:
    """A comment line: ignored by the browser, keeps the connection alive."""
    return f": {_one_line(text)}\n\n".encode()


def _one_line(value: str) -> str:
    # A newline inside event or id would start a new field: an injection, not a value.
    return value.replace("\r", " ").replace("\n", " ")


async def stream_events(
    send: Send,
    receive: Receive,
    items: AsyncIterator[T],
    encode: Callable[[T], bytes],
    *,
    heartbeat_s: float = 15.0,
    retry_ms: int = 2000,
    alive: Callable[[], bool] = lambda: True,
    check_s: float = 5.0,
    farewell: bytes = b"",
) -> None:
    """Send ``items`` as events until the browser disconnects, ``items`` ends or ``alive`` fails.

    One task pumps the iterator into a small queue (so waiting for the next item is
    never cancelled, which would end a generator); this task sends, with a heartbeat
    when nothing came for ``heartbeat_s``; another waits for ``http.disconnect``.
    ``alive`` is asked before each event and at least every ``check_s`` seconds; when
    it turns false, ``farewell`` (an event telling the page why) is the last thing sent.
    """
    await send({"type": "http.response.start", "status": 200, "headers": stream_headers()})
    await _body(send, f"retry: {retry_ms}\n\n".encode())
    queue: asyncio.Queue[tuple[bool, T | None]] = asyncio.Queue(maxsize=256)

    async def pump() -> None:
        # Ended or failed (not cancelled): the stream is over once the queue drains.
        try:
            async for item in items:
                await queue.put((True, item))
        except Exception:
            await queue.put((False, None))
            raise
        await queue.put((False, None))

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def deliver() -> None:
        loop = asyncio.get_running_loop()
        last_sent = loop.time()
        while True:
            heartbeat_due = last_sent + heartbeat_s - loop.time()
            try:
                more, item = await asyncio.wait_for(
                    queue.get(), max(0.0, min(check_s, heartbeat_due))
                )
            except TimeoutError:
                if not alive():
                    await _farewell(send, farewell)
                    return
                if loop.time() - last_sent >= heartbeat_s:
                    await _body(send, comment("keepalive"))
                    last_sent = loop.time()
                continue
            if not more:
                return
            if not alive():
                await _farewell(send, farewell)
                return
            await _body(send, encode(item))  # type: ignore[arg-type]  # more=True: an item
            last_sent = loop.time()

    tasks = [
        asyncio.create_task(pump(), name="sse-pump"),
        asyncio.create_task(watch(), name="sse-watch"),
        asyncio.create_task(deliver(), name="sse-deliver"),
    ]
    try:
        # Whichever ends first (browser gone, source ended, send failed) ends the stream.
        done, _ = await asyncio.wait(tasks[1:], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if not task.cancelled() and (exc := task.exception()) is not None:
                logger.info("event stream ended: %r", exc)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failed = results[0]
        if isinstance(failed, Exception):
            logger.warning("event source failed: %r", failed)
        aclose = getattr(items, "aclose", None)
        if aclose is not None:
            await aclose()
    # The browser may be gone already; ending the body then is a no-op or an error.
    with contextlib.suppress(OSError, RuntimeError):
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _body(send: Send, chunk: bytes) -> None:
    await send({"type": "http.response.body", "body": chunk, "more_body": True})


async def _farewell(send: Send, chunk: bytes) -> None:
    if chunk:
        await _body(send, chunk)
