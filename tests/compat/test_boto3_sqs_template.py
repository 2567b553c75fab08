"""A template's ``AWS::SQS::Queue`` resources exist once ``overcast up`` is ready, with
their Properties as attributes, and ``!Ref`` / ``!GetAtt`` name them for boto3."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sqs_template"


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app(APP)


@pytest.fixture(scope="module")
def sqs(app) -> Any:
    creds = app.admin_credentials()
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 0}),
    )


def _where(app: Any) -> dict[str, str]:
    response = app.lambda_client().invoke(FunctionName="Where", Payload=b"{}")
    assert "FunctionError" not in response
    result: dict[str, str] = json.loads(response["Payload"].read())
    return result


def test_template_queues_exist_with_their_properties(app: Any, sqs: Any) -> None:
    where = _where(app)
    name = where["url"].rsplit("/", 1)[1]
    assert where["arn"].endswith(f":sqs:us-east-1:123456789012:{name}")
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "60"
    assert attributes["QueueArn"] == where["arn"]
    policy = json.loads(attributes["RedrivePolicy"])
    assert policy["maxReceiveCount"] == 2
    dead_name = policy["deadLetterTargetArn"].rsplit(":", 1)[1]
    dead = sqs.get_queue_url(QueueName=dead_name)["QueueUrl"]
    dead_attributes = sqs.get_queue_attributes(
        QueueUrl=dead, AttributeNames=["MessageRetentionPeriod"]
    )["Attributes"]
    assert dead_attributes == {"MessageRetentionPeriod": "1209600"}


def test_the_ref_url_works_as_a_queue_url(app: Any, sqs: Any) -> None:
    url = _where(app)["url"]  # AWS's form, https://sqs.<region>.amazonaws.com/...
    sent = sqs.send_message(QueueUrl=url, MessageBody="via the Ref")
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def _send_from_function(app: Any, payload: dict[str, str]) -> dict[str, str]:
    response = app.lambda_client().invoke(
        FunctionName="Sender", Payload=json.dumps(payload).encode()
    )
    assert "FunctionError" not in response
    result: dict[str, str] = json.loads(response["Payload"].read())
    return result


def test_a_function_sends_to_the_queue_its_policy_names(app: Any, sqs: Any) -> None:
    url = _where(app)["url"]
    sent = _send_from_function(app, {"body": "from the Sender"})
    assert "sent" in sent, sent
    [message] = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    assert (message["MessageId"], message["Body"]) == (sent["sent"], "from the Sender")
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_a_function_is_refused_a_queue_its_policy_does_not_name(app: Any, sqs: Any) -> None:
    dead = sqs.get_queue_url(QueueName=f"{app.app_dir.name}-jobs-dead")["QueueUrl"]
    refused = _send_from_function(app, {"body": "not allowed", "url": dead})
    assert refused["error"] == "AccessDeniedException", refused
    assert "assumed-role/Sender-role/Sender" in refused["message"]
    assert "Messages" not in sqs.receive_message(QueueUrl=dead)
