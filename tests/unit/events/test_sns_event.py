"""Lambda's SNS event and the SQS envelope, built without a topic or a socket."""

from __future__ import annotations

import json

import pytest

from overcast.events.sns_event import (
    Published,
    SnsAttribute,
    check_structure,
    lambda_event,
    message_for,
    raw_sqs_attributes,
    sqs_envelope,
    timestamp,
)
from overcast.events.sns_rules import SnsError
from overcast.events.sqs_rules import MessageAttribute

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
SUBSCRIPTION = TOPIC + ":8f0c7f3e-0000-4000-8000-000000000000"
BASE = "http://127.0.0.1:9000"


def _published(**more: object) -> Published:
    fields: dict[str, object] = {
        "message_id": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        "topic_arn": TOPIC,
        "message": "hello",
        "timestamp": 1_700_000_000.123,
        "attributes": {
            "kind": SnsAttribute("String", "order"),
            "raw": SnsAttribute("Binary", binary_value=b"\x00\x01"),
        },
    }
    fields.update(more)
    return Published(**fields)  # type: ignore[arg-type]


def test_the_lambda_event_has_lambdas_shape_and_order() -> None:
    event = json.loads(lambda_event(_published(), SUBSCRIPTION, BASE))
    [record] = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == SUBSCRIPTION
    sns = record["Sns"]
    assert list(sns) == [
        "Type", "MessageId", "TopicArn", "Subject", "Message", "Timestamp",
        "SignatureVersion", "Signature", "SigningCertUrl", "UnsubscribeUrl",
        "MessageAttributes",
    ]  # fmt: skip
    assert sns["Subject"] is None  # null when the publisher gave none
    assert sns["Timestamp"] == "2023-11-14T22:13:20.123Z"
    assert sns["MessageAttributes"] == {
        "kind": {"Type": "String", "Value": "order"},
        "raw": {"Type": "Binary", "Value": "AAE="},
    }
    assert sns["UnsubscribeUrl"].startswith(BASE + "/?Action=Unsubscribe&SubscriptionArn=arn%3A")


def test_the_envelope_spells_url_keys_and_omits_what_is_absent() -> None:
    envelope = json.loads(sqs_envelope(_published(attributes={}), SUBSCRIPTION, BASE))
    assert "Subject" not in envelope
    assert "MessageAttributes" not in envelope
    assert {"SigningCertURL", "UnsubscribeURL"} <= set(envelope)
    with_subject = json.loads(sqs_envelope(_published(subject="Hi"), SUBSCRIPTION, BASE))
    assert list(with_subject)[:5] == ["Type", "MessageId", "TopicArn", "Subject", "Message"]


def test_a_structured_message_gives_each_protocol_its_entry_or_the_default() -> None:
    message = json.dumps({"default": "d", "sqs": "q"})
    published = _published(message=message, structure="json")
    assert message_for(published, "sqs") == "q"
    assert message_for(published, "lambda") == "d"
    check_structure(message)
    for bad in ("not json", json.dumps({"sqs": "q"}), json.dumps(["default"])):
        with pytest.raises(SnsError) as info:
            check_structure(bad)
        assert info.value.code == "InvalidParameter"


def test_raw_delivery_keeps_attributes_as_sqs_types() -> None:
    published = _published(
        attributes={
            "tags": SnsAttribute("String.Array", '["a","b"]'),
            "n": SnsAttribute("Number", "7"),
            "raw": SnsAttribute("Binary", binary_value=b"\x01"),
        }
    )
    assert raw_sqs_attributes(published) == {
        "tags": MessageAttribute("String", '["a","b"]'),
        "n": MessageAttribute("Number", "7"),
        "raw": MessageAttribute("Binary", binary_value=b"\x01"),
    }


def test_timestamps_have_milliseconds_in_utc() -> None:
    assert timestamp(0.0) == "1970-01-01T00:00:00.000Z"
