"""boto3's SQS client speaking the query protocol (older SDKs' form posts and XML)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from botocore.exceptions import ClientError

from overcast.events.sqs_rules import MessageAttribute, md5_of_message_attributes
from query_clients import query_sqs_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app("hello")


@pytest.fixture(scope="module")
def sqs(app, tmp_path_factory: pytest.TempPathFactory) -> Any:
    creds = app.admin_credentials()
    return query_sqs_client(
        tmp_path_factory.mktemp("models"),
        app.admin_url,
        creds.access_key_id,
        creds.secret_access_key,
    )


def _queue(sqs: Any, **attributes: str) -> str:
    name = "qq-" + uuid.uuid4().hex[:12]
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def test_the_client_speaks_the_query_protocol(sqs: Any) -> None:
    assert sqs.meta.service_model.protocol == "query"


def test_create_get_list_attributes_and_delete(sqs: Any, app) -> None:
    name = "qlife-" + uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "7"})["QueueUrl"]
    assert url == f"{app.admin_url}/123456789012/{name}"
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="qlife-")["QueueUrls"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "7"
    assert attributes["QueueArn"] == f"arn:aws:sqs:us-east-1:123456789012:{name}"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "9"})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert got["Attributes"] == {"VisibilityTimeout": "9"}
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist) as info:
        sqs.get_queue_url(QueueName=name)
    assert info.value.response["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_send_receive_delete_with_attributes_and_digests(sqs: Any) -> None:
    url = _queue(sqs)
    attributes = {
        "city": {"DataType": "String", "StringValue": "Zürich <&>"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
    }
    body = "héllo\r\nworld & <xml>"
    sent = sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == hashlib.md5(body.encode()).hexdigest()
    expected = md5_of_message_attributes({
        "city": MessageAttribute("String", "Zürich <&>"),
        "n": MessageAttribute("Number", "42"),
        "raw": MessageAttribute("Binary", binary_value=b"\x00\x01\xff"),
    })  # fmt: skip
    assert sent["MD5OfMessageAttributes"] == expected
    [message] = sqs.receive_message(
        QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"]
    )["Messages"]
    assert message["MessageId"] == sent["MessageId"]
    assert message["Body"] == body
    assert message["MessageAttributes"] == attributes
    assert message["MD5OfMessageAttributes"] == expected
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )
    [again] = sqs.receive_message(QueueUrl=url)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


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
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "v", "ReceiptHandle": messages[0]["ReceiptHandle"], "VisibilityTimeout": 30}
        ],
    )
    assert [e["Id"] for e in changed["Successful"]] == ["v"]
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
    with pytest.raises(sqs.exceptions.EmptyBatchRequest):
        sqs.delete_message_batch(QueueUrl=url, Entries=[])


def test_a_bad_parameter_is_an_xml_error(sqs: Any) -> None:
    url = _queue(sqs)
    with pytest.raises(ClientError) as info:
        sqs.receive_message(QueueUrl=url, WaitTimeSeconds=21)
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert info.value.response["Error"]["Type"] == "Sender"


def test_a_post_to_the_queue_url_names_the_queue(sqs: Any, app) -> None:
    """Some SDKs post to the queue's URL without a QueueUrl parameter."""
    url = _queue(sqs)
    creds = app.admin_credentials()
    request = AWSRequest(
        "POST",
        url,
        data=b"Action=SendMessage&Version=2012-11-05&MessageBody=by+path",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(
        BotoCredentials(creds.access_key_id, creds.secret_access_key), "sqs", "us-east-1"
    ).add_auth(request)
    with httpx.Client(timeout=30) as http:
        answer = http.post(url, content=request.body, headers=dict(request.headers.items()))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/xml")
    assert "<SendMessageResponse" in answer.text
    assert "<MessageId>" in answer.text
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "by path"


def test_a_get_with_the_action_in_its_query_string_is_served(sqs: Any, app) -> None:
    url = _queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="got by GET")
    creds = app.admin_credentials()
    request = AWSRequest(
        "GET", url + "?Action=ReceiveMessage&Version=2012-11-05&AttributeName.1=All"
    )
    SigV4Auth(
        BotoCredentials(creds.access_key_id, creds.secret_access_key), "sqs", "us-east-1"
    ).add_auth(request)
    with httpx.Client(timeout=30) as http:
        answer = http.get(request.url, headers=dict(request.headers.items()))
    assert answer.status_code == 200, answer.text
    assert "<Body>got by GET</Body>" in answer.text
    assert "<Name>ApproximateReceiveCount</Name>" in answer.text


def test_the_json_client_still_works_beside_it(app) -> None:
    creds = app.admin_credentials()
    plain = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
    )
    assert plain.meta.service_model.protocol == "json"
    assert "QueueUrl" in plain.create_queue(QueueName="json-" + uuid.uuid4().hex[:8])
