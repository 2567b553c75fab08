"""The data and admin ports' HTTP servers: uvicorn's, with :mod:`http_limits` enforced.

Uvicorn parses (httptools on the data port, h11 on the admin port) and runs the ASGI
app; it has no deadline on a request head nor a size limit on httptools' headers, and
its ``limit_concurrency`` only acts once a head is complete. So each protocol class
is subclassed minimally: the subclass counts a connection in or refuses it
(:class:`~overcast.control.http_limits.ConnectionTally`) when it opens, meters the
head's bytes before the parser sees them, follows the request through the parser's
request state (httptools) or h11's state into a
:class:`~overcast.control.http_limits.RequestClock`, and keeps one timer for it.
A refused connection is answered, half-closed, and drained for at most
:data:`~overcast.control.http_limits.LINGER_S` so the client reads the answer
instead of a reset; a refused connection never reaches the app.

:class:`GuardedServer` replaces ``uvicorn.Server.startup`` (which offers no way to pass
the protocols their limits, nor a TLS handshake timeout); everything else, shutdown
included, is uvicorn's. :data:`UVICORN_HOOKS` names every uvicorn attribute relied
on; :func:`check_uvicorn` (run at import and by the tests) fails loudly when an
upgrade moves one.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from overcast.control.http_limits import (
    LINGER_S,
    Admission,
    ConnectionTally,
    Expiry,
    HttpLimits,
    Phase,
    Refusal,
    RequestClock,
)
from overcast.errors import OvercastError

logger = logging.getLogger("overcast.control.http_server")


class UvicornChangedError(OvercastError):
    """The installed uvicorn lacks a hook the guarded protocols rely on."""


#: (class, attribute) pairs the subclasses below call or override
UVICORN_HOOKS: tuple[tuple[type, str], ...] = (
    *(
        (cls, name)
        for cls in (HttpToolsProtocol, H11Protocol)
        for name in (
            "connection_made",
            "connection_lost",
            "data_received",
            "shutdown",
        )
    ),
    (uvicorn.Server, "startup"),
    (uvicorn.Server, "shutdown"),
    (uvicorn.Server, "main_loop"),
)
#: per-request state of uvicorn's that the subclasses read (checked by the tests)
UVICORN_CYCLE_STATE = ("more_body", "response_started", "response_complete", "disconnected")


def check_uvicorn() -> None:
    """Raise :class:`UvicornChangedError` if the installed uvicorn moved a hook."""
    missing = [f"{cls.__name__}.{name}" for cls, name in UVICORN_HOOKS if not hasattr(cls, name)]
    if missing:
        raise UvicornChangedError(
            f"uvicorn {uvicorn.__version__} lacks {', '.join(missing)}, which overcast's "
            "request limits hook into",
            hint="install the uvicorn version pyproject.toml names",
        )


check_uvicorn()


class _Guard(asyncio.Protocol):
    """What both guarded protocols add to uvicorn's (a mixin before its protocol class).

    Kept off the hot path: a kept-alive request whose head and body come in one read
    costs a length check, one clock read and a look at uvicorn's request state.
    """

    # Set by uvicorn's protocol __init__/connection_made; declared for the type checker.
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    client: tuple[str, int] | None
    cycle: Any

    def _guard_init(self, limits: HttpLimits, tally: ConnectionTally) -> None:
        self._limits = limits
        self._tally = tally
        self._clock = RequestClock(limits, self.loop.time())
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._admission = Admission.ADMIT
        self._peer = ""
        #: answered on our own: what the client still sends is read and dropped
        self._lingering = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._peer = self.client[0] if self.client else ""
        self._admission, refusal = self._tally.admit(self._peer)
        if self._admission is Admission.ADMIT:
            self._arm()
        elif refusal is not None:
            self._refuse(refusal, linger=self._admission is Admission.REFUSE)

    def connection_lost(self, exc: Exception | None) -> None:
        try:
            super().connection_lost(exc)
        finally:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._tally.leave(self._peer, self._admission)
            # Counted out once only, however often asyncio reports the loss.
            self._admission = Admission.DROP

    def data_received(self, data: bytes) -> None:
        if self._lingering:
            return
        clock = self._clock
        if clock.phase is not Phase.BODY:
            if len(data) > clock.head_room():
                self._metered(data)
                return
            clock.receiving_head(len(data), self.loop.time())
        self._feed(data)
        if clock.deadline is not None and not self._lingering:
            self._arm()

    def shutdown(self) -> None:
        if self._lingering:
            self.transport.close()
        else:
            super().shutdown()  # type: ignore[misc]

    def _feed(self, data: bytes) -> None:
        """Hand ``data`` to uvicorn's parser and follow the request's phase."""
        raise NotImplementedError

    def _metered(self, data: bytes) -> None:
        """Feed ``data`` never more than the head's room at a time while a head is
        being received: a head that does not end within its room is answered 431."""
        clock = self._clock
        while data:
            if self._lingering or self.transport.is_closing():
                return
            if clock.phase is Phase.BODY:
                self._feed(data)
                break
            room = clock.head_room()
            if room <= 0:
                # (Never an empty read for the parser: to h11 that means the peer closed.)
                self._refuse(self._limits.head_too_large())
                return
            clock.receiving_head(min(len(data), room), self.loop.time())
            if len(data) <= room:
                self._feed(data)
                break
            part, data = data[:room], data[room:]
            head = clock.heads
            self._feed(part)
            # Still the same head after all its room: too large. (A pipelined request
            # that began within ``part`` is a new head, metered from here on.)
            if clock.phase is Phase.HEAD and clock.heads == head and not self._lingering:
                self._refuse(self._limits.head_too_large())
                return
        if not self._lingering:
            self._arm()

    def _refuse(self, refusal: Refusal, *, linger: bool = True) -> None:
        """Answer ``refusal`` in place of the app, then close (after a bounded drain)."""
        self._lingering = True
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            # The app's task, if one runs, now reads a disconnect and its answer is dropped.
            cycle.disconnected = True
            cycle.message_event.set()
        transport = self.transport
        if transport.is_closing():
            return
        transport.write(refusal.render())
        if linger and transport.can_write_eof():
            transport.write_eof()
            transport.resume_reading()
            self._clock.deadline = self.loop.time() + LINGER_S
            self._arm()
        else:
            transport.close()

    def _arm(self) -> None:
        """Make sure a timer fires no later than the clock's deadline."""
        deadline = self._clock.deadline
        if deadline is None:
            return
        if self._timer is not None:
            if self._timer_at <= deadline:
                return
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self.loop.call_at(deadline, self._deadline_passed)

    def _deadline_passed(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        now = self.loop.time()
        if self._lingering:
            if self._clock.deadline is not None and now < self._clock.deadline:
                self._arm()
            else:
                self.transport.close()
            return
        expiry = self._clock.expired(now)
        if expiry is None:
            self._arm()
        elif expiry is Expiry.CLOSE:
            self.transport.close()
        elif expiry is Expiry.HEAD:
            self._refuse(self._limits.head_timeout())
        elif self.cycle is not None and self.cycle.response_started:
            # The app answered without the rest of the body: nothing left to say.
            self.transport.close()
        else:
            self._refuse(self._limits.body_timeout())


class GuardedHttpToolsProtocol(_Guard, HttpToolsProtocol):
    """uvicorn's httptools protocol (the data port) under :class:`HttpLimits`.

    The request's phase is read from uvicorn's request state after each read: a new
    ``cycle`` means a head was parsed, its ``more_body`` that the body is still due.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: Any,
        app_state: dict[str, Any],
        limits: HttpLimits,
        tally: ConnectionTally,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard_init(limits, tally)

    def _feed(self, data: bytes) -> None:
        before = self.cycle
        HttpToolsProtocol.data_received(self, data)
        cycle = self.cycle
        clock = self._clock
        if cycle is not before:
            if cycle.more_body:
                clock.head_ended(self.loop.time())
            else:
                clock.body_ended()
        elif clock.phase is Phase.BODY and not cycle.more_body:
            clock.body_ended()


class GuardedH11Protocol(_Guard, H11Protocol):
    """uvicorn's h11 protocol (the admin port) under :class:`HttpLimits`.

    The request's phase is read from h11's state after each read (``their_state``:
    IDLE while the head comes, SEND_BODY, then DONE).
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: Any,
        app_state: dict[str, Any],
        limits: HttpLimits,
        tally: ConnectionTally,
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard_init(limits, tally)

    def _feed(self, data: bytes) -> None:
        H11Protocol.data_received(self, data)
        clock = self._clock
        state = self.conn.their_state
        if state is h11.SEND_BODY:
            if clock.phase is not Phase.BODY:
                clock.head_ended(self.loop.time())
        elif state is not h11.IDLE and clock.phase is not Phase.IDLE:
            clock.body_ended()


_PROTOCOLS: dict[str, type[GuardedHttpToolsProtocol] | type[GuardedH11Protocol]] = {
    "httptools": GuardedHttpToolsProtocol,
    "h11": GuardedH11Protocol,
}


class GuardedServer(uvicorn.Server):
    """A uvicorn server whose connections are held to ``limits``, optionally over TLS."""

    def __init__(
        self, config: uvicorn.Config, limits: HttpLimits, tls: ssl.SSLContext | None
    ) -> None:
        super().__init__(config)
        self.limits = limits
        self.tls = tls
        #: each listening socket's connection tally (one port, one tally)
        self.tallies: list[ConnectionTally] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start serving on ``sockets`` (uvicorn's startup, with our protocol factory)."""
        if not sockets:
            raise ValueError("a GuardedServer serves the sockets it is given")
        await self.lifespan.startup()
        config = self.config
        protocol = _PROTOCOLS[str(config.http)]
        loop = asyncio.get_running_loop()
        self.servers = []
        for sock in sockets:
            tally = ConnectionTally(self.limits)
            self.tallies.append(tally)

            def create_protocol(tally: ConnectionTally = tally) -> asyncio.Protocol:
                return protocol(
                    config=config,
                    server_state=self.server_state,
                    app_state=self.lifespan.state,
                    limits=self.limits,
                    tally=tally,
                )

            server = await loop.create_server(
                create_protocol,
                sock=sock,
                ssl=self.tls,
                backlog=config.backlog,
                # A handshake that never ends holds a descriptor no tally sees yet.
                ssl_handshake_timeout=self.limits.header_timeout_s if self.tls else None,
            )
            self.servers.append(server)
        self.started = True


def http_server(
    app: object,
    graceful_timeout_s: float,
    limits: HttpLimits,
    *,
    http: str = "httptools",
    tls: ssl.SSLContext | None = None,
) -> GuardedServer:
    """A server for ``app`` (started by ``startup(sockets=[...])``, driven by the caller)."""
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        loop="none",
        http=http,
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=int(graceful_timeout_s),
        server_header=False,
        # overcast is the edge: no proxy in front sets X-Forwarded-*, and uvicorn's
        # middleware would trust any local client's headers and cost every request.
        proxy_headers=False,
        # h11's own cap on a head, kept above ours so that ours answers first (431).
        h11_max_incomplete_event_size=limits.max_header_bytes * 2,
    )
    config.load()
    server = GuardedServer(config, limits, tls)
    # Server.serve() would set this; the callers drive startup/main_loop/shutdown
    # themselves so that several servers share one loop and one signal handler.
    server.lifespan = config.lifespan_class(config)
    return server
