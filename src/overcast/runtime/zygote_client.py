"""Platform side of one zygote: start it, ask it to fork instances, hear about exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
from collections.abc import Callable

from overcast.runtime.errors import ZygoteError
from overcast.runtime.frames import FrameDecoder, encode_frame
from overcast.runtime.messages import (
    Exited,
    Spawn,
    Spawned,
    SpawnFailed,
    WorkerSpec,
    ZygoteInit,
    ZygoteReady,
    from_zygote_decoder,
    zygote_encoder,
)

logger = logging.getLogger("overcast.runtime")

ExitCallback = Callable[[Exited], None]


class ZygoteClient:
    """One running zygote for one dependency set (``deps_dir`` None: no extra packages)."""

    def __init__(
        self,
        deps_dir: str | None,
        preload: list[str],
        on_exit: ExitCallback,
        start_timeout_s: float = 60.0,
    ) -> None:
        self.deps_dir = deps_dir
        self.preload = preload
        self.on_exit = on_exit
        self.start_timeout_s = start_timeout_s
        self.pid: int | None = None
        self.alive = False
        self._sock: socket.socket | None = None
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[ZygoteReady] | None = None
        self._spawns: dict[str, asyncio.Future[int]] = {}
        self._send_lock = asyncio.Lock()

    async def start(self) -> ZygoteReady:
        """Start the process and wait until it has imported what it preloads."""
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = dict(os.environ)
        env["OVERCAST_ZYGOTE_FD"] = str(theirs.fileno())
        try:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "overcast.runtime.zygote",
                pass_fds=(theirs.fileno(),),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self.pid = self._process.pid
        self.alive = True
        self._ready = loop.create_future()
        self._reader = asyncio.create_task(self._read_loop(), name=f"zygote-reader-{self.pid}")
        await self._send(ZygoteInit(self.deps_dir, self.preload), ())
        try:
            ready = await asyncio.wait_for(self._ready, self.start_timeout_s)
        except (TimeoutError, ZygoteError):
            await self.aclose()
            raise ZygoteError("the zygote did not become ready") from None
        for reason in ready.skipped:
            logger.info("zygote %s: not preloaded, left to instances: %s", self.pid, reason)
        return ready

    async def spawn(self, instance_id: str, spec: WorkerSpec, fds: tuple[int, int]) -> int:
        """Fork a worker with ``fds`` (its socket, its log pipe); return its pid."""
        if not self.alive:
            raise ZygoteError("the zygote is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._spawns[instance_id] = future
        try:
            await self._send(Spawn(instance_id, spec), fds)
            return await future
        finally:
            self._spawns.pop(instance_id, None)

    async def _send(self, message: object, fds: tuple[int, ...]) -> None:
        sock = self._sock
        if sock is None:
            raise ZygoteError("the zygote is not running")
        data = encode_frame(zygote_encoder.encode(message))
        loop = asyncio.get_running_loop()
        async with self._send_lock:
            sent = 0
            while True:
                try:
                    sent = socket.send_fds(sock, [data], list(fds)) if fds else sock.send(data)
                    break
                except BlockingIOError:
                    await _writable(loop, sock)
                except OSError as exc:
                    raise ZygoteError(f"lost the zygote: {exc}") from exc
            if sent < len(data):
                await loop.sock_sendall(sock, data[sent:])

    async def _read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        decoder = FrameDecoder()
        sock = self._sock
        if sock is None:
            return
        try:
            while True:
                try:
                    data = await loop.sock_recv(sock, 1 << 16)
                except OSError:
                    data = b""
                if not data:
                    break
                for frame in decoder.feed(data):
                    self._dispatch(from_zygote_decoder.decode(frame))
        finally:
            self.alive = False
            error = ZygoteError("the zygote exited")
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(error)
            for future in self._spawns.values():
                if not future.done():
                    future.set_exception(error)

    def _dispatch(self, message: object) -> None:
        if isinstance(message, Exited):
            self.on_exit(message)
        elif isinstance(message, Spawned):
            future = self._spawns.get(message.instance_id)
            if future is not None and not future.done():
                future.set_result(message.pid)
        elif isinstance(message, SpawnFailed):
            future = self._spawns.get(message.instance_id)
            if future is not None and not future.done():
                future.set_exception(ZygoteError(message.message))
        elif (
            isinstance(message, ZygoteReady) and self._ready is not None and not self._ready.done()
        ):
            self._ready.set_result(message)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Close the control socket (the zygote kills what is left and exits) and reap it."""
        self.alive = False
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        process = self._process
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


async def _writable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    future: asyncio.Future[None] = loop.create_future()

    def ready() -> None:
        if not future.done():
            future.set_result(None)

    loop.add_writer(sock.fileno(), ready)
    try:
        await future
    finally:
        loop.remove_writer(sock.fileno())
