"""examples/auth-service's login page in a real browser, on the dev stage's domain.

Twice: `overcast up` serves the page from web/ through the edge, and a platform
(`overcast serve --domain auth.test`) serves it from the dev stage's bucket after
`overcast deploy --stage dev`; either way the API is under /api/* on the same host
(the edge strips /api, docs/edge.md). Headless Chromium — Debian's
(/usr/bin/chromium), driven by Playwright — opens http://dev.auth.test:<port>/: the
name resolves to 127.0.0.1 through Chromium's host resolver rules, so the edge picks
the stage from the template's ``domain: auth.test``, not from the loopback fallback.

``OVERCAST_SCREENSHOTS=1`` also saves docs/screenshots/auth-login.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_e2e_helpers import AUTH_SERVICE, FAST, development_key_set, migrate, seeded_copy

from process_helpers import start_platform

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
HOST = "dev.auth.test"
EMAIL = "browser@example.com"
PASSWORD = "correct horse battery"
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "screenshots" / "auth-login.png"

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
    f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
]

if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module", params=["up", "platform"])
def app(
    request: pytest.FixtureRequest,
    module_running_app: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    if request.param == "up":
        running = module_running_app(
            seeded_copy(tmp_path_factory.mktemp("seeded")),
            copy=False,
            parameter_overrides=list(FAST),
        )
        assert migrate(running)["status"] == "migrated"
        yield running
        return
    work = tmp_path_factory.mktemp("platform")
    platform = start_platform(work / "state", "--domain", "auth.test")
    try:
        app_dir = work / AUTH_SERVICE.name
        shutil.copytree(AUTH_SERVICE, app_dir, ignore=shutil.ignore_patterns(".overcast"))
        # The dev stage's own secret: {{resolve:secretsmanager:auth-service...}} reads
        # dev/auth-service on a platform.
        put = platform.cli_plain(
            "secrets",
            "put",
            "dev/auth-service",
            "database_url=",
            "--stdin",
            "jwt_private_keys",
            "--platform",
            str(platform.state_dir),
            input=development_key_set(app_dir).encode(),
        )
        assert put.returncode == 0, put.stderr.decode()
        smtp = platform.cli_plain(
            "secrets",
            "put",
            "dev/auth-service-smtp",
            "host=127.0.0.1",
            "port=1025",
            "username=",
            "password=",
            "--platform",
            str(platform.state_dir),
        )
        assert smtp.returncode == 0, smtp.stderr.decode()
        overrides = list(FAST)  # the stage's SQLite lives on its StateAccessPoint volume
        platform.deploy(app_dir, "dev", *(f"--parameter-overrides={o}" for o in overrides))
        migrated = platform.client().request(
            "POST", "/2015-03-31/functions/MigrateFunction/invocations?Qualifier=dev", b"{}"
        )
        assert migrated["status"] == "migrated", migrated
        yield platform
    finally:
        assert platform.stop() in (0, 130), platform.output()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 900, "height": 700})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_sign_up_log_in_and_see_the_profile_on_the_dev_domain(app: Any, page: Page) -> None:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    loaded = page.goto(f"http://{HOST}:{app.port}/")
    assert loaded is not None
    assert loaded.status == 200, app.output()
    # Served by the edge from the static origin, not by the gateway.
    assert loaded.headers["x-cache"] in ("Miss from overcast", "Hit from overcast")
    assert loaded.headers["content-type"].startswith("text/html")
    expect(page).to_have_title(re.compile("auth-service"))

    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/api/auth/register")) as registered:
        page.click("#signup")
    assert registered.value.status == 201
    expect(page.locator("#status")).to_contain_text("Account created")

    with page.expect_response(lambda r: r.url.endswith("/api/auth/me")) as me:
        page.click("#login")
    assert me.value.status == 200
    expect(page.locator("#profile")).to_be_visible()
    expect(page.locator("#profile-email")).to_have_text(EMAIL)
    expect(page.locator("#signed-out")).to_be_hidden()

    if os.environ.get("OVERCAST_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    with page.expect_response(lambda r: r.url.endswith("/api/auth/logout")) as out:
        page.click("#logout")
    assert out.value.status == 204
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#status")).to_have_text("Logged out.")
    assert problems == []


def test_wrong_password_shows_the_api_error(app: Any, page: Page) -> None:
    page.goto(f"http://{HOST}:{app.port}/")
    page.fill("#email", "wrong-password@example.com")
    page.fill("#password", PASSWORD)
    page.click("#signup")
    expect(page.locator("#status")).to_contain_text("Account created")

    page.fill("#password", "not the password")
    with page.expect_response(lambda r: r.url.endswith("/api/auth/login")) as login:
        page.click("#login")
    assert login.value.status == 401
    status = page.locator("#status")
    # The service's own message, from its JSON body.
    expect(status).to_have_text("invalid email or password")
    expect(status).to_have_class("error")
    expect(page.locator("#profile")).to_be_hidden()


def test_short_password_error_names_the_field(app: Any, page: Page) -> None:
    page.goto(f"http://{HOST}:{app.port}/")
    page.fill("#email", "short@example.com")
    page.fill("#password", "short")
    page.click("#signup")
    expect(page.locator("#status")).to_contain_text("(password)")
    expect(page.locator("#password")).to_have_attribute("aria-invalid", "true")
