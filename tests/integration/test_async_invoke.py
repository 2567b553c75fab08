"""Event invocations through boto3 against ``overcast up``: queued, retried, recorded.

Lambda's retry waits (1 and 2 minutes) are shrunk with OVERCAST_EVENTS_BACKOFF_SCALE
so a test takes seconds; their order and count are Lambda's.
https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow

WAIT_S = 60.0
APP = Path(__file__).resolve().parent / "apps" / "events"


@pytest.fixture(scope="module")
def app(module_running_app: Any) -> Any:
    return module_running_app(APP, env={"OVERCAST_EVENTS_BACKOFF_SCALE": "0.01"})


@pytest.fixture(scope="module")
def lam(app: Any) -> Iterator[Any]:
    client = app.lambda_client(read_timeout=30)
    yield client
    client.close()  # its pooled socket would otherwise be collected during a later test


def _logged(app: Any, function: str) -> str:
    return "\n".join(event.message for event in LogStore(str(app.state_dir)).read(function))


def _wait_for(check: Callable[[], bool], what: str, app: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened\n" + app.output())
        time.sleep(0.1)


def _invoke_event(lam: Any, function: str, payload: dict[str, Any]) -> str:
    response = lam.invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(payload)
    )
    assert response["StatusCode"] == 202
    # an Event invocation answers no payload; reading it frees the connection
    assert response["Payload"].read() == b""
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert isinstance(request_id, str)
    return request_id


def test_the_202_names_the_request_id_the_handler_sees(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    request_id = _invoke_event(lam, "RecordFunction", {"marker": marker})
    _wait_for(lambda: f"ran {marker}" in _logged(app, "RecordFunction"), "the run", app)
    logged = _logged(app, "RecordFunction")
    assert f"ran {marker} {request_id}" in logged
    assert f"START RequestId: {request_id}" in logged


def test_a_handler_failing_twice_then_succeeding_ends_in_success(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    request_id = _invoke_event(lam, "FlakyFunction", {"marker": marker})
    _wait_for(
        lambda: f"attempt 3 {marker}" in _logged(app, "FlakyFunction"), "the third attempt", app
    )
    logged = _logged(app, "FlakyFunction")
    # Lambda keeps one request id across an event's retries.
    for attempt in (1, 2, 3):
        assert f"attempt {attempt} {marker} {request_id}" in logged
    assert f"attempt 4 {marker}" not in logged


def test_throttled_events_wait_in_the_queue_and_all_run(lam: Any, app: Any) -> None:
    # ReservedConcurrentExecutions: 2, five events of a second each: none is dropped.
    markers = [uuid.uuid4().hex for _ in range(5)]
    ids = [_invoke_event(lam, "SlowRecordFunction", {"marker": m, "sleep": 0.5}) for m in markers]

    def all_ran() -> bool:
        logged = _logged(app, "SlowRecordFunction")
        return all(f"ran {m} {rid}" in logged for m, rid in zip(markers, ids, strict=True))

    _wait_for(all_ran, "every throttled event's run", app)


def _records(app: Any, function: str) -> list[dict[str, Any]]:
    return [
        json.loads(line.split("record ", 1)[1])
        for line in _logged(app, function).splitlines()
        if "record {" in line
    ]


def _record_for(app: Any, function: str, request_id: str) -> dict[str, Any] | None:
    found = [r for r in _records(app, function) if r["requestContext"]["requestId"] == request_id]
    return found[0] if found else None


def test_on_success_destination_receives_lambdas_invocation_record(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    request_id = _invoke_event(lam, "NotifiedFunction", {"marker": marker})
    _wait_for(
        lambda: _record_for(app, "SuccessTargetFunction", request_id) is not None,
        "the OnSuccess record",
        app,
    )
    record = _record_for(app, "SuccessTargetFunction", request_id)
    assert record is not None
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:NotifiedFunction:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"marker": marker}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"marker": marker}
    assert _record_for(app, "FailureTargetFunction", request_id) is None


def test_on_failure_destination_receives_the_record_after_the_retries(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    request_id = _invoke_event(lam, "NotifiedFunction", {"marker": marker, "fail": True})
    _wait_for(
        lambda: _record_for(app, "FailureTargetFunction", request_id) is not None,
        "the OnFailure record",
        app,
    )
    record = _record_for(app, "FailureTargetFunction", request_id)
    assert record is not None
    # MaximumRetryAttempts: 1 — two attempts, then the record.
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == f"asked to fail {marker}"
    assert _logged(app, "NotifiedFunction").count(f"failing {marker} {request_id}") == 2


def _event_counts(app: Any, function: str) -> list[int]:
    result = app.cli("events", "--function", function)
    assert result.returncode == 0, result.stderr.decode()
    cells = [line.replace("│", " ").split() for line in result.stdout.decode().splitlines()]
    numbers = [[int(c) for c in row] for row in cells if row and all(c.isdigit() for c in row)]
    assert len(numbers) == 1, result.stdout.decode()
    return numbers[0]


def test_overcast_events_counts_retried_and_delivered_invocations(lam: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    _invoke_event(lam, "FlakyFunction", {"marker": marker})
    _invoke_event(lam, "NotifiedFunction", {"marker": marker, "fail": True})

    def settled() -> bool:
        flaky = _event_counts(app, "FlakyFunction")
        notified = _event_counts(app, "NotifiedFunction")
        return flaky[0] == flaky[1] == 0 and notified[0] == notified[1] == 0 and notified[3] >= 1

    _wait_for(settled, "both events settling", app)
    queued, in_flight, retried, failed, delivered = _event_counts(app, "FlakyFunction")
    assert (queued, in_flight, failed) == (0, 0, 0)
    assert retried >= 1
    assert delivered >= 1
    assert _event_counts(app, "NotifiedFunction")[3] >= 1  # failed: retries exhausted


@pytest.fixture(scope="module")
def sqs(app: Any) -> Iterator[Any]:
    client = app.aws_client("sqs")
    yield client
    client.close()


def _message_for(sqs: Any, queue: str, request_id: str) -> dict[str, Any]:
    """The message of ``queue`` about ``request_id`` (a record's, or a dead letter's)."""
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
        )  # fmt: skip
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            attributes = message.get("MessageAttributes", {})
            about = (
                attributes.get("RequestID", {}).get("StringValue")
                or json.loads(message["Body"])["requestContext"]["requestId"]
            )
            if about == request_id:
                return dict(message)
    pytest.fail(f"no message about {request_id} in {queue}")


def test_an_sqs_on_success_destination_gets_the_record(lam: Any, sqs: Any) -> None:
    marker = uuid.uuid4().hex
    request_id = _invoke_event(lam, "QueuedFunction", {"marker": marker})
    record = json.loads(_message_for(sqs, "events-successes", request_id)["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestContext"]["functionArn"].endswith(":function:QueuedFunction:$LATEST")
    assert record["requestPayload"] == {"marker": marker}
    assert record["responsePayload"] == {"marker": marker}


def test_a_failed_event_reaches_the_on_failure_queue_and_the_dead_letter_queue(
    lam: Any, sqs: Any
) -> None:
    marker = uuid.uuid4().hex
    payload = {"marker": marker, "fail": True}
    request_id = _invoke_event(lam, "QueuedFunction", payload)
    record = json.loads(_message_for(sqs, "events-failures", request_id)["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1  # MaximumRetryAttempts: 0
    assert record["responsePayload"]["errorMessage"] == f"asked to fail {marker}"
    # The dead letter is the event itself; why it failed is in its attributes, as Lambda
    # sends it.
    letter = _message_for(sqs, "events-dead-letters", request_id)
    assert json.loads(letter["Body"]) == payload
    assert letter["MessageAttributes"] == {
        "RequestID": {"StringValue": request_id, "DataType": "String"},
        "ErrorCode": {"StringValue": "200", "DataType": "Number"},
        "ErrorMessage": {"StringValue": f"asked to fail {marker}", "DataType": "String"},
    }


def _metric(text: str, name: str, function: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'function="{function}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_lambdas_async_metrics_are_on_the_metrics_page(lam: Any, sqs: Any, app: Any) -> None:
    marker = uuid.uuid4().hex
    request_id = _invoke_event(lam, "QueuedFunction", {"marker": marker, "fail": True})
    _message_for(sqs, "events-dead-letters", request_id)  # settled by now
    text = httpx.get(f"{app.admin_url}/metrics", timeout=30).text
    received = _metric(text, "overcast_async_events_received_total", "QueuedFunction")
    dropped = _metric(text, "overcast_async_events_dropped_total", "QueuedFunction")
    assert received >= 1
    assert 1 <= dropped <= received
    assert _metric(text, "overcast_async_event_attempts_total", "QueuedFunction") >= dropped
    assert 'overcast_dead_letter_errors_total{function="QueuedFunction",stage="local"} 0.0' in text
