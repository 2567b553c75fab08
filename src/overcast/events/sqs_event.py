"""What an SQS event source mapping's handler receives, and how its answer is read; pure.

The event (Lambda developer guide, "Using Lambda with Amazon SQS", example standard
and FIFO events): ``{"Records": [...]}``, one record per message, in the order
received: ``messageId``, ``receiptHandle``, ``body``, ``attributes`` (the system
attributes as strings: ``ApproximateReceiveCount``, ``SentTimestamp``,
``SenderId``, ``ApproximateFirstReceiveTimestamp``, and on a FIFO queue
``SequenceNumber``, ``MessageGroupId``, ``MessageDeduplicationId``),
``messageAttributes`` (each ``stringValue`` or ``binaryValue`` (base64) with empty
``stringListValues`` and ``binaryListValues`` and its ``dataType``),
``md5OfMessageAttributes`` when the message has attributes, ``md5OfBody``,
``eventSource`` ``aws:sqs``, ``eventSourceARN`` and ``awsRegion``.

The answer, under ``FunctionResponseTypes: [ReportBatchItemFailures]`` (the guide's
"Implementing partial batch responses"): ``{"batchItemFailures": [{"itemIdentifier":
<messageId>}, ...]}``. A null or empty answer, or an empty or null list, means every
message succeeded; an answer that is not JSON, a failure that is not an object with
exactly an ``itemIdentifier``, or an identifier that is empty, null or not a message
of the batch fails the whole batch.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import orjson

from overcast.events.sqs_rules import MessageAttribute, md5_of_message_attributes
from overcast.events.sqs_store import Received

EVENT_SOURCE = "aws:sqs"


def _millis(at: float) -> str:
    return str(int(at * 1000))


def _attribute(attribute: MessageAttribute) -> dict[str, object]:
    value: dict[str, object] = (
        {"binaryValue": base64.b64encode(attribute.binary_value).decode()}
        if attribute.binary_value is not None
        else {"stringValue": attribute.string_value}
    )
    value |= {"stringListValues": [], "binaryListValues": [], "dataType": attribute.data_type}
    return value


def sqs_record(message: Received, *, queue_arn: str, region: str) -> dict[str, object]:
    """One message as a record of Lambda's SQS event."""
    attributes = {
        "ApproximateReceiveCount": str(message.receives),
        "SentTimestamp": _millis(message.sent_at),
        "SenderId": message.sender,
        "ApproximateFirstReceiveTimestamp": _millis(message.first_receive),
    }
    if message.sequence_number is not None:  # a FIFO queue's message
        attributes["SequenceNumber"] = message.sequence_number
        attributes["MessageGroupId"] = message.group_id or ""
        attributes["MessageDeduplicationId"] = message.dedup_id or ""
    record: dict[str, object] = {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {n: _attribute(a) for n, a in message.attributes.items()},
    }
    digest = md5_of_message_attributes(message.attributes)
    if digest is not None:
        record["md5OfMessageAttributes"] = digest
    record |= {
        "md5OfBody": message.md5_of_body,
        "eventSource": EVENT_SOURCE,
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    return record


def sqs_event_payload(messages: Sequence[Received], *, queue_arn: str, region: str) -> bytes:
    """The JSON event one invocation of the mapping's function receives."""
    records = [sqs_record(m, queue_arn=queue_arn, region=region) for m in messages]
    return orjson.dumps({"Records": records})


def failed_messages(payload: bytes, message_ids: Sequence[str]) -> frozenset[str]:
    """The ids of the batch's messages that failed, from a partial batch response.

    Every id when the response fails the whole batch (see the module's rules);
    none when it reports no failure.
    """
    everything = frozenset(message_ids)
    try:
        answer = orjson.loads(payload) if payload.strip() else None
    except orjson.JSONDecodeError:
        return everything
    if not isinstance(answer, dict):
        return frozenset()
    failures = answer.get("batchItemFailures")
    if failures is None:
        return frozenset()
    if not isinstance(failures, list):
        return everything
    failed: set[str] = set()
    for failure in failures:
        if not isinstance(failure, dict) or set(failure) != {"itemIdentifier"}:
            return everything
        identifier = failure["itemIdentifier"]
        if not isinstance(identifier, str) or identifier not in everything:
            return everything
        failed.add(identifier)
    return frozenset(failed)
