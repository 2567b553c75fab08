"""TCP relays: the only way out of a sandbox's network namespace.

A sandbox's network namespace has nothing but a loopback. For each endpoint the
function was granted (and for the platform's own ports), the launcher opened a
listening socket on that address inside; the platform accepts on it here and pipes
every connection to the real endpoint, from its own network namespace. A function
connecting to ``127.0.0.1:5432`` inside so reaches the PostgreSQL it was granted,
and nothing else of the machine: every other address and port is refused at once.

A :class:`PortRelay` owns its server and every connection it pipes; :meth:`aclose`
stops accepting and closes them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

logger = logging.getLogger("overcast.runtime")

_CHUNK = 1 << 16


class PortRelay:
    """Pipes connections accepted on ``listener`` to ``target``."""

    def __init__(self, listener: socket.socket, target: tuple[str, int], label: str) -> None:
        self.listener = listener
        self.target = target
        self.label = label
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.listener.setblocking(False)
        self._server = await asyncio.start_server(self._serve, sock=self.listener)

    async def _serve(self, inner_r: asyncio.StreamReader, inner_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            try:
                outer_r, outer_w = await asyncio.open_connection(*self.target)
            except OSError as exc:
                logger.info("%s: cannot reach %s:%s (%s)", self.label, *self.target, exc)
                return
            try:
                await asyncio.gather(_pipe(inner_r, outer_w), _pipe(outer_r, inner_w))
            finally:
                outer_w.close()
        finally:
            inner_w.close()
            if task is not None:
                self._connections.discard(task)

    async def aclose(self) -> None:
        """Stop accepting, cut every piped connection, wait for them to end."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None


async def _pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while True:
            data = await source.read(_CHUNK)
            if not data:
                break
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()
