"""SQS's operations as the query protocol carries them (API version 2012-11-05).

The names each member travels under are those of SQS's query API reference
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/, each
operation's "Request Parameters" and its XML examples): ``Attribute.N.Name``,
``MessageAttribute.N.Value.StringValue``, ``AttributeName.N``,
``SendMessageBatchRequestEntry.N.Id``; results as ``<Message>``,
``<Attribute><Name>..</Name><Value>..</Value></Attribute>``, ``<QueueUrl>``.
"""

from __future__ import annotations

from collections.abc import Mapping

from overcast.control.query_protocol import (
    BLOB,
    BOOLEAN,
    INTEGER,
    STRING,
    ListOf,
    MapOf,
    Member,
    Operation,
    Shape,
    Struct,
    struct,
)

NAMESPACE = "http://queue.amazonaws.com/doc/2012-11-05/"


def _flat_list(item: str, member: Shape = STRING) -> Member:
    return Member(ListOf(member, flattened=True, item=item), item)


def _flat_map(wire: str, value: Shape = STRING, key: str = "Name") -> Member:
    return Member(MapOf(value, flattened=True, key=key, value_name="Value"), wire)


_ATTRIBUTE_VALUE = struct(
    StringValue=STRING,
    BinaryValue=BLOB,
    StringListValues=_flat_list("StringListValue"),
    BinaryListValues=_flat_list("BinaryListValue", BLOB),
    DataType=STRING,
)
_QUEUE_ATTRIBUTES = _flat_map("Attribute")
_MESSAGE_ATTRIBUTES = _flat_map("MessageAttribute", _ATTRIBUTE_VALUE)
_SYSTEM_ATTRIBUTES = _flat_map("MessageSystemAttribute", _ATTRIBUTE_VALUE)
_QUEUE = {"QueueUrl": Member(STRING)}


def _batch_result(entry: Struct, entry_name: str) -> Struct:
    failed = struct(Id=STRING, SenderFault=BOOLEAN, Code=STRING, Message=STRING)
    return struct(
        Successful=_flat_list(entry_name, entry),
        Failed=_flat_list("BatchResultErrorEntry", failed),
    )


_SEND_ENTRY = struct(
    Id=STRING,
    MessageBody=STRING,
    DelaySeconds=INTEGER,
    MessageAttributes=_MESSAGE_ATTRIBUTES,
    MessageSystemAttributes=_SYSTEM_ATTRIBUTES,
    MessageDeduplicationId=STRING,
    MessageGroupId=STRING,
)
_MESSAGE = struct(
    MessageId=STRING,
    ReceiptHandle=STRING,
    MD5OfBody=STRING,
    Body=STRING,
    Attributes=_flat_map("Attribute"),
    MD5OfMessageAttributes=STRING,
    MessageAttributes=_MESSAGE_ATTRIBUTES,
)

OPERATIONS: Mapping[str, Operation] = {
    "CreateQueue": Operation(
        struct(QueueName=STRING, Attributes=_QUEUE_ATTRIBUTES, tags=_flat_map("Tag", key="Key")),
        struct(QueueUrl=STRING),
    ),
    "GetQueueUrl": Operation(
        struct(QueueName=STRING, QueueOwnerAWSAccountId=STRING), struct(QueueUrl=STRING)
    ),
    "ListQueues": Operation(
        struct(QueueNamePrefix=STRING, NextToken=STRING, MaxResults=INTEGER),
        struct(QueueUrls=_flat_list("QueueUrl"), NextToken=STRING),
    ),
    "DeleteQueue": Operation(Struct(_QUEUE)),
    "PurgeQueue": Operation(Struct(_QUEUE)),
    "GetQueueAttributes": Operation(
        struct(**_QUEUE, AttributeNames=_flat_list("AttributeName")),
        struct(Attributes=_QUEUE_ATTRIBUTES),
    ),
    "SetQueueAttributes": Operation(struct(**_QUEUE, Attributes=_QUEUE_ATTRIBUTES)),
    "SendMessage": Operation(
        struct(
            **_QUEUE,
            MessageBody=STRING,
            DelaySeconds=INTEGER,
            MessageAttributes=_MESSAGE_ATTRIBUTES,
            MessageSystemAttributes=_SYSTEM_ATTRIBUTES,
            MessageDeduplicationId=STRING,
            MessageGroupId=STRING,
        ),
        struct(
            MD5OfMessageBody=STRING,
            MD5OfMessageAttributes=STRING,
            MD5OfMessageSystemAttributes=STRING,
            MessageId=STRING,
            SequenceNumber=STRING,
        ),
    ),
    "SendMessageBatch": Operation(
        struct(**_QUEUE, Entries=_flat_list("SendMessageBatchRequestEntry", _SEND_ENTRY)),
        _batch_result(
            struct(
                Id=STRING,
                MessageId=STRING,
                MD5OfMessageBody=STRING,
                MD5OfMessageAttributes=STRING,
                MD5OfMessageSystemAttributes=STRING,
                SequenceNumber=STRING,
            ),
            "SendMessageBatchResultEntry",
        ),
    ),
    "ReceiveMessage": Operation(
        struct(
            **_QUEUE,
            AttributeNames=_flat_list("AttributeName"),
            MessageSystemAttributeNames=_flat_list("MessageSystemAttributeName"),
            MessageAttributeNames=_flat_list("MessageAttributeName"),
            MaxNumberOfMessages=INTEGER,
            VisibilityTimeout=INTEGER,
            WaitTimeSeconds=INTEGER,
            ReceiveRequestAttemptId=STRING,
        ),
        struct(Messages=_flat_list("Message", _MESSAGE)),
    ),
    "DeleteMessage": Operation(struct(**_QUEUE, ReceiptHandle=STRING)),
    "DeleteMessageBatch": Operation(
        struct(
            **_QUEUE,
            Entries=_flat_list(
                "DeleteMessageBatchRequestEntry", struct(Id=STRING, ReceiptHandle=STRING)
            ),
        ),
        _batch_result(struct(Id=STRING), "DeleteMessageBatchResultEntry"),
    ),
    "ChangeMessageVisibility": Operation(
        struct(**_QUEUE, ReceiptHandle=STRING, VisibilityTimeout=INTEGER)
    ),
    "ChangeMessageVisibilityBatch": Operation(
        struct(
            **_QUEUE,
            Entries=_flat_list(
                "ChangeMessageVisibilityBatchRequestEntry",
                struct(Id=STRING, ReceiptHandle=STRING, VisibilityTimeout=INTEGER),
            ),
        ),
        _batch_result(struct(Id=STRING), "ChangeMessageVisibilityBatchResultEntry"),
    ),
}
