"""Each function's own credentials: its Vault token reads only its secrets, and its
access key invokes only what its template ``Policies`` allow."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "function_access"


@pytest.fixture
def app(running_app: Any, app_copy: Callable[[Path], Path], overcast_cli: Any) -> Any:
    app_dir = app_copy(APP)
    for path, pair in (
        ("Caller/config", "value=callers-own"),
        ("Target/config", "value=targets-own"),
        ("shared/config", "value=granted-by-policy"),
    ):
        put = overcast_cli("secrets", "put", path, pair, "--app", str(app_dir), cwd=app_dir)
        assert put.returncode == 0, put.stderr.decode()
    return running_app(app_dir, copy=False)


def _invoke(app: Any, function: str, event: dict[str, Any]) -> Any:
    response = app.lambda_client().invoke(FunctionName=function, Payload=json.dumps(event))
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_a_function_reads_its_own_and_granted_secrets_but_not_another_functions(
    app: Any,
) -> None:
    assert _invoke(app, "Caller", {"read": "Caller/config"}) == {
        "status": 200,
        "data": {"value": "callers-own"},
    }
    assert _invoke(app, "Caller", {"read": "shared/config"}) == {
        "status": 200,
        "data": {"value": "granted-by-policy"},
    }
    assert _invoke(app, "Caller", {"read": "Target/config"}) == {"status": 403}


def test_a_function_invokes_what_its_policy_allows_and_is_refused_the_rest(app: Any) -> None:
    assert _invoke(app, "Caller", {"invoke": "Target"}) == {
        "payload": {"pong": 1, "name": "Target"}
    }
    assert _invoke(app, "Caller", {"invoke": "Other"}) == {"error": "AccessDeniedException"}


def test_function_credentials_are_neither_shown_nor_logged(app: Any) -> None:
    listed = _invoke(app, "Caller", {})
    assert listed == {
        "keys": [
            "AWS_ENDPOINT_URL_LAMBDA",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL_SNS",
            "AWS_ENDPOINT_URL_SQS",
            "VAULT_ADDR",
            "VAULT_TOKEN",
        ]
    }

    config = app.lambda_client().get_function(FunctionName="Caller")["Configuration"]
    assert config["Environment"]["Variables"] == {"PLAIN": "shown"}

    logs = app.cli("logs", "Caller", "--app", str(app.app_dir)).stdout.decode()
    assert "token=**** secret=****" in logs
    assert "hvs." not in logs
    assert "hvs." not in app.output()


def test_function_keys_are_not_stored_with_the_issued_keys(app: Any) -> None:
    _invoke(app, "Caller", {})
    assert [key.role for key in app.key_store.all()] == ["admin"]
