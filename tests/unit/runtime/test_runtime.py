"""A real Runtime with zygotes and worker processes (small handlers in tmp_path)."""

import asyncio
import json
import os
from pathlib import Path

import psutil
import pytest

from overcast.invoke import (
    FunctionNotFoundError,
    RequestTooLargeError,
    ServiceError,
    ThrottledError,
)
from overcast.runtime import Runtime, RuntimeConfig
from overcast.testing import sandbox_config

from .helpers import HELLO, call, eventually, function, run, started, write_code

pytestmark = pytest.mark.slow


def test_warm_instance_is_reused_and_initialised_once(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", HELLO)

    async def scenario() -> tuple[dict[str, int], dict[str, int]]:
        async with started(tmp_path, [function("hello", code)]) as runtime:
            first = json.loads((await call(runtime, "hello")).payload)
            second = json.loads((await call(runtime, "hello")).payload)
            return first, second

    first, second = run(scenario())
    assert first["pid"] == second["pid"]
    assert first["inits"] == second["inits"] == 1


def test_event_and_context_reach_the_handler(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        """
        import os
        def handler(event, context):
            return {
                "event": event,
                "request_id": context.aws_request_id,
                "name": context.function_name,
                "memory": context.memory_limit_in_mb,
                "arn": context.invoked_function_arn,
                "remaining": context.get_remaining_time_in_millis(),
                "env": {k: os.environ.get(k) for k in (
                    "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "_HANDLER", "LAMBDA_TASK_ROOT",
                    "TZ", "AWS_EXECUTION_ENV", "MY_VAR", "AWS_LAMBDA_LOG_GROUP_NAME")},
                "cwd": os.getcwd(),
            }
    """,
    )

    async def scenario() -> tuple[dict[str, object], str]:
        fn = function("ctx", code, memory_mb=256, environment={"MY_VAR": "x"})
        async with started(tmp_path, [fn]) as runtime:
            result = await call(runtime, "ctx", b'{"k": [1, 2]}')
            return json.loads(result.payload), result.request_id

    body, request_id = run(scenario())
    assert body["event"] == {"k": [1, 2]}
    assert body["request_id"] == request_id
    assert body["name"] == "ctx"
    assert body["memory"] == "256"
    assert body["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:ctx"
    assert 0 < body["remaining"] <= 3000  # type: ignore[operator]
    assert body["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "ctx",
        "AWS_REGION": "us-east-1",
        "_HANDLER": "app.handler",
        # Lambda's path inside a sandbox; the folder itself when instances run unisolated
        "LAMBDA_TASK_ROOT": "/var/task" if sandbox_config() else str(code),
        "TZ": ":UTC",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
        "MY_VAR": "x",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/ctx",
    }
    assert body["cwd"] == ("/var/task" if sandbox_config() else str(code))


def test_init_duration_is_reported_only_on_the_cold_invocation(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", HELLO)

    async def scenario() -> list[str]:
        async with started(tmp_path, [function("hello", code)]) as runtime:
            cold = await call(runtime, "hello", want_log_tail=True)
            warm = await call(runtime, "hello", want_log_tail=True)
            return [cold.log_tail.decode(), warm.log_tail.decode()]

    cold, warm = run(scenario())
    assert cold.startswith("START RequestId: ")
    assert "\tInit Duration: " in cold
    assert "REPORT RequestId: " in warm
    assert "Init Duration" not in warm


def test_logs_are_stored_with_start_output_end_report(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        """
        import logging
        logging.getLogger().setLevel(logging.INFO)
        def handler(event, context):
            print("printed")
            logging.info("logged")
            return 1
    """,
    )

    async def scenario() -> tuple[list[str], str]:
        async with started(tmp_path, [function("hello", code)]) as runtime:
            result = await call(runtime, "hello")
            store = runtime.logs
        return [event.message for event in store.read("hello")], result.request_id

    lines, request_id = run(scenario())
    assert lines[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert lines[1] == "printed"
    assert lines[2].startswith("[INFO]\t")
    assert lines[2].endswith(f"\t{request_id}\tlogged")
    assert lines[3] == f"END RequestId: {request_id}"
    assert lines[4].startswith(f"REPORT RequestId: {request_id}\tDuration: ")


def test_over_reserved_concurrency_is_throttled_at_once(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        """
        import time
        def handler(event, context):
            time.sleep(0.5)
            return "slow"
    """,
    )

    async def scenario() -> list[object]:
        async with started(tmp_path, [function("slow", code, reserved_concurrency=1)]) as runtime:
            return await asyncio.gather(
                call(runtime, "slow"), call(runtime, "slow"), return_exceptions=True
            )

    results = run(scenario())
    throttled = [r for r in results if isinstance(r, ThrottledError)]
    assert len(throttled) == 1
    assert throttled[0].reason == "ReservedFunctionConcurrentInvocationLimitExceeded"


def test_node_concurrency_limit_throttles_too(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", "import time\ndef handler(e, c):\n    time.sleep(0.5)\n")

    async def scenario() -> list[object]:
        fns = [function("a", code), function("b", code)]
        async with started(tmp_path, fns, node_concurrency=1) as runtime:
            return await asyncio.gather(
                call(runtime, "a"), call(runtime, "b"), return_exceptions=True
            )

    results = run(scenario())
    assert sum(isinstance(r, ThrottledError) for r in results) == 1


def test_idle_instances_scale_to_zero_after_keepalive(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", HELLO)

    async def scenario() -> tuple[int, bool, int]:
        async with started(tmp_path, [function("hello", code)], idle_keepalive_s=0.2) as runtime:
            await call(runtime, "hello")
            pid = runtime.instance_pids("hello")[0]
            gone = await eventually(lambda: runtime.instance_count("hello") == 0)
            return pid, gone, runtime.instance_count("hello")

    pid, gone, count = run(scenario())
    assert gone
    assert count == 0
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_provisioned_instances_are_ready_after_start_and_kept(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", HELLO)

    async def scenario() -> tuple[int, int, bool]:
        fn = function("hello", code, provisioned_concurrency=2)
        async with started(tmp_path, [fn], idle_keepalive_s=0.1) as runtime:
            at_start = runtime.instance_count("hello")
            result = await call(runtime, "hello", want_log_tail=True)
            await eventually(lambda: False, timeout_s=0.4)
            return at_start, runtime.instance_count("hello"), b"Init Duration" in result.log_tail

    at_start, later, init_reported = run(scenario())
    assert at_start == 2
    assert later == 2
    assert not init_reported


def test_hot_reload_runs_new_code_on_new_instances(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", "def handler(e, c):\n    return 'one'\n")

    async def scenario() -> tuple[bytes, bytes]:
        async with started(
            tmp_path, [function("hello", code)], watch_code=True, watch_interval_s=0.05
        ) as runtime:
            before = (await call(runtime, "hello")).payload
            write_code(code, "def handler(e, c):\n    return 'two, longer'\n")
            await eventually(lambda: runtime.instance_count("hello") == 0)
            after = (await call(runtime, "hello")).payload
            return before, after

    assert run(scenario()) == (b'"one"', b'"two, longer"')


def test_import_error_has_aws_shape(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", "import not_a_module_xyz\ndef handler(e, c):\n    pass\n")

    async def scenario() -> tuple[dict[str, object], str | None]:
        async with started(tmp_path, [function("bad", code)]) as runtime:
            result = await call(runtime, "bad")
            return json.loads(result.payload), result.function_error

    body, function_error = run(scenario())
    assert function_error == "Unhandled"
    assert body == {
        "errorMessage": "Unable to import module 'app': No module named 'not_a_module_xyz'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }


def test_missing_handler_function_has_aws_shape(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", "x = 1\n")

    async def scenario() -> dict[str, object]:
        async with started(tmp_path, [function("bad", code, handler="app.nope")]) as runtime:
            return json.loads((await call(runtime, "bad")).payload)

    body = run(scenario())
    assert body["errorType"] == "Runtime.HandlerNotFound"
    assert body["errorMessage"] == "Handler 'nope' missing on module 'app'"


def test_unserializable_result_is_a_marshal_error(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", "def handler(e, c):\n    return {1, 2}\n")

    async def scenario() -> dict[str, object]:
        async with started(tmp_path, [function("bad", code)]) as runtime:
            return json.loads((await call(runtime, "bad")).payload)

    body = run(scenario())
    assert body["errorType"] == "Runtime.MarshalError"
    assert str(body["errorMessage"]).startswith("Unable to marshal response: ")


def test_refusals_before_running(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", HELLO)

    async def scenario() -> list[type[Exception]]:
        raised = []
        async with started(tmp_path, [function("hello", code)]) as runtime:
            for name, payload in (("nobody", b"{}"), ("hello", b" " * (6 * 1024 * 1024 + 1))):
                try:
                    await call(runtime, name, payload)
                except Exception as exc:
                    raised.append(type(exc))
        try:
            await call(runtime, "hello")
        except ServiceError:
            raised.append(ServiceError)
        return raised

    assert run(scenario()) == [FunctionNotFoundError, RequestTooLargeError, ServiceError]


def test_aclose_leaves_no_worker_or_zygote_behind(tmp_path: Path) -> None:
    code = write_code(tmp_path / "code", HELLO)

    async def scenario() -> list[int]:
        runtime = Runtime(
            RuntimeConfig(state_dir=str(tmp_path / "s")),
            [function("a", code, provisioned_concurrency=2), function("b", code)],
        )
        await runtime.start()
        await call(runtime, "b")
        before = {p.pid for p in psutil.Process(os.getpid()).children(recursive=True)}
        pids = runtime.all_pids()
        await runtime.aclose()
        return sorted(before | set(pids))

    pids = run(scenario())
    assert len(pids) >= 4  # a zygote and three workers at least
    survivors = [
        p
        for p in pids
        if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
    ]
    assert survivors == []


def test_a_cancelled_wait_leaves_the_invocation_to_run_and_settle(tmp_path: Path) -> None:
    code = write_code(
        tmp_path / "code",
        """
        import time
        def handler(event, context):
            time.sleep(event["sleep"])
            print("finished", event["sleep"])
            return event["sleep"]
    """,
    )

    async def scenario() -> tuple[bool, list[str], bytes, list[str]]:
        async with started(tmp_path, [function("slow", code)]) as runtime:
            assert runtime.cancel_safe
            cold = asyncio.ensure_future(call(runtime, "slow", b'{"sleep": 0.2}'))
            await asyncio.sleep(0.05)
            cold.cancel()  # during the cold start
            assert await eventually(lambda: len(runtime._pools["slow"].idle) == 1)
            warm = asyncio.ensure_future(call(runtime, "slow", b'{"sleep": 0.2}'))
            await asyncio.sleep(0.05)
            warm.cancel()  # while the handler runs
            assert await eventually(lambda: len(runtime._pools["slow"].idle) == 1)
            after = await call(runtime, "slow", b'{"sleep": 0}', want_log_tail=True)
            pids = runtime.instance_pids("slow")
            store = runtime.logs
        lines = [event.message for event in store.read("slow")]
        return cold.cancelled() and warm.cancelled(), lines, after.payload, [str(p) for p in pids]

    both_cancelled, lines, payload, pids = run(scenario())
    assert both_cancelled
    assert payload == b"0"
    assert len(pids) == 1
    kinds = [line.split(" ")[0] for line in lines]
    assert kinds == ["START", "finished", "END", "REPORT"] * 3
