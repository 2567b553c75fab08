"""What an S3 notification's function receives, and which notifications want a change; pure.

The record is S3's event message, version 2.1
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html):
``Records`` holds one record per change, with ``eventVersion`` "2.1", ``eventSource``
"aws:s3", the region, ``eventTime`` (ISO-8601 with milliseconds), ``eventName``
without the ``s3:`` prefix (``ObjectCreated:Put``), who made the change, from where,
the request's ids, and ``s3``: the schema version "1.0", the notification's
``configurationId``, the bucket (name, owner, ARN) and the object. S3 URL-encodes the
object key as a form value (a space is ``+``); a removal carries no size or eTag; the
``sequencer`` is a hex string that orders the changes of one key.

Matching (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-filtering.html):
an event type is a name or ends in ``*`` (``s3:ObjectCreated:*``); a key filter has at
most one ``prefix`` and one ``suffix`` rule, compared case-sensitively.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote_plus

import orjson

EVENT_VERSION = "2.1"
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True, slots=True)
class ObjectChange:
    """One object created or removed through the S3 API."""

    bucket: str
    key: str
    #: S3's event name without ``s3:``: ``ObjectCreated:Put``, ``ObjectRemoved:Delete``...
    event_name: str
    #: when the request was done (Unix seconds)
    time: float
    sequencer: str
    #: who made the change (the access key's id, as ``AWS:<id>``) and from where
    principal: str
    source_ip: str
    request_id: str
    host_id: str
    size: int | None = None
    etag: str | None = None


def sequencer(time_ns: int, counter: int) -> str:
    """A sequencer: upper-case hex that grows with time, then with ``counter``."""
    return f"{time_ns:016X}{counter % 256:02X}"


def wanted(
    events: Iterable[str], prefix: str | None, suffix: str | None, change: ObjectChange
) -> bool:
    """Whether a notification for ``events`` filtered by ``prefix``/``suffix`` wants
    ``change``."""
    name = "s3:" + change.event_name
    if not any(name == e or (e.endswith("*") and name.startswith(e[:-1])) for e in events):
        return False
    if prefix and not change.key.startswith(prefix):
        return False
    return not (suffix and not change.key.endswith(suffix))


def s3_event_record(
    change: ObjectChange, *, region: str, configuration_id: str, owner: str
) -> dict[str, object]:
    """One ``Records`` entry for ``change``."""
    moment = datetime.fromtimestamp(change.time, UTC)
    event_time = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    obj: dict[str, object] = {"key": quote_plus(change.key, safe="/")}
    if change.size is not None:
        obj["size"] = change.size
    if change.etag is not None:
        obj["eTag"] = change.etag
    obj["sequencer"] = change.sequencer
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time,
        "eventName": change.event_name,
        "userIdentity": {"principalId": change.principal},
        "requestParameters": {"sourceIPAddress": change.source_ip},
        "responseElements": {
            "x-amz-request-id": change.request_id,
            "x-amz-id-2": change.host_id,
        },
        "s3": {
            "s3SchemaVersion": SCHEMA_VERSION,
            "configurationId": configuration_id,
            "bucket": {
                "name": change.bucket,
                "ownerIdentity": {"principalId": owner},
                "arn": f"arn:aws:s3:::{change.bucket}",
            },
            "object": obj,
        },
    }


def s3_event_payload(
    change: ObjectChange, *, region: str, configuration_id: str, owner: str
) -> bytes:
    """The bytes a function is invoked with for ``change``: S3 sends one record per event."""
    record = s3_event_record(change, region=region, configuration_id=configuration_id, owner=owner)
    return orjson.dumps({"Records": [record]})
