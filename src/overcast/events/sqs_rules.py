"""SQS's rules, pure: its errors, queue attributes and limits, message digests.

Everything here is what a client of Amazon SQS can observe, so it follows AWS's
documents: the API reference for each operation's limits
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/), the
developer guide for the message-attribute digest
(https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-metadata.html
§ "Calculating the MD5 message digest for message attributes").
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from overcast.events.errors import EventsError

#: SQS's defaults for the attributes a queue is created with (CreateQueue)
DEFAULT_ATTRIBUTES: Mapping[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
}
#: inclusive bounds of the numeric attributes (CreateQueue's reference)
_BOUNDS: Mapping[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 262144),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),
}
#: attributes a caller may set and read back verbatim
_VERBATIM = frozenset({"Policy", "RedriveAllowPolicy", "KmsMasterKeyId",
                       "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled"})  # fmt: skip
#: FIFO queues' own attributes and the values each may take (the first is the default)
FIFO_CHOICES: Mapping[str, tuple[str, ...]] = {
    "ContentBasedDeduplication": ("false", "true"),
    "DeduplicationScope": ("queue", "messageGroup"),
    "FifoThroughputLimit": ("perQueue", "perMessageGroupId"),
}
SETTABLE = frozenset(_BOUNDS) | _VERBATIM | {"RedrivePolicy", "FifoQueue"} | set(FIFO_CHOICES)
#: how long a FIFO queue remembers a deduplication id (SendMessage's reference)
DEDUPLICATION_S = 300.0
#: attributes computed for GetQueueAttributes
COMPUTED = frozenset({
    "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp", "LastModifiedTimestamp",
    "QueueArn",
})  # fmt: skip
MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 262_144
MAX_MESSAGE_ATTRIBUTES = 10
MAX_WAIT_S = 20
#: the message system attributes ReceiveMessage can return (standard queues)
MESSAGE_SYSTEM_ATTRIBUTES = frozenset({
    "SenderId", "SentTimestamp", "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp", "MessageGroupId", "MessageDeduplicationId",
    "SequenceNumber",
})  # fmt: skip

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_FIFO_NAME = re.compile(r"^[A-Za-z0-9_-]{1,75}\.fifo$")
_GROUP_ID = re.compile(r"^[!-~]{1,128}$")  # alphanumerics and punctuation
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
_ATTRIBUTE_NAME = re.compile(r"^(?!aws\.|amazon\.)(?!\.)(?!.*\.\.)[A-Za-z0-9_.-]{1,256}(?<!\.)$",
                             re.IGNORECASE)  # fmt: skip
# The characters SQS accepts in a body: XML 1.0's Char production.
_INVALID_BODY_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class SqsError(EventsError):
    """An SQS request refused, as SQS refuses it.

    ``code`` is the error's shape name in the JSON protocol (``__type``), ``query_code``
    the code the query protocol used (sent in ``x-amzn-query-error``, which botocore
    reports as ``Error.Code``).
    """

    def __init__(self, code: str, message: str, query_code: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.query_code = query_code or code


def queue_does_not_exist() -> SqsError:
    return SqsError(
        "QueueDoesNotExist",
        "The specified queue does not exist.",
        "AWS.SimpleQueueService.NonExistentQueue",
    )


def invalid_parameter(message: str) -> SqsError:
    return SqsError("InvalidParameterValue", message)


def missing_parameter(name: str) -> SqsError:
    return SqsError("MissingParameter", f"The request must contain the parameter {name}.")


def check_queue_name(name: str, *, fifo: bool = False) -> None:
    if fifo:
        if not _FIFO_NAME.match(name):
            raise invalid_parameter(
                "The name of a FIFO queue can only include alphanumeric characters, "
                "hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
            )
        return
    if not _QUEUE_NAME.match(name):
        raise invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length"
        )


def check_batch_ids(ids: list[str], entry: str = "SendMessageBatchRequestEntry") -> None:
    """A batch's entry ids: 1 to 10 of them, distinct, each well formed (SQS's checks)."""
    if not ids:
        raise SqsError(
            "EmptyBatchRequest",
            f"There should be at least one {entry} in the request.",
            "AWS.SimpleQueueService.EmptyBatchRequest",
        )
    if len(ids) > MAX_BATCH_ENTRIES:
        raise SqsError(
            "TooManyEntriesInBatchRequest",
            f"Maximum number of entries per request are {MAX_BATCH_ENTRIES}. "
            f"You have sent {len(ids)}.",
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        )
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise SqsError(
                "InvalidBatchEntryId",
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long.",
                "AWS.SimpleQueueService.InvalidBatchEntryId",
            )
    seen: set[str] = set()
    for entry_id in ids:
        if entry_id in seen:
            raise SqsError(
                "BatchEntryIdsNotDistinct",
                f"Id {entry_id} repeated.",
                "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
            )
        seen.add(entry_id)


@dataclass(frozen=True, slots=True)
class Redrive:
    """A queue's RedrivePolicy: where a message goes after ``max_receives`` receives."""

    target_arn: str
    max_receives: int


def queue_attributes(given: Mapping[str, str], base: Mapping[str, str]) -> dict[str, str]:
    """``base`` with ``given`` applied, each checked as CreateQueue/SetQueueAttributes do."""
    result = dict(base)
    for name, value in given.items():
        if name not in SETTABLE:
            raise SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")
        if not isinstance(value, str):
            raise invalid_parameter(f"Invalid value for the parameter {name}.")
        if name == "FifoQueue":
            if value not in ("true", "false"):
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
            if value != result.get("FifoQueue", "false"):
                raise SqsError(
                    "InvalidAttributeValue",
                    "Invalid value for the parameter FifoQueue. Reason: Modifying queue "
                    "type is not supported.",
                )
            continue
        if name in FIFO_CHOICES:
            if result.get("FifoQueue") != "true":
                raise SqsError("InvalidAttributeName", f"Unknown Attribute {name}.")
            if value not in FIFO_CHOICES[name]:
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
            result[name] = value
            continue
        if name in _BOUNDS:
            low, high = _BOUNDS[name]
            if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
                raise SqsError("InvalidAttributeValue", f"Invalid value for the parameter {name}.")
            result[name] = str(int(value))
        elif name == "RedrivePolicy":
            if value == "":
                result.pop(name, None)
                continue
            redrive_policy(value)
            result[name] = value
        else:
            result[name] = value
    return result


def redrive_policy(value: str) -> Redrive:
    """Parse a RedrivePolicy (JSON, ``maxReceiveCount`` as a number or a string)."""
    reason = "Value {} for parameter RedrivePolicy is invalid. Reason: {}."
    try:
        policy = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise SqsError(
            "InvalidAttributeValue", reason.format(value, "Redrive policy is not a valid JSON")
        ) from None
    if not isinstance(policy, dict):
        raise SqsError("InvalidAttributeValue", reason.format(value, "Invalid redrive policy"))
    target = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    if not isinstance(target, str) or count is None:
        raise SqsError(
            "InvalidAttributeValue",
            reason.format(
                value,
                "Redrive policy does not contain mandatory attribute: "
                + ("deadLetterTargetArn" if not isinstance(target, str) else "maxReceiveCount"),
            ),
        )
    try:
        receives = int(count)
    except (TypeError, ValueError):
        receives = 0
    if not 1 <= receives <= 1000:
        raise SqsError(
            "InvalidAttributeValue",
            reason.format(value, "Invalid value for maxReceiveCount: " + str(count)
                          + ", valid values are from 1 to 1000 both inclusive"),
        )  # fmt: skip
    if not target.startswith("arn:aws:sqs:") or target.count(":") != 5:
        raise SqsError(
            "InvalidAttributeValue",
            reason.format(value, "Invalid value for deadLetterTargetArn"),
        )
    return Redrive(target, receives)


@dataclass(frozen=True, slots=True)
class MessageAttribute:
    """One message attribute: a String/Number value or a Binary one."""

    data_type: str
    string_value: str | None = None
    binary_value: bytes | None = None

    def size(self, name: str) -> int:
        value = self.binary_value if self.binary_value is not None else (
            (self.string_value or "").encode()
        )  # fmt: skip
        return len(name.encode()) + len(self.data_type.encode()) + len(value)


def check_message_attributes(attributes: Mapping[str, MessageAttribute]) -> None:
    """SQS's checks on SendMessage's MessageAttributes."""
    if len(attributes) > MAX_MESSAGE_ATTRIBUTES:
        raise invalid_parameter(
            f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum "
            f"[{MAX_MESSAGE_ATTRIBUTES}]."
        )
    for name, attribute in attributes.items():
        if not _ATTRIBUTE_NAME.match(name):
            raise invalid_parameter(f"Message attribute name '{name}' is invalid.")
        base = attribute.data_type.split(".", 1)[0]
        if base not in ("String", "Number", "Binary"):
            raise invalid_parameter(
                f"The type of message (user) attribute '{name}' is invalid. You must use "
                "only the following supported type prefixes: Binary, Number, String."
            )
        if base == "Binary":
            if attribute.binary_value is None:
                raise invalid_parameter(
                    f"Message (user) attribute '{name}' must contain a non-empty value "
                    f"of type '{base}'."
                )
        elif not attribute.string_value:
            raise invalid_parameter(
                f"Message (user) attribute '{name}' must contain a non-empty value "
                f"of type '{base}'."
            )
        elif base == "Number" and not _is_number(attribute.string_value):
            raise invalid_parameter(
                f"Can't cast the value of message (user) attribute '{name}' to a number."
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def check_body(body: str, attributes: Mapping[str, MessageAttribute], max_size: int) -> int:
    """The message's size (body and attributes), once its body passes SQS's checks."""
    if body == "":
        raise missing_parameter("MessageBody")
    if _INVALID_BODY_CHAR.search(body):
        raise SqsError(
            "InvalidMessageContents",
            "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | "
            "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
        )
    size = len(body.encode()) + sum(a.size(n) for n, a in attributes.items())
    if size > max_size:
        raise invalid_parameter(
            "One or more parameters are invalid. "
            f"Reason: Message must be shorter than {max_size} bytes."
        )
    return size


def check_group_id(value: str, what: str = "MessageGroupId") -> None:
    if not _GROUP_ID.match(value):
        raise invalid_parameter(
            f"Value {value} for parameter {what} is invalid. Reason: {what} can only "
            "include alphanumeric and punctuation characters. 1 to 128 in length."
        )


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode(), usedforsecurity=False).hexdigest()


def md5_of_message_attributes(attributes: Mapping[str, MessageAttribute]) -> str | None:
    """SQS's digest of message attributes (None when there are none).

    Per attribute, sorted by name: the name, the data type (each a 4-byte big-endian
    length then UTF-8 bytes), one transport byte (1 string, 2 binary), then the value
    (length-prefixed the same way), all fed to one MD5.
    """
    if not attributes:
        return None
    digest = hashlib.md5(usedforsecurity=False)
    for name in sorted(attributes):
        attribute = attributes[name]
        for part in (name.encode(), attribute.data_type.encode()):
            digest.update(struct.pack(">I", len(part)) + part)
        if attribute.binary_value is not None:
            value, transport = attribute.binary_value, b"\x02"
        else:
            value, transport = (attribute.string_value or "").encode(), b"\x01"
        digest.update(transport + struct.pack(">I", len(value)) + value)
    return digest.hexdigest()


def wanted_attributes(names: list[str], available: Mapping[str, object]) -> list[str]:
    """Which of ``available`` a ReceiveMessage's MessageAttributeNames select
    (``All``, ``.*``, exact names, or ``prefix.*``)."""
    chosen: list[str] = []
    for name in available:
        for want in names:
            if (
                want in ("All", ".*")
                or want == name
                or (want.endswith(".*") and name.startswith(want[:-1]))
            ):
                chosen.append(name)
                break
    return chosen
