"""Process helpers shared by the integration tests: the CLI, free ports, a running platform.

A plain module (not a conftest) so that test modules can import it by name.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import psutil
import pytest
from botocore.config import Config

from overcast.cli.platform_cmd import PlatformClient
from overcast.control.access_keys import KeyStore, read_credentials_file


def overcast_argv() -> list[str]:
    """The command that runs the CLI installed next to this interpreter.

    ``OVERCAST_TEST_CLI`` (a shell-style command line) replaces it, to run the suite
    against another installation.
    """
    override = os.environ.get("OVERCAST_TEST_CLI")
    if override:
        return shlex.split(override)
    script = Path(sys.executable).parent / "overcast"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "overcast.cli.main"]


def free_port() -> int:
    """A TCP port nobody listens on right now (the usual bind-to-0 trick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- overcast serve ------------------------------------------------------------------

PLATFORM_DOMAIN = "example.test"
PLATFORM_READY_TIMEOUT_S = 30.0


@dataclass
class RunningPlatform:
    """One ``overcast serve`` process."""

    state_dir: Path
    port: int
    admin_port: int
    process: subprocess.Popen[bytes]
    log: Path
    extra: list[str] = field(default_factory=list)

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def url(self, stage: str, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def host(self, stage: str) -> str:
        return PLATFORM_DOMAIN if stage == "prod" else f"{stage}.{PLATFORM_DOMAIN}"

    def get(self, stage: str, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET ``path`` on ``stage``'s host name (the Host header picks the stage)."""
        sent = {"Host": self.host(stage), **(headers or {})}
        return httpx.get(self.url(stage, path), headers=sent, timeout=30)

    def lambda_client(self, key_id: str, secret: str, session_token: str | None = None) -> Any:
        """boto3's Lambda client on the admin port, signing with the key given."""
        return boto3.client(
            "lambda",
            region_name="us-east-1",
            endpoint_url=self.admin_url,
            aws_access_key_id=key_id,
            aws_secret_access_key=secret,
            aws_session_token=session_token,
            config=Config(retries={"max_attempts": 0}),
        )

    def client(self) -> PlatformClient:
        key_id, secret = read_credentials_file(KeyStore(self.state_dir).admin_credentials_path)
        return PlatformClient(self.admin_url, key_id, secret)

    def cli(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 180
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``overcast ARGS --target ... --state-dir ...`` against this platform."""
        argv = [
            *overcast_argv(),
            *args,
            "--target",
            self.admin_url,
            "--state-dir",
            str(self.state_dir),
        ]
        return subprocess.run(
            argv,
            capture_output=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )

    def cli_plain(
        self, *args: str, input: bytes | None = None
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``overcast ARGS`` as given (no --target/--state-dir added)."""
        return subprocess.run(
            [*overcast_argv(), *args], input=input, capture_output=True, timeout=60, check=False
        )

    def deployer_key_env(self, stage: str) -> dict[str, str]:
        """Issue a deployer key limited to ``stage`` (`overcast keys create`); its env vars."""
        created = self.cli_plain(
            "keys", "create", "--role", "deployer", "--stage", stage,
            "--platform", str(self.state_dir),
        )  # fmt: skip
        assert created.returncode == 0, created.stderr.decode()
        lines = created.stdout.decode().splitlines()
        pairs = dict(line.split(" = ", 1) for line in lines if " = " in line)
        return {
            "OVERCAST_ACCESS_KEY_ID": pairs["aws_access_key_id"],
            "OVERCAST_SECRET_ACCESS_KEY": pairs["aws_secret_access_key"],
        }

    def deploy(self, app: Path, stage: str, *extra: str) -> str:
        """Deploy ``app`` to ``stage`` with the CLI; the deployment id (fails the test on error)."""
        done = self.cli("deploy", str(app), "--stage", stage, *extra)
        if done.returncode != 0:
            pytest.fail(
                f"deploy failed ({done.returncode}):\n{done.stderr.decode()}\n{self.output()}"
            )
        return done.stdout.decode().strip().splitlines()[-1]

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> int:
        if self.process.poll() is None:
            descendants = psutil.Process(self.process.pid).children(recursive=True)
            self.process.send_signal(2)
            try:
                code = self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                code = self.process.wait(timeout=5)
            _, alive = psutil.wait_procs(descendants, timeout=5)
            for proc in alive:
                proc.kill()
            if alive:
                pytest.fail(f"{len(alive)} process(es) outlived overcast serve\n" + self.output())
            return code
        return self.process.returncode


def start_platform(state_dir: Path, *extra: str) -> RunningPlatform:
    """Start ``overcast serve`` and wait until its admin port answers /health."""
    port, admin_port = free_port(), free_port()
    while admin_port == port:
        admin_port = free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir.parent / f"serve-{port}.log"
    argv = [
        *overcast_argv(),
        "serve",
        "--state-dir",
        str(state_dir),
        "--port",
        str(port),
        "--admin-port",
        str(admin_port),
        "--domain",
        PLATFORM_DOMAIN,
        *extra,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    running = RunningPlatform(state_dir, port, admin_port, process, log, list(extra))
    deadline = time.monotonic() + PLATFORM_READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail("overcast serve exited early\n" + running.output())
        try:
            if httpx.get(f"{running.admin_url}/health", timeout=1).status_code == 200:
                return running
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    pytest.fail("overcast serve did not become ready\n" + running.output())
