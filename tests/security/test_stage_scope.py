"""A key limited to a stage reaches nothing of another stage, by any admin route.

One platform runs the ``versioned`` app in dev and prod; a deployer key limited to dev
walks every admin route that can name prod — the Lambda API (stage alias in the path
or in ``Qualifier``, a version, no qualifier), the deploy API, the dashboard's pages,
JSON API and log stream — and gets AWS's ``AccessDeniedException`` (403) each time,
while the same routes on dev work. Lists show dev only.
"""

from __future__ import annotations

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
    work = tmp_path_factory.mktemp("scope")
    app = work / "versioned"
    shutil.copytree(APPS / "versioned", app)
    running = start_platform(work / "state")
    try:
        running.deploy(app, "dev")
        running.deploy(app, "prod", "--parameter-overrides", "Greeting=secret-prod-greeting")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def dev_key(platform: RunningPlatform) -> tuple[str, str]:
    env = platform.deployer_key_env("dev")
    return env["OVERCAST_ACCESS_KEY_ID"], env["OVERCAST_SECRET_ACCESS_KEY"]


@pytest.fixture(scope="module")
def lam(platform: RunningPlatform, dev_key: tuple[str, str]) -> Any:
    return platform.lambda_client(*dev_key)


def _denied(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error["Code"] == "AccessDeniedException", error
    return str(error["Message"])


def test_the_dev_key_invokes_dev(lam: Any) -> None:
    answer = lam.invoke(FunctionName="Echo:dev", Payload=b"{}")
    assert answer["StatusCode"] == 200
    answer = lam.invoke(FunctionName="Echo", Qualifier="dev", Payload=b"{}")
    assert answer["StatusCode"] == 200


@pytest.mark.parametrize(
    "target",
    [
        {"FunctionName": "Echo:prod"},
        {"FunctionName": "Echo", "Qualifier": "prod"},
        {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:Echo:prod"},
        {"FunctionName": "Echo"},
        {"FunctionName": "Echo", "Qualifier": "$LATEST"},
        {"FunctionName": "Echo", "Qualifier": "1"},
    ],
)
def test_invoking_outside_dev_is_access_denied(lam: Any, target: dict[str, str]) -> None:
    message = _denied(lam.invoke, Payload=b"{}", **target)
    assert "limited to stage(s) dev" in message


def test_reading_prods_configuration_is_access_denied(lam: Any) -> None:
    _denied(lam.get_function, FunctionName="Echo:prod")
    _denied(lam.get_function_configuration, FunctionName="Echo", Qualifier="prod")
    assert lam.get_function(FunctionName="Echo:dev")["Configuration"]["FunctionName"] == "Echo"


def test_listing_shows_what_dev_runs_only(lam: Any) -> None:
    functions = lam.list_functions()["Functions"]
    assert [f["FunctionName"] for f in functions] == ["Echo"]
    assert functions[0]["Environment"]["Variables"]["STAGE"] == "dev"
    assert "secret-prod-greeting" not in str(functions)


def test_deploy_api_routes_on_prod_are_denied_and_lists_show_dev(
    platform: RunningPlatform, dev_key: tuple[str, str]
) -> None:
    client = PlatformClient(platform.admin_url, *dev_key)
    for method, path, body in [
        ("GET", "/overcast/stages/prod/deployments", b""),
        ("POST", "/overcast/stages/prod/rollback", b""),
        ("POST", "/overcast/stages/prod/deployments", b"{}"),
        ("GET", "/overcast/stages/prod/budget", b""),
    ]:
        with pytest.raises(PlatformClientError) as info:
            client.request(method, path, body)
        assert info.value.status == 403, (method, path)
        assert info.value.code == "AccessDeniedException", (method, path)
    stages = client.request("GET", "/overcast/stages")["Stages"]
    assert [s["Stage"] for s in stages] == ["dev"]
    alarms = client.request("GET", "/overcast/alarms")["Alarms"]
    assert {a["Stage"] for a in alarms} <= {"dev", None}
    assert client.request("GET", "/overcast/stages/dev/deployments")["Current"]


def test_dashboard_pages_api_and_logs_of_prod_are_denied(
    platform: RunningPlatform, dev_key: tuple[str, str]
) -> None:
    with httpx.Client(base_url=platform.admin_url, timeout=30) as browser:
        signed = browser.post(
            "/dashboard/login",
            content=urlencode(
                {
                    "access_key_id": dev_key[0],
                    "secret_access_key": dev_key[1],
                    "next": "/dashboard/",
                }
            ),
            headers={
                "content-type": "application/x-www-form-urlencoded",
                "origin": platform.admin_url,
            },
        )
        assert signed.status_code == 303, signed.text
        for path in [
            "/dashboard/api/stages/prod/functions/Echo/metrics",
            "/dashboard/api/stages/prod/functions/Echo/logs",
            "/dashboard/api/stages/prod/deployments",
        ]:
            answer = browser.get(path)
            assert answer.status_code == 403, path
            assert answer.json()["__type"] == "AccessDeniedException", path
        assert browser.get("/dashboard/functions/prod/Echo").status_code == 403
        stages = browser.get("/dashboard/api/stages").json()["stages"]
        assert [s["name"] for s in stages] == ["dev"]
        overview = browser.get("/dashboard/api/overview").json()
        assert [s["name"] for s in overview["stages"]] == ["dev"]
        deployments = browser.get("/dashboard/api/deployments").json()["stages"]
        assert [s["stage"] for s in deployments] == ["dev"]
        alarms = browser.get("/dashboard/api/alarms").json()["alarms"]
        assert {a.get("stage") for a in alarms} <= {"dev", None}
        assert browser.get("/dashboard/api/stages/dev/deployments").status_code == 200
