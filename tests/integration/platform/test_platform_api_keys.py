"""Usage-plan API keys and per-client limits on a platform, kept across redeploys."""

from __future__ import annotations

from pathlib import Path

import pytest

from process_helpers import start_platform

pytestmark = pytest.mark.slow

THROTTLED = Path(__file__).parents[1] / "apps" / "throttled"


def test_api_keys_issued_by_the_cli_open_keyed_routes_and_quotas_survive_a_redeploy(
    tmp_path: Path,
) -> None:
    running = start_platform(tmp_path / "state")
    try:
        running.deploy(THROTTLED, "dev")
        created = running.cli_plain(
            "api-keys", "create", "mobile-app", "--plan", "RestApiUsagePlan",
            "--platform", str(running.state_dir),
        )  # fmt: skip
        assert created.returncode == 0, created.stderr.decode()
        value = created.stdout.decode().strip()
        assert len(value) == 40
        stored = (running.state_dir / "access" / "api-keys.json").read_text()
        assert value not in stored  # only its digest is kept

        assert running.get("dev", "/rest/keyed").status_code == 403
        wrong = running.get("dev", "/rest/keyed", headers={"x-api-key": "x" * 40})
        assert wrong.json() == {"message": "Forbidden"}
        keyed = {"x-api-key": value}
        assert [running.get("dev", "/rest/keyed", keyed).status_code for _ in range(3)] == [200] * 3
        over = running.get("dev", "/rest/keyed", keyed)
        assert (over.status_code, over.json()) == (429, {"message": "Limit Exceeded"})
        running.deploy(THROTTLED, "dev", "--message", "redeploy")
        assert running.get("dev", "/rest/keyed", keyed).status_code == 429

        listed = running.cli_plain("api-keys", "list", "--platform", str(running.state_dir))
        assert "mobile-app" in listed.stdout.decode()
        key_id = (
            listed.stdout.decode().split("│")[1].strip() if "│" in listed.stdout.decode() else ""
        )
        assert key_id
        revoked = running.cli_plain(
            "api-keys", "revoke", key_id, "--platform", str(running.state_dir)
        )
        assert revoked.returncode == 0, revoked.stderr.decode()
        assert running.get("dev", "/rest/keyed", keyed).status_code == 403
    finally:
        assert running.stop() in (0, 130), running.output()


def test_a_client_rate_limit_refuses_one_address_beyond_its_burst(tmp_path: Path) -> None:
    running = start_platform(tmp_path / "state", "--client-rate", "0.001:3")
    try:
        running.deploy(THROTTLED, "dev")
        codes = [running.get("dev", "/http/open").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
    finally:
        assert running.stop() in (0, 130), running.output()
