"""Test helpers overcast ships for its users (and uses itself), in the spirit of structlog.testing.

Run real handlers in a real :class:`~overcast.runtime.Runtime` — forked instances,
Lambda context, START/END/REPORT logs — from a test, without HTTP:

    hello = function("hello", write_handler(tmp_path / "hello", SOURCE))
    async with running_runtime(tmp_path, [hello]) as rt:
        result = await invoke(rt, "hello", b'{"name": "x"}')
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from overcast.invoke import InvokeRequest, InvokeResult
from overcast.runtime import FunctionConfig, Runtime, RuntimeConfig
from overcast.runtime.sandbox import SandboxConfig, detected

__all__ = ["function", "invoke", "running_runtime", "sandbox_config", "write_handler"]


def write_handler(directory: Path, source: str, name: str = "app.py") -> Path:
    """Write handler source (dedented) into ``directory/name``; returns the code folder."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(textwrap.dedent(source))
    return directory


def function(
    name: str, code_dir: Path, handler: str = "app.handler", **settings: Any
) -> FunctionConfig:
    """A :class:`FunctionConfig` for code in ``code_dir``; ``settings`` as FunctionConfig takes."""
    return FunctionConfig(name=name, handler=handler, code_dir=str(code_dir), **settings)


def sandbox_config() -> SandboxConfig | None:
    """The sandbox this machine allows (as ``overcast up`` would use it), or None."""
    mode = detected().mode
    return SandboxConfig(mode) if mode is not None else None


@asynccontextmanager
async def running_runtime(
    state_dir: Path, functions: Sequence[FunctionConfig], **config: Any
) -> AsyncIterator[Runtime]:
    """A started runtime whose state lives under ``state_dir/state``; closed on exit.

    Instances run sandboxed wherever the machine allows it, as under ``overcast up``;
    pass ``sandbox=None`` to run them unisolated.
    """
    config.setdefault("sandbox", sandbox_config())
    runtime = Runtime(RuntimeConfig(state_dir=str(state_dir / "state"), **config), functions)
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.aclose()


async def invoke(
    runtime: Runtime, name: str, payload: bytes = b"{}", **options: Any
) -> InvokeResult:
    """Invoke ``name`` once; ``options`` as :class:`InvokeRequest` takes (e.g. want_log_tail)."""
    return await runtime.invoke(InvokeRequest(name, payload, **options))
