"""A scripted billing attack against a capped stage ends with spend under the cap."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from overcast.cli.platform_cmd import PlatformClientError
from process_helpers import start_platform

pytestmark = pytest.mark.slow

CAP = Decimal("0.00005")  # about forty requests of the versioned app at its real cost


def test_a_flood_from_many_clients_stops_at_the_cap_and_an_admin_can_lift_it(
    tmp_path: Path, versioned_app: Path
) -> None:
    running = start_platform(tmp_path / "state", "--budget-cap", f"dev={CAP}/day")
    try:
        running.deploy(versioned_app, "dev")
        running.deploy(versioned_app, "prod")
        statuses: Counter[int] = Counter()
        messages: set[str] = set()
        lock = threading.Lock()

        def attacker() -> None:
            # Each attacker is its own client with its own connections.
            with httpx.Client(
                base_url=f"http://127.0.0.1:{running.port}",
                headers={"Host": running.host("dev")},
                timeout=30,
            ) as client:
                refused_in_a_row = 0
                while refused_in_a_row < 20:
                    response = client.get("/whoami")
                    with lock:
                        statuses[response.status_code] += 1
                        if response.status_code == 429:
                            messages.add(response.json()["message"])
                    refused_in_a_row = refused_in_a_row + 1 if response.status_code == 429 else 0

        attackers = [threading.Thread(target=attacker) for _ in range(8)]
        for thread in attackers:
            thread.start()
        for thread in attackers:
            thread.join(timeout=120)
        assert set(statuses) == {200, 429}, statuses
        assert statuses[200] > 10
        assert any("Budget cap reached: stage dev" in m for m in messages), messages

        client = running.client()
        budget = client.request("GET", "/overcast/stages/dev/budget")
        assert budget["Reached"] is True, str(budget)
        assert Decimal(budget["Spent"]) <= CAP
        assert Decimal(budget["Reserved"]) == 0
        # the cap is the stage's own: prod keeps serving
        assert running.get("prod", "/whoami").status_code == 200
        assert running.get("dev", "/whoami").status_code == 429

        lifted = running.cli("budget", "--stage", "dev", "--lift")
        assert lifted.returncode == 0, lifted.stderr.decode()
        assert running.get("dev", "/whoami").status_code == 200
    finally:
        assert running.stop() in (0, 130), running.output()


def test_a_capped_stage_can_answer_a_configured_page_instead(
    tmp_path: Path, versioned_app: Path
) -> None:
    page = tmp_path / "over-budget.html"
    page.write_text("<h1>We are over budget today. Back tomorrow.</h1>")
    running = start_platform(
        tmp_path / "state",
        "--budget-cap", "dev=0.000001/day",
        "--budget-fallback", f"dev={page}",
    )  # fmt: skip
    try:
        running.deploy(versioned_app, "dev")
        refused = running.get("dev", "/whoami")
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "text/html; charset=utf-8"
        assert "over budget today" in refused.text
    finally:
        assert running.stop() in (0, 130), running.output()


def test_a_function_cap_stops_that_function_only(tmp_path: Path, versioned_app: Path) -> None:
    running = start_platform(tmp_path / "state", "--budget-cap", f"dev/Echo={CAP}/day")
    try:
        running.deploy(versioned_app, "dev")
        codes = [running.get("dev", "/whoami").status_code for _ in range(80)]
        assert codes[0] == 200
        assert codes[-1] == 429
        refused = running.get("dev", "/whoami")
        assert refused.json() == {"message": "Budget cap reached"}
        assert "x-amzn-errortype" not in refused.headers  # an HTTP API's 429
        # the Lambda API refuses it the same way (TooManyRequestsException)
        with pytest.raises(PlatformClientError) as lambda_refused:
            running.client().request(
                "POST", "/2015-03-31/functions/Echo/invocations?Qualifier=dev", b"{}"
            )
        assert lambda_refused.value.status == 429
        assert lambda_refused.value.code == "TooManyRequestsException"
    finally:
        assert running.stop() in (0, 130), running.output()


def test_a_stack_cap_stops_that_stack_only(tmp_path: Path, versioned_app: Path) -> None:
    notes = tmp_path / "notes"
    shutil.copytree(Path(__file__).parent / "apps" / "notes", notes)
    running = start_platform(tmp_path / "state", "--budget-cap", f"dev/stack:notes={CAP}/day")
    try:
        running.deploy(versioned_app, "dev")
        running.deploy(notes, "dev")
        codes = [running.get("dev", "/notes/notes").status_code for _ in range(80)]
        assert codes[0] == 200
        assert codes[-1] == 429
        refused = running.get("dev", "/notes/notes").json()["message"]
        assert refused.startswith("Budget cap reached: stack notes has spent")
        # the other stack of the stage serves on
        assert running.get("dev", "/whoami").status_code == 200
        status = running.client().request("GET", "/overcast/stages/dev/budget?stack=notes")
        assert status["Reached"] is True
        assert status["Stack"] == "notes"
    finally:
        assert running.stop() in (0, 130), running.output()
