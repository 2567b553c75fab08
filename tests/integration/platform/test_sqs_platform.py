"""`overcast serve`: the admin port speaks SQS too, and a stopping platform ends long polls."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.control.access_keys import KeyStore, read_credentials_file
from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow


def _sqs(platform: RunningPlatform) -> Any:
    key_id, secret = read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)
    return boto3.client(
        "sqs",
        endpoint_url=platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def test_queues_on_the_platform_survive_a_long_poll_at_shutdown(
    overcast_platform: RunningPlatform,
) -> None:
    sqs = _sqs(overcast_platform)
    url = sqs.create_queue(QueueName="platform-jobs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    empty = sqs.create_queue(QueueName="platform-empty")["QueueUrl"]
    outcome: dict[str, Any] = {}

    def poll() -> None:
        outcome.update(sqs.receive_message(QueueUrl=empty, WaitTimeSeconds=20))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive()
    # The poll is answered (empty) as the platform stops, not after its 20 s.
    assert overcast_platform.stop() in (0, 130), overcast_platform.output()
    poller.join(timeout=15)
    assert not poller.is_alive()
    assert outcome == {"ResponseMetadata": outcome["ResponseMetadata"]}
    # The queue and its message are in the state folder: a restart finds them.
    again = start_platform(overcast_platform.state_dir, *overcast_platform.extra)
    try:
        sqs = _sqs(again)
        url = sqs.get_queue_url(QueueName="platform-jobs")["QueueUrl"]
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        assert message["Body"] == "kept"
    finally:
        assert again.stop() in (0, 130), again.output()
