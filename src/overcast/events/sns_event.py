"""What SNS hands each kind of subscriber, pure: Lambda's SNS event and the SQS envelope.

Shapes from AWS's documents:

- Lambda: "Using AWS Lambda with Amazon SNS"
  (https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html): ``Records`` of one,
  ``EventSource`` ``aws:sns``, ``EventVersion`` ``1.0``, ``EventSubscriptionArn`` and
  ``Sns`` with ``Type``, ``MessageId``, ``TopicArn``, ``Subject`` (null when none),
  ``Message``, ``Timestamp``, ``SignatureVersion``, ``Signature``, ``SigningCertUrl``,
  ``UnsubscribeUrl`` and ``MessageAttributes`` (``{"Type", "Value"}`` each).
- SQS (and HTTP): the JSON notification document
  (https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html), whose
  keys spell ``SigningCertURL`` and ``UnsubscribeURL``; ``Subject`` and
  ``MessageAttributes`` only when there are some. With ``RawMessageDelivery`` the
  queue gets the message itself, its attributes as SQS message attributes
  (https://docs.aws.amazon.com/sns/latest/dg/sns-large-payload-raw-message-delivery.html).

overcast holds no key AWS's certificate vouches for: ``Signature`` is the base64
SHA-256 of SNS's string to sign, a checksum that no AWS signature check accepts.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import orjson

from overcast.events.sns_rules import invalid_parameter
from overcast.events.sqs_rules import MessageAttribute


@dataclass(frozen=True, slots=True)
class SnsAttribute:
    """A Publish message attribute: ``String``, ``String.Array``, ``Number`` or ``Binary``."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True, slots=True)
class Published:
    """One message as Publish accepted it."""

    message_id: str
    topic_arn: str
    message: str
    timestamp: float
    subject: str | None = None
    #: ``json``: ``message`` is a JSON object of one message per protocol (and ``default``)
    structure: str | None = None
    attributes: Mapping[str, SnsAttribute] = field(default_factory=dict)
    #: FIFO topics: the message group and deduplication id, passed on to FIFO queues
    group_id: str | None = None
    dedup_id: str | None = None


def check_structure(message: str) -> None:
    """A ``MessageStructure=json`` message: a JSON object with a ``default`` string
    (Publish's reference); refused as SNS refuses it."""
    try:
        parsed = orjson.loads(message)
    except orjson.JSONDecodeError:
        raise invalid_parameter("Message Structure - JSON message body failed to parse") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("default"), str):
        raise invalid_parameter("Message Structure - No default entry in JSON message body")
    if not all(isinstance(v, str) for v in parsed.values()):
        raise invalid_parameter("Message Structure - JSON message values must be strings")


def message_for(published: Published, protocol: str) -> str:
    """The message a ``protocol`` subscriber gets: its own entry of a structured
    message, else the ``default`` one, else the message as published."""
    if published.structure != "json":
        return published.message
    parsed: dict[str, str] = orjson.loads(published.message)
    return parsed.get(protocol, parsed["default"])


def timestamp(at: float) -> str:
    """SNS's notification time: ISO 8601 in UTC with milliseconds."""
    moment = datetime.fromtimestamp(at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _attributes(published: Published) -> dict[str, dict[str, str]]:
    return {
        name: {
            "Type": a.data_type,
            "Value": (
                base64.b64encode(a.binary_value).decode()
                if a.binary_value is not None
                else a.string_value or ""
            ),
        }
        for name, a in published.attributes.items()
    }


def _signature(published: Published, message: str) -> str:
    # SNS's string to sign for a notification: name/value lines in this order.
    lines = ["Message", message, "MessageId", published.message_id]
    if published.subject is not None:
        lines += ["Subject", published.subject]
    lines += ["Timestamp", timestamp(published.timestamp), "TopicArn", published.topic_arn]
    lines += ["Type", "Notification"]
    digest = hashlib.sha256(("\n".join(lines) + "\n").encode()).digest()
    return base64.b64encode(digest).decode()


def _urls(base_url: str, subscription_arn: str) -> tuple[str, str]:
    """Where the certificate and the unsubscribe link would be (the admin port)."""
    base = base_url.rstrip("/")
    return (
        f"{base}/SimpleNotificationService-overcast.pem",
        f"{base}/?Action=Unsubscribe&SubscriptionArn={quote(subscription_arn, safe='')}",
    )


def lambda_event(published: Published, subscription_arn: str, base_url: str) -> bytes:
    """The event a ``lambda`` subscriber's function is invoked with (JSON bytes)."""
    message = message_for(published, "lambda")
    cert, unsubscribe = _urls(base_url, subscription_arn)
    sns: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": published.message_id,
        "TopicArn": published.topic_arn,
        "Subject": published.subject,
        "Message": message,
        "Timestamp": timestamp(published.timestamp),
        "SignatureVersion": "1",
        "Signature": _signature(published, message),
        "SigningCertUrl": cert,
        "UnsubscribeUrl": unsubscribe,
        "MessageAttributes": _attributes(published),
    }
    record = {
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": subscription_arn,
        "Sns": sns,
    }
    return orjson.dumps({"Records": [record]})


def sqs_envelope(published: Published, subscription_arn: str, base_url: str) -> str:
    """The body an ``sqs`` subscriber's queue gets without RawMessageDelivery."""
    message = message_for(published, "sqs")
    cert, unsubscribe = _urls(base_url, subscription_arn)
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": published.message_id,
        "TopicArn": published.topic_arn,
    }
    if published.subject is not None:
        envelope["Subject"] = published.subject
    envelope |= {
        "Message": message,
        "Timestamp": timestamp(published.timestamp),
        "SignatureVersion": "1",
        "Signature": _signature(published, message),
        "SigningCertURL": cert,
        "UnsubscribeURL": unsubscribe,
    }
    if published.attributes:
        envelope["MessageAttributes"] = _attributes(published)
    return orjson.dumps(envelope, option=orjson.OPT_INDENT_2).decode()


def raw_sqs_attributes(published: Published) -> dict[str, MessageAttribute]:
    """A raw delivery's SQS message attributes: SNS's own (``String.Array`` becomes a
    ``String`` holding the array, SQS having no such type)."""
    return {
        name: (
            MessageAttribute("Binary", binary_value=a.binary_value)
            if a.binary_value is not None
            else MessageAttribute(
                "String" if a.data_type == "String.Array" else a.data_type, a.string_value
            )
        )
        for name, a in published.attributes.items()
    }
