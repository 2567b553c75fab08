"""A platform told --no-sandbox says so: on /metrics and on every dashboard page."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from overcast.control.access_keys import KeyStore, read_credentials_file
from overcast.testing import sandbox_config
from process_helpers import start_platform

pytestmark = pytest.mark.slow


def _sandbox_gauge(admin_url: str) -> str:
    text = httpx.get(f"{admin_url}/metrics", timeout=10).text
    return next(line for line in text.splitlines() if line.startswith("overcast_sandbox_enabled"))


@pytest.mark.parametrize("sandboxed", [True, False])
def test_the_sandbox_state_is_shown(tmp_path: Path, sandboxed: bool) -> None:
    if sandboxed and sandbox_config() is None:
        pytest.skip("this machine cannot build a sandbox")
    platform = start_platform(tmp_path / "state", *(() if sandboxed else ("--no-sandbox",)))
    try:
        assert _sandbox_gauge(platform.admin_url) == (
            f"overcast_sandbox_enabled {1.0 if sandboxed else 0.0}"
        )
        key_id, secret = read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)
        with httpx.Client(base_url=platform.admin_url, timeout=10) as browser:
            browser.post(
                "/dashboard/login",
                content=urlencode({"access_key_id": key_id, "secret_access_key": secret}),
                headers={
                    "content-type": "application/x-www-form-urlencoded",
                    "origin": platform.admin_url,
                },
            )
            page = browser.get("/dashboard/").text
        assert ('id="notice"' in page) is not sandboxed
        if not sandboxed:
            assert "(--no-sandbox): functions are not isolated" in page
    finally:
        platform.stop()
