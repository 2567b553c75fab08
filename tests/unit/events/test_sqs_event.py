"""Lambda's SQS event built from received messages, and partial batch responses read."""

from __future__ import annotations

import base64

import orjson
import pytest

from overcast.events.sqs_event import failed_messages, sqs_event_payload
from overcast.events.sqs_rules import MessageAttribute, md5_of_body
from overcast.events.sqs_store import Received

ARN = "arn:aws:sqs:us-east-2:123456789012:my-queue"


def received(message_id: str = "m1", **changes: object) -> Received:
    base: dict[str, object] = {
        "message_id": message_id,
        "receipt_handle": f"handle-{message_id}",
        "body": '{"foo": 2}',
        "md5_of_body": md5_of_body('{"foo": 2}'),
        "attributes": {},
        "sender": "AIDAIENQZJOLO23YVJ4VO",
        "sent_at": 1545082649.183,
        "receives": 1,
        "first_receive": 1545082649.185,
    }
    return Received(**(base | changes))  # type: ignore[arg-type]


def records(*messages: Received) -> list[dict[str, object]]:
    event = orjson.loads(sqs_event_payload(messages, queue_arn=ARN, region="us-east-2"))
    assert list(event) == ["Records"]
    return list(event["Records"])


def test_a_standard_record_has_lambdas_fields_in_lambdas_order() -> None:
    (record,) = records(received())
    assert record == {
        "messageId": "m1",
        "receiptHandle": "handle-m1",
        "body": '{"foo": 2}',
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1545082649183",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1545082649185",
        },
        "messageAttributes": {},
        "md5OfBody": md5_of_body('{"foo": 2}'),
        "eventSource": "aws:sqs",
        "eventSourceARN": ARN,
        "awsRegion": "us-east-2",
    }
    assert list(record) == [
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "eventSource", "eventSourceARN", "awsRegion",
    ]  # fmt: skip


def test_message_attributes_take_lambdas_shape_with_their_digest() -> None:
    attributes = {
        "req-id": MessageAttribute("String", string_value="24479a02"),
        "blob": MessageAttribute("Binary", binary_value=b"\x00\x01"),
        "n": MessageAttribute("Number", string_value="3"),
    }
    (record,) = records(received(attributes=attributes))
    assert record["messageAttributes"] == {
        "req-id": {"stringValue": "24479a02", "stringListValues": [], "binaryListValues": [],
                   "dataType": "String"},
        "blob": {"binaryValue": base64.b64encode(b"\x00\x01").decode(), "stringListValues": [],
                 "binaryListValues": [], "dataType": "Binary"},
        "n": {"stringValue": "3", "stringListValues": [], "binaryListValues": [],
              "dataType": "Number"},
    }  # fmt: skip
    assert isinstance(record["md5OfMessageAttributes"], str)
    assert len(record["md5OfMessageAttributes"]) == 32


def test_a_fifo_record_carries_group_deduplication_and_sequence() -> None:
    (record,) = records(
        received(group_id="g1", dedup_id="d1", sequence_number="18849496460467696128")
    )
    assert record["attributes"] == {
        "ApproximateReceiveCount": "1",
        "SentTimestamp": "1545082649183",
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": "1545082649185",
        "SequenceNumber": "18849496460467696128",
        "MessageGroupId": "g1",
        "MessageDeduplicationId": "d1",
    }


def test_records_keep_the_order_received() -> None:
    assert [r["messageId"] for r in records(received("a"), received("b"), received("c"))] == [
        "a", "b", "c",
    ]  # fmt: skip


IDS = ("a", "b", "c")


@pytest.mark.parametrize(
    "answer",
    [b"", b"null", b"{}", b'{"batchItemFailures": []}', b'{"batchItemFailures": null}',
     b'"done"', b"[1, 2]", b"42"],
)  # fmt: skip
def test_answers_without_failures_mean_every_message_succeeded(answer: bytes) -> None:
    assert failed_messages(answer, IDS) == frozenset()


def test_reported_failures_are_the_only_ones_kept() -> None:
    answer = b'{"batchItemFailures": [{"itemIdentifier": "b"}, {"itemIdentifier": "c"}]}'
    assert failed_messages(answer, IDS) == {"b", "c"}


@pytest.mark.parametrize(
    "answer",
    [
        b"{not json",
        b'{"batchItemFailures": "b"}',
        b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
        b'{"batchItemFailures": [{"itemIdentifier": null}]}',
        b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}',
        b'{"batchItemFailures": [{"itemId": "b"}]}',
        b'{"batchItemFailures": ["b"]}',
    ],
)
def test_malformed_or_unknown_failures_fail_the_whole_batch(answer: bytes) -> None:
    assert failed_messages(answer, IDS) == set(IDS)
