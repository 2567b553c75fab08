"""`overcast up`, `overcast invoke` and `overcast logs` as a user runs them."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {timeout} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def hello(module_running_app, hello_dir: Path):
    return module_running_app(hello_dir)


@pytest.fixture(scope="module")
def basics(module_running_app, basics_dir: Path):
    return module_running_app(basics_dir)


# --- examples/hello -------------------------------------------------------------


def test_up_prints_the_routes_it_serves(hello) -> None:
    printed = hello.stdout() + hello.stderr()
    assert "/hello" in printed
    assert "HelloWorldFunction" in printed
    assert "GET" in printed


def test_hello_answers_json(hello) -> None:
    response = httpx.get(f"{hello.base_url}/hello", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert isinstance(response.json(), dict)


def test_hello_name_is_echoed(hello) -> None:
    response = httpx.get(f"{hello.base_url}/hello/overcast-tester", timeout=30)
    assert response.status_code == 200
    assert "overcast-tester" in response.text


def test_unknown_path_is_api_gateway_404(hello) -> None:
    response = httpx.get(f"{hello.base_url}/definitely/not/a/route", timeout=30)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_health_answers_on_the_admin_port(hello) -> None:
    assert httpx.get(f"{hello.admin_url}/health", timeout=5).status_code == 200


# --- warm instances, logs and the CLI on a small app -----------------------------------


def test_second_request_is_served_by_the_warm_instance(basics) -> None:
    with basics.client() as client:
        first = client.get("/pid").json()
        second = client.get("/pid").json()
    assert second["pid"] == first["pid"]
    assert second["calls"] == first["calls"] + 1


def test_invoke_cli_uses_the_running_node(basics) -> None:
    done = basics.cli(
        "invoke", "EchoFunction", "--event", "-", "--app", str(basics.app_dir), input=b'{"k": 1}'
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {"echo": {"k": 1}, "function_name": "EchoFunction"}
    stderr = done.stderr.decode()
    assert "echo-log-line to stdout" in stderr
    assert "START RequestId: " in stderr


def test_logs_cli_shows_start_end_report(basics) -> None:
    with basics.client() as client:
        assert client.get("/pid").status_code == 200
    done = basics.cli("logs", "PidFunction", "--app", str(basics.app_dir))
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode()
    assert "START RequestId: " in out
    assert "Version: $LATEST" in out
    assert "END RequestId: " in out
    assert "REPORT RequestId: " in out
    assert "Billed Duration: " in out
    assert "Max Memory Used: " in out


def test_logs_follow_prints_new_invocations(basics) -> None:
    follower = basics.cli_popen(
        "logs",
        "SlowFunction",
        "--app",
        str(basics.app_dir),
        "--follow",
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    lines: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        assert follower.stdout is not None
        for line in follower.stdout:
            lines.put(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        with basics.client() as client:
            assert client.get("/slow", params={"seconds": "0"}).status_code == 200
        seen: list[bytes] = []
        deadline = time.monotonic() + 15
        while not any(b"REPORT RequestId: " in line for line in seen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"--follow printed no REPORT line; got {seen!r}")
            try:
                seen.append(lines.get(timeout=remaining))
            except queue.Empty:
                continue
    finally:
        follower.terminate()
        follower.wait(timeout=10)
        reader.join(timeout=5)
        if follower.stdout is not None:
            follower.stdout.close()


def test_invoke_cli_without_a_running_node(basics_dir: Path, app_copy, overcast_cli) -> None:
    app_dir = app_copy(basics_dir)
    done = overcast_cli(
        "invoke", "EchoFunction", "--event", "-", "--app", str(app_dir), cwd=app_dir, input=b"[1]"
    )
    assert done.returncode == 0, done.stderr.decode()
    # stdout carries only the result, so it can be piped into jq
    assert json.loads(done.stdout) == {"echo": [1], "function_name": "EchoFunction"}
    stderr = done.stderr.decode()
    assert "echo-log-line to stdout" in stderr
    assert "echo-log-line to stderr" in stderr
    assert "START RequestId: " in stderr
    assert "END RequestId: " in stderr
    assert "REPORT RequestId: " in stderr


def test_invoke_cli_event_file(basics_dir: Path, app_copy, overcast_cli, tmp_path: Path) -> None:
    app_dir = app_copy(basics_dir)
    event = tmp_path / "event.json"
    event.write_text('{"from": "file"}')
    done = overcast_cli(
        "invoke", "EchoFunction", "--event", str(event), "--app", str(app_dir), cwd=app_dir
    )
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["echo"] == {"from": "file"}


def test_invoke_cli_unknown_function_fails_naming_it(
    basics_dir: Path, app_copy, overcast_cli
) -> None:
    app_dir = app_copy(basics_dir)
    done = overcast_cli("invoke", "NoSuchFunction", "--app", str(app_dir), cwd=app_dir)
    assert done.returncode != 0
    assert done.stdout == b""
    assert "NoSuchFunction" in done.stderr.decode()


# --- shutdown ----------------------------------------------------------------------------


def test_sigint_lets_an_in_flight_request_finish(running_app, basics_dir: Path, tmp_path) -> None:
    app = running_app(basics_dir)
    marker = uuid.uuid4().hex
    result: dict[str, httpx.Response | BaseException] = {}

    def call() -> None:
        try:
            result["response"] = httpx.get(
                f"{app.base_url}/slow",
                params={"seconds": "2", "marker": marker},
                timeout=30,
            )
        except BaseException as exc:
            result["error"] = exc

    def in_flight() -> bool:
        logs = LogStore(str(app.state_dir)).read("SlowFunction")
        return any(f"in flight {marker}" in event.message for event in logs)

    caller = threading.Thread(target=call)
    caller.start()
    _wait_for(in_flight, 20, "the slow invocation to start")
    code = app.stop(signal.SIGINT)
    caller.join(timeout=30)
    assert "error" not in result, f"in-flight request failed: {result.get('error')!r}"
    response = result["response"]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 200
    assert response.json() == {"slept": 2.0}
    assert code in (0, 130), app.output()


def test_sigterm_also_shuts_down_cleanly(running_app, basics_dir: Path) -> None:
    app = running_app(basics_dir)
    with app.client() as client:
        assert client.get("/pid").status_code == 200
    code = app.stop(signal.SIGTERM)
    assert code in (0, 130, 143), app.output()


# --- parameters and code changes ---------------------------------------------------------


def test_parameter_overrides_reach_the_function_environment(running_app, basics_dir: Path) -> None:
    app = running_app(basics_dir, parameter_overrides=["Greeting=bonjour"])
    with app.client() as client:
        assert client.get("/pid").json()["greeting"] == "bonjour"


def test_template_parameter_default_applies_without_overrides(basics) -> None:
    with basics.client() as client:
        assert client.get("/pid").json()["greeting"] == "hello"


def test_code_change_is_served_without_restarting(running_app, basics_dir: Path) -> None:
    app = running_app(basics_dir)
    with app.client() as client:
        assert "edited" not in client.get("/pid").json()
        handler = app.app_dir / "src" / "app.py"
        source = handler.read_text()
        handler.write_text(source.replace('"calls": _calls,', '"calls": _calls, "edited": True,'))
        deadline = time.monotonic() + 15
        while not client.get("/pid").json().get("edited"):
            if time.monotonic() > deadline:
                pytest.fail("the edited handler was not served within 15 s\n" + app.output())
            time.sleep(0.2)
