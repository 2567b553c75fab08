"""``AWS::SQS::Queue`` resources: their names, URLs, ARNs and SQS attributes.

CloudFormation's reference
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sqs-queue.html):
``Ref`` is the queue URL, ``Fn::GetAtt`` gives ``Arn``, ``QueueName`` and
``QueueUrl``; without ``QueueName`` the name is generated from the stack name, the
logical ID and a random suffix. overcast derives the suffix from the stack and the
logical ID, so the name (and the queue's messages) survive restarts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

QUEUE_TYPE = "AWS::SQS::Queue"

#: Properties that are SQS attributes of the same name (their values as text)
_ATTRIBUTE_PROPERTIES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)
#: Properties overcast reads or may ignore without changing what a function observes
KNOWN_PROPERTIES = frozenset(
    {
        *_ATTRIBUTE_PROPERTIES,
        "QueueName",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "Tags",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
        "FifoQueue",
        "ContentBasedDeduplication",
        "DeduplicationScope",
        "FifoThroughputLimit",
    }
)
_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A template queue, resolved: created (or updated) when the app starts."""

    logical_id: str
    name: str
    #: SQS attributes (CreateQueue's names and text values)
    attributes: Mapping[str, str] = field(default_factory=dict)


def generated_name(stack_name: str, logical_id: str) -> str:
    """``<stack>-<LogicalId>-<suffix>`` within SQS's 80 characters, stable per stack."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:12])
    stem = f"{stack_name}-{logical_id}"[: 80 - len(suffix) - 1]
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in stem) + "-" + suffix


def queue_url(region: str, account_id: str, name: str) -> str:
    """The URL ``Ref`` gives, as on AWS. overcast's SQS API reads only its path
    (``/<account>/<name>``), so a function's boto3 client pointed at the admin port
    can use it unchanged."""
    return f"https://sqs.{region}.amazonaws.com/{account_id}/{name}"


def queue_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:sqs:{region}:{account_id}:{name}"


def queue_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """The SQS attributes a queue's resolved Properties ask for."""
    attributes: dict[str, str] = {}
    for name in _ATTRIBUTE_PROPERTIES:
        if name in properties:
            attributes[name] = str(properties[name])
    for name in ("DeduplicationScope", "FifoThroughputLimit"):
        if name in properties:
            attributes[name] = str(properties[name])
    for name in ("FifoQueue", "ContentBasedDeduplication"):
        if name in properties:
            value = properties[name]
            attributes[name] = str(value).lower() if isinstance(value, bool | str) else "?"
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        value = properties.get(name)
        if isinstance(value, Mapping):
            attributes[name] = json.dumps(dict(value), separators=(",", ":"))
        elif isinstance(value, str):
            attributes[name] = value
    return attributes
