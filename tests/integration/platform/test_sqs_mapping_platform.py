"""`overcast serve`: a stage's current deployment polls its SQS events' queues (the
stage's own, created by the deploy); a deploy that disables the event stops the
polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.control.access_keys import KeyStore, read_credentials_file
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "apps" / "queued"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[RunningPlatform]:
    running = start_platform(tmp_path / "platform")
    yield running
    code = running.stop()
    assert code in (0, 130), running.output()


def _sqs(platform: RunningPlatform) -> Any:
    key_id, secret = read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)
    return boto3.client(
        "sqs",
        endpoint_url=platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}),
    )


def _left(sqs: Any, url: str) -> tuple[str, str]:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    return (
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    )


def _until_empty(platform: RunningPlatform, sqs: Any, url: str) -> None:
    deadline = time.monotonic() + 60
    while _left(sqs, url) != ("0", "0"):
        assert time.monotonic() < deadline, "never handled\n" + platform.output()
        time.sleep(0.1)


def test_the_current_deployment_polls_and_a_disabling_deploy_stops_it(
    platform: RunningPlatform,
) -> None:
    sqs = _sqs(platform)
    platform.deploy(APP, "dev")
    url = sqs.get_queue_url(QueueName="esm-jobs-dev")["QueueUrl"]
    markers = sqs.get_queue_url(QueueName="esm-markers-dev")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    _until_empty(platform, sqs, url)
    platform.deploy(APP, "dev", "--parameter-overrides", "PollEnabled=false")
    # The marker is handled once the platform polls the new deployment's mappings: by
    # then the old one's mapping is stopped.
    sqs.send_message(QueueUrl=markers, MessageBody="mark")
    _until_empty(platform, sqs, markers)
    sqs.send_message(QueueUrl=url, MessageBody="two")
    sqs.send_message(QueueUrl=markers, MessageBody="mark again")
    _until_empty(platform, sqs, markers)
    assert _left(sqs, url) == ("1", "0")
    sqs.close()
