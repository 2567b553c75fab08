"""boto3's real SQS client (the JSON protocol) against overcast's admin port."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.events.sqs_rules import MessageAttribute, md5_of_message_attributes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app("hello")


def _client(app: Any, key_id: str, secret: str) -> Any:
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, read_timeout=60, connect_timeout=5),
    )


@pytest.fixture(scope="module")
def sqs(app) -> Any:
    creds = app.admin_credentials()
    return _client(app, creds.access_key_id, creds.secret_access_key)


def _role_client(app: Any, role: str, *more: str) -> Any:
    done = app.cli("keys", "create", "--role", role, *more, "--app", str(app.app_dir))
    assert done.returncode == 0, done.stderr
    values = dict(
        line.split(" = ", 1) for line in done.stdout.decode().splitlines() if " = " in line
    )
    return _client(app, values["aws_access_key_id"], values["aws_secret_access_key"])


def _queue(sqs: Any, **attributes: str) -> str:
    name = "q-" + uuid.uuid4().hex[:12]
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_create_get_list_and_delete_queues(sqs: Any, app) -> None:
    name = "life-" + uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url == f"{app.admin_url}/123456789012/{name}"
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="life-")["QueueUrls"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName=name)
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_create_with_different_attributes_is_queue_name_exists(sqs: Any) -> None:
    name = "dup-" + uuid.uuid4().hex[:8]
    sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})
    with pytest.raises(sqs.exceptions.QueueNameExists):
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "6"})


def test_send_receive_delete_with_attributes_and_digests(sqs: Any) -> None:
    url = _queue(sqs)
    attributes = {
        "city": {"DataType": "String", "StringValue": "Zürich"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    }
    sent = sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == hashlib.md5("héllo".encode()).hexdigest()
    expected = md5_of_message_attributes({
        "city": MessageAttribute("String", "Zürich"),
        "n": MessageAttribute("Number", "42"),
        "raw": MessageAttribute("Binary", binary_value=b"\x00\x01\xff"),
    })  # fmt: skip
    assert sent["MD5OfMessageAttributes"] == expected
    received = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
    )["Messages"]
    [message] = received
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == "héllo"
    assert message["MD5OfBody"] == sent["MD5OfMessageBody"]
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == expected
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(message["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 60
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert counts["ApproximateNumberOfMessages"] == "0"
    assert counts["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_batches_report_per_entry_failures(sqs: Any) -> None:
    url = _queue(sqs)
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "bad \x01 body"},
            {"Id": "c", "MessageBody": "three", "DelaySeconds": 0},
        ],
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["a", "c"]
    [failed] = result["Failed"]
    assert (failed["Id"], failed["SenderFault"], failed["Code"]) == (
        "b",
        True,
        "InvalidMessageContents",
    )
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in messages) == ["one", "three"]
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[
            *({"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)),
            {"Id": "bogus", "ReceiptHandle": "garbage"},
        ],
    )
    assert len(deleted["Successful"]) == 2
    assert deleted["Failed"][0]["Code"] == "ReceiptHandleIsInvalid"
    with pytest.raises(sqs.exceptions.BatchEntryIdsNotDistinct):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "x", "MessageBody": "1"}, {"Id": "x", "MessageBody": "2"}],
        )
    with pytest.raises(sqs.exceptions.TooManyEntriesInBatchRequest):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "m"} for i in range(11)]
        )
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.delete_message_batch(QueueUrl=url, Entries=[])
    with pytest.raises(sqs.exceptions.BatchRequestTooLong):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": f"e{i}", "MessageBody": "x" * 100_000} for i in range(3)],
        )


def test_a_message_over_256_kib_is_refused(sqs: Any) -> None:
    url = _queue(sqs)
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 262_145)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "Message must be shorter than 262144 bytes" in info.value.response["Error"]["Message"]


def test_an_expired_visibility_timeout_returns_the_message_counted_twice(sqs: Any) -> None:
    url = _queue(sqs, VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="again")
    [first] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    [second] = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )["Messages"]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"] == {"ApproximateReceiveCount": "2"}
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["MessageId"] == first["MessageId"]


def test_a_long_poll_returns_when_a_message_arrives(sqs: Any) -> None:
    url = _queue(sqs)
    result: dict[str, Any] = {}

    def poll() -> None:
        result.update(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20))

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(0.5)
    assert poller.is_alive()  # the empty queue held the poll
    sqs.send_message(QueueUrl=url, MessageBody="wake")
    poller.join(timeout=15)  # the send wakes it, long before its 20 s are up
    assert not poller.is_alive()
    assert [m["Body"] for m in result["Messages"]] == ["wake"]


def test_a_message_reaches_the_dead_letter_queue_after_max_receives(sqs: Any) -> None:
    dlq = _queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = _queue(sqs, RedrivePolicy=policy)
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    [dead] = sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert dead["MessageId"] == sent["MessageId"]


def test_purge_and_attributes(sqs: Any) -> None:
    url = _queue(sqs)
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "m"} for i in range(3)]
    )
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "DelaySeconds"]
    )["Attributes"]
    assert attributes == {"ApproximateNumberOfMessages": "3", "DelaySeconds": "0"}
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.InvalidAttributeName):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"])


def test_operations_on_a_missing_queue_raise_queue_does_not_exist(sqs: Any, app) -> None:
    url = f"{app.admin_url}/123456789012/never-created"
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.receive_message(QueueUrl=url)


def test_an_unknown_key_is_refused(app) -> None:
    client = _client(app, "AKIAAAAAAAAAAAAAAAAA", "x" * 40)
    with pytest.raises(ClientError) as info:
        client.list_queues()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_a_viewer_lists_and_reads_attributes_but_does_not_send(sqs: Any, app) -> None:
    url = _queue(sqs)
    viewer = _role_client(app, "viewer")
    assert url in viewer.list_queues()["QueueUrls"]
    assert viewer.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    with pytest.raises(ClientError) as info:
        viewer.send_message(QueueUrl=url, MessageBody="x")
    error = info.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "sqs:SendMessage" in error["Message"]


def test_a_deployer_moves_messages_but_does_not_delete_queues(sqs: Any, app) -> None:
    url = _queue(sqs)
    deployer = _role_client(app, "deployer")
    deployer.send_message(QueueUrl=url, MessageBody="from the deployer")
    [message] = deployer.receive_message(QueueUrl=url)["Messages"]
    deployer.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    with pytest.raises(ClientError) as info:
        deployer.delete_queue(QueueUrl=url)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_a_key_limited_to_a_stage_reaches_no_queue(sqs: Any, app) -> None:
    url = _queue(sqs)
    limited = _role_client(app, "deployer", "--stage", "dev")
    with pytest.raises(ClientError) as info:
        limited.purge_queue(QueueUrl=url)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"
    assert (
        "belongs to another stage or stack, or to none" in info.value.response["Error"]["Message"]
    )


def test_a_fifo_queue_keeps_group_order_and_deduplicates(sqs: Any) -> None:
    name = "orders-" + uuid.uuid4().hex[:8] + ".fifo"
    url = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="a")
    again = sqs.send_message(QueueUrl=url, MessageBody="a1", MessageGroupId="a")
    assert again["MessageId"] == first["MessageId"]  # deduplicated by content
    sqs.send_message(QueueUrl=url, MessageBody="a2", MessageGroupId="a")
    sqs.send_message(
        QueueUrl=url, MessageBody="b1", MessageGroupId="b", MessageDeduplicationId="b-1"
    )
    assert int(first["SequenceNumber"]) > 0
    [a1] = sqs.receive_message(
        QueueUrl=url, MessageSystemAttributeNames=["MessageGroupId", "SequenceNumber"]
    )["Messages"]
    assert (a1["Body"], a1["Attributes"]["MessageGroupId"]) == ("a1", "a")
    # Group a has a message in flight: only group b is served until it is deleted.
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)[
        "Messages"]] == ["b1"]  # fmt: skip
    sqs.delete_message(QueueUrl=url, ReceiptHandle=a1["ReceiptHandle"])
    [a2] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert a2["Body"] == "a2"
    with pytest.raises(ClientError) as info:
        sqs.send_message(QueueUrl=url, MessageBody="no group")
    assert info.value.response["Error"]["Code"] == "MissingParameter"


def test_fifo_names_and_attributes_must_agree(sqs: Any) -> None:
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="jobs.fifo")  # a FIFO name needs FifoQueue=true
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="jobs", Attributes={"FifoQueue": "true"})
