"""One instance on the platform side: its process, socket, log pipe and state.

The instance does no policy: the pool decides when to start, reuse or retire it; the
runtime decides what an outcome means for the caller. Here: send one ``Invoke``
frame, wait for one ``Done`` frame, or learn why the process is gone.

An invocation's outcome is handed to a plain callback, synchronously, from the
event that decides it (the ``Done`` frame, the timeout, the exit): the runtime
settles the instance there, whether or not its caller is still waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

from overcast.runtime.cgroups import Cgroups, InstanceGroup
from overcast.runtime.config import FunctionConfig
from overcast.runtime.errors import ProtocolError
from overcast.runtime.frames import FrameDecoder, encode_frame
from overcast.runtime.log_pipe import InstanceLog
from overcast.runtime.messages import (
    Done,
    Exited,
    InitFailed,
    Invoke,
    Ready,
    from_worker_decoder,
    zygote_encoder,
)
from overcast.runtime.state import LIVE_STATES, Event, State, next_state

#: How long to wait for the zygote's exit status after a worker's socket closed.
EXIT_STATUS_GRACE_S = 2.0


@dataclass(frozen=True, slots=True)
class Failure:
    """An invocation (or Init) that ended without a ``Done`` frame."""

    timed_out: bool = False
    exit_code: int | None = None
    signal: int | None = None
    oom: bool = False


Outcome = Done | Failure
InitOutcome = Ready | InitFailed | Failure
OutcomeCallback = Callable[[Outcome], None]


class WorkerProtocol(asyncio.Protocol):
    """Frames from the worker's socket, handed to the instance."""

    __slots__ = ("decoder", "instance", "transport")

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.decoder = FrameDecoder()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            frames = self.decoder.feed(data)
            for frame in frames:
                self.instance.on_message(from_worker_decoder.decode(frame))
        except (ProtocolError, ValueError):
            # A worker that garbles its socket is as good as dead.
            self.instance.kill()

    def connection_lost(self, exc: Exception | None) -> None:
        self.instance.on_socket_lost()


class Instance:
    """A worker process serving one function, one invocation at a time."""

    def __init__(
        self, instance_id: str, config: FunctionConfig, stream: str, marker: bytes, cgroups: Cgroups
    ) -> None:
        self.id = instance_id
        self.config = config
        self.stream = stream
        self.marker = marker
        self.cgroups = cgroups
        self.state = State.STARTING
        self.pid: int | None = None
        self.group: InstanceGroup | None = None
        self.log: InstanceLog | None = None
        self.protocol: WorkerProtocol | None = None
        self.init_duration_ms: float | None = None
        self.last_used = time.monotonic()
        self.invocations = 0
        self.exit: Exited | None = None
        self.killed = False
        self.timed_out = False
        self.oom = False
        self.socket_lost = False
        self.retire_after_use = False
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._init: asyncio.Future[InitOutcome] = loop.create_future()
        self._pending: OutcomeCallback | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._grace: asyncio.TimerHandle | None = None
        self.gone: asyncio.Future[None] = loop.create_future()

    # --- state -----------------------------------------------------------------------

    def apply(self, event: Event) -> State:
        self.state = next_state(self.state, event)
        return self.state

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    # --- operations ------------------------------------------------------------------

    async def wait_init(self, timeout_s: float) -> InitOutcome:
        """Ready, InitFailed, or a Failure (died or exceeded ``timeout_s`` during Init)."""
        self._timer = self._loop.call_later(timeout_s, self._on_timeout)
        try:
            return await self._init
        finally:
            self._cancel_timer()

    def invoke(self, message: Invoke, timeout_s: float, on_outcome: OutcomeCallback) -> None:
        """Send one invocation; ``on_outcome`` gets ``Done`` or a ``Failure``, exactly once.

        It is called synchronously: right here if the process is already gone, else
        from the event that ends the invocation.
        """
        protocol = self.protocol
        if (
            self.exit is not None
            or protocol is None
            or protocol.transport is None
            or self.socket_lost
        ):
            on_outcome(self._failure())
            return
        self._pending = on_outcome
        self.invocations += 1
        protocol.transport.write(encode_frame(zygote_encoder.encode(message)))
        self._timer = self._loop.call_later(timeout_s, self._on_timeout)

    def kill(self) -> None:
        """SIGKILL the whole instance: its cgroup, else its process group."""
        self.killed = True
        if self.group is not None:
            self.cgroups.kill(self.group)
        if self.pid is not None and self.exit is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.pid, signal.SIGKILL)

    def mark_oom(self) -> None:
        """The RSS watchdog found this instance over its MemorySize."""
        self.oom = True
        self.kill()

    # --- events ----------------------------------------------------------------------

    def on_message(self, message: object) -> None:
        if isinstance(message, Done):
            if not message.log_marked and self.log is not None:
                # The worker had nothing left in the pipe: its output ends here.
                self.log.end_of_output()
            self._cancel_timer()
            pending, self._pending = self._pending, None
            if pending is not None:
                pending(message)
        elif isinstance(message, Ready | InitFailed):
            self.init_duration_ms = message.init_duration_ms
            if not self._init.done():
                self._init.set_result(message)

    def on_socket_lost(self) -> None:
        self.socket_lost = True
        if self.exit is None:
            self._grace = self._loop.call_later(EXIT_STATUS_GRACE_S, self._give_up_on_status)
        else:
            self._resolve_failure()

    def on_exit(self, exited: Exited) -> None:
        self.exit = exited
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
        self._resolve_failure()
        if not self.gone.done():
            self.gone.set_result(None)

    def _give_up_on_status(self) -> None:
        # The zygote never told us (it died too): report the process as killed.
        self.on_exit(Exited(self.id, self.pid or 0, None, signal.SIGKILL))

    def _on_timeout(self) -> None:
        self._timer = None
        self.timed_out = True
        self.kill()
        self._resolve_failure()

    def _failure(self) -> Failure:
        exited = self.exit
        oom = self.oom
        if not oom and self.group is not None and not self.timed_out:
            oom = self.cgroups.oom_killed(self.group)
        return Failure(
            timed_out=self.timed_out,
            exit_code=exited.exit_code if exited else None,
            signal=exited.signal if exited else None,
            oom=oom,
        )

    def _resolve_failure(self) -> None:
        if not self.timed_out and self.exit is None:
            return
        self._cancel_timer()
        failure: Failure | None = None
        if not self._init.done():
            failure = self._failure()
            self._init.set_result(failure)
        pending, self._pending = self._pending, None
        if pending is not None:
            pending(failure or self._failure())

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close_transports(self) -> None:
        if self.protocol is not None and self.protocol.transport is not None:
            self.protocol.transport.close()
