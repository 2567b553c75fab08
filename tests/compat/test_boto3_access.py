"""The admin port refuses boto3 without overcast keys, and honours roles (SigV4)."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from overcast.control.sigv4 import sign

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_running_app: Any) -> Any:
    return module_running_app("compat-boto3-invoke")


def _error(call: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    response: dict[str, Any] = info.value.response
    return response


def Credentials(key_id: str, secret: str) -> Any:
    """conftest's Credentials (tests import no module from the tests tree)."""
    return _CREDENTIALS_TYPE[0](key_id, secret)


_CREDENTIALS_TYPE: list[Any] = []


@pytest.fixture(scope="module", autouse=True)
def _credentials_type(app: Any) -> None:
    _CREDENTIALS_TYPE[:] = [type(app.admin_credentials())]


def _new_key(app: Any, role: str) -> Any:
    done = app.cli("keys", "create", "--role", role, "--app", str(app.app_dir))
    assert done.returncode == 0, done.stderr
    values = dict(
        line.split(" = ", 1) for line in done.stdout.decode().splitlines() if " = " in line
    )
    return Credentials(values["aws_access_key_id"], values["aws_secret_access_key"])


def test_good_keys_invoke(app: Any) -> None:
    response = app.lambda_client().invoke(FunctionName="EchoFunction", Payload=b'{"k": 1}')
    assert json.loads(response["Payload"].read())["event"] == {"k": 1}


def test_health_stays_open(app: Any) -> None:
    assert httpx.get(f"{app.admin_url}/health", timeout=5).status_code == 200


def test_unsigned_request_is_refused(app: Any) -> None:
    client = app.lambda_client(signature_version=UNSIGNED)
    error = _error(client.list_functions)
    assert error["Error"]["Code"] == "MissingAuthenticationTokenException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_unknown_key_is_refused(app: Any) -> None:
    client = app.lambda_client(Credentials("AKIAUNKNOWNKEY000000", "x" * 40))
    error = _error(lambda: client.invoke(FunctionName="EchoFunction"))
    assert error["Error"]["Code"] == "UnrecognizedClientException"
    assert error["Error"]["Message"] == "The security token included in the request is invalid."


def test_wrong_secret_is_invalid_signature(app: Any) -> None:
    good = app.admin_credentials()
    client = app.lambda_client(Credentials(good.access_key_id, "y" * 40))
    error = _error(client.list_functions)
    assert error["Error"]["Code"] == "InvalidSignatureException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403


def _signed(app: Any, when: datetime | None = None) -> tuple[str, dict[str, str]]:
    creds = app.admin_credentials()
    url = f"{app.admin_url}/2015-03-31/functions/EchoFunction/invocations"
    headers = sign(
        "POST",
        url,
        {"amz-sdk-invocation-id": "fixed-for-this-test" + str(when)},
        b"{}",
        access_key_id=creds.access_key_id,
        secret=creds.secret_access_key,
        region="us-east-1",
        service="lambda",
        now=when,
    )
    return url, headers


def test_expired_timestamp_is_refused(app: Any) -> None:
    url, headers = _signed(app, datetime.now(UTC) - timedelta(minutes=10))
    response = httpx.post(url, content=b"{}", headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("Signature expired:")


def test_replayed_request_is_refused(app: Any) -> None:
    url, headers = _signed(app)
    first = httpx.post(url, content=b"{}", headers=headers, timeout=30)
    assert first.status_code == 200, first.text
    again = httpx.post(url, content=b"{}", headers=headers, timeout=30)
    assert again.status_code == 403
    assert again.headers["x-amzn-errortype"] == "InvalidSignatureException"


def test_viewer_can_list_but_not_invoke(app: Any) -> None:
    viewer = app.lambda_client(_new_key(app, "viewer"))
    names = {f["FunctionName"] for f in viewer.list_functions()["Functions"]}
    assert "EchoFunction" in names
    assert viewer.get_function(FunctionName="EchoFunction")["Configuration"]
    error = _error(lambda: viewer.invoke(FunctionName="EchoFunction"))
    assert error["Error"]["Code"] == "AccessDeniedException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 403
    message = error["Error"]["Message"]
    assert "is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:" in (
        message
    )


def test_deployer_can_invoke(app: Any) -> None:
    deployer = app.lambda_client(_new_key(app, "deployer"))
    assert deployer.invoke(FunctionName="EchoFunction")["StatusCode"] == 200


def test_revoked_key_is_refused_by_the_running_node(app: Any) -> None:
    creds = _new_key(app, "deployer")
    client = app.lambda_client(creds)
    client.list_functions()
    done = app.cli("keys", "revoke", creds.access_key_id, "--app", str(app.app_dir))
    assert done.returncode == 0, done.stderr
    error = _error(client.list_functions)
    assert error["Error"]["Code"] == "UnrecognizedClientException"


def test_keys_list_shows_roles_not_secrets(app: Any) -> None:
    creds = _new_key(app, "viewer")
    done: subprocess.CompletedProcess[bytes] = app.cli("keys", "list", "--app", str(app.app_dir))
    assert done.returncode == 0, done.stderr
    out = done.stdout.decode()
    assert creds.access_key_id in out
    assert "viewer" in out
    assert creds.secret_access_key not in out


def test_first_start_printed_the_admin_key_once(app: Any) -> None:
    creds = app.admin_credentials()
    assert creds.access_key_id in app.stderr()
