"""Functions mounting the same EFS access point share what they write there, whatever
their Policies: on AWS the access point's PosixUser is who each of them is on it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "apps" / "shared_files"


def _call(client: Any, name: str) -> dict[str, Any]:
    response = client.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in response
    result: dict[str, Any] = json.loads(response["Payload"].read())
    return result


def test_functions_with_different_policies_share_an_access_point(running_app: Any) -> None:
    app = running_app(APP)
    client = app.lambda_client()
    try:
        # Each start of a sandbox must leave the folder writable by the others.
        assert _call(client, "Writer") == {"lines": ["Writer"]}
        assert _call(client, "Reader") == {"lines": ["Writer", "Reader"]}
        assert _call(client, "Writer") == {"lines": ["Writer", "Reader", "Writer"]}
    finally:
        client.close()
