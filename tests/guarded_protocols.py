"""The data and admin ports' guarded uvicorn protocols, driven by hand (no socket)."""

from __future__ import annotations

import asyncio
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from overcast.control.http_limits import ConnectionTally, HttpLimits
from overcast.control.http_server import GuardedH11Protocol, GuardedHttpToolsProtocol

GuardedProtocol = GuardedHttpToolsProtocol | GuardedH11Protocol


class Recorder(asyncio.Transport):
    """A transport that keeps what is written and how it was closed.

    ``strict``: a write after the close is an assertion error (the fuzz tests' rule).
    """

    def __init__(self, *, strict: bool = False) -> None:
        super().__init__()
        self.written = b""
        self.closed = False
        self.eof = False
        self.strict = strict

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("192.0.2.9", 5555), "sockname": ("127.0.0.1", 80)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        assert not (self.strict and self.closed), "written after the close"
        self.written += bytes(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def guarded_protocol(
    app: Any,
    kind: str,
    limits: HttpLimits,
    loop: asyncio.AbstractEventLoop,
    *,
    tally: ConnectionTally | None = None,
    log_level: str = "warning",
) -> GuardedProtocol:
    """``kind``'s guarded protocol (httptools: the data port, h11: the admin port) for ``app``."""
    config = uvicorn.Config(app, http=kind, lifespan="off", log_level=log_level)
    config.load()
    cls = GuardedHttpToolsProtocol if kind == "httptools" else GuardedH11Protocol
    return cls(
        config=config,
        server_state=ServerState(),
        app_state={},
        limits=limits,
        tally=tally or ConnectionTally(limits),
        _loop=loop,
    )
