"""Fixtures shared by every test folder: start ``overcast up`` on an app as a real process.

``running_app(app_dir, **opts)`` copies the app into a temporary directory (so state
under ``.overcast/`` never litters the repo), starts ``overcast up`` on two free ports
in its own process group, waits for the admin ``/health`` and hands back a
:class:`RunningApp`. On teardown it sends SIGINT, waits a bounded time, requires a
clean exit and that no process the platform started survives it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import psutil
import pytest
from botocore.config import Config
from hypothesis import settings

from overcast.control.access_keys import KeyStore, read_credentials_file
from overcast.control.app_loading import find_template, state_dir_for
from overcast.control.sigv4 import sign
from process_helpers import RunningPlatform, free_port, overcast_argv, start_platform

# Hypothesis' per-example deadline is a timing threshold: on a loaded 2-core machine it
# fails tests that are correct. Examples still run; only the stopwatch is off.
settings.register_profile("overcast", deadline=None)
# `make fuzz` (OVERCAST_FUZZ=1): the same fuzz tests, a hundred times the examples.
settings.register_profile("fuzz", deadline=None, max_examples=10_000)
settings.load_profile("fuzz" if os.environ.get("OVERCAST_FUZZ") else "overcast")

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
ORPHAN_TIMEOUT_S = 5.0


def copy_app(app_dir: Path, dest_parent: Path) -> Path:
    """Copy an example app so its ``.overcast/`` state lands under ``dest_parent``."""
    dest = dest_parent / app_dir.name
    shutil.copytree(
        app_dir, dest, ignore=shutil.ignore_patterns(".overcast", "__pycache__", ".aws-sam")
    )
    return dest


@dataclass(frozen=True)
class Credentials:
    """An overcast access key pair."""

    access_key_id: str
    secret_access_key: str


class SigV4HttpxAuth(httpx.Auth):
    """Signs httpx requests with overcast's SigV4 signer (service ``lambda``).

    Signs Host, X-Amz-*, Content-Type and a fresh ``amz-sdk-invocation-id`` (as the
    SDKs do), so two identical calls never share a signature.
    """

    requires_request_body = True

    def __init__(self, credentials: Credentials, region: str = "us-east-1") -> None:
        self.credentials = credentials
        self.region = region

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        chosen = {
            k: v
            for k, v in request.headers.items()
            if k.lower().startswith("x-amz-") or k.lower() == "content-type"
        }
        chosen.setdefault("amz-sdk-invocation-id", str(uuid.uuid4()))
        signed = sign(
            request.method,
            str(request.url),
            chosen,
            request.content,
            access_key_id=self.credentials.access_key_id,
            secret=self.credentials.secret_access_key,
            region=self.region,
            service="lambda",
        )
        for name, value in signed.items():
            request.headers[name] = value
        yield request


@dataclass
class RunningApp:
    """One ``overcast up`` process and where to reach it."""

    app_dir: Path
    host: str
    port: int
    admin_port: int
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    stopped: bool = field(default=False)
    #: what the process printed to stderr after it was told to stop
    shutdown_output: str = field(default="")
    #: the admin key the node wrote to ``<state>/access/admin-credentials``
    credentials: Credentials | None = field(default=None)

    @property
    def state_dir(self) -> Path:
        return state_dir_for(find_template(self.app_dir))

    @property
    def key_store(self) -> KeyStore:
        return KeyStore(self.state_dir)

    def admin_credentials(self) -> Credentials:
        if self.credentials is None:
            key_id, secret = read_credentials_file(self.key_store.admin_credentials_path)
            self.credentials = Credentials(key_id, secret)
        return self.credentials

    def lambda_client(self, credentials: Credentials | None = None, **config: Any) -> Any:
        """A boto3 Lambda client on the admin port, signing with the admin key by default."""
        return self.aws_client("lambda", credentials, **config)

    def aws_client(
        self, service: str, credentials: Credentials | None = None, **config: Any
    ) -> Any:
        """A boto3 client of ``service`` on the admin port (admin key by default)."""
        creds = credentials or self.admin_credentials()
        config.setdefault("retries", {"max_attempts": 0})
        config.setdefault("read_timeout", 60)
        config.setdefault("connect_timeout", 5)
        return boto3.client(
            service,
            region_name="us-east-1",
            endpoint_url=self.admin_url,
            aws_access_key_id=creds.access_key_id,
            aws_secret_access_key=creds.secret_access_key,
            config=Config(**config),
        )

    def admin_client(
        self, credentials: Credentials | None = None, **kwargs: object
    ) -> httpx.Client:
        """An httpx client on the admin port whose requests are SigV4-signed."""
        kwargs.setdefault("timeout", 60.0)
        auth = SigV4HttpxAuth(credentials or self.admin_credentials())
        return httpx.Client(base_url=self.admin_url, auth=auth, **kwargs)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def admin_url(self) -> str:
        return f"http://{self.host}:{self.admin_port}"

    def stdout(self) -> str:
        return self.stdout_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def output(self) -> str:
        """Everything the process printed so far, for failure messages."""
        return f"--- stdout ---\n{self.stdout()}\n--- stderr ---\n{self.stderr()}"

    def client(self, **kwargs: object) -> httpx.Client:
        """An httpx client on the app's public port."""
        kwargs.setdefault("timeout", 30.0)
        return httpx.Client(base_url=self.base_url, **kwargs)  # type: ignore[arg-type]

    def cli(
        self, *args: str, input: bytes | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[bytes]:
        """Run another ``overcast`` command against this app's directory."""
        return run_cli(*args, cwd=self.app_dir, input=input, timeout=timeout)

    def cli_popen(self, *args: str, **kwargs: object) -> subprocess.Popen[bytes]:
        """Start another ``overcast`` command (e.g. ``logs --follow``) without waiting."""
        return subprocess.Popen([*overcast_argv(), *args], cwd=self.app_dir, **kwargs)  # type: ignore[call-overload]

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Send ``sig``, wait a bounded time, check nothing it started survives.

        Returns the exit code. Fails the test (after killing stragglers) when the
        process does not exit in time or leaves a descendant behind.
        """
        if self.stopped:
            return self.process.returncode
        self.stopped = True
        try:
            descendants = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            descendants = []
        stderr_before = self.stderr_path.stat().st_size
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _kill_group(self.process.pid)
            self.process.wait(timeout=5)
            _kill_all(descendants)
            pytest.fail(
                f"overcast up did not exit within {STOP_TIMEOUT_S} s of signal {sig}\n"
                + self.output()
            )
        with self.stderr_path.open("rb") as err:
            err.seek(stderr_before)
            self.shutdown_output = err.read().decode(errors="replace")
        _gone, alive = psutil.wait_procs(descendants, timeout=ORPHAN_TIMEOUT_S)
        if alive:
            described = [_describe(p) for p in alive]
            _kill_all(alive)
            pytest.fail(
                f"processes of overcast up survived its exit: {described}\n" + self.output()
            )
        return code


def _describe(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline())[:120]}"
    except psutil.Error:
        return str(proc.pid)


def _kill_all(procs: Sequence[psutil.Process]) -> None:
    for proc in procs:
        try:
            proc.kill()
        except psutil.Error:
            continue


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return


def run_cli(
    *args: str, cwd: Path, input: bytes | None = None, timeout: float = 60.0
) -> subprocess.CompletedProcess[bytes]:
    """Run ``overcast ARGS`` to completion and capture stdout and stderr apart."""
    return subprocess.run(
        [*overcast_argv(), *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def start_app(
    app_dir: Path,
    workdir: Path,
    *,
    copy: bool = True,
    host: str = "127.0.0.1",
    parameter_overrides: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> RunningApp:
    """Start ``overcast up`` on ``app_dir`` and return once ``/health`` answers 200."""
    workdir.mkdir(parents=True, exist_ok=True)
    target = copy_app(app_dir, workdir) if copy else app_dir
    port, admin_port = free_port(), free_port()
    while admin_port == port:
        admin_port = free_port()
    argv = [
        *overcast_argv(),
        "up",
        str(target),
        "--port",
        str(port),
        "--admin-port",
        str(admin_port),
        "--host",
        host,
    ]
    if parameter_overrides:
        for override in parameter_overrides:
            argv += ["--parameter-overrides", override]
    argv += list(extra_args)
    stdout_path = workdir / f"{target.name}-{port}.stdout"
    stderr_path = workdir / f"{target.name}-{port}.stderr"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        # Its own session: a Ctrl-C in the test runner's terminal must not reach it,
        # and teardown can kill the whole group if it hangs.
        process = subprocess.Popen(
            argv, cwd=target, stdout=out, stderr=err, env=full_env, start_new_session=True
        )
    app = RunningApp(target, host, port, admin_port, process, stdout_path, stderr_path)
    _wait_ready(app)
    app.admin_credentials()
    return app


def _wait_ready(app: RunningApp) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    last_error = ""
    while time.monotonic() < deadline:
        code = app.process.poll()
        if code is not None:
            app.stopped = True
            pytest.fail(f"overcast up exited with {code} before it was ready\n" + app.output())
        try:
            response = httpx.get(f"{app.admin_url}/health", timeout=1.0)
        except httpx.TransportError as exc:
            last_error = repr(exc)
        else:
            if response.status_code == 200:
                return
            last_error = f"/health answered {response.status_code}"
        time.sleep(0.05)
    _kill_group(app.process.pid)
    app.process.wait(timeout=5)
    app.stopped = True
    pytest.fail(
        f"overcast up was not ready within {READY_TIMEOUT_S} s ({last_error})\n" + app.output()
    )


StartApp = Callable[..., RunningApp]


class _Launcher:
    """Starts apps for one fixture scope and stops all of them at its end."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.apps: list[RunningApp] = []

    def __call__(self, app_dir: Path | str, **opts: object) -> RunningApp:
        app_path = Path(app_dir)
        if not app_path.is_absolute():
            app_path = EXAMPLES / app_path
        app = start_app(app_path, self.workdir / f"run{len(self.apps)}", **opts)  # type: ignore[arg-type]
        self.apps.append(app)
        return app

    def stop_all(self) -> None:
        failures: list[str] = []
        for app in self.apps:
            try:
                code = app.stop()
            except pytest.fail.Exception as exc:
                failures.append(str(exc))
                continue
            # 130 is the shell's convention for "ended by Ctrl-C"; a negative code means
            # the signal killed it without a handler, which is not a clean shutdown.
            if code not in (0, 130):
                failures.append(f"overcast up exited with {code} after SIGINT\n" + app.output())
            elif "Traceback (most recent call last)" in app.shutdown_output:
                failures.append("overcast up printed a traceback while stopping\n" + app.output())
        if failures:
            pytest.fail("\n\n".join(failures))


@pytest.fixture
def running_app(tmp_path: Path) -> Iterator[StartApp]:
    """Factory: ``running_app(app_dir, **opts)`` → a started :class:`RunningApp`.

    A relative ``app_dir`` is taken under ``examples/``. Options: ``copy``, ``host``,
    ``parameter_overrides``, ``extra_args``, ``env``. Every app is stopped at teardown.
    """
    launcher = _Launcher(tmp_path)
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="module")
def module_running_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartApp]:
    """Like :func:`running_app`, but the apps live for the whole test module."""
    launcher = _Launcher(tmp_path_factory.mktemp("apps"))
    yield launcher
    launcher.stop_all()


@pytest.fixture
def app_copy(tmp_path: Path) -> Callable[[Path], Path]:
    """Factory: copy an app into this test's temporary directory and return the copy."""

    def make(app_dir: Path) -> Path:
        return copy_app(app_dir, tmp_path / "copies")

    return make


@pytest.fixture
def overcast_cli() -> Callable[..., subprocess.CompletedProcess[bytes]]:
    """``overcast_cli(*args, cwd=DIR, input=None, timeout=60)`` runs one CLI command."""
    return run_cli


@pytest.fixture
def overcast_platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    """A started ``overcast serve`` (domain example.test, stages dev, qa, prod)."""
    running = start_platform(tmp_path / "platform")
    yield running
    code = running.stop()
    assert code in (0, 130), running.output()
    assert "Traceback (most recent call last)" not in running.output(), running.output()
