"""Shared by the cluster tests: where Redis is, and a relay that can cut it off."""

from __future__ import annotations

import asyncio
import contextlib

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


class RedisProxy:
    """A TCP relay to the real Redis that a test can stop (Redis 'gone') and start again."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()
        # While frozen, bytes are swallowed both ways: a partition, with no FIN or RST.
        self.frozen = False

    async def start(self) -> None:
        """Listen (again, on the same port once chosen) and relay to Redis."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut every open one, as a dead Redis would."""
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            for relay in list(self._relays):
                relay.cancel()
            await asyncio.gather(*self._relays, return_exceptions=True)
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(REDIS_HOST, REDIS_PORT)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))
        relays = [
            asyncio.create_task(self._pipe(reader, up_writer)),
            asyncio.create_task(self._pipe(up_reader, writer)),
        ]
        self._relays.update(relays)
        try:
            await asyncio.gather(*relays, return_exceptions=True)
        finally:
            self._relays.difference_update(relays)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.close()
                with contextlib.suppress(OSError, asyncio.CancelledError):
                    await w.wait_closed()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if self.frozen:
                    continue
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
