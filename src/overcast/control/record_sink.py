"""Delivers asynchronous invocations' records and dead letters to the platform's queues
and topics.

The dispatcher (``overcast.events``) knows targets only by ARN; this maps an SQS ARN of
this node's region and account to a queue of the SQS API and sends there, waking the
queue's pollers, and an SNS ARN to a topic of the SNS API, published to (the record as
the message, a dead letter's attributes as message attributes). As on AWS, a FIFO queue
is not a destination, and a queue or topic that does not exist is a delivery failure
(counted, logged), never a reason to run the event again.
"""

from __future__ import annotations

import sqlite3

from overcast.control.sns_api import SnsApi
from overcast.control.sqs_api import SqsApi
from overcast.events.dispatcher import LetterAttributes
from overcast.events.errors import DeliveryError
from overcast.events.sns_rules import SnsError
from overcast.events.sqs_rules import MessageAttribute, SqsError
from overcast.events.sqs_store import NewMessage

#: arn:partition:service:region:account:resource
_ARN_PARTS = 6


class QueueRecordSink:
    """A :class:`~overcast.events.dispatcher.RecordSink` over the node's SQS API (and its
    SNS API, when it has one)."""

    def __init__(
        self, sqs: SqsApi, *, region: str, account_id: str, sns: SnsApi | None = None
    ) -> None:
        self._sqs = sqs
        self._sns = sns
        self._region = region
        self._account_id = account_id

    async def send(self, target_arn: str, body: str, attributes: LetterAttributes) -> None:
        parts = target_arn.split(":")
        services = ("sqs", "sns") if self._sns is not None else ("sqs",)
        if len(parts) != _ARN_PARTS or parts[2] not in services:
            raise DeliveryError(
                f"{target_arn} is not a queue or topic of this node; only queues and topics "
                "are delivered to"
            )
        if (parts[3], parts[4]) != (self._region, self._account_id):
            raise DeliveryError(
                f"{target_arn} is in another region or account than this node's "
                f"({self._region}, {self._account_id})"
            )
        name = parts[5]
        if name.endswith(".fifo"):
            raise DeliveryError(
                f"{target_arn} is a FIFO {'topic' if parts[2] == 'sns' else 'queue'}; "
                "Lambda delivers to standard ones"
            )
        if parts[2] == "sns" and self._sns is not None:
            try:
                await self._sns.deliver(name, body, attributes)
            except SnsError as exc:
                raise DeliveryError(f"{target_arn}: {exc.message}") from None
            except sqlite3.Error as exc:
                raise DeliveryError(f"{target_arn}: the topic store failed ({exc})") from None
            return
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
