"""The SQS-compatible queues' store: one SQLite file (WAL) in the state folder.

Theory of operation
-------------------
A message is one row. It is *visible* when ``visible_at <= now``; SendMessage's
delay and each receive's visibility timeout only move ``visible_at``. A receive
takes the oldest visible rows, counts the receive, gives each a fresh receipt
token and hides it for the visibility timeout, all in one ``BEGIN IMMEDIATE``
transaction committed with ``synchronous=FULL``: a message sent is never lost,
and one received and not deleted comes back (at least once, as SQS).

A receipt handle names its queue, its message and the receive that issued it.
Only the latest receive's handle deletes the message or changes its visibility;
an older one is answered as SQS answers it (DeleteMessage succeeds and deletes
nothing). Under a RedrivePolicy, a visible message already received
``maxReceiveCount`` times is moved to the dead-letter queue by the receive that
would have taken it once more, keeping its id, body and sent time.

Not here (the API adapter's): waking long polls, the wire format, access control.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from overcast.events.sqs_rules import (
    COMPUTED,
    DEDUPLICATION_S,
    DEFAULT_ATTRIBUTES,
    FIFO_CHOICES,
    SETTABLE,
    MessageAttribute,
    SqsError,
    check_body,
    check_group_id,
    check_message_attributes,
    check_queue_name,
    invalid_parameter,
    md5_of_body,
    md5_of_message_attributes,
    missing_parameter,
    queue_attributes,
    queue_does_not_exist,
    redrive_policy,
)
from overcast.sqlite_wal import immediate_transaction, open_wal

#: the store's file name in a node's or platform's state folder
QUEUES_FILE = "queues.sqlite3"
#: one PurgeQueue per queue per minute (PurgeQueue's reference)
PURGE_INTERVAL_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name        TEXT PRIMARY KEY,
    attributes  TEXT NOT NULL,
    created     REAL NOT NULL,
    modified    REAL NOT NULL,
    purged_at   REAL
);
CREATE TABLE IF NOT EXISTS messages (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    queue           TEXT NOT NULL,
    body            TEXT NOT NULL,
    attributes      BLOB,
    sender          TEXT NOT NULL,
    sent_at         REAL NOT NULL,
    visible_at      REAL NOT NULL,
    receives        INTEGER NOT NULL DEFAULT 0,
    first_receive   REAL,
    receipt         TEXT,
    group_id        TEXT,
    dedup_id        TEXT
);
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at, seq);
-- A receive takes the oldest visible rows by walking a queue's rows in order (past the
-- few in flight) and drops expired ones by age: neither may cost a scan of the backlog.
CREATE INDEX IF NOT EXISTS messages_order ON messages (queue, seq, visible_at);
CREATE INDEX IF NOT EXISTS messages_sent ON messages (queue, sent_at);
CREATE TABLE IF NOT EXISTS deduplication (
    queue       TEXT NOT NULL,
    scope       TEXT NOT NULL,
    dedup_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    expires_at  REAL NOT NULL,
    PRIMARY KEY (queue, scope, dedup_id)
);
"""


@dataclass(frozen=True, slots=True)
class NewMessage:
    """What SendMessage carries."""

    body: str
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)
    #: None: the queue's DelaySeconds
    delay_s: int | None = None
    #: FIFO queues: the message group, and the deduplication id (None: from the body
    #: when the queue has ContentBasedDeduplication)
    group_id: str | None = None
    dedup_id: str | None = None


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str | None
    #: FIFO queues: the message's place in its queue (SQS's 20-digit SequenceNumber)
    sequence_number: str | None = None


@dataclass(frozen=True, slots=True)
class Received:
    """A message as one receive hands it out."""

    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    attributes: Mapping[str, MessageAttribute]
    sender: str
    sent_at: float
    receives: int
    first_receive: float
    group_id: str | None = None
    dedup_id: str | None = None
    sequence_number: str | None = None


class SqsStore:
    """The queues and their messages; thread-safe, every change one transaction."""

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
        return f"arn:aws:sqs:{self.region}:{self.account_id}:{name}"

    # -- queues ---------------------------------------------------------------

    def create_queue(self, name: str, attributes: Mapping[str, str] | None = None) -> None:
        """Create ``name``; again is a no-op when every attribute given matches the
        queue's, else QueueNameExists (CreateQueue's reference)."""
        wanted = _new_queue_attributes(name, attributes or {})
        now = self._clock()
        with immediate_transaction(self._db, self._lock) as db:
            row = db.execute("SELECT attributes FROM queues WHERE name=?", (name,)).fetchone()
            if row is not None:
                existing = orjson.loads(row[0])
                for key in attributes or {}:
                    if existing.get(key) != wanted.get(key):
                        raise SqsError(
                            "QueueNameExists",
                            f"A queue already exists with the same name and a different "
                            f"value for attribute {key}",
                            "QueueAlreadyExists",
                        )
                return
            db.execute(
                "INSERT INTO queues (name, attributes, created, modified) VALUES (?, ?, ?, ?)",
                (name, orjson.dumps(wanted).decode(), now, now),
            )

    def ensure_queue(self, name: str, attributes: Mapping[str, str]) -> None:
        """Create ``name``, or set its attributes to exactly these (over SQS's defaults):
        what a template's queue gets at each start."""
        wanted = _new_queue_attributes(name, attributes)
        now = self._clock()
        with immediate_transaction(self._db, self._lock) as db:
            db.execute(
                "INSERT INTO queues (name, attributes, created, modified) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET attributes=excluded.attributes, "
                "modified=excluded.modified WHERE attributes != excluded.attributes",
                (name, orjson.dumps(wanted).decode(), now, now),
            )

    def exists(self, name: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM queues WHERE name=?", (name,)).fetchone()
        return row is not None

    def list_queues(self, prefix: str = "") -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT name FROM queues ORDER BY name").fetchall()
        return [str(r[0]) for r in rows if str(r[0]).startswith(prefix)]

    def delete_queue(self, name: str) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            if db.execute("DELETE FROM queues WHERE name=?", (name,)).rowcount == 0:
                raise queue_does_not_exist()
            db.execute("DELETE FROM messages WHERE queue=?", (name,))
            db.execute("DELETE FROM deduplication WHERE queue=?", (name,))

    def set_attributes(self, name: str, attributes: Mapping[str, str]) -> None:
        with immediate_transaction(self._db, self._lock) as db:
            current = _attributes(db, name)
            updated = queue_attributes(attributes, current)
            db.execute(
                "UPDATE queues SET attributes=?, modified=? WHERE name=?",
                (orjson.dumps(updated).decode(), self._clock(), name),
            )

    def get_attributes(self, name: str, names: Sequence[str] = ("All",)) -> dict[str, str]:
        """GetQueueAttributes: the settable attributes, the counts and the ARN."""
        now = self._clock()
        with self._lock:
            row = self._db.execute(
                "SELECT attributes, created, modified FROM queues WHERE name=?", (name,)
            ).fetchone()
            if row is None:
                raise queue_does_not_exist()
            settings = orjson.loads(row[0])
            # Expired messages are deleted by the next receive; they count no more.
            oldest = now - int(settings["MessageRetentionPeriod"])
            visible, hidden, delayed = self._db.execute(
                "SELECT COALESCE(SUM(visible_at <= ?), 0), "
                "COALESCE(SUM(visible_at > ? AND receives > 0), 0), "
                "COALESCE(SUM(visible_at > ? AND receives = 0), 0) "
                "FROM messages WHERE queue=? AND sent_at >= ?",
                (now, now, now, name, oldest),
            ).fetchone()
        everything: dict[str, str] = {
            **settings,
            "ApproximateNumberOfMessages": str(visible),
            "ApproximateNumberOfMessagesNotVisible": str(hidden),
            "ApproximateNumberOfMessagesDelayed": str(delayed),
            "CreatedTimestamp": str(int(row[1])),
            "LastModifiedTimestamp": str(int(row[2])),
            "QueueArn": self.arn(name),
        }
        if "All" in names:
            return everything
        known = COMPUTED | SETTABLE
        for wanted in names:
            if wanted not in known and wanted not in everything:
                raise SqsError("InvalidAttributeName", f"Unknown Attribute {wanted}.")
        return {k: v for k, v in everything.items() if k in names}

    def purge(self, name: str) -> None:
        now = self._clock()
        with immediate_transaction(self._db, self._lock) as db:
            row = db.execute("SELECT purged_at FROM queues WHERE name=?", (name,)).fetchone()
            if row is None:
                raise queue_does_not_exist()
            if row[0] is not None and now - float(row[0]) < PURGE_INTERVAL_S:
                raise SqsError(
                    "PurgeQueueInProgress",
                    f"Only one PurgeQueue operation on {name} is allowed every "
                    f"{int(PURGE_INTERVAL_S)} seconds.",
                    "AWS.SimpleQueueService.PurgeQueueInProgress",
                )
            db.execute("UPDATE queues SET purged_at=? WHERE name=?", (now, name))
            db.execute("DELETE FROM messages WHERE queue=?", (name,))

    # -- messages -------------------------------------------------------------

    def send(self, name: str, message: NewMessage, sender: str = "") -> Sent:
        """SendMessage: store the message durably; it is visible after its delay."""
        [result] = self.send_batch(name, [message], sender)
        if isinstance(result, SqsError):
            raise result
        return result

    def send_batch(
        self, name: str, messages: Sequence[NewMessage], sender: str = ""
    ) -> list[Sent | SqsError]:
        """Store each valid message (one transaction); an invalid one gets its error."""
        now = self._clock()
        results: list[Sent | SqsError] = []
        with immediate_transaction(self._db, self._lock) as db:
            attributes = _attributes(db, name)
            max_size = int(attributes["MaximumMessageSize"])
            for message in messages:
                try:
                    results.append(self._insert(db, name, message, attributes, max_size,
                                                sender, now))  # fmt: skip
                except SqsError as exc:
                    results.append(exc)
        return results

    def _insert(  # noqa: PLR0917 - one call site, every argument needed
        self,
        db: sqlite3.Connection,
        name: str,
        message: NewMessage,
        attributes: Mapping[str, str],
        max_size: int,
        sender: str,
        now: float,
    ) -> Sent:
        check_message_attributes(message.attributes)
        check_body(message.body, message.attributes, max_size)
        fifo = attributes.get("FifoQueue") == "true"
        if fifo:
            return self._insert_fifo(db, name, message, attributes, sender, now)
        if message.dedup_id is not None:
            raise invalid_parameter(
                f"Value {message.dedup_id} for parameter MessageDeduplicationId is invalid. "
                "Reason: The request includes a parameter that is not valid for this queue type."
            )
        delay = int(attributes["DelaySeconds"]) if message.delay_s is None else message.delay_s
        if not 0 <= delay <= 900:
            raise invalid_parameter(
                f"Value {delay} for parameter DelaySeconds is invalid. "
                "Reason: DelaySeconds must be >= 0 and <= 900."
            )
        message_id = str(uuid.uuid4())
        db.execute(
            "INSERT INTO messages (id, queue, body, attributes, sender, sent_at, visible_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (message_id, name, message.body, _dump(message.attributes), sender, now,
             now + delay),
        )  # fmt: skip
        return Sent(
            message_id,
            md5_of_body(message.body),
            md5_of_message_attributes(message.attributes),
        )

    def _insert_fifo(  # noqa: PLR0917 - _insert's, split out
        self,
        db: sqlite3.Connection,
        name: str,
        message: NewMessage,
        attributes: Mapping[str, str],
        sender: str,
        now: float,
    ) -> Sent:
        """A FIFO queue's send: a group, no per-message delay, one copy per dedup id."""
        if message.group_id is None:
            raise missing_parameter("MessageGroupId")
        check_group_id(message.group_id)
        if message.delay_s is not None and message.delay_s != 0:
            raise invalid_parameter(
                f"Value {message.delay_s} for parameter DelaySeconds is invalid. Reason: "
                "The request include parameter that is not valid for this queue type."
            )
        dedup_id = message.dedup_id
        if dedup_id is None:
            if attributes.get("ContentBasedDeduplication") != "true":
                raise invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly"
                )
            dedup_id = hashlib.sha256(message.body.encode()).hexdigest()
        check_group_id(dedup_id, "MessageDeduplicationId")
        scope = message.group_id if attributes.get("DeduplicationScope") == "messageGroup" else ""
        db.execute("DELETE FROM deduplication WHERE queue=? AND expires_at <= ?", (name, now))
        seen = db.execute(
            "SELECT message_id, seq FROM deduplication WHERE queue=? AND scope=? AND dedup_id=?",
            (name, scope, dedup_id),
        ).fetchone()
        digest = md5_of_message_attributes(message.attributes)
        if seen is not None:  # accepted, not delivered twice (SQS's exactly-once send)
            return Sent(str(seen[0]), md5_of_body(message.body), digest, _sequence(seen[1]))
        message_id = str(uuid.uuid4())
        cursor = db.execute(
            "INSERT INTO messages (id, queue, body, attributes, sender, sent_at, visible_at, "
            "group_id, dedup_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, name, message.body, _dump(message.attributes), sender, now,
             now + int(attributes["DelaySeconds"]), message.group_id, dedup_id),
        )  # fmt: skip
        seq = cursor.lastrowid or 0
        db.execute(
            "INSERT INTO deduplication VALUES (?, ?, ?, ?, ?, ?)",
            (name, scope, dedup_id, message_id, seq, now + DEDUPLICATION_S),
        )
        return Sent(message_id, md5_of_body(message.body), digest, _sequence(seq))

    def receive(
        self, name: str, max_messages: int = 1, visibility_timeout: int | None = None
    ) -> list[Received]:
        """ReceiveMessage (one short poll): up to ``max_messages`` visible messages."""
        if not 1 <= max_messages <= 10:
            raise invalid_parameter(
                f"Value {max_messages} for parameter MaxNumberOfMessages is invalid. "
                "Reason: Must be between 1 and 10, if provided."
            )
        if visibility_timeout is not None and not 0 <= visibility_timeout <= 43_200:
            raise invalid_parameter(
                f"Value {visibility_timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: Must be between 0 and 43200, if provided."
            )
        now = self._clock()
        with immediate_transaction(self._db, self._lock) as db:
            attributes = _attributes(db, name)
            db.execute(
                "DELETE FROM messages WHERE queue=? AND sent_at < ?",
                (name, now - int(attributes["MessageRetentionPeriod"])),
            )
            self._redrive(db, name, attributes, now)
            timeout = (
                int(attributes["VisibilityTimeout"])
                if visibility_timeout is None
                else visibility_timeout
            )
            sql = (
                "SELECT seq, id, body, attributes, sender, sent_at, receives, first_receive, "
                "group_id, dedup_id FROM messages INDEXED BY messages_order "
                "WHERE queue=? AND visible_at <= ?"
            )
            params: list[object] = [name, now]
            fifo = attributes.get("FifoQueue") == "true"
            if fifo:
                # A group with a message in flight waits: its order is kept.
                sql += (
                    " AND group_id NOT IN (SELECT group_id FROM messages WHERE queue=? "
                    "AND visible_at > ? AND receives > 0)"
                )
                params += [name, now]
            rows = db.execute(sql + " ORDER BY seq LIMIT ?", [*params, max_messages]).fetchall()
            received: list[Received] = []
            for (
                seq,
                message_id,
                body,
                attrs,
                sender,
                sent_at,
                receives,
                first,
                group,
                dedup,
            ) in rows:
                token = secrets.token_urlsafe(12)
                first_receive = now if first is None else float(first)
                db.execute(
                    "UPDATE messages SET receives=receives+1, first_receive=?, receipt=?, "
                    "visible_at=? WHERE seq=?",
                    (first_receive, token, now + timeout, seq),
                )
                received.append(
                    Received(
                        message_id=message_id,
                        receipt_handle=_handle(name, message_id, token),
                        body=body,
                        md5_of_body=md5_of_body(body),
                        attributes=_load(attrs),
                        sender=sender,
                        sent_at=float(sent_at),
                        receives=int(receives) + 1,
                        first_receive=first_receive,
                        group_id=group if fifo else None,
                        dedup_id=dedup if fifo else None,
                        sequence_number=_sequence(seq) if fifo else None,
                    )
                )
        return received

    def _redrive(
        self, db: sqlite3.Connection, name: str, attributes: Mapping[str, str], now: float
    ) -> None:
        policy = attributes.get("RedrivePolicy")
        if not policy:
            return
        redrive = redrive_policy(policy)
        target = redrive.target_arn.rsplit(":", 1)[1]
        if target == name or redrive.target_arn != self.arn(target):
            return
        row = db.execute("SELECT attributes FROM queues WHERE name=?", (target,)).fetchone()
        if row is None:
            return  # SQS keeps them where they are while the target is missing
        fifo = attributes.get("FifoQueue") == "true"
        if (orjson.loads(row[0]).get("FifoQueue") == "true") != fifo:
            return  # a dead-letter queue must be of its source's type
        # A standard queue's message keeps its enqueue time (its retention runs on); a
        # FIFO queue's restarts in the dead-letter queue (SQS developer guide,
        # "Setting-up dead-letter queue retention").
        db.execute(
            "UPDATE messages SET queue=?, receives=0, first_receive=NULL, receipt=NULL, "
            "visible_at=?, sent_at=CASE WHEN ? THEN ? ELSE sent_at END "
            "WHERE queue=? AND visible_at <= ? AND receives >= ?",
            (target, now, fifo, now, name, now, redrive.max_receives),
        )

    def next_visible(self, name: str) -> float | None:
        """When the queue's next hidden or delayed message becomes visible (None: never)."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(visible_at) FROM messages WHERE queue=?", (name,)
            ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def delete(self, name: str, receipt_handle: str) -> None:
        """DeleteMessage: only the latest receive's handle deletes; an older one, or one
        of a message already gone, succeeds doing nothing (as SQS)."""
        [outcome] = self.delete_batch(name, [receipt_handle])
        if outcome is not None:
            raise outcome

    def delete_batch(self, name: str, receipt_handles: Sequence[str]) -> list[SqsError | None]:
        """DeleteMessageBatch in one transaction: per handle, None or why it was refused."""
        outcomes: list[SqsError | None] = []
        parsed: list[tuple[str, str]] = []
        for handle in receipt_handles:
            try:
                parsed.append(_parse_handle(name, handle))
                outcomes.append(None)
            except SqsError as exc:
                outcomes.append(exc)
        with immediate_transaction(self._db, self._lock) as db:
            _attributes(db, name)
            db.executemany(
                "DELETE FROM messages WHERE queue=? AND id=? AND receipt=?",
                [(name, message_id, token) for message_id, token in parsed],
            )
        return outcomes

    def change_visibility(self, name: str, receipt_handle: str, timeout: int) -> None:
        """ChangeMessageVisibility: hide the message ``timeout`` seconds from now."""
        if not 0 <= timeout <= 43_200:
            raise invalid_parameter(
                f"Value {timeout} for parameter VisibilityTimeout is invalid. "
                "Reason: VisibilityTimeout must be an integer between 0 and 43200"
            )
        message_id, token = _parse_handle(name, receipt_handle)
        now = self._clock()
        with immediate_transaction(self._db, self._lock) as db:
            _attributes(db, name)
            changed = db.execute(
                "UPDATE messages SET visible_at=? WHERE queue=? AND id=? AND receipt=? "
                "AND visible_at > ?",
                (now + timeout, name, message_id, token, now),
            ).rowcount
        if changed == 0:
            raise invalid_parameter(
                f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: "
                "Message does not exist or is not available for visibility timeout change."
            )


def _new_queue_attributes(name: str, given: Mapping[str, str]) -> dict[str, str]:
    """A new queue's attributes: SQS's defaults (a FIFO queue's too), then ``given``."""
    fifo = given.get("FifoQueue") == "true"
    check_queue_name(name, fifo=fifo)
    base = dict(DEFAULT_ATTRIBUTES)
    if fifo:
        base["FifoQueue"] = "true"
        base.update({key: choices[0] for key, choices in FIFO_CHOICES.items()})
    return queue_attributes(given, base)


def _sequence(seq: object) -> str:
    return str(seq).zfill(20)


def _attributes(db: sqlite3.Connection, name: str) -> dict[str, str]:
    row = db.execute("SELECT attributes FROM queues WHERE name=?", (name,)).fetchone()
    if row is None:
        raise queue_does_not_exist()
    attributes: dict[str, str] = orjson.loads(row[0])
    return attributes


def _handle(queue: str, message_id: str, token: str) -> str:
    raw = f"{queue} {message_id} {token}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def _parse_handle(queue: str, handle: str) -> tuple[str, str]:
    """The message id and receive token a handle of ``queue`` names."""
    try:
        parts = base64.urlsafe_b64decode(handle.encode("ascii")).decode().split(" ")
    except (binascii.Error, UnicodeError, ValueError):
        parts = []
    if len(parts) != 3 or parts[0] != queue:
        raise SqsError(
            "ReceiptHandleIsInvalid",
            f'The input receipt handle "{handle}" is not a valid receipt handle.',
        )
    return parts[1], parts[2]


def _dump(attributes: Mapping[str, MessageAttribute]) -> bytes | None:
    if not attributes:
        return None
    return orjson.dumps({
        name: [a.data_type, a.string_value,
               None if a.binary_value is None else base64.b64encode(a.binary_value).decode()]
        for name, a in attributes.items()
    })  # fmt: skip


def _load(raw: object) -> dict[str, MessageAttribute]:
    if not isinstance(raw, bytes | str):
        return {}
    loaded = orjson.loads(raw)
    return {
        name: MessageAttribute(
            data_type, string, None if binary is None else base64.b64decode(binary)
        )
        for name, (data_type, string, binary) in loaded.items()
    }
