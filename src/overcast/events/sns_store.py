"""The SNS-compatible topics' store: one SQLite file (WAL) in the state folder.

A topic is a row with its attributes; a subscription a row naming its topic, protocol
(``lambda`` or ``sqs``), endpoint (a function's or a queue's ARN) and attributes
(``RawMessageDelivery``, ``FilterPolicy``, ``FilterPolicyScope``). Messages are not
kept here: Publish hands each one to its subscribers' own durable queues (the async
invocation queue, the SQS store) before it answers.

Subscribing twice to the same topic, protocol and endpoint returns the first
subscription, as SNS does; deleting a topic deletes its subscriptions. A template's
subscriptions are marked as its own, so a later version of the template can drop them.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from overcast.events.sns_rules import (
    PROTOCOLS,
    check_topic_name,
    invalid_parameter,
    not_found,
    topic_arn,
)
from overcast.sqlite_wal import immediate_transaction, open_wal

#: the store's file name in a node's or platform's state folder
TOPICS_FILE = "topics.sqlite3"

#: topic attributes a caller may set and read back as given
TOPIC_SETTABLE = frozenset({
    "DisplayName", "Policy", "DeliveryPolicy", "KmsMasterKeyId", "TracingConfig",
    "SignatureVersion", "ContentBasedDeduplication", "ArchivePolicy",
})  # fmt: skip
#: subscription attributes a caller may set
SUBSCRIPTION_SETTABLE = frozenset({
    "RawMessageDelivery", "FilterPolicy", "FilterPolicyScope", "RedrivePolicy",
    "DeliveryPolicy",
})  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS topics (
    name        TEXT PRIMARY KEY,
    attributes  TEXT NOT NULL,
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
    arn         TEXT PRIMARY KEY,
    topic       TEXT NOT NULL,
    protocol    TEXT NOT NULL,
    endpoint    TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    -- the template that made it (kept in step with it: 'template', or a platform's
    -- 'template:<stage>/<stack>'), '' for the API's
    origin      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS subscriptions_topic ON subscriptions (topic, protocol, endpoint);
"""


@dataclass(frozen=True, slots=True)
class Subscription:
    arn: str
    topic_arn: str
    protocol: str
    endpoint: str
    owner: str
    attributes: Mapping[str, str] = field(default_factory=dict)

    @property
    def raw(self) -> bool:
        return self.attributes.get("RawMessageDelivery", "false").lower() == "true"


class SnsStore:
    """Topics and subscriptions; thread-safe, every change one transaction."""

    def __init__(
        self,
        path: Path,
        *,
        region: str = "us-east-1",
        account_id: str = "123456789012",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.region = region
        self.account_id = account_id
        self._clock = clock
        self._db = open_wal(path, _SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def arn(self, name: str) -> str:
        return topic_arn(self.region, self.account_id, name)

    # -- topics ---------------------------------------------------------------

    def create_topic(self, name: str, attributes: Mapping[str, str] | None = None) -> str:
        """Create ``name`` (again: the same topic, its attributes kept); its ARN."""
        wanted = _topic_attributes(name, attributes or {})
        with immediate_transaction(self._db, self._lock) as db:
            db.execute(
                "INSERT INTO topics (name, attributes, created) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, orjson.dumps(wanted).decode(), self._clock()),
            )
        return self.arn(name)

    def ensure_topic(self, name: str, attributes: Mapping[str, str]) -> str:
        """Create ``name`` or set its attributes to these: a template's topic at start."""
        wanted = _topic_attributes(name, attributes)
        with immediate_transaction(self._db, self._lock) as db:
            db.execute(
                "INSERT INTO topics (name, attributes, created) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET attributes=excluded.attributes",
                (name, orjson.dumps(wanted).decode(), self._clock()),
            )
        return self.arn(name)

    def delete_topic(self, name: str) -> None:
        """Delete ``name`` and its subscriptions (none: still a success, as SNS's)."""
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("DELETE FROM topics WHERE name=?", (name,))
            db.execute("DELETE FROM subscriptions WHERE topic=?", (name,))

    def list_topics(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT name FROM topics ORDER BY name").fetchall()
        return [r[0] for r in rows]

    def exists(self, name: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM topics WHERE name=?", (name,)).fetchone()
        return row is not None

    def topic_attributes(self, name: str) -> dict[str, str]:
        """GetTopicAttributes: the stored ones and those SNS computes."""
        with self._lock:
            row = self._db.execute("SELECT attributes FROM topics WHERE name=?", (name,)).fetchone()
            if row is None:
                raise not_found()
            (count,) = self._db.execute(
                "SELECT count(*) FROM subscriptions WHERE topic=?", (name,)
            ).fetchone()
        stored: dict[str, str] = orjson.loads(row[0])
        return {
            "TopicArn": self.arn(name),
            "Owner": self.account_id,
            "DisplayName": "",
            "SubscriptionsConfirmed": str(count),
            "SubscriptionsPending": "0",
            "SubscriptionsDeleted": "0",
            **stored,
        }

    def set_topic_attribute(self, name: str, attribute: str, value: str) -> None:
        if attribute not in TOPIC_SETTABLE:
            raise invalid_parameter("AttributeName")
        with immediate_transaction(self._db, self._lock) as db:
            row = db.execute("SELECT attributes FROM topics WHERE name=?", (name,)).fetchone()
            if row is None:
                raise not_found()
            stored = orjson.loads(row[0])
            stored[attribute] = value
            db.execute(
                "UPDATE topics SET attributes=? WHERE name=?", (orjson.dumps(stored).decode(), name)
            )

    # -- subscriptions --------------------------------------------------------

    def subscribe(
        self,
        name: str,
        protocol: str,
        endpoint: str,
        attributes: Mapping[str, str] | None = None,
        owner: str = "",
    ) -> Subscription:
        """Subscribe ``endpoint`` to ``name`` (the existing subscription if there is one)."""
        if protocol not in PROTOCOLS:
            raise invalid_parameter(
                f"Protocol: {protocol} (overcast delivers to lambda and sqs subscribers)"
            )
        given = dict(attributes or {})
        for key in given:
            if key not in SUBSCRIPTION_SETTABLE:
                raise invalid_parameter(f"Attributes Reason: Unknown attribute {key}")
        with immediate_transaction(self._db, self._lock) as db:
            if db.execute("SELECT 1 FROM topics WHERE name=?", (name,)).fetchone() is None:
                raise not_found()
            row = db.execute(
                "SELECT arn, attributes, owner FROM subscriptions "
                "WHERE topic=? AND protocol=? AND endpoint=?",
                (name, protocol, endpoint),
            ).fetchone()
            if row is not None:
                return Subscription(
                    row[0], self.arn(name), protocol, endpoint, row[2], orjson.loads(row[1])
                )
            arn = f"{self.arn(name)}:{uuid.uuid4()}"
            db.execute(
                "INSERT INTO subscriptions (arn, topic, protocol, endpoint, attributes, owner) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (arn, name, protocol, endpoint, orjson.dumps(given).decode(), owner),
            )
        return Subscription(arn, self.arn(name), protocol, endpoint, owner, given)

    def sync_template_subscriptions(
        self,
        name: str,
        wanted: Sequence[tuple[str, str, Mapping[str, str]]],
        origin: str = "template",
    ) -> list[Subscription]:
        """Make the template's subscriptions to ``name`` exactly ``wanted`` (protocol,
        endpoint, attributes): added, their attributes set, and those a former version
        of the template made and this one no longer has, removed (as CloudFormation
        removes a deleted Subscription). ``origin`` names the template (a platform's
        stage and stack); subscriptions of other origins, and the API's, stay."""
        for protocol, _endpoint, attributes in wanted:
            if protocol not in PROTOCOLS:
                raise invalid_parameter(f"Protocol: {protocol}")
            for key in attributes:
                if key not in SUBSCRIPTION_SETTABLE:
                    raise invalid_parameter(f"Attributes Reason: Unknown attribute {key}")
        result: list[Subscription] = []
        with immediate_transaction(self._db, self._lock) as db:
            if db.execute("SELECT 1 FROM topics WHERE name=?", (name,)).fetchone() is None:
                raise not_found()
            kept: set[str] = set()
            for protocol, endpoint, attributes in wanted:
                text = orjson.dumps(dict(attributes)).decode()
                row = db.execute(
                    "SELECT arn FROM subscriptions WHERE topic=? AND protocol=? AND endpoint=?",
                    (name, protocol, endpoint),
                ).fetchone()
                if row is None:
                    arn = f"{self.arn(name)}:{uuid.uuid4()}"
                    db.execute(
                        "INSERT INTO subscriptions "
                        "(arn, topic, protocol, endpoint, attributes, owner, origin) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (arn, name, protocol, endpoint, text, self.account_id, origin),
                    )
                else:
                    arn = row[0]
                    db.execute(
                        "UPDATE subscriptions SET attributes=?, origin=? WHERE arn=?",
                        (text, origin, arn),
                    )
                kept.add(arn)
                result.append(
                    Subscription(
                        arn, self.arn(name), protocol, endpoint, self.account_id, dict(attributes)
                    )
                )
            stale = db.execute(
                "SELECT arn FROM subscriptions WHERE topic=? AND origin=?", (name, origin)
            ).fetchall()
            for (arn,) in stale:
                if arn not in kept:
                    db.execute("DELETE FROM subscriptions WHERE arn=?", (arn,))
        return result

    def unsubscribe(self, arn: str) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            db.execute("DELETE FROM subscriptions WHERE arn=?", (arn,))

    def subscriptions(self, name: str | None = None) -> list[Subscription]:
        """Every subscription, or ``name``'s (NotFound when it is no topic)."""
        with self._lock:
            if name is not None:
                if (
                    self._db.execute("SELECT 1 FROM topics WHERE name=?", (name,)).fetchone()
                    is None
                ):
                    raise not_found()
                rows = self._db.execute(
                    "SELECT arn, topic, protocol, endpoint, owner, attributes FROM subscriptions "
                    "WHERE topic=? ORDER BY arn",
                    (name,),
                ).fetchall()
            else:
                rows = self._db.execute(
                    "SELECT arn, topic, protocol, endpoint, owner, attributes FROM subscriptions "
                    "ORDER BY arn"
                ).fetchall()
        return [
            Subscription(r[0], self.arn(r[1]), r[2], r[3], r[4], orjson.loads(r[5])) for r in rows
        ]

    def subscription(self, arn: str) -> Subscription:
        with self._lock:
            row = self._db.execute(
                "SELECT arn, topic, protocol, endpoint, owner, attributes FROM subscriptions "
                "WHERE arn=?",
                (arn,),
            ).fetchone()
        if row is None:
            raise not_found("Subscription")
        return Subscription(row[0], self.arn(row[1]), row[2], row[3], row[4], orjson.loads(row[5]))

    def set_subscription_attribute(self, arn: str, attribute: str, value: str) -> None:
        if attribute not in SUBSCRIPTION_SETTABLE:
            raise invalid_parameter("AttributeName")
        with immediate_transaction(self._db, self._lock) as db:
            row = db.execute("SELECT attributes FROM subscriptions WHERE arn=?", (arn,)).fetchone()
            if row is None:
                raise not_found("Subscription")
            stored = orjson.loads(row[0])
            stored[attribute] = value
            db.execute(
                "UPDATE subscriptions SET attributes=? WHERE arn=?",
                (orjson.dumps(stored).decode(), arn),
            )


def _topic_attributes(name: str, attributes: Mapping[str, str]) -> dict[str, str]:
    fifo = attributes.get("FifoTopic", "false").lower() == "true"
    check_topic_name(name, fifo=fifo or name.endswith(".fifo"))
    if name.endswith(".fifo") and not fifo:
        raise invalid_parameter(
            "Topic Name: a topic name ending in .fifo needs the FifoTopic attribute"
        )
    wanted: dict[str, str] = {}
    for key, value in attributes.items():
        if key not in TOPIC_SETTABLE and key != "FifoTopic":
            raise invalid_parameter(f"Attributes Reason: Unknown attribute {key}")
        wanted[key] = value
    if fifo:
        wanted["FifoTopic"] = "true"
    return wanted
