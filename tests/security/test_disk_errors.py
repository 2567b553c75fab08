"""Issue 11: a full or read-only disk answered deploys and uploads with a plain-text 500
or a Python traceback.

Each test runs a platform's admin app in process (no server: the ASGI app is called
through httpx, so an exception it lets escape fails the test) and makes one write fail
the way the kernel or SQLite reports it — ENOSPC, EROFS, ``database or disk is full`` —
at the place it happens. The answer must be one line of the admin API's JSON error
shape, and nothing may be left half written: no artifact under its final name, no
temporary file, no deployment record, no unpacked code tree.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from overcast.control import code_store
from overcast.control.app_loading import find_template, load_app
from overcast.control.deploy_bundle import build_bundle
from overcast.control.deploy_store import DeployStore
from overcast.control.platform import Platform, PlatformOptions
from overcast.control.sigv4 import sign

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ADMIN = "http://127.0.0.1:8081"


@contextlib.asynccontextmanager
async def _platform(tmp_path: Path) -> AsyncIterator[Platform]:
    running = Platform(PlatformOptions(state_dir=tmp_path / "state"))
    running.keys.ensure_admin_key()
    try:
        yield running
    finally:
        await running.deployer.aclose()
        await running.egress.aclose()
        running.store.close()
        running._release()


def _on_a_platform(tmp_path: Path, scenario: Callable[[Platform], Awaitable[None]]) -> None:
    async def run() -> None:
        async with _platform(tmp_path) as platform:
            await scenario(platform)

    asyncio.run(run())


async def _call(platform: Platform, method: str, path: str, body: bytes = b"") -> httpx.Response:
    """One request signed as ``overcast deploy`` signs it, to the in-process admin app."""
    key = platform.keys.all()[0]
    headers = sign(
        method,
        ADMIN + path,
        {"Content-Type": "application/json", "amz-sdk-invocation-id": os.urandom(8).hex()},
        body,
        access_key_id=key.access_key_id,
        secret=key.secret_access_key,
        region="us-east-1",
        service="overcast" if path.startswith("/overcast/") else "lambda",
    )
    transport = httpx.ASGITransport(app=platform.admin)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url=ADMIN) as client:
        return await client.request(method, path, content=body, headers=headers)


def _one_line_error(response: httpx.Response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-amzn-errortype"] == "ServiceException"
    message = response.json()["message"]
    assert "\n" not in message
    assert "Traceback" not in message
    for word in words:
        assert word in message, message
    return str(message)


def _failing_at_temporary_files(monkeypatch: pytest.MonkeyPatch, name: str, number: int) -> None:
    """Make ``os.<name>`` fail with ``number`` on the bucket's temporary files only."""
    real = getattr(os, name)

    def failing(target: Any, *args: Any, **kwargs: Any) -> Any:
        where = str(target) if name == "open" else os.readlink(f"/proc/self/fd/{target}")
        if "/.tmp-" in where:
            raise OSError(number, os.strerror(number), where)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(os, name, failing)


def _artifacts(platform: Platform) -> Path:
    return platform.options.state_dir / "buckets" / "artifacts" / "objects" / "sha256"


def test_an_upload_on_a_full_disk_is_a_507_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(platform: Platform) -> None:
        data = b"zip bytes" * 10_000
        digest = hashlib.sha256(data).hexdigest()
        _failing_at_temporary_files(monkeypatch, "write", errno.ENOSPC)
        response = await _call(platform, "PUT", f"/overcast/artifacts/{digest}", data)
        _one_line_error(response, 507, "disk is full", "nothing was stored")
        assert not (_artifacts(platform) / digest).exists()
        assert not list(_artifacts(platform).glob(".tmp-*"))
        assert digest in platform.code.missing([digest])
        # The platform's paths are no business of the caller's.
        assert str(platform.options.state_dir) not in response.text

    _on_a_platform(tmp_path, scenario)


def test_an_upload_on_a_read_only_disk_is_a_503_and_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(platform: Platform) -> None:
        data = b"zip bytes"
        digest = hashlib.sha256(data).hexdigest()
        _failing_at_temporary_files(monkeypatch, "open", errno.EROFS)
        response = await _call(platform, "PUT", f"/overcast/artifacts/{digest}", data)
        _one_line_error(response, 503, "read-only", "nothing was stored")
        assert digest in platform.code.missing([digest])

    _on_a_platform(tmp_path, scenario)


async def _uploaded_bundle(platform: Platform) -> bytes:
    """Upload the hello app's artifacts; its deploy request body."""
    template = find_template(EXAMPLES / "hello")
    bundle = build_bundle(template, load_app(EXAMPLES / "hello", {}), {}, "")
    for digest in bundle.artifacts:
        put = await _call(platform, "PUT", f"/overcast/artifacts/{digest}", bundle.read(digest))
        assert put.status_code == 201, put.text
    return msgspec.json.encode(msgspec.structs.replace(bundle.request, stack="hello"))


def _no_half_deployment(platform: Platform) -> None:
    assert platform.store.history("dev", None) == []
    cache = platform.options.state_dir / "code"
    assert [p.name for p in cache.iterdir() if not p.name.startswith(".uploads")] == []


def test_a_deploy_whose_code_cannot_be_unpacked_on_a_full_disk_deploys_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(platform: Platform) -> None:
        body = await _uploaded_bundle(platform)

        def disk_fills_midway(data: bytes, target: Path) -> None:
            (target / "app.py").write_bytes(b"def handler(event, context):\n    ret")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target / "app.py"))

        monkeypatch.setattr(code_store, "unpack", disk_fills_midway)
        for _attempt in range(2):  # the stack is not left busy by the first
            response = await _call(platform, "POST", "/overcast/stages/dev/deployments", body)
            _one_line_error(response, 507, "start the deployment", "nothing was deployed")
        _no_half_deployment(platform)

    _on_a_platform(tmp_path, scenario)


def test_a_deploy_whose_record_cannot_be_written_deploys_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(platform: Platform) -> None:
        body = await _uploaded_bundle(platform)

        def database_full(*_args: Any, **_kwargs: Any) -> None:
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13  # type: ignore[attr-defined]
            raise error

        monkeypatch.setattr(DeployStore, "create", database_full)
        response = await _call(platform, "POST", "/overcast/stages/dev/deployments", body)
        _one_line_error(response, 507, "nothing was deployed")
        assert platform.store.history("dev", None) == []
        assert list(platform.deployer.stage_named("dev").lives()) == []

    _on_a_platform(tmp_path, scenario)


def test_the_lambda_api_answers_a_failed_write_in_its_error_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing the Lambda API runs may answer with a traceback: a write that fails
    below it (an invocation's log, say) is one line of its JSON error shape."""

    async def scenario(platform: Platform) -> None:

        def read_only(*_args: Any, **_kwargs: Any) -> Any:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), "/var/lib/overcast/logs")

        monkeypatch.setattr(platform.invoker, "functions", read_only)
        response = await _call(platform, "GET", "/2015-03-31/functions/")
        _one_line_error(response, 503, "read-only")
        assert "/var/lib" not in response.text

    _on_a_platform(tmp_path, scenario)


def test_an_unexpected_error_is_a_json_500_with_a_request_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(platform: Platform) -> None:
        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("a bug\nwith two lines")

        monkeypatch.setattr(platform.invoker, "functions", broken)
        response = await _call(platform, "GET", "/2015-03-31/functions/")
        message = _one_line_error(response, 500, "internal error", "request")
        assert "a bug" not in message

    _on_a_platform(tmp_path, scenario)
