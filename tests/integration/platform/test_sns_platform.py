"""`overcast serve`: the admin port speaks SNS too, fanning out to the platform's queues."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
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


SNS_APP = Path(__file__).resolve().parents[2] / "compat" / "apps" / "sns_template"


def test_each_stage_has_its_own_template_topics_invoking_its_own_functions(
    overcast_platform: RunningPlatform, tmp_path: Path
) -> None:
    app = tmp_path / "sns_template"
    shutil.copytree(SNS_APP, app, ignore=shutil.ignore_patterns(".overcast"))
    overcast_platform.deploy(app, "dev")
    overcast_platform.deploy(app, "prod")
    sns = _client(overcast_platform, "sns")
    sqs = _client(overcast_platform, "sqs")
    arns = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    orders = sorted(a for a in arns if "-Orders-" in a)
    assert len(orders) == 2, arns
    dev_orders = next(a for a in orders if "-dev-" in a)
    subscribers = sns.list_subscriptions_by_topic(TopicArn=dev_orders)["Subscriptions"]
    assert [s["Endpoint"] for s in subscribers if s["Protocol"] == "lambda"] == [
        "arn:aws:lambda:us-east-1:123456789012:function:OnOrder:dev"
    ]
    sns.publish(
        TopicArn=dev_orders,
        Message="for dev",
        MessageAttributes={"priority": {"DataType": "String", "StringValue": "high"}},
    )
    queues = [u.rsplit("/", 1)[1] for u in sqs.list_queues()["QueueUrls"]]
    received = {
        stage: sqs.get_queue_url(
            QueueName=next(n for n in queues if "-Received-" in n and f"-{stage}-" in n)
        )["QueueUrl"]
        for stage in ("dev", "prod")
    }
    deadline = time.monotonic() + 60
    messages: list[Any] = []
    while not messages and time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=received["dev"], WaitTimeSeconds=5).get(
            "Messages", []
        )
    assert messages, overcast_platform.output()
    [record] = json.loads(messages[0]["Body"])["Records"]
    assert record["Sns"]["Message"] == "for dev"
    assert record["EventSubscriptionArn"].startswith(dev_orders + ":")
    assert "Messages" not in sqs.receive_message(QueueUrl=received["prod"])
    # A key limited to dev publishes to dev's topics, not prod's.
    env = overcast_platform.deployer_key_env("dev")
    dev_key = boto3.client(
        "sns",
        endpoint_url=overcast_platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=env["OVERCAST_ACCESS_KEY_ID"],
        aws_secret_access_key=env["OVERCAST_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 0}),
    )
    dev_key.publish(TopicArn=dev_orders, Message="by the dev key")
    with pytest.raises(dev_key.exceptions.AuthorizationErrorException):
        dev_key.publish(TopicArn=next(a for a in orders if "-prod-" in a), Message="no")
    # Deleting dev's stack deletes its topics; prod's stay.
    deleted = overcast_platform.cli("delete", "sns-template", "--stage", "dev")
    assert deleted.returncode == 0, deleted.stderr.decode()
    left = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert dev_orders not in left
    assert next(a for a in orders if "-prod-" in a) in left
