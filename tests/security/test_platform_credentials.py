"""On a platform each function gets its own temporary credentials, limited to its stage.

The ``function_access`` app, deployed to dev and prod: a dev function reads its own and
granted secrets below ``dev/`` and nothing below ``prod/``; it invokes what its policy
allows, in its own stage (unqualified names mean its stage), and is refused prod; its
credentials are temporary (``ASIA…`` with a session token that must come along) and die
with its deployment.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[1] / "integration" / "apps" / "function_access"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlatform]:
    work = tmp_path_factory.mktemp("creds")
    app = work / "function_access"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".overcast"))
    running = start_platform(work / "state")
    try:
        for stage, value in (("dev", "dev-value"), ("prod", "prod-value")):
            for path in (f"{stage}/shared/config", f"{stage}/Caller"):
                put = running.cli_plain(
                    "secrets", "put", path, f"value={value}",
                    "--platform", str(running.state_dir),
                )  # fmt: skip
                assert put.returncode == 0, put.stderr.decode()
        running.deploy(app, "dev")
        running.deploy(app, "prod")
        yield running
    finally:
        running.stop()


def _caller(platform: RunningPlatform, event: dict[str, Any], stage: str = "dev") -> Any:
    answer = platform.client().request(
        "POST",
        f"/2015-03-31/functions/Caller/invocations?Qualifier={stage}",
        json.dumps(event).encode(),
    )
    return answer


def test_a_function_gets_temporary_credentials_of_its_own(platform: RunningPlatform) -> None:
    listed = _caller(platform, {})
    assert listed["keys"] == [
        "AWS_ENDPOINT_URL_LAMBDA",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_SQS",
        "VAULT_ADDR",
        "VAULT_TOKEN",
    ]


def test_a_function_reads_its_stages_secrets_and_not_anothers(platform: RunningPlatform) -> None:
    assert _caller(platform, {"read": "dev/shared/config"})["data"] == {"value": "dev-value"}
    assert _caller(platform, {"read": "dev/Caller"})["data"] == {"value": "dev-value"}
    assert _caller(platform, {"read": "prod/shared/config"}) == {"status": 403}
    assert _caller(platform, {"read": "prod/Caller"}) == {"status": 403}
    assert _caller(platform, {"read": "shared/config"}) == {"status": 403}


def test_a_function_invokes_within_its_stage_only(platform: RunningPlatform) -> None:
    reached = _caller(platform, {"invoke": "Target"})
    assert reached == {"payload": {"pong": 1, "name": "Target"}}
    assert _caller(platform, {"invoke": "Target:dev"})["payload"]["pong"] == 1
    assert _caller(platform, {"invoke": "Target:prod"}) == {"error": "AccessDeniedException"}
    assert _caller(platform, {"invoke": "Other"}) == {"error": "AccessDeniedException"}


def test_the_session_token_is_part_of_the_credentials(platform: RunningPlatform) -> None:
    # Credentials carried out of a dev function: without the session token refused; with
    # it, only what the function itself may do.
    env = _caller(platform, {"leak": True})
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA")
    key = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    without = platform.lambda_client(*key)
    with pytest.raises(ClientError) as info:
        without.invoke(FunctionName="Target", Payload=b"{}")
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    with_token = platform.lambda_client(*key, env["AWS_SESSION_TOKEN"])
    assert with_token.invoke(FunctionName="Target:dev", Payload=b"{}")["StatusCode"] == 200
    for name in ("Target:prod", "Other:dev"):
        with pytest.raises(ClientError) as info:
            with_token.invoke(FunctionName=name, Payload=b"{}")
        assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_credentials_die_with_their_deployment(tmp_path: Path) -> None:
    app = tmp_path / "function_access"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".overcast"))
    running = start_platform(tmp_path / "state")
    try:
        running.deploy(app, "dev")
        env = _caller(running, {"leak": True})
        (app / "src" / "app.py").write_text((app / "src" / "app.py").read_text() + "\n# v2\n")
        running.deploy(app, "dev")  # the old deployment retires, its credentials with it
        stale = running.lambda_client(
            env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env["AWS_SESSION_TOKEN"]
        )
        # The old deployment retires once its last request is done; then its key is gone.
        deadline = time.monotonic() + 30
        code = ""
        while not code:
            try:
                stale.invoke(FunctionName="Target:dev", Payload=b"{}")
            except ClientError as exc:
                code = exc.response["Error"]["Code"]
            assert time.monotonic() < deadline, "the old deployment's key still works"
            time.sleep(0.2)
        assert code == "UnrecognizedClientException"
    finally:
        running.stop()
