"""Traffic shifting on a platform: canaries, linear shifts, alarm rollback, no failed request."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from platform_helpers import set_code

from process_helpers import RunningPlatform

pytestmark = pytest.mark.slow


def _deployment(platform: RunningPlatform, stage: str, deployment_id: str) -> dict[str, object]:
    answer: dict[str, object] = platform.client().request(
        "GET", f"/overcast/stages/{stage}/deployments/{deployment_id}"
    )
    return answer


def _start(platform: RunningPlatform, app: Path, stage: str, *extra: str) -> str:
    started = platform.cli("deploy", str(app), "--stage", stage, "--no-wait", *extra)
    assert started.returncode == 0, started.stderr.decode() + platform.output()
    return started.stdout.decode().strip().splitlines()[-1]


def _wait_final(platform: RunningPlatform, stage: str, deployment_id: str, limit_s: float = 60):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        state = _deployment(platform, stage, deployment_id)
        if state["Status"] in ("Succeeded", "Failed", "RolledBack"):
            return state
        time.sleep(0.1)
    pytest.fail(f"deployment {deployment_id} did not finish\n" + platform.output())


def test_a_canary_sends_part_of_the_traffic_then_all_of_it(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    set_code(versioned_app, "v2")
    deployment = _start(
        overcast_platform,
        versioned_app,
        "dev",
        "--parameter-overrides",
        "DeployType=overcast:Canary50PercentSeconds4",
    )
    # While the canary runs, both versions answer on the same alias.
    seen: Counter[str] = Counter()
    weights: set[float] = set()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        response = overcast_platform.get("dev", "/whoami")
        assert response.status_code == 200, response.text
        seen[response.json()["code"]] += 1
        weights.update(_deployment(overcast_platform, "dev", deployment)["Weights"].values())
    assert seen["v1"] > 0, seen
    assert seen["v2"] > 0, seen
    assert 0.5 in weights
    final = _wait_final(overcast_platform, "dev", deployment)
    assert final["Status"] == "Succeeded"
    codes = {overcast_platform.get("dev", "/whoami").json()["code"] for _ in range(20)}
    assert codes == {"v2"}


def test_an_alarm_on_the_new_version_rolls_the_shift_back(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    set_code(versioned_app, "broken-v2")
    deployment = _start(
        overcast_platform,
        versioned_app,
        "dev",
        "--parameter-overrides",
        "DeployType=overcast:Linear10PercentEverySeconds5",
    )
    # Traffic reaches the broken version's 10%; its errors put EchoErrors in ALARM.
    statuses: Counter[int] = Counter()
    deadline = time.monotonic() + 30
    final: dict[str, object] = {}
    while time.monotonic() < deadline:
        statuses[overcast_platform.get("dev", "/whoami").status_code] += 1
        final = _deployment(overcast_platform, "dev", deployment)
        if final["Status"] != "InProgress":
            break
    assert final["Status"] == "RolledBack", (final, overcast_platform.output())
    assert "EchoErrors" in str(final["Reason"])
    assert statuses[500] > 0  # some requests did reach the broken version (HTTP API: 500)
    after = {overcast_platform.get("dev", "/whoami").status_code for _ in range(30)}
    assert after == {200}
    assert overcast_platform.get("dev", "/whoami").json()["code"] == "v1"
    history = overcast_platform.client().request("GET", "/overcast/stages/dev/deployments")
    assert history["Current"] != deployment


def test_switching_versions_under_load_fails_no_request(
    overcast_platform: RunningPlatform, versioned_app: Path
) -> None:
    overcast_platform.deploy(versioned_app, "dev")
    failures: list[str] = []
    codes: Counter[str] = Counter()
    stop = threading.Event()

    def hammer() -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{overcast_platform.port}",
            headers={"Host": overcast_platform.host("dev")},
            timeout=30,
        ) as client:
            while not stop.is_set():
                try:
                    response = client.get("/whoami")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text}")
                else:
                    codes[response.json()["code"]] += 1

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for marker in ("v2", "v3", "v4"):
            set_code(versioned_app, marker)
            overcast_platform.deploy(versioned_app, "dev")
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert failures == [], (failures[:5], overcast_platform.output())
    assert set(codes) >= {"v1", "v2", "v3", "v4"}, codes
