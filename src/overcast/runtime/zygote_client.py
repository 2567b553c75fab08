"""Platform side of one zygote: start it, ask it to fork instances, hear about exits.

A zygote starts either directly (``python -m overcast.runtime.zygote``) or, when a
:class:`~overcast.runtime.sandbox.SandboxPlan` is given, through the sandbox launcher;
either way it gets an environment built for it, never the platform's (which holds
the master key and the root token). A sandboxed zygote answers ``Spawned`` with a
pidfd of the new worker, read here to learn the worker's pid as this process sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import socket
import sys
from collections import deque
from collections.abc import Callable

from overcast.runtime import linux
from overcast.runtime.errors import ZygoteError
from overcast.runtime.frames import FrameDecoder, encode_frame
from overcast.runtime.messages import (
    Exited,
    Spawn,
    Spawned,
    SpawnFailed,
    WorkerSpec,
    ZygoteFailed,
    ZygoteInit,
    ZygoteReady,
    from_zygote_decoder,
    zygote_encoder,
)
from overcast.runtime.sandbox import SandboxPlan

logger = logging.getLogger("overcast.runtime")

#: util-linux's unshare(1), when the machine has it (every Linux distribution ships it)
_UNSHARE = shutil.which("unshare")

ExitCallback = Callable[[Exited], None]


class ZygoteClient:
    """One running zygote for one dependency set (``deps_dir`` None: no extra packages)."""

    def __init__(
        self,
        deps_dir: str | None,
        preload: list[str],
        on_exit: ExitCallback,
        start_timeout_s: float = 60.0,
        sandbox: SandboxPlan | None = None,
    ) -> None:
        self.deps_dir = deps_dir
        self.preload = preload
        self.on_exit = on_exit
        self.start_timeout_s = start_timeout_s
        self.sandbox = sandbox
        self.pid: int | None = None
        self.alive = False
        #: the sandbox's relayed ports, listening inside it (``sandbox.relay_targets`` order)
        self.listeners: list[socket.socket] = []
        self._fds: deque[int] = deque()
        #: why the zygote said it could not start (ZygoteFailed), if it did
        self._failure: str | None = None
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
        env = {"PATH": os.defpath, "LANG": "C.UTF-8", "OVERCAST_ZYGOTE_FD": str(theirs.fileno())}
        pass_fds = [theirs.fileno()]
        launch_file = None
        if self.sandbox is not None:
            launch_file = os.fdopen(os.memfd_create("overcast-launch", 0), "w+b")
            launch_file.write(zygote_encoder.encode(self.sandbox.launch))
            launch_file.seek(0)
            env["OVERCAST_LAUNCH_FD"] = str(launch_file.fileno())
            pass_fds.append(launch_file.fileno())
            argv = [sys.executable, "-m", "overcast.runtime.sandbox_launch"]
            if _UNSHARE is not None:
                # The PID namespace's fork done by a small C process that then only waits
                # (and kills the zygote if it dies), rather than by a second interpreter.
                rootless = self.sandbox.launch.map_uid is not None
                argv = [
                    _UNSHARE,
                    "--pid",
                    "--fork",
                    "--kill-child",
                    *(["--map-root-user"] if rootless else []),
                    *argv,
                ]
        else:
            argv = [sys.executable, "-m", "overcast.runtime.zygote"]
        try:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                pass_fds=pass_fds,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
            )
        finally:
            theirs.close()
            if launch_file is not None:
                launch_file.close()
        ours.setblocking(False)
        self._sock = ours
        self.pid = self._process.pid
        self.alive = True
        self._ready = loop.create_future()
        self._reader = asyncio.create_task(self._read_loop(), name=f"zygote-reader-{self.pid}")
        seal = self.sandbox.seal if self.sandbox is not None else None
        await self._send(ZygoteInit(self.deps_dir, self.preload, seal), ())
        try:
            ready = await asyncio.wait_for(self._ready, self.start_timeout_s)
        except TimeoutError:
            await self.aclose()
            raise ZygoteError("the zygote did not become ready") from None
        except ZygoteError:
            await self.aclose()
            raise
        for reason in ready.skipped:
            logger.info("zygote %s: not preloaded, left to instances: %s", self.pid, reason)
        return ready

    async def spawn(
        self, instance_id: str, spec: WorkerSpec, fds: tuple[int, int], cgroups: tuple[int, ...]
    ) -> int:
        """Fork a worker with ``fds`` (its socket, its log pipe) and the cgroup.procs
        descriptors it joins; return its pid as this process sees it."""
        if not self.alive:
            raise ZygoteError("the zygote is not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._spawns[instance_id] = future
        try:
            await self._send(Spawn(instance_id, spec, len(cgroups)), fds + cgroups)
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
                    data, fds = await _receive(loop, sock)
                except OSError:
                    data = b""
                if not data:
                    break
                self._fds.extend(fds)
                for frame in decoder.feed(data):
                    self._dispatch(from_zygote_decoder.decode(frame))
        finally:
            self.alive = False
            error = ZygoteError(self._failure or "the zygote exited")
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(error)
            for future in self._spawns.values():
                if not future.done():
                    future.set_exception(error)
            while self._fds:
                os.close(self._fds.popleft())

    def _take_fds(self, count: int) -> list[int]:
        return [self._fds.popleft() for _ in range(min(count, len(self._fds)))]

    def _dispatch(self, message: object) -> None:
        if isinstance(message, Exited):
            self.on_exit(message)
        elif isinstance(message, Spawned):
            pid = message.pid
            if message.pidfd:
                for pidfd in self._take_fds(1):
                    try:
                        pid = linux.pidfd_host_pid(pidfd)
                    except OSError:
                        pid = 0  # already gone: its Exited follows
                    finally:
                        os.close(pidfd)
            future = self._spawns.get(message.instance_id)
            if future is not None and not future.done():
                future.set_result(pid)
        elif isinstance(message, SpawnFailed):
            future = self._spawns.get(message.instance_id)
            if future is not None and not future.done():
                future.set_exception(ZygoteError(message.message))
        elif isinstance(message, ZygoteFailed):
            self._failure = message.message
        elif isinstance(message, ZygoteReady):
            self.listeners = [socket.socket(fileno=fd) for fd in self._take_fds(message.listeners)]
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message)

    async def aclose(self, timeout_s: float = 5.0) -> None:
        """Close the control socket (the zygote kills what is left and exits) and reap it."""
        self.alive = False
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for listener in self.listeners:
            listener.close()
        self.listeners = []
        process = self._process
        if process is not None and process.returncode is None:
            try:
                await asyncio.wait_for(process.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()


async def _receive(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> tuple[bytes, list[int]]:
    """The next bytes on ``sock`` and the descriptors that came with them."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 16)
            return data, fds
        except BlockingIOError:
            pass
        readable: asyncio.Future[None] = loop.create_future()
        fd = sock.fileno()
        loop.add_reader(fd, _set_done, readable)
        try:
            await readable
        finally:
            loop.remove_reader(fd)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
