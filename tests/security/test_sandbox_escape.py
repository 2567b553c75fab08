"""Malicious handlers against the sandbox, one wall at a time (runtime level, no HTTP).

Each attack runs in a real sandboxed instance and reports what it got; each test checks
the exact errno or result the wall should give, and that the platform's own files,
processes and environment stay out of reach. Skipped where this machine cannot build a
sandbox (the suite then says so once).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from overcast.runtime.sandbox import SandboxConfig, SandboxMode, parse_endpoint
from overcast.testing import function, invoke, running_runtime, sandbox_config, write_handler

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_config() is None, reason="this machine cannot build a sandbox"),
]

ATTACKS = r"""
import ctypes, errno, json, os, signal, socket, sys

libc = ctypes.CDLL(None, use_errno=True)

def _errno(call):
    try:
        call()
    except OSError as exc:
        return exc.errno
    return 0

def _syscall(number, *args):
    result = libc.syscall(number, *args)
    return ctypes.get_errno() if result == -1 else 0

def read_path(event, context):
    try:
        with open(event["path"], "rb") as handle:
            return {"read": handle.read().decode(errors="replace")}
    except OSError as exc:
        return {"errno": exc.errno}

def exists(event, context):
    return {path: os.path.exists(path) for path in event["paths"]}

def write_task(event, context):
    return {"errno": _errno(lambda: open("/var/task/evil.py", "w"))}

def identity(event, context):
    status = dict(
        line.split(":", 1) for line in open("/proc/self/status").read().splitlines() if ":" in line
    )
    return {
        "uid": os.getuid(), "gid": os.getgid(), "euid": os.geteuid(),
        "groups": os.getgroups(),
        "CapEff": status["CapEff"].strip(), "CapPrm": status["CapPrm"].strip(),
        "CapBnd": status["CapBnd"].strip(), "NoNewPrivs": status["NoNewPrivs"].strip(),
        "Seccomp": status["Seccomp"].strip(),
    }

def processes(event, context):
    pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
    return {"pids": pids, "kill_platform": _errno(lambda: os.kill(event["platform_pid"], 0))}

def kill_zygote(event, context):
    os.kill(1, signal.SIGKILL)
    return {"sent": True}

def syscalls(event, context):
    # x86_64 numbers: ptrace 101, mount 165, umount2 166, unshare 272, setns 308,
    # bpf 321, keyctl 250, perf_event_open 298, reboot 169, pivot_root 155, userfaultfd 323
    PTRACE_ATTACH = 16
    return {
        "ptrace": _syscall(101, PTRACE_ATTACH, 1, 0, 0),
        "mount": _errno(lambda: _check(libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None))),
        "unshare_user": _syscall(272, 0x10000000),
        "unshare_net": _syscall(272, 0x40000000),
        "setns": _syscall(308, 0, 0),
        "bpf": _syscall(321, 0, 0, 0),
        "keyctl": _syscall(250, 0, 0, 0),
        "perf_event_open": _syscall(298, 0, 0, -1, -1, 0),
        "reboot": _syscall(169, 0, 0, 0, 0),
        "pivot_root": _syscall(155, b"/tmp", b"/tmp"),
        "userfaultfd": _syscall(323, 0),
        "fork_works": _fork_works(),
    }

def _check(result):
    if result != 0:
        raise OSError(ctypes.get_errno(), "")

def _fork_works():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7

def _read_proc(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode(errors="replace")
    except OSError as exc:
        return f"errno {exc.errno}"

def environ(event, context):
    return {
        "own": _read_proc("/proc/self/environ"),
        "zygote": _read_proc("/proc/1/environ"),
        "now": dict(os.environ),
    }

def imports(event, context):
    out = {}
    for name in event["names"]:
        try:
            __import__(name)
            out[name] = "imported"
        except ImportError as exc:
            out[name] = type(exc).__name__
    return out

def connect(event, context):
    host, port = event["host"], event["port"]
    try:
        with socket.create_connection((host, port), timeout=3) as sock:
            sock.sendall(b"ping\n")
            return {"reply": sock.recv(100).decode()}
    except OSError as exc:
        return {"errno": exc.errno}

def fill_tmp(event, context):
    chunk = b"x" * (1 << 20)
    written = 0
    try:
        with open("/tmp/fill", "wb") as handle:
            while written < event["limit_mb"] * 2:
                handle.write(chunk)
                handle.flush()
                written += 1
    except OSError as exc:
        os.unlink("/tmp/fill")
        return {"errno": exc.errno, "written_mb": written}
    return {"errno": 0, "written_mb": written}

def open_files(event, context):
    handles = []
    try:
        while len(handles) < 5000:
            handles.append(open("/dev/null"))
    except OSError as exc:
        count = len(handles)
        for handle in handles:
            handle.close()
        return {"errno": exc.errno, "opened": count}
    return {"errno": 0, "opened": len(handles)}

def tmp_files(event, context):
    if event.get("write"):
        with open("/tmp/" + event["write"], "w") as handle:
            handle.write("mine")
    return {"tmp": sorted(os.listdir("/tmp"))}
"""


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@pytest.fixture
def attacker(tmp_path: Path) -> Path:
    return write_handler(tmp_path / "attacker", ATTACKS)


def _functions(code: Path, **settings: Any) -> list[Any]:
    names = [
        "read_path", "exists", "write_task", "identity", "processes", "kill_zygote",
        "syscalls", "environ", "imports", "connect", "fill_tmp", "open_files", "tmp_files",
    ]  # fmt: skip
    memory = settings.pop("memory_mb", 256)
    return [
        function(name, code, handler=f"app.{name}", memory_mb=memory, **settings) for name in names
    ]


async def _attack(tmp_path: Path, code: Path, name: str, event: Any, **settings: Any) -> Any:
    async with running_runtime(tmp_path, _functions(code, **settings)) as runtime:
        result = await invoke(runtime, name, json.dumps(event).encode())
        assert result.function_error is None, result.payload
        return json.loads(result.payload)


def test_platform_state_and_host_folders_do_not_exist_inside(
    tmp_path: Path, attacker: Path
) -> None:
    secrets = tmp_path / "state" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "master.key").write_text("the platform's master key")
    paths = [
        str(secrets / "master.key"), str(tmp_path), "/root", "/home", "/work",
        str(Path(__file__).resolve().parents[2] / "src" / "overcast"), "/etc/shadow",
        "/var/run/postgresql", "/sys/fs/cgroup",
    ]  # fmt: skip
    found = run(_attack(tmp_path, attacker, "exists", {"paths": paths}))
    assert found == dict.fromkeys(paths, False)
    assert run(_attack(tmp_path, attacker, "read_path", {"path": paths[0]})) == {"errno": 2}


def test_writing_the_code_fails_with_read_only_file_system(tmp_path: Path, attacker: Path) -> None:
    assert run(_attack(tmp_path, attacker, "write_task", {})) == {"errno": 30}  # EROFS
    assert not (attacker / "evil.py").exists()


def test_instances_run_unprivileged_under_their_own_identity(
    tmp_path: Path, attacker: Path
) -> None:
    found = run(_attack(tmp_path, attacker, "identity", {}))
    assert found["uid"] == found["euid"] == found["gid"]
    assert found["uid"] not in (0, os.getuid())
    assert found["groups"] == []
    assert found["CapEff"] == found["CapPrm"] == found["CapBnd"] == "0000000000000000"
    assert found["NoNewPrivs"] == "1"
    assert found["Seccomp"] == "2"  # filter mode


def test_platform_processes_are_invisible_and_unreachable(tmp_path: Path, attacker: Path) -> None:
    found = run(_attack(tmp_path, attacker, "processes", {"platform_pid": os.getpid()}))
    # Its own PID namespace: the zygote is 1, the instance is the only other process.
    assert found["pids"][0] == 1
    assert len(found["pids"]) == 2
    assert found["kill_platform"] in (3, 1)  # ESRCH (or EPERM if a pid matches inside)


def test_killing_the_zygote_from_inside_does_nothing(tmp_path: Path, attacker: Path) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with running_runtime(tmp_path, _functions(attacker)) as runtime:
            first = await invoke(runtime, "kill_zygote", b"{}")
            second = await invoke(runtime, "identity", b"{}")
            return first, second

    first, second = run(scenario())
    assert json.loads(first.payload) == {"sent": True}
    assert second.function_error is None


def test_denied_system_calls_fail_with_eperm_and_fork_still_works(
    tmp_path: Path, attacker: Path
) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the attack uses x86_64 system call numbers")
    found = run(_attack(tmp_path, attacker, "syscalls", {}))
    assert found.pop("fork_works") is True
    assert found == dict.fromkeys(found, 1), found  # EPERM each


def test_the_platform_environment_never_reaches_an_instance(
    tmp_path: Path, attacker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OVERCAST_MASTER_KEY", "platform-master-key-value")
    monkeypatch.setenv("OVERCAST_VAULT_TOKEN", "platform-root-token-value")

    async def scenario() -> tuple[Any, list[str]]:
        async with running_runtime(tmp_path, _functions(attacker)) as runtime:
            result = await invoke(runtime, "environ", b"{}")
            # Read from outside, as root: what each process was started with.
            (pid,) = runtime.instance_pids("environ")
            status = Path(f"/proc/{pid}/status").read_text()
            zygote = next(x.split()[1] for x in status.splitlines() if x.startswith("PPid"))
            blocks = [Path(f"/proc/{p}/environ").read_bytes().decode() for p in (pid, zygote)]
            return json.loads(result.payload), blocks

    found, blocks = run(scenario())
    # Not dumpable: an instance cannot read even its own /proc files holding memory.
    assert found["own"] == found["zygote"] == "errno 13"
    for text in [json.dumps(found["now"]), *blocks]:
        assert "platform-master-key-value" not in text
        assert "platform-root-token-value" not in text
        assert "OVERCAST_MASTER_KEY" not in text


def test_only_the_function_and_lambdas_runtime_are_importable(
    tmp_path: Path, attacker: Path
) -> None:
    names = ["overcast", "msgspec", "uvicorn", "httpx", "orjson", "psutil", "pytest", "boto3"]
    found = run(_attack(tmp_path, attacker, "imports", {"names": names}))
    assert found == {
        **dict.fromkeys(names[:-1], "ModuleNotFoundError"),
        "boto3": "imported",  # Lambda's Python runtimes bundle boto3
    }


class _EchoServer:
    """A TCP server on the host's loopback answering each line with "echo: <line>"."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = conn.recv(100)
                conn.sendall(b"echo: " + data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def echo_server() -> Iterator[_EchoServer]:
    server = _EchoServer()
    yield server
    server.close()


def test_local_services_are_unreachable_without_a_grant(
    tmp_path: Path, attacker: Path, echo_server: _EchoServer
) -> None:
    for port in (echo_server.port, 5432, 6379):
        found = run(_attack(tmp_path, attacker, "connect", {"host": "127.0.0.1", "port": port}))
        assert found == {"errno": 111}, port  # ECONNREFUSED


def test_a_granted_endpoint_is_reached_through_the_relay(
    tmp_path: Path, attacker: Path, echo_server: _EchoServer
) -> None:
    grant = (parse_endpoint(f"127.0.0.1:{echo_server.port}"),)
    event = {"host": "127.0.0.1", "port": echo_server.port}
    found = run(_attack(tmp_path, attacker, "connect", event, network=grant))
    assert found == {"reply": "echo: ping\n"}
    # Granting one port opens no other.
    event = {"host": "127.0.0.1", "port": 6379}
    assert run(_attack(tmp_path, attacker, "connect", event, network=grant)) == {"errno": 111}


def test_tmp_is_capped_at_ephemeral_storage_with_enospc(tmp_path: Path, attacker: Path) -> None:
    found = run(_attack(tmp_path, attacker, "fill_tmp", {"limit_mb": 512}, memory_mb=1024))
    assert found["errno"] == 28  # ENOSPC
    assert 500 <= found["written_mb"] <= 512


def test_open_files_stop_at_lambdas_1024(tmp_path: Path, attacker: Path) -> None:
    found = run(_attack(tmp_path, attacker, "open_files", {}))
    assert found["errno"] == 24  # EMFILE
    assert 1000 <= found["opened"] < 1024


def test_tmp_is_private_to_each_sandbox_identity(tmp_path: Path, attacker: Path) -> None:
    async def scenario() -> tuple[Any, Any]:
        mine = function("tmp_files", attacker, handler="app.tmp_files", sandbox_identity="a")
        theirs = function("theirs", attacker, handler="app.tmp_files", sandbox_identity="b")
        async with running_runtime(tmp_path, [mine, theirs]) as runtime:
            await invoke(runtime, "tmp_files", b'{"write": "secret-of-a"}')
            seen = await invoke(runtime, "theirs", b"{}")
            again = await invoke(runtime, "tmp_files", b"{}")
            return json.loads(seen.payload), json.loads(again.payload)

    seen, again = run(scenario())
    assert seen == {"tmp": []}
    assert again == {"tmp": ["secret-of-a"]}


def test_the_user_namespace_mode_builds_the_same_walls(tmp_path: Path, attacker: Path) -> None:
    # What a platform not run as root gets: uid 0 of its own user namespace (the
    # platform's uid outside), with every capability dropped.
    userns = SandboxConfig(SandboxMode.USER_NAMESPACE)

    async def scenario() -> dict[str, Any]:
        async with running_runtime(tmp_path, _functions(attacker), sandbox=userns) as runtime:
            out = {}
            for name, event in (
                ("identity", {}),
                ("write_task", {}),
                ("exists", {"paths": [str(tmp_path), "/root", "/work"]}),
                ("imports", {"names": ["overcast", "boto3"]}),
                ("syscalls", {}),
            ):
                result = await invoke(runtime, name, json.dumps(event).encode())
                out[name] = json.loads(result.payload)
            return out

    found = run(scenario())
    identity = found["identity"]
    assert identity["uid"] == 0
    assert identity["CapEff"] == identity["CapPrm"] == identity["CapBnd"] == "0000000000000000"
    assert identity["NoNewPrivs"] == "1"
    assert identity["Seccomp"] == "2"
    assert found["write_task"] == {"errno": 30}
    assert not any(found["exists"].values())
    assert found["imports"] == {"overcast": "ModuleNotFoundError", "boto3": "imported"}
    if os.uname().machine == "x86_64":
        assert found["syscalls"].pop("fork_works") is True
        assert set(found["syscalls"].values()) == {1}


def test_the_state_folder_is_hidden_when_the_code_folder_holds_it(tmp_path: Path) -> None:
    # CodeUri: . with the state folder beside template.yaml: /var/task would show it.
    code = write_handler(tmp_path, ATTACKS)
    tmp_path.chmod(0o755)  # code must be readable by others, as on Lambda
    secrets = tmp_path / "state" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "master.key").write_text("the platform's master key")

    async def scenario() -> Any:
        probe = function("exists", code, handler="app.exists")
        async with running_runtime(tmp_path, [probe]) as runtime:
            event = {"paths": ["/var/task/app.py", "/var/task/state/secrets/master.key"]}
            result = await invoke(runtime, "exists", json.dumps(event).encode())
            return json.loads(result.payload)

    assert run(scenario()) == {
        "/var/task/app.py": True,
        "/var/task/state/secrets/master.key": False,
    }
