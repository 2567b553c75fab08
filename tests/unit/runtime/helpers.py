"""Helpers for runtime tests: write handler files and run a real Runtime briefly."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from overcast.runtime import FunctionConfig, Runtime
from overcast.testing import function, invoke, running_runtime, write_handler

__all__ = ["call", "eventually", "function", "run", "started", "write_code"]

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(_wrap(coro))


async def _wrap(coro: Awaitable[T]) -> T:
    return await coro


def write_code(directory: Path, source: str, name: str = "app.py") -> Path:
    return write_handler(directory, source, name)


@asynccontextmanager
async def started(
    tmp_path: Path, functions: list[FunctionConfig], **config: Any
) -> AsyncIterator[Runtime]:
    config.setdefault("reaper_interval_s", 0.05)  # scale-to-zero tests wait on the reaper
    async with running_runtime(tmp_path, functions, **config) as runtime:
        yield runtime


call = invoke


async def eventually(check: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


HELLO = """
    import os
    INITS = []
    INITS.append(os.getpid())

    def handler(event, context):
        return {"pid": os.getpid(), "inits": len(INITS), "event": event}
"""
