"""SQS events through ``overcast up``: boto3 sends, the mapping invokes with Lambda's event.

Lambda's SQS event and partial batch responses:
https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow

WAIT_S = 60.0
APP = Path(__file__).resolve().parent / "apps" / "sqs_events"
JOBS_ARN = "arn:aws:sqs:us-east-1:123456789012:esm-jobs"


@pytest.fixture(scope="module")
def app(module_running_app: Any) -> Any:
    return module_running_app(APP)


@pytest.fixture(scope="module")
def sqs(app: Any) -> Any:
    creds = app.admin_credentials()
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def _records(app: Any, function: str = "Consumer") -> list[dict[str, Any]]:
    return [
        json.loads(event.message.split("record ", 1)[1])
        for event in LogStore(str(app.state_dir)).read(function)
        if event.message.startswith("record ")
    ]


def _wait_for(check: Callable[[], bool], what: str, app: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened\n" + app.output())
        time.sleep(0.1)


def _seen(app: Any, ids: set[str]) -> Callable[[], bool]:
    return lambda: ids <= {r["messageId"] for r in _records(app)}


def _counts(sqs: Any, name: str) -> tuple[int, int]:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


def test_sent_messages_reach_the_handler_as_lambdas_sqs_event(app: Any, sqs: Any) -> None:
    url = sqs.get_queue_url(QueueName="esm-jobs")["QueueUrl"]
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": str(i),
                "MessageBody": json.dumps({"n": i}),
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "job"}},
            }
            for i in range(3)
        ],
    )
    ids = {entry["MessageId"]: entry for entry in sent["Successful"]}
    _wait_for(_seen(app, set(ids)), "the three records", app)
    records = {r["messageId"]: r for r in _records(app) if r["messageId"] in ids}
    for message_id, entry in ids.items():
        record = records[message_id]
        assert list(record) == [
            "messageId", "receiptHandle", "body", "attributes", "messageAttributes",
            "md5OfMessageAttributes", "md5OfBody", "eventSource", "eventSourceARN", "awsRegion",
        ]  # fmt: skip
        assert record["md5OfBody"] == entry["MD5OfMessageBody"]
        assert record["md5OfMessageAttributes"] == entry["MD5OfMessageAttributes"]
        assert record["messageAttributes"] == {
            "kind": {"stringValue": "job", "stringListValues": [], "binaryListValues": [],
                     "dataType": "String"},
        }  # fmt: skip
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == JOBS_ARN
        assert record["awsRegion"] == "us-east-1"
        assert set(record["attributes"]) == {
            "ApproximateReceiveCount", "SentTimestamp", "SenderId",
            "ApproximateFirstReceiveTimestamp",
        }  # fmt: skip
    assert sorted(json.loads(r["body"])["n"] for r in records.values()) == [0, 1, 2]
    # Handled: deleted from the queue.
    _wait_for(lambda: _counts(sqs, "esm-jobs") == (0, 0), "the queue emptied", app)


def test_only_reported_failures_come_back_and_reach_the_dead_letter_queue(
    app: Any, sqs: Any
) -> None:
    url = sqs.get_queue_url(QueueName="esm-jobs")["QueueUrl"]
    dead = sqs.get_queue_url(QueueName="esm-jobs-dead")["QueueUrl"]
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "ok", "MessageBody": "fine"},
            {"Id": "bad", "MessageBody": "fail: poison"},
        ],
    )
    by_id = {e["Id"]: e["MessageId"] for e in sent["Successful"]}
    found: list[dict[str, Any]] = []

    def dead_lettered() -> bool:
        found.extend(sqs.receive_message(QueueUrl=dead, WaitTimeSeconds=1).get("Messages", []))
        return bool(found)

    _wait_for(dead_lettered, "the failing message in the dead-letter queue", app)
    assert [m["MessageId"] for m in found] == [by_id["bad"]]
    assert found[0]["Body"] == "fail: poison"
    # Seen twice (maxReceiveCount 2), then moved; the good one went once and was deleted.
    counts = [
        r["attributes"]["ApproximateReceiveCount"]
        for r in _records(app)
        if r["messageId"] == by_id["bad"]
    ]
    assert sorted(set(counts)) == ["1", "2"]
    assert any(r["messageId"] == by_id["ok"] for r in _records(app))
    assert _counts(sqs, "esm-jobs") == (0, 0)


def test_a_disabled_mapping_never_polls_its_queue(app: Any, sqs: Any) -> None:
    idle = sqs.get_queue_url(QueueName="esm-idle")["QueueUrl"]
    sqs.send_message(QueueUrl=idle, MessageBody="left alone")
    # A message through the enabled mapping, sent after, is handled: the node polls.
    url = sqs.get_queue_url(QueueName="esm-jobs")["QueueUrl"]
    marker = sqs.send_message(QueueUrl=url, MessageBody="after the idle one")["MessageId"]
    _wait_for(_seen(app, {marker}), "the marker message", app)
    assert _counts(sqs, "esm-idle") == (1, 0)
    attributes = sqs.get_queue_attributes(QueueUrl=idle, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"
    assert _records(app, "IdleConsumer") == []


def test_filter_criteria_lets_only_matching_messages_through(app: Any, sqs: Any) -> None:
    url = sqs.get_queue_url(QueueName="esm-mixed")["QueueUrl"]
    bodies = [{"kind": "order", "n": 1}, {"kind": "ping"}, {"kind": "order", "n": 2}]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))
    sqs.send_message(QueueUrl=url, MessageBody="not even JSON")
    # the others are deleted without reaching the function
    _wait_for(lambda: _counts(sqs, "esm-mixed") == (0, 0), "the queue emptied", app)
    _wait_for(lambda: len(_records(app, "OrdersOnly")) >= 2, "the orders logged", app)
    seen = [json.loads(r["body"]) for r in _records(app, "OrdersOnly")]
    assert sorted(b["n"] for b in seen) == [1, 2]
