"""aws-lambda-powertools' BatchProcessor (EventType.SQS) + process_partial_response,
unchanged, behind an SQS event with ReportBatchItemFailures: only the records that raised
come back, and after maxReceiveCount they are in the dead-letter queue."""

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

WAIT_S = 120.0
APP = Path(__file__).parent / "apps" / "powertools_sqs_batch"


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


def _handled(app: Any) -> list[dict[str, Any]]:
    return [
        json.loads(event.message.split("handled ", 1)[1])
        for event in LogStore(str(app.state_dir)).read("OrderFunction")
        if event.message.startswith("handled ")
    ]


def _wait_for(check: Callable[[], bool], what: str, app: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened\n" + app.output())
        time.sleep(0.1)


def test_only_records_that_raised_come_back_then_dead_letter(app: Any, sqs: Any) -> None:
    url = sqs.get_queue_url(QueueName="pt-orders")["QueueUrl"]
    dead = sqs.get_queue_url(QueueName="pt-orders-dead")["QueueUrl"]
    entries = [
        {"Id": str(n), "MessageBody": json.dumps({"order": n, "invalid": n % 3 == 0})}
        for n in range(10)
    ]
    sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    ids = {int(e["Id"]): e["MessageId"] for e in sent["Successful"]}
    invalid = {ids[n] for n in ids if n % 3 == 0}
    dead_lettered: dict[str, str] = {}

    def all_dead_lettered() -> bool:
        for message in sqs.receive_message(
            QueueUrl=dead, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            dead_lettered[message["MessageId"]] = message["Body"]
        return set(dead_lettered) >= invalid

    _wait_for(all_dead_lettered, "the invalid orders in the dead-letter queue", app)
    assert set(dead_lettered) == invalid
    handled = _handled(app)
    # every valid order handled; each invalid one tried twice (maxReceiveCount 2)
    assert {h["order"] for h in handled} == set(range(10))
    for n in (0, 3, 6, 9):
        assert sum(1 for h in handled if h["order"] == n) == 2
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"
