"""PortRelay: bytes both ways, a large transfer under flow control, half-close, refusals."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket

from overcast.runtime.relay import PortRelay


async def _echo_server() -> tuple[asyncio.Server, int]:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
        writer.write_eof()  # the relay must carry the client's EOF here, and ours back
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _listener() -> socket.socket:
    sock = socket.create_server(("127.0.0.1", 0))
    return sock


def test_a_large_transfer_arrives_whole_and_the_half_close_crosses_the_relay() -> None:
    async def scenario() -> tuple[bytes, bytes]:
        server, port = await _echo_server()
        listener = _listener()
        relay = PortRelay(listener, ("127.0.0.1", port), "test")
        await relay.start()
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        payload = os.urandom(8 << 20)

        async def send() -> None:
            writer.write(payload)
            await writer.drain()
            writer.write_eof()

        sender = asyncio.create_task(send())
        received = await reader.read()  # until the echo's EOF comes back
        await sender
        writer.close()
        await relay.aclose()
        server.close()
        return hashlib.sha256(payload).digest(), hashlib.sha256(received).digest()

    sent, received = asyncio.run(scenario())
    assert sent == received


def test_an_unreachable_target_closes_the_connection() -> None:
    async def scenario() -> bytes:
        free = socket.socket()
        free.bind(("127.0.0.1", 0))
        dead_port = free.getsockname()[1]
        free.close()  # nothing listens there any more
        listener = _listener()
        relay = PortRelay(listener, ("127.0.0.1", dead_port), "test")
        await relay.start()
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b"hello")
        try:
            got = await asyncio.wait_for(reader.read(), 5)
        except ConnectionResetError:
            got = b""  # closed with the unsent "hello" still queued: a reset, as the kernel says
        writer.close()
        await relay.aclose()
        return got

    assert asyncio.run(scenario()) == b""


def test_closing_the_relay_cuts_its_connections() -> None:
    async def scenario() -> bytes:
        server, port = await _echo_server()
        listener = _listener()
        relay = PortRelay(listener, ("127.0.0.1", port), "test")
        await relay.start()
        reader, writer = await asyncio.open_connection(*listener.getsockname())
        writer.write(b"ping")
        assert await reader.readexactly(4) == b"ping"
        await relay.aclose()
        got = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        server.close()
        return got

    assert asyncio.run(scenario()) == b""
