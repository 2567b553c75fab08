"""A key limited to one stack of a stage reaches nothing of the stage's other stacks.

dev runs two stacks, ``versioned`` (at the root) and ``notes`` (under /notes); a
deployer key limited to dev's ``notes`` deploys, rolls back, invokes and reads notes,
and gets AccessDeniedException for everything of ``versioned`` — deploys, rollback,
deletion, its function and configuration, the dashboard's pages of it — and for the
stage-wide edge invalidation; lists show notes only.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from botocore.exceptions import ClientError

from overcast.cli.platform_cmd import PlatformClient, PlatformClientError
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

APPS = Path(__file__).resolve().parents[1] / "integration" / "platform" / "apps"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    work = tmp_path_factory.mktemp("stacks")
    for name in ("versioned", "notes"):
        shutil.copytree(APPS / name, work / name)
    running = start_platform(work / "state")
    try:
        running.deploy(work / "versioned", "dev")
        running.deploy(work / "notes", "dev", "--base-path", "notes")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def notes_key(platform: RunningPlatform) -> dict[str, str]:
    created = platform.cli_plain(
        "keys", "create", "--role", "deployer", "--stage", "dev", "--stack", "notes",
        "--platform", str(platform.state_dir),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr.decode()
    pairs = dict(line.split(" = ", 1) for line in created.stdout.decode().splitlines())
    return {
        "OVERCAST_ACCESS_KEY_ID": pairs["aws_access_key_id"],
        "OVERCAST_SECRET_ACCESS_KEY": pairs["aws_secret_access_key"],
    }


def _client(platform: RunningPlatform, key: dict[str, str]) -> PlatformClient:
    return PlatformClient(
        platform.admin_url, key["OVERCAST_ACCESS_KEY_ID"], key["OVERCAST_SECRET_ACCESS_KEY"]
    )


def test_the_key_deploys_its_stack_and_not_another(
    platform: RunningPlatform, notes_key: dict[str, str]
) -> None:
    app = platform.state_dir.parent / "notes"
    mine = platform.cli("deploy", str(app), "--stage", "dev", "--base-path", "notes", env=notes_key)
    assert mine.returncode == 0, mine.stderr.decode()
    theirs = platform.cli(
        "deploy", str(platform.state_dir.parent / "versioned"), "--stage", "dev", env=notes_key
    )
    assert theirs.returncode == 1
    assert "limited to stack(s) notes" in theirs.stderr.decode()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/overcast/stages/dev/rollback?stack=versioned"),
        ("DELETE", "/overcast/stages/dev/stacks/versioned"),
        ("GET", "/overcast/stages/dev/deployments?stack=versioned"),
    ],
)
def test_routes_on_another_stack_are_denied(
    platform: RunningPlatform, notes_key: dict[str, str], method: str, path: str
) -> None:
    with pytest.raises(PlatformClientError) as info:
        _client(platform, notes_key).request(method, path)
    assert (info.value.status, info.value.code) == (403, "AccessDeniedException")


def test_lists_show_the_keys_stack_only(
    platform: RunningPlatform, notes_key: dict[str, str]
) -> None:
    client = _client(platform, notes_key)
    stacks = client.request("GET", "/overcast/stages/dev/stacks")["Stacks"]
    assert [s["Stack"] for s in stacks] == ["notes"]
    history = client.request("GET", "/overcast/stages/dev/deployments")["Deployments"]
    assert {d["Stack"] for d in history} == {"notes"}
    stages = client.request("GET", "/overcast/stages")["Stages"]
    dev = next(s for s in stages if s["Stage"] == "dev")
    assert [s["Stack"] for s in dev["Stacks"]] == ["notes"]


def test_the_lambda_api_reaches_the_keys_stack_only(
    platform: RunningPlatform, notes_key: dict[str, str]
) -> None:
    lam = platform.lambda_client(
        notes_key["OVERCAST_ACCESS_KEY_ID"], notes_key["OVERCAST_SECRET_ACCESS_KEY"]
    )
    event = json.dumps({"rawPath": "/notes"}).encode()
    assert lam.invoke(FunctionName="Notes:dev", Payload=event)["StatusCode"] == 200
    for call in (
        lambda: lam.invoke(FunctionName="Echo:dev", Payload=b"{}"),
        lambda: lam.get_function(FunctionName="Echo", Qualifier="dev"),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["Notes"]


def test_the_stage_wide_invalidation_is_denied(
    platform: RunningPlatform, notes_key: dict[str, str]
) -> None:
    done = platform.cli("invalidate", "--stage", "dev", "/*", env=notes_key)
    assert done.returncode != 0
    assert "AccessDenied" in done.stderr.decode()


def test_the_dashboard_shows_the_keys_stack_only(
    platform: RunningPlatform, notes_key: dict[str, str]
) -> None:
    with httpx.Client(base_url=platform.admin_url, timeout=30) as browser:
        form = {
            "access_key_id": notes_key["OVERCAST_ACCESS_KEY_ID"],
            "secret_access_key": notes_key["OVERCAST_SECRET_ACCESS_KEY"],
        }
        browser.post(
            "/dashboard/login",
            content=urlencode(form),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "origin": platform.admin_url,
            },
        )
        overview: Any = browser.get("/dashboard/api/overview").json()
        dev = next(s for s in overview["stages"] if s["name"] == "dev")
        assert [f["name"] for f in dev["functions"]] == ["Notes"]
        for path in (
            "/dashboard/api/stages/dev/functions/Echo/metrics",
            "/dashboard/api/stages/dev/functions/Echo/logs",
        ):
            assert browser.get(path).status_code == 403, path
        assert browser.get("/dashboard/functions/dev/Echo").status_code == 403
        assert browser.get("/dashboard/api/stages/dev/functions/Notes/metrics").status_code == 200
        history = browser.get("/dashboard/api/stages/dev/deployments").json()["deployments"]
        assert history
        assert {d.get("stack") for d in history} == {"notes"}
