"""`overcast serve`: the admin port speaks SNS too, fanning out to the platform's queues."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.control.access_keys import KeyStore, read_credentials_file
from process_helpers import RunningPlatform

pytestmark = pytest.mark.slow


def _client(platform: RunningPlatform, service: str) -> Any:
    key_id, secret = read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)
    return boto3.client(
        service,
        endpoint_url=platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


def test_a_platform_topic_delivers_to_a_platform_queue(
    overcast_platform: RunningPlatform,
) -> None:
    sns = _client(overcast_platform, "sns")
    sqs = _client(overcast_platform, "sqs")
    topic = sns.create_topic(Name="platform-news")["TopicArn"]
    url = sqs.create_queue(QueueName="platform-news-reader")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    sent = sns.publish(TopicArn=topic, Message="extra!")
    [message] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    envelope = json.loads(message["Body"])
    assert (envelope["MessageId"], envelope["Message"]) == (sent["MessageId"], "extra!")
