"""boto3 SQS clients that speak the query protocol, as SDKs did before the JSON protocol.

botocore ships SQS's model for the JSON protocol only, but it still has the query
serializer and parser (SNS uses them). :func:`query_sqs_client` loads today's SQS model,
turns it back into the query model SQS published for API version 2012-11-05 (protocol
``query``, each operation's ``resultWrapper``, the wire names such as
``MessageAttribute`` and ``SendMessageBatchRequestEntry``, the error codes such as
``AWS.SimpleQueueService.NonExistentQueue``), writes it where a fresh botocore session
looks first (its ``data_path``) and builds a client from it: a real client that sends
``Action=SendMessage&Version=2012-11-05&...`` and parses XML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.config import Config

#: request members renamed on the wire (structure shape → member → wire name)
_MEMBER_NAMES = {
    "CreateQueueRequest": {"Attributes": "Attribute", "tags": "Tag"},
    "SetQueueAttributesRequest": {"Attributes": "Attribute"},
    "GetQueueAttributesResult": {"Attributes": "Attribute"},
    "SendMessageRequest": {
        "MessageAttributes": "MessageAttribute",
        "MessageSystemAttributes": "MessageSystemAttribute",
    },
    "SendMessageBatchRequestEntry": {
        "MessageAttributes": "MessageAttribute",
        "MessageSystemAttributes": "MessageSystemAttribute",
    },
    "SendMessageBatchRequest": {"Entries": "SendMessageBatchRequestEntry"},
    "DeleteMessageBatchRequest": {"Entries": "DeleteMessageBatchRequestEntry"},
    "ChangeMessageVisibilityBatchRequest": {"Entries": "ChangeMessageVisibilityBatchRequestEntry"},
    "Message": {"Attributes": "Attribute", "MessageAttributes": "MessageAttribute"},
    "MessageAttributeValue": {
        "StringListValues": "StringListValue",
        "BinaryListValues": "BinaryListValue",
    },
    "MessageSystemAttributeValue": {
        "StringListValues": "StringListValue",
        "BinaryListValues": "BinaryListValue",
    },
}
#: list shapes whose items carry their own name
_LIST_ITEMS = {
    "AttributeNameList": "AttributeName",
    "MessageAttributeNameList": "MessageAttributeName",
    "MessageSystemAttributeList": "MessageSystemAttributeName",
    "QueueUrlList": "QueueUrl",
    "MessageList": "Message",
    "SendMessageBatchRequestEntryList": "SendMessageBatchRequestEntry",
    "SendMessageBatchResultEntryList": "SendMessageBatchResultEntry",
    "DeleteMessageBatchRequestEntryList": "DeleteMessageBatchRequestEntry",
    "DeleteMessageBatchResultEntryList": "DeleteMessageBatchResultEntry",
    "ChangeMessageVisibilityBatchRequestEntryList": "ChangeMessageVisibilityBatchRequestEntry",
    "ChangeMessageVisibilityBatchResultEntryList": "ChangeMessageVisibilityBatchResultEntry",
    "BatchResultErrorEntryList": "BatchResultErrorEntry",
    "StringList": "StringListValue",
    "BinaryList": "BinaryListValue",
}
#: the query protocol's error codes (the shape name when absent)
_ERROR_CODES = {
    "QueueDoesNotExist": "AWS.SimpleQueueService.NonExistentQueue",
    "QueueNameExists": "QueueAlreadyExists",
    "QueueDeletedRecently": "AWS.SimpleQueueService.QueueDeletedRecently",
    "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    "PurgeQueueInProgress": "AWS.SimpleQueueService.PurgeQueueInProgress",
    "EmptyBatchRequest": "AWS.SimpleQueueService.EmptyBatchRequest",
    "BatchEntryIdsNotDistinct": "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
    "BatchRequestTooLong": "AWS.SimpleQueueService.BatchRequestTooLong",
    "InvalidBatchEntryId": "AWS.SimpleQueueService.InvalidBatchEntryId",
    "TooManyEntriesInBatchRequest": "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    "UnsupportedOperation": "AWS.SimpleQueueService.UnsupportedOperation",
}


def query_sqs_model() -> dict[str, Any]:
    """SQS's 2012-11-05 service model as the query protocol describes it."""
    loader = botocore.session.get_session().get_component("data_loader")
    model: dict[str, Any] = json.loads(json.dumps(loader.load_service_model("sqs", "service-2")))
    metadata = model["metadata"]
    for name in ("awsQueryCompatible", "jsonVersion", "targetPrefix"):
        metadata.pop(name, None)
    metadata["protocol"] = "query"
    metadata["protocols"] = ["query"]
    metadata["xmlNamespace"] = "http://queue.amazonaws.com/doc/2012-11-05/"
    for name, operation in model["operations"].items():
        if "output" in operation:
            operation["output"]["resultWrapper"] = f"{name}Result"
    shapes = model["shapes"]
    for shape_name, members in _MEMBER_NAMES.items():
        for member, wire in members.items():
            shapes[shape_name]["members"][member]["locationName"] = wire
    for shape_name, item in _LIST_ITEMS.items():
        shapes[shape_name]["member"]["locationName"] = item
    for shape in shapes.values():
        if shape.get("type") == "map":
            shape["key"]["locationName"] = "Name"
            shape["value"]["locationName"] = "Value"
    shapes["TagMap"]["key"]["locationName"] = "Key"
    for shape_name, shape in shapes.items():
        if shape.get("exception"):
            code = _ERROR_CODES.get(shape_name, shape_name)
            shape["error"] = {"code": code, "httpStatusCode": 400, "senderFault": True}
    return model


def query_sqs_client(
    data_path: Path, endpoint_url: str, key_id: str, secret: str, **config: Any
) -> Any:
    """A boto3 SQS client speaking the query protocol (its model written under
    ``data_path``)."""
    folder = data_path / "sqs" / "2012-11-05"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "service-2.json").write_text(json.dumps(query_sqs_model()))
    core = botocore.session.get_session()
    core.set_config_variable("data_path", str(data_path))
    session = boto3.Session(botocore_session=core)
    config.setdefault("retries", {"max_attempts": 0})
    config.setdefault("read_timeout", 60)
    return session.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint_url,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(**config),
    )
