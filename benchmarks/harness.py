"""Shared pieces of the benchmarks: starting servers, load generation, statistics.

Benchmarks are not tests: they print figures and ratios against a baseline measured
in the same run, and never fail on a threshold.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from overcast.control.access_keys import read_credentials_file
from overcast.control.sigv4 import sign

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status < 500:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    admin_port: int | None = None
    app_dir: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def signed_admin_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """SigV4 headers for the admin port, signed with the node's admin key."""
        if self.app_dir is None or self.admin_port is None:
            raise RuntimeError("not an overcast node")
        key_id, secret = read_credentials_file(
            self.app_dir / ".overcast" / "access" / "admin-credentials"
        )
        return sign(
            method,
            f"http://127.0.0.1:{self.admin_port}{path}",
            {"amz-sdk-invocation-id": str(uuid.uuid4())},
            body,
            access_key_id=key_id,
            secret=secret,
            region="us-east-1",
            service="lambda",
        )


@contextlib.contextmanager
def overcast_up(app_dir: Path, *extra: str) -> Iterator[Served]:
    """Run `overcast up` on a copy of the app in a temp folder."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / app_dir.name
        shutil.copytree(app_dir, copy, ignore=shutil.ignore_patterns(".overcast"))
        port, admin = free_port(), free_port()
        process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "overcast",
                "up",
                str(copy),
                "--port",
                str(port),
                "--admin-port",
                str(admin),
                "--no-watch",
                *extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_http(f"http://127.0.0.1:{admin}/health", timeout=120)
            yield Served(process, port, admin, copy)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@contextlib.contextmanager
def uvicorn_up(
    app: str,
    health_path: str,
    *uvicorn_args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Iterator[Served]:
    """An ASGI app on uvicorn (uvloop + httptools, no access log) until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            app,
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
            *uvicorn_args,
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}{health_path}")
        yield Served(process, port)
    finally:
        process.terminate()
        process.wait(timeout=30)


def baseline_up() -> contextlib.AbstractContextManager[Served]:
    """The bare ASGI app on uvicorn, one process: the baseline of the warm benchmarks."""
    return uvicorn_up("baseline_app:app", "/hello/world", cwd=Path(__file__).parent)


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if match is None:
        raise ValueError(text)
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, connections: int, seconds: int = 10) -> LoadResult:
    """Drive load with wrk (one thread: the machine has two cores to share)."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run `make bench-deps` (apt-get install wrk)")
    output = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s*50%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s*99%\s+(\S+)", output, re.M).group(1))  # type: ignore[union-attr]
    errors_match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return LoadResult(rps, p50, p99, int(errors_match.group(1)) if errors_match else 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.2f} ms, p99 {percentile(values, 99):.2f} ms, "
        f"mean {statistics.fmean(values):.2f} ms (n={len(values)})"
    )


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {sys.version.split()[0]}"


def emit(name: str, figures: dict[str, object]) -> None:
    """Print a result line a person can read and a JSON line a script can."""
    print(json.dumps({"benchmark": name, "machine": machine(), **figures}))
