"""A dashboard session lives only as long as its key; sign-in throttling slows a guesser only.

One platform runs the ``versioned`` app in dev (deployed twice, so a rollback is
possible). Keys are issued and revoked with the CLI while the platform runs, as an
operator would (``overcast keys create`` / ``overcast keys revoke``).

Sessions: once the key behind a session is revoked (or its scope narrowed), the
session is over on every surface — the JSON API answers 401, pages redirect to the
sign-in form, a rollback is refused and not done, an open log stream closes.

Sign-in throttling is per key and client address, with a growing wait (Cognito's
lockout: five free failures, then 2^(n-5) seconds): a guesser hammering one key from
one address gets 429 with Retry-After; the key's owner from another address, and
another key from the guesser's address, sign in at once.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from overcast.control.access_keys import KeyStore
from overcast.durable_files import atomic_write
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

APPS = Path(__file__).resolve().parents[1] / "integration" / "platform" / "apps"
#: a second loopback address: "another client" without another machine
OTHER_ADDRESS = "127.0.0.2"
#: how long a stream may stay open after its key is revoked before the test gives up
STREAM_GIVE_UP_S = 60.0


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    work = tmp_path_factory.mktemp("dashboard-sign-in")
    app = work / "versioned"
    shutil.copytree(APPS / "versioned", app)
    running = start_platform(work / "state")
    try:
        running.deploy(app, "dev")
        running.deploy(app, "dev", "--parameter-overrides", "Greeting=second")
        yield running
    finally:
        running.stop()


def _create_key(platform: RunningPlatform, *options: str) -> tuple[str, str]:
    created = platform.cli_plain(
        "keys", "create", "--role", "deployer", *options, "--platform", str(platform.state_dir)
    )
    assert created.returncode == 0, created.stderr.decode()
    pairs = dict(line.split(" = ", 1) for line in created.stdout.decode().splitlines())
    return pairs["aws_access_key_id"], pairs["aws_secret_access_key"]


def _revoke(platform: RunningPlatform, key_id: str) -> None:
    revoked = platform.cli_plain("keys", "revoke", key_id, "--platform", str(platform.state_dir))
    assert revoked.returncode == 0, revoked.stderr.decode()


def _browser(platform: RunningPlatform, address: str | None = None) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=address) if address else None
    return httpx.Client(base_url=platform.admin_url, timeout=30, transport=transport)


def _sign_in(browser: httpx.Client, key: tuple[str, str]) -> httpx.Response:
    return browser.post(
        "/dashboard/login",
        content=urlencode(
            {"access_key_id": key[0], "secret_access_key": key[1], "next": "/dashboard/"}
        ),
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "origin": str(browser.base_url).rstrip("/"),
        },
    )


def _csrf(browser: httpx.Client) -> str:
    page = browser.get("/dashboard/").text
    marker = '<meta name="csrf-token" content="'
    start = page.index(marker) + len(marker)
    return page[start : page.index('"', start)]


def _history(platform: RunningPlatform) -> list[str]:
    answer = platform.client().request("GET", "/overcast/stages/dev/deployments")
    return [d["DeploymentId"] for d in answer["Deployments"]]


# -- sessions end with their key ---------------------------------------------------------


def test_a_revoked_keys_session_lists_nothing_and_rolls_nothing_back(
    platform: RunningPlatform,
) -> None:
    key = _create_key(platform, "--stage", "dev")
    with _browser(platform) as browser:
        assert _sign_in(browser, key).status_code == 303
        stages = browser.get("/dashboard/api/stages")
        assert [s["name"] for s in stages.json()["stages"]] == ["dev"]
        csrf = _csrf(browser)
        before = _history(platform)

        _revoke(platform, key[0])

        for path in [
            "/dashboard/api/stages",
            "/dashboard/api/deployments",
            "/dashboard/api/overview",
            "/dashboard/api/stages/dev/deployments",
        ]:
            answer = browser.get(path)
            assert answer.status_code == 401, path
            assert answer.json() == {"message": "Sign in first"}, path
        page = browser.get("/dashboard/deployments")
        assert page.status_code == 303
        assert page.headers["location"] == "/dashboard/login?next=/dashboard/deployments"
        rollback = browser.post(
            "/dashboard/api/stages/dev/rollback",
            headers={"x-csrf-token": csrf, "origin": platform.admin_url},
        )
        assert rollback.status_code == 401
        assert _history(platform) == before
        # Signing in again with the revoked key fails too.
        assert _sign_in(browser, key).status_code == 401


def test_an_open_log_stream_of_a_revoked_key_closes(platform: RunningPlatform) -> None:
    key = _create_key(platform, "--stage", "dev")
    with _browser(platform) as browser:
        assert _sign_in(browser, key).status_code == 303
        with browser.stream("GET", "/dashboard/api/stages/dev/functions/Echo/logs") as stream:
            assert stream.status_code == 200
            chunks = stream.iter_raw()
            received = next(chunks)
            assert received.startswith(b"retry: ")
            _revoke(platform, key[0])
            give_up = time.monotonic() + STREAM_GIVE_UP_S
            for chunk in chunks:  # heartbeats keep coming while the stream is open
                received += chunk
                assert time.monotonic() < give_up, f"stream still open: {received!r}"
        assert b"event: session-ended\n" in received
        assert browser.get("/dashboard/api/stages/dev/functions/Echo/logs").status_code == 401


def test_narrowing_a_keys_stages_ends_its_session(platform: RunningPlatform) -> None:
    key = _create_key(platform)
    with _browser(platform) as browser:
        assert _sign_in(browser, key).status_code == 303
        names = [s["name"] for s in browser.get("/dashboard/api/stages").json()["stages"]]
        assert "dev" in names
        # An operator edits keys.json: the key now reaches prod only.
        store = KeyStore(platform.state_dir)
        data = json.loads(store.path.read_text())
        for entry in data["keys"]:
            if entry["access_key_id"] == key[0]:
                entry["stages"] = ["prod"]
        atomic_write(store.path, json.dumps(data).encode())

        assert browser.get("/dashboard/api/stages").status_code == 401
        assert browser.get("/dashboard/").status_code == 303
        again = _sign_in(browser, key)
        assert again.status_code == 303
        stages = browser.get("/dashboard/api/stages").json()["stages"]
        assert [s["name"] for s in stages] == ["prod"]


# -- sign-in throttling: per key and address, with backoff -------------------------------


def _guess_until_refused(browser: httpx.Client, key_id: str) -> httpx.Response:
    for _ in range(40):  # each failure past the fifth doubles the wait: 429 comes quickly
        answer = _sign_in(browser, (key_id, "a-wrong-secret-" + "x" * 25))
        if answer.status_code == 429:
            return answer
        assert answer.status_code == 401
    pytest.fail("forty wrong secrets in a row were never throttled")


def test_a_guesser_is_slowed_but_the_keys_owner_signs_in_elsewhere(
    platform: RunningPlatform,
) -> None:
    target, other = _create_key(platform), _create_key(platform)
    with _browser(platform) as guesser:
        refused = _guess_until_refused(guesser, target[0])
        wait = int(refused.headers["retry-after"])
        assert wait >= 1
        assert "try again in" in refused.text
        # During the wait even the right secret is refused: no oracle for the guesser.
        during = _sign_in(guesser, target)
        assert during.status_code == 429
        assert "set-cookie" not in during.headers

        # The owner, elsewhere, signs in at once; so does another key from the same address.
        with _browser(platform, OTHER_ADDRESS) as owner:
            assert _sign_in(owner, target).status_code == 303
            assert owner.get("/dashboard/api/stages").status_code == 200
        assert _sign_in(guesser, other).status_code == 303

        # After the wait the right secret from the guesser's address works again.
        time.sleep(int(during.headers["retry-after"]))
        assert _sign_in(guesser, target).status_code == 303


# -- the basics stay: cross-site sign-in refused, cookie attributes, CSP ------------------


def test_cross_site_sign_in_is_refused_and_the_cookie_is_httponly_strict(
    platform: RunningPlatform,
) -> None:
    key = _create_key(platform)
    with _browser(platform) as browser:
        forged = browser.post(
            "/dashboard/login",
            content=urlencode({"access_key_id": key[0], "secret_access_key": key[1]}),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "origin": "http://evil.example",
            },
        )
        assert forged.status_code == 403
        assert "set-cookie" not in forged.headers
        signed = _sign_in(browser, key)
        attributes = [a.strip() for a in signed.headers["set-cookie"].split(";")]
        assert {"HttpOnly", "SameSite=Strict", "Path=/dashboard"} <= set(attributes)
        policy = browser.get("/dashboard/").headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
