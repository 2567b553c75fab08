"""TCP relays: the only way out of a sandbox's network namespace.

A sandbox's network namespace has nothing but a loopback. For each endpoint the
function was granted (and for the platform's own ports), the launcher opened a
listening socket on that address inside; the platform accepts on it here and pipes
every connection to the real endpoint, from its own network namespace. A function
connecting to ``127.0.0.1:5432`` inside so reaches the PostgreSQL it was granted,
and nothing else of the machine: every other address and port is refused at once.

Each relayed connection is a pair of asyncio protocols writing straight into each
other's transport (no stream buffers in between: a database round trip crosses the
relay twice), with flow control both ways: a side whose peer cannot keep up stops
reading. A :class:`PortRelay` owns its server and every connection it pipes;
:meth:`aclose` stops accepting and closes them all.

:func:`pipe` copies one stream into another, for relays built on streams (the egress
proxy's tunnels).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

logger = logging.getLogger("overcast.runtime")

_CHUNK = 1 << 16


class _Side(asyncio.Protocol):
    """One end of a relayed connection: what it receives goes to its peer's transport."""

    def __init__(self, relay: PortRelay) -> None:
        self.relay = relay
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.pending: list[bytes] = []  # what arrived before the peer was connected
        self.eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool:
        peer = self.peer
        if peer is not None and peer.transport is not None and peer.transport.can_write_eof():
            peer.transport.write_eof()
        else:
            self.eof = True
        return True  # keep the other direction open until it ends too

    def connection_lost(self, exc: Exception | None) -> None:
        self.relay.sides.discard(self)
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.close()

    # Flow control: our transport is full, so the peer stops reading until it drains.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.resume_reading()

    def join(self, peer: _Side) -> None:
        """Connect the two ends and hand over what arrived before."""
        self.peer, peer.peer = peer, self
        for side in (self, peer):
            other = side.peer
            if other is None or other.transport is None:
                continue
            for data in side.pending:
                other.transport.write(data)
            side.pending.clear()
            if side.eof and other.transport.can_write_eof():
                other.transport.write_eof()


class PortRelay:
    """Pipes connections accepted on ``listener`` to ``target``."""

    def __init__(self, listener: socket.socket, target: tuple[str, int], label: str) -> None:
        self.listener = listener
        self.target = target
        self.label = label
        self._server: asyncio.Server | None = None
        self.sides: set[_Side] = set()
        self._dialing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.listener.setblocking(False)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accepted, sock=self.listener)

    def _accepted(self) -> _Side:
        inner = _Side(self)
        self.sides.add(inner)
        task = asyncio.get_running_loop().create_task(self._dial(inner))
        self._dialing.add(task)
        task.add_done_callback(self._dialing.discard)
        return inner

    async def _dial(self, inner: _Side) -> None:
        loop = asyncio.get_running_loop()
        outer = _Side(self)
        try:
            await loop.create_connection(lambda: outer, *self.target)
        except OSError as exc:
            logger.info("%s: cannot reach %s:%s (%s)", self.label, *self.target, exc)
            if inner.transport is not None:
                inner.transport.close()
            return
        self.sides.add(outer)
        for transport in (inner.transport, outer.transport):
            if transport is not None:
                with contextlib.suppress(OSError):
                    sock = transport.get_extra_info("socket")
                    if sock is not None:
                        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        inner.join(outer)
        closed = inner.transport is None or inner.transport.is_closing()
        if closed and outer.transport is not None:
            outer.transport.close()

    async def aclose(self) -> None:
        """Stop accepting, cut every piped connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._dialing):
            task.cancel()
        for task in list(self._dialing):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for side in list(self.sides):
            if side.transport is not None:
                side.transport.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None


async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy ``source`` into ``sink`` until it ends, then half-close ``sink``."""
    try:
        while data := await source.read(_CHUNK):
            sink.write(data)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()
