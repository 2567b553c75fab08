"""aws-lambda-powertools reads overcast's SNS event and SQS envelope as AWS's.

Powertools' parser models (pydantic) and data classes are written against the events
AWS sends; a field missing, misnamed or of the wrong form fails them.
"""

from __future__ import annotations

import json

from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.parser import envelopes, parse
from aws_lambda_powertools.utilities.parser.models import SnsModel, SnsNotificationModel
from pydantic import BaseModel

from overcast.events.sns_event import Published, SnsAttribute, lambda_event, sqs_envelope

TOPIC = "arn:aws:sns:us-east-1:123456789012:orders"
SUBSCRIPTION = TOPIC + ":0b8c2a43-8d0f-4e7f-9d7e-0f6f3c1f2a11"
BASE = "http://127.0.0.1:8081"


class Order(BaseModel):
    order: int


def _published(subject: str | None = "New order") -> Published:
    return Published(
        message_id="95df01b4-ee98-5cb9-9903-4c221d41eb5e",
        topic_arn=TOPIC,
        message='{"order": 7}',
        timestamp=1_700_000_000.5,
        subject=subject,
        attributes={"priority": SnsAttribute("String", "high")},
    )


def test_the_parser_model_accepts_the_lambda_event() -> None:
    event = json.loads(lambda_event(_published(), SUBSCRIPTION, BASE))
    parsed = parse(event=event, model=SnsModel)
    [record] = parsed.Records
    assert record.EventSubscriptionArn == SUBSCRIPTION
    assert record.Sns.Subject == "New order"
    assert record.Sns.MessageAttributes is not None
    assert record.Sns.MessageAttributes["priority"].Value == "high"
    assert record.Sns.Timestamp.year == 2023
    [order] = parse(event=event, model=Order, envelope=envelopes.SnsEnvelope)
    assert order.order == 7


def test_the_data_class_reads_the_lambda_event() -> None:
    event = SNSEvent(json.loads(lambda_event(_published(subject=None), SUBSCRIPTION, BASE)))
    record = next(iter(event.records))
    assert record.sns.message == '{"order": 7}'
    assert record.sns.subject is None
    assert record.sns.message_attributes["priority"].get_type == "String"
    assert record.sns.topic_arn == TOPIC
    assert record.event_subscription_arn == SUBSCRIPTION


def test_the_notification_model_accepts_the_sqs_envelope() -> None:
    envelope = json.loads(sqs_envelope(_published(), SUBSCRIPTION, BASE))
    notification = SnsNotificationModel.model_validate(envelope)
    assert notification.Message == '{"order": 7}'
    assert str(notification.UnsubscribeUrl).startswith(BASE)
