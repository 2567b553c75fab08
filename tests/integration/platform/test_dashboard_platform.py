"""The dashboard of a real platform, in headless Chromium: live charts, logs, alarms, rollback."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from platform_helpers import set_code

from overcast.control.access_keys import KeyStore, read_credentials_file
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server",
]  # fmt: skip

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402


@pytest.fixture
def platform_with_alarms(tmp_path: Path) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path / "state", "--alarm-interval", "0.5")
    yield running
    assert running.stop() in (0, 130), running.output()


@pytest.fixture
def page(platform_with_alarms: RunningPlatform) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        context = browser.new_context(base_url=platform_with_alarms.admin_url)
        expect.set_options(timeout=30_000)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_the_platform_dashboard_follows_invocations_alarms_and_rolls_back(
    platform_with_alarms: RunningPlatform, versioned_app: Path, page: Page
) -> None:
    running = platform_with_alarms
    running.deploy(versioned_app, "dev")
    key_id, secret = read_credentials_file(KeyStore(running.state_dir).admin_credentials_path)

    page.goto("/dashboard/functions/dev/Echo")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.get_by_label("Access key id").fill(key_id)
    page.get_by_label("Secret access key").fill(secret)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/dashboard/functions/dev/Echo"))

    chart = page.locator("#chart-invocations")
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(page.locator("#log-state")).to_have_text("live")
    for _ in range(5):
        assert running.get("dev", "/whoami").status_code == 200
    expect(chart).to_have_attribute("data-invocations", "5")
    expect(page.locator("#log-tail")).to_contain_text("REPORT RequestId:")

    set_code(versioned_app, "broken-v2")
    running.deploy(versioned_app, "dev")
    page.goto("/dashboard/alarms")
    row = page.locator('tr.alarm[data-alarm="EchoErrors"]')
    # Errors keep coming (a 1-second alarm period goes back to OK once they stop).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and row.get_attribute("data-state") != "ALARM":
        assert running.get("dev", "/whoami").status_code == 500
        page.wait_for_timeout(200)
    expect(row).to_have_attribute("data-state", "ALARM")

    page.goto("/dashboard/deployments")
    dev = page.locator('section.stage[data-stage="dev"]')
    page.once("dialog", lambda dialog: dialog.accept())
    dev.get_by_role("button", name="Roll back dev").click()
    expect(page.locator("#flash")).to_contain_text("Rolling dev back")
    history = running.client().request("GET", "/overcast/stages/dev/deployments")
    assert history["Deployments"][0]["Kind"] == "rollback"
    expect(dev.locator("tr.deployment").first).to_contain_text("rollback")
