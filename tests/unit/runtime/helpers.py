"""Helpers for runtime tests: write handler files and run a real Runtime briefly."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from overcast.invoke import InvokeRequest, InvokeResult
from overcast.runtime import FunctionConfig, Runtime, RuntimeConfig

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(_wrap(coro))


async def _wrap(coro: Awaitable[T]) -> T:
    return await coro


def write_code(directory: Path, source: str, name: str = "app.py") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(textwrap.dedent(source))
    return directory


def function(
    name: str, code_dir: Path, handler: str = "app.handler", **kwargs: Any
) -> FunctionConfig:
    return FunctionConfig(name=name, handler=handler, code_dir=str(code_dir), **kwargs)


@asynccontextmanager
async def started(
    tmp_path: Path, functions: list[FunctionConfig], **config: Any
) -> AsyncIterator[Runtime]:
    config.setdefault("reaper_interval_s", 0.05)
    runtime = Runtime(RuntimeConfig(state_dir=str(tmp_path / "state"), **config), functions)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.aclose()


async def call(runtime: Runtime, name: str, payload: bytes = b"{}", **kwargs: Any) -> InvokeResult:
    return await runtime.invoke(InvokeRequest(name, payload, **kwargs))


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
