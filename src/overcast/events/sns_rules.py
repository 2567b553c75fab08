"""SNS's rules, pure: its errors, names, ARNs and the limits a client can observe.

From Amazon SNS's API reference (https://docs.aws.amazon.com/sns/latest/api/): topic
names of 1 to 256 letters, digits, hyphens and underscores (``.fifo`` ending a FIFO
topic's), messages of at most 256 KiB, batches of 1 to 10 entries with distinct ids.
"""

from __future__ import annotations

import re

from overcast.events.errors import EventsError

MAX_MESSAGE_BYTES = 262_144
MAX_BATCH_ENTRIES = 10
MAX_SUBJECT_CHARS = 100
MAX_MESSAGE_ATTRIBUTES = 10
#: the protocols overcast delivers to (SNS has more: http(s), email, sms, firehose...)
PROTOCOLS = frozenset({"lambda", "sqs"})

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_FIFO_TOPIC_NAME = re.compile(r"^[A-Za-z0-9_-]{1,251}\.fifo$")
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


class SnsError(EventsError):
    """An SNS request refused, as SNS refuses it: the query protocol's error code
    (``NotFound``, ``InvalidParameter``) and the HTTP status SNS answers it with."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def not_found(what: str = "Topic") -> SnsError:
    return SnsError("NotFound", f"{what} does not exist", 404)


def invalid_parameter(detail: str) -> SnsError:
    return SnsError("InvalidParameter", f"Invalid parameter: {detail}")


def topic_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{name}"


def topic_name(arn: str, region: str, account_id: str) -> str:
    """The topic an ARN of this region and account names; NotFound for any other
    (SNS answers a well-formed ARN of no topic with NotFound)."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sns"]:
        raise invalid_parameter("TopicArn")
    if parts[3] != region or parts[4] != account_id or not parts[5]:
        raise not_found()
    return parts[5]


def check_topic_name(name: str, *, fifo: bool) -> None:
    if fifo:
        if not _FIFO_TOPIC_NAME.match(name):
            raise invalid_parameter(
                "Topic Name: FIFO topic names must end with .fifo and be made up of only "
                "uppercase and lowercase ASCII letters, numbers, underscores, and hyphens"
            )
        return
    if not _TOPIC_NAME.match(name):
        raise invalid_parameter(
            "Topic Name: must be made up of only uppercase and lowercase ASCII letters, "
            "numbers, underscores, and hyphens, and must be between 1 and 256 characters long"
        )


def check_batch_ids(ids: list[str]) -> None:
    """PublishBatch's entry ids: 1 to 10, distinct, each well formed."""
    if not ids:
        raise SnsError("EmptyBatchRequest", "The batch request doesn't contain any entries.")
    if len(ids) > MAX_BATCH_ENTRIES:
        raise SnsError(
            "TooManyEntriesInBatchRequest",
            f"The batch request contains more entries than permissible ({MAX_BATCH_ENTRIES}).",
        )
    if len(set(ids)) != len(ids):
        raise SnsError(
            "BatchEntryIdsNotDistinct", "Two or more batch entries in the request have the same Id."
        )
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise SnsError(
                "InvalidBatchEntryId",
                "The Id of a batch entry in a batch request doesn't abide by the specification.",
            )
