"""overcast.testing: the helpers users get run a real handler in a real runtime."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import overcast.testing as testing
from overcast.testing import function, invoke, running_runtime, write_handler


def test_public_surface_is_what_the_docs_promise() -> None:
    assert sorted(testing.__all__) == [
        "function",
        "invoke",
        "running_runtime",
        "sandbox_config",
        "write_handler",
    ]


def test_a_handler_written_in_a_test_runs_in_a_forked_instance(tmp_path: Path) -> None:
    code = write_handler(
        tmp_path / "hello",
        """
        import os

        def handler(event, context):
            return {"name": event["name"], "pid": os.getpid(), "fn": context.function_name}
        """,
    )

    async def scenario() -> dict[str, object]:
        async with running_runtime(tmp_path, [function("hello", code)]) as runtime:
            result = await invoke(runtime, "hello", b'{"name": "x"}')
        assert result.function_error is None
        body: dict[str, object] = json.loads(result.payload)
        return body

    body = asyncio.run(scenario())
    assert body["name"] == "x"
    assert body["fn"] == "hello"
    assert body["pid"] != os.getpid()
