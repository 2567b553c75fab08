"""Publish's fan-out: one message to each subscriber whose filter policy it passes.

A ``lambda`` subscriber gets an Event invocation with Lambda's SNS event, queued in the
durable async queue (the Dispatcher then runs and retries it as Lambda retries an SNS
delivery); an ``sqs`` subscriber's queue gets the JSON envelope, or the raw message
with RawMessageDelivery. :meth:`TopicFanout.publish` returns once every delivery is
stored, so Publish answers only when none can be lost: at least once, as SNS. A
subscriber that cannot take it (a queue since deleted) is skipped with a warning, as
SNS drops what it cannot deliver after its retries.

The two sinks are handed in (``Dispatcher.submit`` and ``SqsApi.deliver``): this
module knows no HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from overcast.events.sns_event import (
    Published,
    lambda_event,
    message_for,
    raw_sqs_attributes,
    sqs_envelope,
)
from overcast.events.sns_filter import matches, parse_policy
from overcast.events.sns_rules import SnsError
from overcast.events.sns_store import SnsStore, Subscription
from overcast.events.sqs_rules import SqsError
from overcast.events.sqs_store import NewMessage, Sent
from overcast.invoke import InvokeRequest

logger = logging.getLogger(__name__)

#: the SenderId of messages SNS sends to a queue
SNS_SENDER = "sns.amazonaws.com"

Submit = Callable[[InvokeRequest], Awaitable[str]]
Deliver = Callable[[str, NewMessage, str], Awaitable[Sent]]


@dataclass(frozen=True, slots=True)
class Delivered:
    """How many subscribers a message was stored for, and how many it skipped."""

    stored: int
    filtered: int
    failed: int


def function_target(arn: str) -> tuple[str, str]:
    """A ``lambda`` endpoint (``arn:aws:lambda:<region>:<account>:function:<name>[:<q>]``)
    as the function's name and qualifier."""
    rest = arn.split(":function:", 1)[1] if ":function:" in arn else arn
    name, _, qualifier = rest.partition(":")
    return name, qualifier or "$LATEST"


class TopicFanout:
    """Delivers published messages to the subscribers :class:`SnsStore` lists."""

    def __init__(self, store: SnsStore, submit: Submit, deliver: Deliver) -> None:
        self.store = store
        self._submit = submit
        self._deliver = deliver

    async def publish(self, topic: str, published: Published, base_url: str) -> Delivered:
        """Store ``published`` for every subscriber of ``topic``; return when all are."""
        subscriptions = await asyncio.to_thread(self.store.subscriptions, topic)
        stored = filtered = failed = 0
        for subscription in subscriptions:
            if not _passes(subscription, published):
                filtered += 1
                continue
            try:
                await self._one(subscription, published, base_url)
            except (SqsError, SnsError) as exc:
                failed += 1
                logger.warning(
                    "SNS message %s not delivered to %s (%s): %s",
                    published.message_id, subscription.endpoint, subscription.arn, exc,
                )  # fmt: skip
                continue
            stored += 1
        return Delivered(stored, filtered, failed)

    async def _one(self, subscription: Subscription, published: Published, base: str) -> None:
        if subscription.protocol == "lambda":
            name, qualifier = function_target(subscription.endpoint)
            payload = lambda_event(published, subscription.arn, base)
            await self._submit(InvokeRequest(name, payload, qualifier))
            return
        queue = subscription.endpoint.rsplit(":", 1)[-1]
        if subscription.raw:
            body, attributes = message_for(published, "sqs"), raw_sqs_attributes(published)
        else:
            body, attributes = sqs_envelope(published, subscription.arn, base), {}
        # A FIFO topic's subscribers are FIFO queues: the group and dedup id go along.
        message = NewMessage(
            body, attributes, group_id=published.group_id, dedup_id=published.dedup_id
        )
        await self._deliver(queue, message, SNS_SENDER)


def _passes(subscription: Subscription, published: Published) -> bool:
    text = subscription.attributes.get("FilterPolicy")
    if not text:
        return True
    try:
        policy = parse_policy(text)
    except SnsError:  # refused when set; a template's could still be malformed
        return False
    scope = subscription.attributes.get("FilterPolicyScope", "MessageAttributes")
    return matches(
        policy, scope, published.attributes, message_for(published, subscription.protocol)
    )
