"""``AWS::SNS::Topic`` / ``AWS::SNS::Subscription`` resources and functions' SNS events."""

from __future__ import annotations

import json

import pytest

from overcast.template.errors import InvalidTemplateError
from overcast.template.sqs_queues import generated_name

from .helpers import function, load_resources, messages

TOPICS = """\
  Orders:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-orders"
      DisplayName: Orders
      Subscription:
        - Protocol: sqs
          Endpoint: !GetAtt Audit.Arn
        - Protocol: email
          Endpoint: ops@example.com
  Plain:
    Type: AWS::SNS::Topic
  Audit:
    Type: AWS::SQS::Queue
  RawAudit:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Plain
      Protocol: sqs
      Endpoint: !GetAtt Audit.Arn
      RawMessageDelivery: true
"""

ENV = """\
Environment:
  Variables:
    ORDERS_ARN: !Ref Orders
    PLAIN_NAME: !GetAtt Plain.TopicName
    PLAIN_ARN: !GetAtt Plain.TopicArn
"""

SNS_EVENT = """\
New:
  Type: SNS
  Properties:
    Topic: !Ref Orders
    FilterPolicy:
      priority: [high]
    FilterPolicyScope: MessageAttributes
"""


def test_topics_reach_the_model_with_their_subscribers() -> None:
    model = load_resources(function(events=SNS_EVENT) + TOPICS, stack_name="shop")
    orders = model.topics["Orders"]
    assert orders.name == "shop-orders"
    assert orders.attributes == {"DisplayName": "Orders"}
    audit = f"arn:aws:sqs:us-east-1:123456789012:{model.queues['Audit'].name}"
    function_arn = "arn:aws:lambda:us-east-1:123456789012:function:Hello"
    assert [(s.protocol, s.endpoint) for s in orders.subscriptions] == [
        ("sqs", audit),
        ("lambda", function_arn),
    ]
    assert json.loads(orders.subscriptions[1].attributes["FilterPolicy"]) == {"priority": ["high"]}
    assert orders.subscriptions[1].attributes["FilterPolicyScope"] == "MessageAttributes"
    plain = model.topics["Plain"]
    assert plain.name == generated_name("shop", "Plain")
    [raw] = plain.subscriptions
    assert (raw.protocol, raw.endpoint, raw.attributes) == (
        "sqs", audit, {"RawMessageDelivery": "true"},
    )  # fmt: skip
    assert any("protocol 'email'" in m for m in messages(model))
    assert not any("of type 'SNS'" in m for m in messages(model))


def test_ref_is_the_arn_and_get_att_names_it() -> None:
    model = load_resources(function(props=ENV) + TOPICS, stack_name="shop")
    variables = model.functions["Hello"].environment
    plain = generated_name("shop", "Plain")
    assert variables["ORDERS_ARN"] == "arn:aws:sns:us-east-1:123456789012:shop-orders"
    assert variables["PLAIN_NAME"] == plain
    assert variables["PLAIN_ARN"] == f"arn:aws:sns:us-east-1:123456789012:{plain}"


def test_an_sns_event_on_a_foreign_topic_is_refused_with_its_line() -> None:
    foreign = """\
Elsewhere:
  Type: SNS
  Properties:
    Topic: arn:aws:sns:us-east-1:999999999999:theirs
"""
    with pytest.raises(InvalidTemplateError) as info:
        load_resources(function(events=foreign) + TOPICS)
    assert "is not a topic of this template" in str(info.value)
    assert info.value.location is not None
    assert info.value.location.line > 1


def test_a_subscription_resource_on_a_foreign_topic_is_refused() -> None:
    resources = """\
  Lost:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: arn:aws:sns:us-east-1:123456789012:nobody
      Protocol: sqs
      Endpoint: arn:aws:sqs:us-east-1:123456789012:q
"""
    with pytest.raises(InvalidTemplateError, match="is not a topic of this template"):
        load_resources(function() + TOPICS + resources)


def test_sqs_subscription_is_warned_about_and_delivered_directly() -> None:
    event = """\
Queued:
  Type: SNS
  Properties:
    Topic: !Ref Plain
    SqsSubscription: true
"""
    model = load_resources(function(events=event) + TOPICS)
    assert any("SqsSubscription is not supported yet" in m for m in messages(model))
    assert [s.protocol for s in model.topics["Plain"].subscriptions] == ["sqs", "lambda"]
