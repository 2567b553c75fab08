"""Delivers asynchronous invocations' records and dead letters to the platform's queues.

The dispatcher (``overcast.events``) knows targets only by ARN; this maps an SQS ARN of
this node's region and account to a queue of the SQS API and sends there, waking the
queue's pollers. As on AWS, a FIFO queue is not a destination, and a queue that does not
exist is a delivery failure (counted, logged), never a reason to run the event again.
"""

from __future__ import annotations

import sqlite3

from overcast.control.sqs_api import SqsApi
from overcast.events.dispatcher import LetterAttributes
from overcast.events.errors import DeliveryError
from overcast.events.sqs_rules import MessageAttribute, SqsError
from overcast.events.sqs_store import NewMessage

#: arn:partition:service:region:account:resource
_ARN_PARTS = 6


class QueueRecordSink:
    """A :class:`~overcast.events.dispatcher.RecordSink` over the node's SQS API."""

    def __init__(self, sqs: SqsApi, *, region: str, account_id: str) -> None:
        self._sqs = sqs
        self._region = region
        self._account_id = account_id

    async def send(self, target_arn: str, body: str, attributes: LetterAttributes) -> None:
        parts = target_arn.split(":")
        if len(parts) != _ARN_PARTS or parts[2] != "sqs":
            raise DeliveryError(f"{target_arn} is not an SQS queue; only queues are delivered to")
        if (parts[3], parts[4]) != (self._region, self._account_id):
            raise DeliveryError(
                f"{target_arn} is in another region or account than this node's "
                f"({self._region}, {self._account_id})"
            )
        name = parts[5]
        if name.endswith(".fifo"):
            raise DeliveryError(f"{target_arn} is a FIFO queue; Lambda delivers to standard ones")
        message = NewMessage(
            body=body,
            attributes={
                key: MessageAttribute(data_type, string_value=value)
                for key, (data_type, value) in attributes.items()
            },
        )
        try:
            await self._sqs.deliver(name, message)
        except SqsError as exc:
            raise DeliveryError(f"{target_arn}: {exc.message}") from None
        except sqlite3.Error as exc:
            raise DeliveryError(f"{target_arn}: the queue store failed ({exc})") from None
