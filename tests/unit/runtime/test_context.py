import time

import pytest

from overcast.runtime.context import LambdaContext


def test_context_reads_function_fields_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
    monkeypatch.setenv("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn")
    monkeypatch.setenv("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]abc")
    context = LambdaContext("rid", 0, "arn:aws:lambda:us-east-1:123456789012:function:fn")
    assert context.aws_request_id == "rid"
    assert context.function_name == "fn"
    assert context.function_version == "$LATEST"
    assert context.memory_limit_in_mb == "256"
    assert context.log_group_name == "/aws/lambda/fn"
    assert context.log_stream_name == "2026/01/01/[$LATEST]abc"
    assert context.invoked_function_arn.endswith(":function:fn")
    assert context.client_context is None
    assert context.identity.cognito_identity_id is None


def test_remaining_time_counts_down_and_never_goes_negative() -> None:
    now_ms = int(time.time() * 1000)
    assert 0 < LambdaContext("r", now_ms + 60_000, "arn").get_remaining_time_in_millis() <= 60_000
    assert LambdaContext("r", now_ms - 5_000, "arn").get_remaining_time_in_millis() == 0


def test_client_context_becomes_objects() -> None:
    context = LambdaContext("r", 0, "arn", {"custom": {"a": 1}, "client": {"app_title": "t"}})
    assert context.client_context is not None
    assert context.client_context.custom == {"a": 1}
    assert context.client_context.client is not None
    assert context.client_context.client.app_title == "t"
