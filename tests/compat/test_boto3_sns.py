"""boto3's real SNS client (the query protocol) against ``overcast up``: topics,
subscriptions, Publish fanning out to queues and to a template's function."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

pytestmark = pytest.mark.slow

APP = Path(__file__).parent / "apps" / "sns_template"
WAIT_S = 60.0


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app(APP)


def _client(app: Any, service: str) -> Any:
    creds = app.admin_credentials()
    return boto3.client(
        service,
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 0}, read_timeout=60),
    )


@pytest.fixture(scope="module")
def sns(app) -> Any:
    return _client(app, "sns")


@pytest.fixture(scope="module")
def sqs(app) -> Any:
    return _client(app, "sqs")


def _queue(sqs: Any) -> tuple[str, str]:
    url = sqs.create_queue(QueueName="sub-" + uuid.uuid4().hex[:10])["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return url, arn["QueueArn"]


def _receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    got = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=5, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return list(got.get("Messages", []))


def test_topics_are_created_listed_described_and_deleted(sns: Any) -> None:
    name = "t-" + uuid.uuid4().hex[:8]
    arn = sns.create_topic(Name=name, Attributes={"DisplayName": "Alerts"})["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:123456789012:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    assert arn in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attributes["DisplayName"] == "Alerts"
    assert attributes["TopicArn"] == arn
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Pager")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"] == "Pager"
    sns.delete_topic(TopicArn=arn)
    with pytest.raises(sns.exceptions.NotFoundException) as info:
        sns.get_topic_attributes(TopicArn=arn)
    assert info.value.response["Error"]["Code"] == "NotFound"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_publish_to_an_unknown_topic_is_not_found(sns: Any) -> None:
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:nope", Message="m")


def test_an_unsupported_protocol_is_an_invalid_parameter(sns: Any) -> None:
    arn = sns.create_topic(Name="p-" + uuid.uuid4().hex[:8])["TopicArn"]
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(TopicArn=arn, Protocol="email", Endpoint="ops@example.com")


def test_a_queue_subscriber_gets_the_json_envelope(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="e-" + uuid.uuid4().hex[:8])["TopicArn"]
    url, queue_arn = _queue(sqs)
    sub = sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)["SubscriptionArn"]
    assert sub.startswith(arn + ":")
    listed = sns.list_subscriptions_by_topic(TopicArn=arn)["Subscriptions"]
    assert [(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in listed] == [
        (sub, "sqs", queue_arn)
    ]
    assert sub in [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]
    published = sns.publish(
        TopicArn=arn,
        Message="hello <queue> & co",
        Subject="Greeting",
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "greeting"},
            "n": {"DataType": "Number", "StringValue": "3"},
        },
    )
    [message] = _receive(sqs, url)
    envelope = json.loads(message["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == published["MessageId"]
    assert envelope["TopicArn"] == arn
    assert envelope["Subject"] == "Greeting"
    assert envelope["Message"] == "hello <queue> & co"
    assert envelope["SignatureVersion"] == "1"
    assert {"Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"} <= set(envelope)
    assert envelope["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "greeting"},
        "n": {"Type": "Number", "Value": "3"},
    }
    sns.unsubscribe(SubscriptionArn=sub)
    sns.publish(TopicArn=arn, Message="after unsubscribe")
    assert sqs.receive_message(QueueUrl=url).get("Messages") is None


def test_raw_delivery_filter_policies_and_batches(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="r-" + uuid.uuid4().hex[:8])["TopicArn"]
    url, queue_arn = _queue(sqs)
    sns.subscribe(
        TopicArn=arn,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": json.dumps({"color": ["red", {"prefix": "bl"}]}),
        },
    )
    result = sns.publish_batch(
        TopicArn=arn,
        PublishBatchRequestEntries=[
            {
                "Id": "red",
                "Message": "r",
                "MessageAttributes": {"color": {"DataType": "String", "StringValue": "red"}},
            },
            {
                "Id": "green",
                "Message": "g",
                "MessageAttributes": {"color": {"DataType": "String", "StringValue": "green"}},
            },
            {
                "Id": "blue",
                "Message": "b",
                "MessageAttributes": {"color": {"DataType": "String", "StringValue": "blue"}},
            },
            {"Id": "empty", "Message": ""},
        ],
    )
    assert sorted(s["Id"] for s in result["Successful"]) == ["blue", "green", "red"]
    assert [(f["Id"], f["Code"]) for f in result["Failed"]] == [("empty", "InvalidParameter")]
    messages = _receive(sqs, url)
    assert sorted(m["Body"] for m in messages) == ["b", "r"]  # raw, and green filtered out
    assert messages[0]["MessageAttributes"]["color"]["DataType"] == "String"
    with pytest.raises(sns.exceptions.BatchEntryIdsNotDistinctException):
        sns.publish_batch(
            TopicArn=arn,
            PublishBatchRequestEntries=[{"Id": "a", "Message": "1"}, {"Id": "a", "Message": "2"}],
        )


def test_a_structured_message_sends_each_protocol_its_own(sns: Any, sqs: Any) -> None:
    arn = sns.create_topic(Name="s-" + uuid.uuid4().hex[:8])["TopicArn"]
    url, queue_arn = _queue(sqs)
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    sns.publish(
        TopicArn=arn,
        MessageStructure="json",
        Message=json.dumps({"default": "plain", "sqs": "for queues"}),
    )
    [message] = _receive(sqs, url)
    assert json.loads(message["Body"])["Message"] == "for queues"
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=arn, MessageStructure="json", Message=json.dumps({"sqs": "x"}))


# -- a template's topic and subscribed function --------------------------------


def _wait_for(check: Callable[[], bool], what: str, app: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened\n" + app.output())
        time.sleep(0.1)


def _where(sns: Any, app: Any) -> dict[str, str]:
    response = app.lambda_client().invoke(FunctionName="Where", Payload=b"{}")
    where: dict[str, str] = json.loads(response["Payload"].read())
    assert where["topic_arn"] in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert where["topic_arn"].endswith(":" + where["topic_name"])
    return where


def _drain(sqs: Any, url: str, count: int, what: str, app: Any) -> list[str]:
    """The bodies of ``count`` messages of queue ``url`` (deleted as they are read)."""
    bodies: list[str] = []

    def more() -> bool:
        for message in _receive(sqs, url):
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(bodies) >= count

    _wait_for(more, what, app)
    return bodies


def test_publish_invokes_the_subscribed_function_with_lambdas_sns_event(
    sns: Any, sqs: Any, app: Any
) -> None:
    where = _where(sns, app)
    arn = where["topic_arn"]
    # The event's FilterPolicy: a low-priority order never reaches the function (the
    # policy is applied as Publish fans out, so nothing is queued for it at all).
    sns.publish(
        TopicArn=arn,
        Message="ignored",
        MessageAttributes={"priority": {"DataType": "String", "StringValue": "low"}},
    )
    published = sns.publish(
        TopicArn=arn,
        Message='{"order": 7}',
        Subject="New order",
        MessageAttributes={
            "priority": {"DataType": "String", "StringValue": "high"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        },
    )
    # The handler forwards the event it got, with boto3 and its own credentials.
    [forwarded] = _drain(sqs, where["received_url"], 1, "the forwarded SNS event", app)
    [record] = json.loads(forwarded)["Records"]
    assert list(record) == ["EventSource", "EventVersion", "EventSubscriptionArn", "Sns"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"].startswith(arn + ":")
    body = record["Sns"]
    assert list(body) == [
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
        "SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl",
        "MessageAttributes",
    ]  # fmt: skip
    assert body["MessageId"] == published["MessageId"]
    assert (body["Type"], body["TopicArn"], body["Subject"]) == ("Notification", arn, "New order")
    assert body["Message"] == '{"order": 7}'
    assert body["MessageAttributes"] == {
        "priority": {"Type": "String", "Value": "high"},
        "blob": {"Type": "Binary", "Value": "AAE="},
    }
    # The template's inline queue subscriber has no filter: it got both.
    bodies = _drain(sqs, where["audit_url"], 2, "both messages in the audit queue", app)
    assert sorted(json.loads(b)["Message"] for b in bodies) == ["ignored", '{"order": 7}']
    assert sqs.receive_message(QueueUrl=where["received_url"]).get("Messages") is None


def test_a_function_publishes_to_the_topic_its_policy_names(sns: Any, sqs: Any, app: Any) -> None:
    where = _where(sns, app)

    def publish(topic: str) -> dict[str, str]:
        payload = json.dumps({"topic": topic, "message": "from a function"}).encode()
        response = app.lambda_client().invoke(FunctionName="Publisher", Payload=payload)
        assert "FunctionError" not in response
        result: dict[str, str] = json.loads(response["Payload"].read())
        return result

    sent = publish(where["topic_arn"])
    assert "sent" in sent, sent
    [body] = _drain(sqs, where["audit_url"], 1, "the function's message", app)
    assert json.loads(body)["MessageId"] == sent["sent"]
    refused = publish(where["other_arn"])
    assert refused["error"] == "AuthorizationError", refused
    assert "assumed-role/Publisher-role/Publisher" in refused["message"]


def test_a_failed_event_is_published_to_its_destination_and_dead_letter_topics(
    sns: Any, sqs: Any, app: Any
) -> None:
    where = _where(sns, app)
    marker = uuid.uuid4().hex
    payload = {"marker": marker}
    response = app.lambda_client().invoke(
        FunctionName="Fails", InvocationType="Event", Payload=json.dumps(payload).encode()
    )
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    messages: list[dict[str, Any]] = []

    def both() -> bool:
        for message in _receive(sqs, where["failure_log_url"]):
            messages.append(message)
            sqs.delete_message(
                QueueUrl=where["failure_log_url"], ReceiptHandle=message["ReceiptHandle"]
            )
        return len(messages) >= 2

    _wait_for(both, "the failure record and the dead letter on the topic", app)
    bodies = [json.loads(m["Body"]) for m in messages]
    [record] = [b for b in bodies if "requestContext" in b]
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["responsePayload"]["errorMessage"] == f"asked to fail {marker}"
    # The dead letter is the event itself, why it failed in its attributes; the raw
    # subscription passes them on as the queue message's attributes.
    [letter] = [m for m in messages if json.loads(m["Body"]) == payload]
    assert letter["MessageAttributes"]["RequestID"]["StringValue"] == request_id
    assert letter["MessageAttributes"]["ErrorMessage"]["StringValue"] == f"asked to fail {marker}"
    assert letter["MessageAttributes"]["ErrorCode"]["DataType"] == "Number"


def _role_client(app: Any, role: str, *more: str) -> Any:
    done = app.cli("keys", "create", "--role", role, *more, "--app", str(app.app_dir))
    assert done.returncode == 0, done.stderr
    values = dict(
        line.split(" = ", 1) for line in done.stdout.decode().splitlines() if " = " in line
    )
    return boto3.client(
        "sns",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=values["aws_access_key_id"],
        aws_secret_access_key=values["aws_secret_access_key"],
        config=Config(retries={"max_attempts": 0}),
    )


def test_roles_limit_what_a_key_may_do_with_topics(sns: Any, app: Any) -> None:
    arn = sns.create_topic(Name="roles-" + uuid.uuid4().hex[:8])["TopicArn"]
    viewer = _role_client(app, "viewer")
    assert arn in [t["TopicArn"] for t in viewer.list_topics()["Topics"]]
    with pytest.raises(viewer.exceptions.AuthorizationErrorException) as info:
        viewer.publish(TopicArn=arn, Message="no")
    assert "sns:Publish" in info.value.response["Error"]["Message"]
    deployer = _role_client(app, "deployer")
    assert "MessageId" in deployer.publish(TopicArn=arn, Message="yes")
    with pytest.raises(deployer.exceptions.AuthorizationErrorException):
        deployer.delete_topic(TopicArn=arn)


def test_a_fifo_topic_passes_its_group_to_a_fifo_queue(sns: Any, sqs: Any) -> None:
    stem = "f-" + uuid.uuid4().hex[:8]
    arn = sns.create_topic(
        Name=f"{stem}.fifo",
        Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"},
    )["TopicArn"]
    url = sqs.create_queue(
        QueueName=f"{stem}.fifo",
        Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"},
    )["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.subscribe(
            TopicArn=arn,
            Protocol="lambda",
            Endpoint="arn:aws:lambda:us-east-1:123456789012:function:OnOrder",
        )
    with pytest.raises(sns.exceptions.InvalidParameterException):
        sns.publish(TopicArn=arn, Message="no group")
    published = sns.publish(TopicArn=arn, Message="first", MessageGroupId="g1")
    assert "SequenceNumber" in published
    [message] = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["MessageGroupId"]
    )["Messages"]
    assert message["Attributes"]["MessageGroupId"] == "g1"
    assert json.loads(message["Body"])["Message"] == "first"


def test_a_key_limited_to_a_stage_reaches_no_topic(sns: Any, app: Any) -> None:
    arn = sns.create_topic(Name="staged-" + uuid.uuid4().hex[:8])["TopicArn"]
    limited = _role_client(app, "deployer", "--stage", "dev")
    with pytest.raises(limited.exceptions.AuthorizationErrorException) as info:
        limited.publish(TopicArn=arn, Message="x")
    assert (
        "the topic belongs to another stage or stack, or to none"
        in (info.value.response["Error"]["Message"])
    )
