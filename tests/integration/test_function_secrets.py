"""Secret references in a function's environment are resolved at deploy and never shown."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "secrets"
PASSWORD = "pw-7f3a9c-not-in-logs"
API_KEY = "key-51d0e2-not-in-logs"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def test_references_resolve_from_the_store_and_values_are_masked_in_logs(
    running_app: Any, app_copy: Callable[[Path], Path], overcast_cli: Any
) -> None:
    app_dir = app_copy(APP)
    for path, pair in (("app/db", f"password={PASSWORD}"), ("app/api", f"key={API_KEY}")):
        put = overcast_cli("secrets", "put", path, pair, "--app", str(app_dir), cwd=app_dir)
        assert put.returncode == 0, put.stderr.decode()

    app = running_app(app_dir, copy=False)
    with app.client() as client:
        response = client.get("/secret")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "password_sha256": _sha(PASSWORD),
        "api_key_sha256": _sha(API_KEY),
        "plain": "not-a-secret",
    }

    logs = app.cli("logs", "UsesSecret", "--app", str(app_dir))
    text = logs.stdout.decode()
    assert "connecting with password=**** and key=****" in text
    assert PASSWORD not in text
    assert API_KEY not in text
    for stored in (app_dir / ".overcast" / "logs").rglob("*"):
        if stored.is_file():
            content = stored.read_bytes()
            assert PASSWORD.encode() not in content
            assert API_KEY.encode() not in content

    # The Lambda API shows the reference as written, never the value.
    config = app.lambda_client().get_function(FunctionName="UsesSecret")["Configuration"]
    variables = config["Environment"]["Variables"]
    assert variables["DB_PASSWORD"] == "{{resolve:vault:secret/data/app/db#password}}"
    assert PASSWORD not in json.dumps(config)
    assert PASSWORD not in app.output()

    # An error message quoting the secret reaches the caller masked.
    failed = app.lambda_client().invoke(FunctionName="FailsWithSecret", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    error = json.loads(failed["Payload"].read())
    assert error["errorMessage"] == "could not connect with ****"
    assert PASSWORD not in json.dumps(error)


def test_a_reference_to_a_missing_secret_stops_the_start_naming_it(
    app_copy: Callable[[Path], Path], overcast_cli: Any
) -> None:
    app_dir = app_copy(APP)
    result = overcast_cli("up", str(app_dir), "--port", "0", "--admin-port", "0", cwd=app_dir)
    assert result.returncode == 1
    stderr = result.stderr.decode()
    assert "DB_PASSWORD" in stderr or "app/db" in stderr


def test_the_state_folder_is_owner_only(running_app: Any) -> None:
    app = running_app("hello")
    state = Path(app.app_dir) / ".overcast"
    assert state.stat().st_mode & 0o777 == 0o700
    for private in (state / "secrets" / "master.key", state / "access" / "admin-credentials"):
        assert private.stat().st_mode & 0o077 == 0, private
