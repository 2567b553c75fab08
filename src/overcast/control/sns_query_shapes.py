"""SNS's operations as the query protocol carries them (API version 2010-03-31).

Names from Amazon SNS's API reference (https://docs.aws.amazon.com/sns/latest/api/):
lists travel as ``Name.member.N``, maps as ``Name.entry.N.key`` / ``.value`` except
message attributes (``MessageAttributes.entry.N.Name`` / ``.Value.DataType``); results
as ``<Topics><member><TopicArn>`` and ``<Attributes><entry><key>..``.
"""

from __future__ import annotations

from collections.abc import Mapping

from overcast.control.query_protocol import (
    BLOB,
    BOOLEAN,
    STRING,
    ListOf,
    MapOf,
    Operation,
    Shape,
    struct,
)

NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/"

_ATTRIBUTES = MapOf(STRING)
_MESSAGE_ATTRIBUTES = MapOf(
    struct(DataType=STRING, StringValue=STRING, BinaryValue=BLOB), key="Name", value_name="Value"
)
_SUBSCRIPTIONS = ListOf(
    struct(SubscriptionArn=STRING, Owner=STRING, Protocol=STRING, Endpoint=STRING, TopicArn=STRING)
)
_PUBLISH: dict[str, Shape] = {
    "Message": STRING,
    "Subject": STRING,
    "MessageStructure": STRING,
    "MessageAttributes": _MESSAGE_ATTRIBUTES,
    "MessageDeduplicationId": STRING,
    "MessageGroupId": STRING,
}
_SET_ATTRIBUTE: dict[str, Shape] = {"AttributeName": STRING, "AttributeValue": STRING}

OPERATIONS: Mapping[str, Operation] = {
    "CreateTopic": Operation(
        struct(
            Name=STRING,
            Attributes=_ATTRIBUTES,
            Tags=ListOf(struct(Key=STRING, Value=STRING)),
            DataProtectionPolicy=STRING,
        ),
        struct(TopicArn=STRING),
    ),
    "DeleteTopic": Operation(struct(TopicArn=STRING)),
    "ListTopics": Operation(
        struct(NextToken=STRING),
        struct(Topics=ListOf(struct(TopicArn=STRING)), NextToken=STRING),
    ),
    "GetTopicAttributes": Operation(struct(TopicArn=STRING), struct(Attributes=_ATTRIBUTES)),
    "SetTopicAttributes": Operation(struct(TopicArn=STRING, **_SET_ATTRIBUTE)),
    "Subscribe": Operation(
        struct(
            TopicArn=STRING,
            Protocol=STRING,
            Endpoint=STRING,
            Attributes=_ATTRIBUTES,
            ReturnSubscriptionArn=BOOLEAN,
        ),
        struct(SubscriptionArn=STRING),
    ),
    "Unsubscribe": Operation(struct(SubscriptionArn=STRING)),
    "ListSubscriptions": Operation(
        struct(NextToken=STRING), struct(Subscriptions=_SUBSCRIPTIONS, NextToken=STRING)
    ),
    "ListSubscriptionsByTopic": Operation(
        struct(TopicArn=STRING, NextToken=STRING),
        struct(Subscriptions=_SUBSCRIPTIONS, NextToken=STRING),
    ),
    "GetSubscriptionAttributes": Operation(
        struct(SubscriptionArn=STRING), struct(Attributes=_ATTRIBUTES)
    ),
    "SetSubscriptionAttributes": Operation(struct(SubscriptionArn=STRING, **_SET_ATTRIBUTE)),
    "Publish": Operation(
        struct(TopicArn=STRING, TargetArn=STRING, PhoneNumber=STRING, **_PUBLISH),
        struct(MessageId=STRING, SequenceNumber=STRING),
    ),
    "PublishBatch": Operation(
        struct(
            TopicArn=STRING,
            PublishBatchRequestEntries=ListOf(struct(Id=STRING, **_PUBLISH)),
        ),
        struct(
            Successful=ListOf(struct(Id=STRING, MessageId=STRING, SequenceNumber=STRING)),
            Failed=ListOf(struct(Id=STRING, Code=STRING, Message=STRING, SenderFault=BOOLEAN)),
        ),
    ),
}
