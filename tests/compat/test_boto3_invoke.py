"""boto3's real Lambda client against overcast's admin port (the Lambda Invoke API)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app("compat-boto3-invoke")


@pytest.fixture(scope="module")
def lam(app) -> Any:
    return app.lambda_client(read_timeout=30)


def _json(response: dict[str, Any]) -> Any:
    return json.loads(response["Payload"].read())


def test_request_response_returns_the_handler_result(lam: Any) -> None:
    response = lam.invoke(FunctionName="EchoFunction", Payload=json.dumps({"n": 1, "s": "é"}))
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    body = _json(response)
    assert body["event"] == {"n": 1, "s": "é"}
    assert body["function_name"] == "EchoFunction"
    assert body["memory_limit_in_mb"] == 192
    assert body["aws_request_id"]


def test_request_id_header_matches_the_context(lam: Any) -> None:
    response = lam.invoke(FunctionName="EchoFunction", Payload=b"{}")
    request_id = response["ResponseMetadata"]["HTTPHeaders"].get("x-amzn-requestid")
    assert request_id == _json(response)["aws_request_id"]


def test_invoke_without_payload_passes_an_empty_object(lam: Any) -> None:
    response = lam.invoke(FunctionName="EchoFunction")
    assert response["StatusCode"] == 200
    assert _json(response)["event"] == {}


def test_function_name_property_names_the_function(lam: Any) -> None:
    response = lam.invoke(FunctionName="compat-named-function", Payload=b'"x"')
    assert response["StatusCode"] == 200
    assert _json(response)["function_name"] == "compat-named-function"


def test_function_arn_is_accepted_as_the_name(lam: Any) -> None:
    arn = lam.get_function(FunctionName="EchoFunction")["Configuration"]["FunctionArn"]
    response = lam.invoke(FunctionName=arn, Payload=b"[1, 2]")
    assert _json(response)["event"] == [1, 2]


def test_log_type_tail_returns_base64_log_with_start_end_report(lam: Any) -> None:
    response = lam.invoke(FunctionName="EchoFunction", Payload=b'{"tail": true}', LogType="Tail")
    log = base64.b64decode(response["LogResult"]).decode()
    request_id = _json(response)["aws_request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert 'echo called with {"tail": true}' in log
    assert f"END RequestId: {request_id}" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    assert "Memory Size: 192 MB" in log
    assert len(base64.b64decode(response["LogResult"])) <= 4096


def test_function_error_sets_unhandled_and_returns_error_json(lam: Any) -> None:
    response = lam.invoke(FunctionName="FailFunction", Payload=b'{"card": "4242"}', LogType="Tail")
    # A function error is still a 200 from the Invoke API.
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    body = _json(response)
    assert body["errorMessage"] == "card 4242 declined"
    assert body["errorType"] == "PaymentDeclinedError"
    assert isinstance(body["stackTrace"], list)
    log = base64.b64decode(response["LogResult"]).decode()
    assert "about to fail" in log
    assert "PaymentDeclinedError" in log


def _logged(app: Any, function: str) -> str:
    return "\n".join(event.message for event in LogStore(str(app.state_dir)).read(function))


def test_event_invocation_is_accepted_with_202_and_runs(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    response = lam.invoke(
        FunctionName="RecorderFunction",
        InvocationType="Event",
        Payload=json.dumps({"marker": marker}),
    )
    assert response["StatusCode"] == 202
    assert response["Payload"].read() == b""
    deadline = time.monotonic() + 20
    while f"recorded {marker}" not in _logged(app, "RecorderFunction"):
        assert time.monotonic() < deadline, "the Event invocation never ran"
        time.sleep(0.05)


def test_dry_run_answers_204_without_running(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    response = lam.invoke(
        FunctionName="RecorderFunction",
        InvocationType="DryRun",
        Payload=json.dumps({"marker": marker}),
    )
    assert response["StatusCode"] == 204
    time.sleep(0.5)
    assert f"recorded {marker}" not in _logged(app, "RecorderFunction")


def test_unknown_function_is_resource_not_found(lam: Any) -> None:
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
    error = info.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "NoSuchFunction" in error["Error"]["Message"]


def test_payload_that_is_not_json_is_invalid_request_content(lam: Any) -> None:
    # https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html#API_Invoke_Errors
    with pytest.raises(ClientError) as info:
        lam.invoke(FunctionName="EchoFunction", Payload=b"{not json")
    assert info.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_functions_contains_every_function(lam: Any) -> None:
    names = {f["FunctionName"] for f in lam.list_functions()["Functions"]}
    assert names >= {"EchoFunction", "FailFunction", "RecorderFunction", "compat-named-function"}


def test_list_functions_paginator_works(lam: Any) -> None:
    pages = lam.get_paginator("list_functions").paginate()
    names = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert "EchoFunction" in names
    assert len(names) == len(set(names))


def test_get_function_returns_configuration_from_the_template(lam: Any) -> None:
    config = lam.get_function(FunctionName="EchoFunction")["Configuration"]
    assert config["FunctionName"] == "EchoFunction"
    assert config["Runtime"] == "python3.11"
    assert config["MemorySize"] == 192
    assert config["Timeout"] == 7
    assert config["Handler"] == "app.echo"
    assert config["FunctionArn"].startswith("arn:aws:lambda:")
    assert config["FunctionArn"].endswith(":function:EchoFunction")


def test_get_function_applies_globals(lam: Any) -> None:
    config = lam.get_function(FunctionName="FailFunction")["Configuration"]
    assert config["Timeout"] == 5
    assert config["MemorySize"] == 128  # Lambda's default


def test_get_unknown_function_is_resource_not_found(lam: Any) -> None:
    with pytest.raises(ClientError) as info:
        lam.get_function(FunctionName="NoSuchFunction")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
