"""The attacker app against `overcast up` and against a platform.

Through `overcast up`: the attacker looks for the app's own state (master key, root
token, admin credentials), other code, the platform's processes and environment, the
admin port's unauthenticated pages and the machine's databases, while an honest
neighbour keeps answering. On a platform (the headline case): a deployer key limited
to dev deploys the attacker to dev and tries every way it knows to a prod secret.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from overcast.testing import sandbox_config
from process_helpers import RunningPlatform, start_platform

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sandbox_config() is None, reason="this machine cannot build a sandbox"),
]

ATTACKER = Path(__file__).parent / "apps" / "attacker"
PLATFORM_APPS = Path(__file__).resolve().parents[1] / "integration" / "platform" / "apps"
VERSIONED = PLATFORM_APPS / "versioned"
NOTES = PLATFORM_APPS / "notes"
PROD_SECRET = "TOPSECRET-prod-api-key-3f9c1a"


def _assert_nothing_escaped(found: dict[str, Any]) -> None:
    for key, value in found.items():
        if key.startswith("file "):
            assert value == "errno 2", (key, value)  # ENOENT: the state folder is not there
    assert found["state folder exists"] is False
    assert found["state folder listing"] == []
    assert found["other code"] == []
    assert found["root listing"] == ["bin", "dev", "etc", "lib", "lib64", "proc", "sbin", "tmp",
                                     "usr", "var"]  # fmt: skip
    assert not any(name.startswith("OVERCAST_") for name in found["environ"])
    assert found["processes"][0] == 1  # its own PID namespace: the zygote and instances
    assert all(v == "errno 13" for v in found["process environs"].values())
    for route in ("metrics", "dashboard", "deploy api"):
        assert found[route].startswith("404:"), (route, found[route])
    assert found["vault unauthenticated"].startswith("403:")
    assert found["vault own token on prod"].startswith("403:")
    assert found["lambda unsigned"].startswith("403:")
    assert found["postgres"] == found["redis"] == "errno 111"  # ECONNREFUSED
    assert found["health"].startswith("200:")


def test_the_attacker_finds_nothing_under_overcast_up(running_app: Any) -> None:
    app = running_app(ATTACKER)
    state = app.state_dir
    assert (state / "secrets" / "master.key").exists()  # there, outside the sandbox
    stop = threading.Event()
    honest: list[int] = []

    def neighbour() -> None:
        with app.client() as client:
            while not stop.is_set():
                honest.append(client.get("/ok").status_code)

    thread = threading.Thread(target=neighbour)
    thread.start()
    try:
        with app.client() as client:
            response = client.get("/loot", params={"state": str(state), "admin": app.admin_port})
    finally:
        stop.set()
        thread.join()
    assert response.status_code == 200, response.text
    found = response.json()
    _assert_nothing_escaped(found)
    master_key = (state / "secrets" / "master.key").read_bytes()
    assert master_key.hex() not in response.text
    assert honest
    assert set(honest) == {200}


def test_the_internet_is_reached_through_the_proxy_and_never_local_addresses(
    running_app: Any,
) -> None:
    app = running_app(ATTACKER)
    with app.client() as client:
        found = client.get("/egress").json()
    assert found["proxy"].startswith("http://127.0.0.1:")
    # the proxy refuses what is not a public address: no way around the grants
    assert found["private through the proxy"].startswith("403:")
    assert "is not a public address" in found["private through the proxy"]
    # only the proxy leads out: the namespace has no route anywhere else
    assert found["public, bypassing the proxy"] == "errno 101"  # ENETUNREACH


@pytest.fixture
def platform(tmp_path: Path) -> Any:
    running = start_platform(tmp_path / "state")
    yield running
    running.stop()


def test_a_dev_deployer_key_gets_no_prod_secret_by_any_way(
    platform: RunningPlatform, tmp_path: Path
) -> None:
    put = platform.cli_plain(
        "secrets", "put", "prod/shop", f"api_key={PROD_SECRET}",
        "--platform", str(platform.state_dir),
    )  # fmt: skip
    assert put.returncode == 0, put.stderr.decode()
    shop = tmp_path / "shop"
    shutil.copytree(VERSIONED, shop)
    reference = "Greeting={{resolve:secretsmanager:shop:SecretString:api_key}}"
    platform.deploy(shop, "prod", "--parameter-overrides", reference)
    assert platform.get("prod", "/whoami").json()["greeting"] == PROD_SECRET  # prod has it

    env = platform.deployer_key_env("dev")
    attacker = tmp_path / "attacker"
    shutil.copytree(ATTACKER, attacker)
    deployed = platform.cli("deploy", str(attacker), "--stage", "dev", env=env)
    assert deployed.returncode == 0, deployed.stderr.decode()

    # Another stack of dev, served all along (its requests must all succeed meanwhile).
    neighbour = tmp_path / "notes"
    shutil.copytree(NOTES, neighbour)
    platform.deploy(neighbour, "dev")
    stop = threading.Event()
    served: list[int] = []

    def hammer() -> None:
        while not stop.is_set():
            served.append(platform.get("dev", "/notes/notes").status_code)

    thread = threading.Thread(target=hammer)
    thread.start()
    # From inside: the attacker's handler on dev.
    try:
        answer = platform.get(
            "dev", f"/loot?state={platform.state_dir}&admin={platform.admin_port}"
        )
    finally:
        stop.set()
        thread.join()
    assert served
    assert set(served) == {200}
    assert answer.status_code == 200, answer.text
    assert PROD_SECRET not in answer.text
    _assert_nothing_escaped(answer.json())

    # From outside, with the dev key itself: prod's function, configuration and logs.
    lam = platform.lambda_client(env["OVERCAST_ACCESS_KEY_ID"], env["OVERCAST_SECRET_ACCESS_KEY"])
    for call in (
        lambda: lam.invoke(FunctionName="Echo:prod", Payload=b"{}"),
        lambda: lam.invoke(FunctionName="Echo", Payload=b"{}"),
        lambda: lam.get_function(FunctionName="Echo", Qualifier="prod"),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    listed = json.dumps(lam.list_functions()["Functions"])
    assert PROD_SECRET not in listed
    with httpx.Client(base_url=platform.admin_url, timeout=30) as browser:
        signed = browser.post(
            "/dashboard/login",
            data={
                "access_key_id": env["OVERCAST_ACCESS_KEY_ID"],
                "secret_access_key": env["OVERCAST_SECRET_ACCESS_KEY"],
                "next": "/dashboard/",
            },
            headers={"origin": platform.admin_url},
        )
        assert signed.status_code == 303
        logs = browser.get("/dashboard/api/stages/prod/functions/Echo/logs")
        assert logs.status_code == 403
        assert PROD_SECRET not in browser.get("/dashboard/api/overview").text
    # prod served all along
    assert platform.get("prod", "/whoami").status_code == 200
