"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The :class:`DashboardApp` runs under uvicorn in a thread with the in-memory fake source
(tests/unit/dashboard/fake_source.py); the test feeds the source from its own thread
and watches the page follow: sign in, charts drawn by Plotly (served from the installed
package), a chart updating after more invocations, an alarm going to ALARM, a rollback
button, the live log tail. Any Content-Security-Policy violation fails the test.

``OVERCAST_SCREENSHOTS=1`` also writes docs/screenshots/dashboard-*.png.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import uvicorn

from overcast.dashboard import DashboardApp, DashboardSettings, Identity

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
KEY_ID, SECRET = "AKIAEXAMPLEDASHBOARD", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#: a second key, revoked by one test while its page is open
DOOMED_ID, DOOMED_SECRET = "AKIAEXAMPLEREVOKED01", "revoked-secret-0123456789012345678901234"
REVOKED: set[str] = set()

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The page must reach this machine only, whatever proxy the environment names.
    "--no-proxy-server",
]

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright  # noqa: E402


def _fake_source_module() -> ModuleType:
    """The unit tests' fake source, loaded by path (the test folders are not packages)."""
    path = ROOT / "tests" / "unit" / "dashboard" / "fake_source.py"
    spec = importlib.util.spec_from_file_location("dashboard_fake_source", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fake = _fake_source_module()


def authenticate(key_id: str, secret: str) -> Identity | None:
    known = (key_id, secret) in ((KEY_ID, SECRET), (DOOMED_ID, DOOMED_SECRET))
    return identify(key_id) if known else None


def identify(key_id: str) -> Identity | None:
    return Identity(key_id) if key_id in (KEY_ID, DOOMED_ID) and key_id not in REVOKED else None


def seed(source: Any) -> None:
    """A quarter hour of plausible traffic, alarms, deployments and logs.

    dev's Orders gets none: the chart test counts from zero there.
    """
    now = time.time()
    source.add_stage("dev", ["Echo", "Orders"], hosts=["dev.localhost"],
                     to_date="0.4821", forecast="1.3377")  # fmt: skip
    source.add_stage("prod", ["Echo", "Orders", "Checkout"], hosts=["localhost", "www.localhost"],
                     to_date="12.0440", forecast="31.8712")  # fmt: skip
    source.add_deployment("dev", "d-7Q2K9XBWA", created=now - 86400, message="first deploy")
    source.add_deployment("dev", "d-M3TR8VJ2C", created=now - 3600, message="faster checkout")
    source.add_deployment("prod", "d-Q8YB4N3TF", created=now - 7 * 86400, message="v1.5",
                          status="RolledBack", reason="alarm HighErrors in ALARM")  # fmt: skip
    source.add_deployment("prod", "d-AX90Z1LKE", created=now - 2 * 86400, message="v1.5.1")
    for step in range(0, 900, 5):
        at = now - 900 + step
        wave = 1 + math.sin(step / 90)
        for stage, function, scale in (("dev", "Echo", 2), ("prod", "Echo", 6),
                                       ("prod", "Orders", 3), ("prod", "Checkout", 1)):  # fmt: skip
            for n in range(int(scale * wave) + 1):
                slow = (step + n) % 37 == 0
                source.record(stage, function, fake.Invocation(
                    at + n * 0.1,
                    duration_ms=(180.0 if slow else 12.0 + (step + 3 * n) % 25),
                    error=(step + n) % 53 == 0,
                    cold=(step % 300 == 0 and n == 0),
                    concurrency=1 + int(wave * scale / 2),
                ))  # fmt: skip
    source.set_alarm("HighErrors", "OK", "Threshold Crossed: 1 datapoint [0.0] was not "
                     "greater than the threshold (5.0).", stage="prod",
                     description="Errors Sum > 5 for 1 x 60 s")  # fmt: skip
    source.set_alarm("EstimatedChargesProd", "OK", "Estimated charges $12.04 are below $50.00.",
                     stage="prod", description="EstimatedCharges Maximum > 50 USD")  # fmt: skip
    source.set_alarm("SlowOrders", "INSUFFICIENT_DATA", "Insufficient Data: 0 datapoints.",
                     stage="dev", description="Duration p99 > 1000 ms for 3 x 60 s")  # fmt: skip
    for n in range(8):
        source.log("dev", "Echo", f"START RequestId: 5f1c0e7a-{n:04d} Version: 1")
        source.log("dev", "Echo", f"END RequestId: 5f1c0e7a-{n:04d}")


@pytest.fixture(scope="module")
def source() -> Any:
    made = fake.FakeSource()
    seed(made)
    return made


@pytest.fixture(scope="module")
def base_url(source: Any) -> Iterator[str]:
    app = DashboardApp(
        source, authenticate, DashboardSettings(session_check_s=0.5), identify=identify
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 900}, base_url=base_url)
    opened = context.new_page()
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # A 401 on purpose is logged as "Failed to load resource"; anything else counts.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    opened.on("console", on_console)
    opened.on("pageerror", lambda error: problems.append(str(error)))
    expect.set_options(timeout=15_000)
    yield opened
    context.close()
    # A CSP violation is reported as a console error: a strict policy that breaks the
    # page (or a page that sneaks in inline code) fails here.
    assert problems == []


def sign_in(
    page: Page, next_path: str = "/dashboard/", key: tuple[str, str] = (KEY_ID, SECRET)
) -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.get_by_label("Access key id").fill(key[0])
    page.get_by_label("Secret access key").fill(key[1])
    page.get_by_role("button", name="Sign in").click()


def screenshot(page: Page, name: str) -> None:
    if os.environ.get("OVERCAST_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"dashboard-{name}.png"), full_page=True)


def test_wrong_secret_stays_on_the_login_page(page: Page) -> None:
    page.goto("/dashboard/login")
    page.get_by_label("Access key id").fill(KEY_ID)
    page.get_by_label("Secret access key").fill("not the secret")
    with page.expect_response("**/dashboard/login") as answer:
        page.get_by_role("button", name="Sign in").click()
    assert answer.value.status == 401
    expect(page.get_by_role("alert")).to_contain_text("wrong secret")
    screenshot(page, "login")


def test_signs_in_and_sees_stages_functions_and_cost(page: Page) -> None:
    sign_in(page)
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    prod = page.locator('section.stage[data-stage="prod"]')
    expect(prod.locator(".to-date")).to_have_text("$12.0440")
    expect(prod.locator(".forecast")).to_have_text("$31.8712")
    expect(prod.locator("tr.function")).to_have_count(3)
    expect(prod.locator('tr[data-function="Echo"] td').nth(2)).not_to_have_text("0")
    expect(page.locator('tr.alarm[data-alarm="HighErrors"]')).to_have_attribute("data-state", "OK")
    screenshot(page, "overview")


def test_chart_updates_after_more_invocations(page: Page, source: Any) -> None:
    sign_in(page, "/dashboard/functions/dev/Orders")
    chart = page.locator("#chart-invocations")
    # Plotly drew it: its SVG is there, and the bars hold what the source recorded.
    expect(chart.locator("svg.main-svg").first).to_be_visible()
    expect(chart).to_have_attribute("data-invocations", "0")
    source.record_many("dev", "Orders", 7, duration_ms=42.0)
    expect(chart).to_have_attribute("data-invocations", "7")
    drawn = page.evaluate(
        "() => document.getElementById('chart-invocations').data[0].y.reduce((a, b) => a + b, 0)"
    )
    assert drawn == 7
    source.record_many("dev", "Orders", 5, duration_ms=80.0, error=True)
    expect(chart).to_have_attribute("data-invocations", "12")
    errors = page.evaluate(
        "() => document.getElementById('chart-invocations').data[1].y.reduce((a, b) => a + b, 0)"
    )
    assert errors == 5
    expect(page.locator("#totals")).to_contain_text("12 invocations")
    expect(page.locator("#chart-duration svg.main-svg").first).to_be_visible()
    expect(page.locator("#chart-concurrency svg.main-svg").first).to_be_visible()


def test_tails_logs_as_they_are_written(page: Page, source: Any) -> None:
    sign_in(page, "/dashboard/functions/dev/Echo")
    expect(page.locator("#log-state")).to_have_text("live")
    tail = page.locator("#log-tail")
    expect(tail).to_contain_text("END RequestId: 5f1c0e7a-0007")  # the recent backlog
    source.log("dev", "Echo", "REPORT RequestId: 9b2d Duration: 12.31 ms Billed Duration: 13 ms")
    expect(tail).to_contain_text("REPORT RequestId: 9b2d")
    source.log("dev", "Echo", "<script>alert(1)</script> stays text")
    expect(tail).to_contain_text("<script>alert(1)</script> stays text")
    expect(page.locator("#chart-invocations svg.main-svg").first).to_be_visible()
    screenshot(page, "function")


def test_sees_an_alarm_go_to_alarm(page: Page, source: Any) -> None:
    sign_in(page, "/dashboard/alarms")
    row = page.locator('tr.alarm[data-alarm="HighErrors"]')
    expect(row).to_have_attribute("data-state", "OK")
    source.set_alarm("HighErrors", "ALARM", "Threshold Crossed: 1 datapoint [9.0] was greater "
                     "than the threshold (5.0).", stage="prod",
                     description="Errors Sum > 5 for 1 x 60 s")  # fmt: skip
    expect(row).to_have_attribute("data-state", "ALARM")
    expect(row.locator(".state")).to_have_text("ALARM")
    expect(row.locator(".reason")).to_contain_text("[9.0]")
    screenshot(page, "alarms")


def test_rollback_button_rolls_the_stage_back(page: Page, source: Any) -> None:
    sign_in(page, "/dashboard/deployments")
    dev = page.locator('section.stage[data-stage="dev"]')
    expect(dev.locator("tr.deployment.current")).to_have_attribute("data-deployment", "d-M3TR8VJ2C")
    screenshot(page, "deployments")
    page.once("dialog", lambda dialog: dialog.accept())
    dev.get_by_role("button", name="Roll back dev").click()
    expect(page.locator("#flash")).to_contain_text("Rolling dev back")
    assert source.rollbacks == [("dev", KEY_ID)]
    expect(dev.locator("tr.deployment.current")).to_have_attribute("data-deployment", "d-RB0000001")


def test_signing_out_ends_the_session(page: Page) -> None:
    sign_in(page)
    expect(page.locator("section.stage")).to_have_count(2)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/dashboard/login"))
    page.goto("/dashboard/")
    expect(page).to_have_url(re.compile(r"/dashboard/login"))


def test_an_open_page_of_a_revoked_key_goes_to_sign_in(page: Page) -> None:
    sign_in(page, "/dashboard/functions/dev/Echo", key=(DOOMED_ID, DOOMED_SECRET))
    expect(page.locator("#log-state")).to_have_text("live")
    REVOKED.add(DOOMED_ID)
    expect(page).to_have_url(
        re.compile(r"/dashboard/login\?next=%2Fdashboard%2Ffunctions%2Fdev%2FEcho")
    )
