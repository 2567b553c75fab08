"""The admin port's SQS API: Amazon SQS's JSON and query protocols over :class:`SqsStore`.

The JSON protocol current SDKs speak (boto3 since 1.34): ``POST /`` with
``X-Amz-Target: AmazonSQS.<Operation>`` and a JSON body
(``application/x-amz-json-1.0``). Errors are status 400 with
``{"__type": "com.amazonaws.sqs#<Shape>", "message": ...}`` and the query protocol's
code in ``x-amzn-query-error: <code>;Sender``: botocore takes ``Error.Code`` from
that header and picks the modeled exception (``client.exceptions.QueueDoesNotExist``)
by the shape name (botocore/handlers.py ``_handle_sqs_compatible_error``).

Older SDKs speak the query protocol: a form-encoded ``Action=SendMessage&...`` posted
to ``/`` or to the queue's URL (or a GET with it as the query string), answered in XML
(control/query_protocol.py, with SQS's wire names in control/sqs_query_shapes.py).
Both protocols reach the same operation methods with the same nested parameters.

Every request is SigV4-signed for the ``sqs`` service by an overcast key whose role
allows the operation's IAM action (``sqs:SendMessage`` for SendMessage and
SendMessageBatch, as IAM authorizes batches) on the queue's ARN.

A long poll (``WaitTimeSeconds``) waits on an event set by every send to its queue,
or until the next hidden or delayed message is due: it never polls the store in a loop.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from overcast.control import query_protocol
from overcast.control.access import AccessControl, Denied, outside_owner, within_owner
from overcast.control.access_keys import AccessKey
from overcast.control.asgi_types import Receive, Scope, Send, send_response
from overcast.control.sqs_query_shapes import NAMESPACE
from overcast.control.sqs_query_shapes import OPERATIONS as QUERY_OPERATIONS
from overcast.errors import OvercastError
from overcast.events.sqs_rules import (
    MAX_BATCH_BYTES,
    MAX_WAIT_S,
    MessageAttribute,
    SqsError,
    check_batch_ids,
    invalid_parameter,
    md5_of_message_attributes,
    missing_parameter,
    queue_does_not_exist,
    wanted_attributes,
)
from overcast.events.sqs_store import QUEUES_FILE, NewMessage, Received, Sent, SqsStore
from overcast.template.sqs_queues import QueueSpec

logger = logging.getLogger(__name__)

TARGET_PREFIX = "AmazonSQS."
CONTENT_TYPE = b"application/x-amz-json-1.0"
#: a whole request: a 256 KiB batch grows by JSON escaping and base64 binary values
MAX_REQUEST_BYTES = 1024 * 1024

#: the IAM action each operation needs (batches are authorized as their single form)
ACTIONS: Mapping[str, str] = {
    "CreateQueue": "sqs:CreateQueue",
    "GetQueueUrl": "sqs:GetQueueUrl",
    "ListQueues": "sqs:ListQueues",
    "DeleteQueue": "sqs:DeleteQueue",
    "SendMessage": "sqs:SendMessage",
    "SendMessageBatch": "sqs:SendMessage",
    "ReceiveMessage": "sqs:ReceiveMessage",
    "DeleteMessage": "sqs:DeleteMessage",
    "DeleteMessageBatch": "sqs:DeleteMessage",
    "ChangeMessageVisibility": "sqs:ChangeMessageVisibility",
    "ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "PurgeQueue": "sqs:PurgeQueue",
    "GetQueueAttributes": "sqs:GetQueueAttributes",
    "SetQueueAttributes": "sqs:SetQueueAttributes",
}


class TemplateQueueError(OvercastError):
    """A template's queue cannot be created as its Properties say."""


def create_template_queues(store: SqsStore, queues: Iterable[QueueSpec]) -> None:
    """Create (or bring up to date) each ``AWS::SQS::Queue`` of a template."""
    for queue in queues:
        try:
            store.ensure_queue(queue.name, queue.attributes)
        except SqsError as exc:
            raise TemplateQueueError(
                f"Queue '{queue.logical_id}' ({queue.name}): {exc.message}"
            ) from None


class SqsApi:
    """Serves the SQS operations above; everything else is refused as AWS refuses it."""

    def __init__(
        self, store: SqsStore, access: AccessControl, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self._access = access
        self._clock = clock
        #: per queue: set (and replaced) by each send, to wake its long polls
        self._arrivals: dict[str, asyncio.Event] = {}
        #: the (stage, stack) whose live deployment owns a queue, None for no stage's
        #: (a platform sets it: keys limited to stages reach their stages' queues only)
        self.owner_of: Callable[[str], tuple[str, str] | None] = lambda name: None
        self._stopping = False

    @classmethod
    def open(
        cls, state_dir: Path, access: AccessControl, *, region: str, account_id: str
    ) -> SqsApi:
        """The API over the store in ``state_dir`` (``queues.sqlite3``)."""
        return cls(SqsStore(state_dir / QUEUES_FILE, region=region, account_id=account_id), access)

    def stop(self) -> None:
        """End every long poll now (each answers with what it has): the node is stopping,
        and a poll's 20 s should not hold its shutdown."""
        self._stopping = True
        for arrival in self._arrivals.values():
            arrival.set()
        self._arrivals.clear()

    @staticmethod
    def handles(scope: Scope) -> bool:
        """Whether this is an SQS request: the JSON protocol (``POST /``, an AmazonSQS
        target) or the query protocol (see :func:`query_protocol.is_query_request`)."""
        if scope["method"] == "POST" and scope["path"] == "/":
            target = next((v for k, v in scope["headers"] if k == b"x-amz-target"), b"")
            if target.startswith(TARGET_PREFIX.encode()):
                return True
        return query_protocol.is_query_request(scope, "sqs", queue_paths=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = query_protocol.is_query_request(scope, "sqs", queue_paths=True)
        signed = await self._access.read_signed(
            scope,
            receive,
            MAX_REQUEST_BYTES,
            Denied(413, "RequestTooLarge", "the request is too large"),
        )
        if isinstance(signed, Denied):
            await (_query_refused(send, signed) if query else _refused(send, signed))
            return
        who, body = signed
        host = next((v for k, v in scope["headers"] if k == b"host"), b"localhost")
        base = f"http://{host.decode('latin-1')}/{self.store.account_id}/"
        try:
            if query:
                operation, params = self._query_params(scope, body, base)
            else:
                target = next(v for k, v in scope["headers"] if k == b"x-amz-target")
                operation = target.decode("latin-1")[len(TARGET_PREFIX) :]
                params = _params(body)
            if operation not in ACTIONS:
                raise SqsError(
                    "UnsupportedOperation",
                    f"The operation {operation} is not supported by overcast's SQS API.",
                    "AWS.SimpleQueueService.UnsupportedOperation",
                )
            resource = self._resource(operation, params)
            denied = self._access.authorize(who, ACTIONS[operation], resource)
            if denied is None and (who.stages or who.stacks):
                denied = self._outside(who, ACTIONS[operation], resource)
            if denied is not None:
                await (_query_refused(send, denied) if query else _refused(send, denied))
                return
            result = await getattr(self, "_" + _snake(operation))(params, base, who.access_key_id)
        except SqsError as exc:
            await (_query_error(send, exc) if query else _error(send, exc))
            return
        if query:
            request_id = str(uuid.uuid4())
            xml = query_protocol.encode(
                operation, NAMESPACE, QUERY_OPERATIONS[operation], result, request_id
            )
            await _xml(send, 200, xml, request_id)
        else:
            await _json(send, 200, result)

    @staticmethod
    def _query_params(scope: Scope, body: bytes, base: str) -> tuple[str, dict[str, Any]]:
        """A query request's operation and its parameters as the JSON protocol's dict;
        a request sent to a queue's URL names its queue by the path, as SQS allows."""
        form = query_protocol.form_params(body, scope.get("query_string", b""))
        operation = form.get("Action", "")
        shape = QUERY_OPERATIONS.get(operation)
        params = query_protocol.decode(shape.input, form) if shape is not None else {}
        if "QueueUrl" not in params and scope["path"] != "/":
            params["QueueUrl"] = base + scope["path"].rsplit("/", 1)[1]
        return operation, params

    def _outside(self, key: AccessKey, action: str, resource: str) -> Denied | None:
        """A key limited to stages (or stacks) reaches the queues its stages' deployments
        own; a function, also the queues no stage owns that its policies name."""
        owner = self.owner_of(resource.rsplit(":", 1)[-1]) if resource != "*" else None
        if within_owner(key, resource, owner):
            return None
        return _limited(key, action, resource, self.store.account_id)

    def _resource(self, operation: str, params: Mapping[str, Any]) -> str:
        if operation == "ListQueues":
            return "*"
        if operation in ("CreateQueue", "GetQueueUrl"):
            return self.store.arn(_string(params, "QueueName"))
        return self.store.arn(self._queue(params))

    def _queue(self, params: Mapping[str, Any]) -> str:
        """The queue a QueueUrl names (``http://host/<account>/<name>``)."""
        url = _string(params, "QueueUrl")
        try:
            parts = urlsplit(url).path.strip("/").split("/")
        except ValueError:  # urlsplit refuses a malformed IPv6 host
            raise queue_does_not_exist() from None
        if len(parts) != 2 or parts[0] != self.store.account_id or not parts[1]:
            raise queue_does_not_exist()
        return parts[1]

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        # SQLite commits with fsync: off the event loop.
        return await asyncio.to_thread(fn, *args)

    # -- queues ---------------------------------------------------------------

    async def _create_queue(self, p: Mapping[str, Any], base: str, _who: str) -> object:
        name = _string(p, "QueueName")
        attributes = _string_map(p, "Attributes")
        await self._run(self.store.create_queue, name, attributes)
        return {"QueueUrl": base + name}

    async def _get_queue_url(self, p: Mapping[str, Any], base: str, _who: str) -> object:
        name = _string(p, "QueueName")
        if not await self._run(self.store.exists, name):
            raise queue_does_not_exist()
        return {"QueueUrl": base + name}

    async def _list_queues(self, p: Mapping[str, Any], base: str, _who: str) -> object:
        prefix = _string(p, "QueueNamePrefix", "")
        names: list[str] = await self._run(self.store.list_queues, prefix)
        limit = _int(p, "MaxResults", None, 1, 1000)
        token = _string(p, "NextToken", "")
        if token:
            after = _decode_token(token)
            names = [n for n in names if n > after]
        result: dict[str, object] = {}
        if limit is not None and len(names) > limit:
            names = names[:limit]
            result["NextToken"] = base64.urlsafe_b64encode(names[-1].encode()).decode()
        elif limit is None:
            names = names[:1000]  # ListQueues' cap without pagination
        if names:
            result["QueueUrls"] = [base + n for n in names]
        return result

    async def _delete_queue(self, p: Mapping[str, Any], _base: str, _who: str) -> object:
        await self._run(self.store.delete_queue, self._queue(p))
        return {}

    async def _get_queue_attributes(self, p: Mapping[str, Any], _b: str, _who: str) -> object:
        name = self._queue(p)
        names = _string_list(p, "AttributeNames")
        attributes = await self._run(self.store.get_attributes, name, names)
        return {"Attributes": attributes} if names else {}

    async def _set_queue_attributes(self, p: Mapping[str, Any], _b: str, _who: str) -> object:
        await self._run(self.store.set_attributes, self._queue(p), _string_map(p, "Attributes"))
        return {}

    async def _purge_queue(self, p: Mapping[str, Any], _base: str, _who: str) -> object:
        await self._run(self.store.purge, self._queue(p))
        return {}

    # -- messages -------------------------------------------------------------

    async def _send_message(self, p: Mapping[str, Any], _base: str, who: str) -> object:
        name = self._queue(p)
        message = new_message(p)
        sent = await self.deliver(name, message, who)
        result = {"MessageId": sent.message_id, "MD5OfMessageBody": sent.md5_of_body}
        if sent.md5_of_attributes is not None:
            result["MD5OfMessageAttributes"] = sent.md5_of_attributes
        if sent.sequence_number is not None:
            result["SequenceNumber"] = sent.sequence_number
        return result

    async def _send_message_batch(self, p: Mapping[str, Any], _base: str, who: str) -> object:
        name = self._queue(p)
        entries = _entries(p, "SendMessageBatchRequestEntry")
        messages: list[NewMessage | SqsError] = []
        total = 0
        for entry in entries:
            try:
                parsed = new_message(entry)
            except SqsError as exc:
                messages.append(exc)
                continue
            total += len(parsed.body.encode()) + sum(
                a.size(n) for n, a in parsed.attributes.items()
            )
            messages.append(parsed)
        if total > MAX_BATCH_BYTES:
            raise SqsError(
                "BatchRequestTooLong",
                f"Batch requests cannot be longer than {MAX_BATCH_BYTES} bytes. "
                f"You have sent {total} bytes.",
                "AWS.SimpleQueueService.BatchRequestTooLong",
            )
        valid = [m for m in messages if isinstance(m, NewMessage)]
        stored = iter(await self._run(self.store.send_batch, name, valid, who) if valid else [])
        successful: list[dict[str, str]] = []
        failed: list[dict[str, object]] = []
        for entry, message in zip(entries, messages, strict=True):
            outcome = message if isinstance(message, SqsError) else next(stored)
            if isinstance(outcome, SqsError):
                failed.append(_failure(entry["Id"], outcome))
                continue
            success = {
                "Id": entry["Id"],
                "MessageId": outcome.message_id,
                "MD5OfMessageBody": outcome.md5_of_body,
            }
            if outcome.md5_of_attributes is not None:
                success["MD5OfMessageAttributes"] = outcome.md5_of_attributes
            if outcome.sequence_number is not None:
                success["SequenceNumber"] = outcome.sequence_number
            successful.append(success)
        if successful:
            self._wake(name)
        return {"Successful": successful, "Failed": failed}

    async def _receive_message(self, p: Mapping[str, Any], _base: str, _who: str) -> object:
        name = self._queue(p)
        count = _int(p, "MaxNumberOfMessages", 1, None, None)
        visibility = _int(p, "VisibilityTimeout", None, None, None)
        wait = _int(p, "WaitTimeSeconds", None, None, None)
        # Also proves the queue exists before a wake-up event is kept for it: a caller
        # naming queues that do not exist must not grow that table.
        attributes = await self._run(
            self.store.get_attributes, name, ["ReceiveMessageWaitTimeSeconds"]
        )
        if wait is None:
            wait = int(attributes["ReceiveMessageWaitTimeSeconds"])
        if not 0 <= wait <= MAX_WAIT_S:
            raise invalid_parameter(
                f"Value {wait} for parameter WaitTimeSeconds is invalid. "
                f"Reason: Must be >= 0 and <= {MAX_WAIT_S}, if provided."
            )
        system = set(_string_list(p, "AttributeNames")) | set(
            _string_list(p, "MessageSystemAttributeNames")
        )
        names = _string_list(p, "MessageAttributeNames")
        deadline = self._clock() + wait
        while True:
            arrival = self.arrival(name)
            received: list[Received] = await self._run(self.store.receive, name, count, visibility)
            now = self._clock()
            if received or now >= deadline or self._stopping:
                break
            due = await self._run(self.store.next_visible, name)
            until = deadline if due is None else min(deadline, max(due, now + 0.01))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(arrival.wait(), until - now)
        if not received:
            return {}
        return {"Messages": [_message(m, system, names) for m in received]}

    def _wake(self, name: str) -> None:
        arrival = self._arrivals.pop(name, None)
        if arrival is not None:
            arrival.set()

    def arrival(self, name: str) -> asyncio.Event:
        """An event set by the next send to queue ``name`` (or by :meth:`stop`): what a
        long poll, or an event source mapping's poller, waits on between receives."""
        return self._arrivals.setdefault(name, asyncio.Event())

    async def deliver(self, name: str, message: NewMessage, sender: str = "") -> Sent:
        """Send ``message`` to queue ``name`` from inside the platform (destinations,
        topics, buckets' notifications) and wake whoever waits on that queue."""
        sent: Sent = await self._run(self.store.send, name, message, sender)
        self._wake(name)
        return sent

    async def _delete_message(self, p: Mapping[str, Any], _base: str, _who: str) -> object:
        await self._run(self.store.delete, self._queue(p), _string(p, "ReceiptHandle"))
        return {}

    async def _delete_message_batch(self, p: Mapping[str, Any], _base: str, _who: str) -> object:
        name = self._queue(p)
        successful: list[dict[str, str]] = []
        failed: list[dict[str, object]] = []
        entries = _entries(p, "DeleteMessageBatchRequestEntry")
        handles: list[str] = []
        for entry in entries:
            try:
                handles.append(_string(entry, "ReceiptHandle"))
            except SqsError as exc:
                failed.append(_failure(entry["Id"], exc))
        wanted = [e for e in entries if isinstance(e.get("ReceiptHandle"), str)]
        outcomes = await self._run(self.store.delete_batch, name, handles)
        for entry, outcome in zip(wanted, outcomes, strict=True):
            if outcome is None:
                successful.append({"Id": entry["Id"]})
            else:
                failed.append(_failure(entry["Id"], outcome))
        return {"Successful": successful, "Failed": failed}

    async def _change_message_visibility(
        self, p: Mapping[str, Any], _base: str, _who: str
    ) -> object:
        timeout = _int(p, "VisibilityTimeout", None, None, None)
        if timeout is None:
            raise missing_parameter("VisibilityTimeout")
        await self._run(
            self.store.change_visibility, self._queue(p), _string(p, "ReceiptHandle"), timeout
        )
        return {}

    async def _change_message_visibility_batch(
        self, p: Mapping[str, Any], _base: str, _who: str
    ) -> object:
        name = self._queue(p)
        successful: list[dict[str, str]] = []
        failed: list[dict[str, object]] = []
        for entry in _entries(p, "ChangeMessageVisibilityBatchRequestEntry"):
            try:
                timeout = _int(entry, "VisibilityTimeout", None, None, None)
                if timeout is None:
                    raise missing_parameter("VisibilityTimeout")
                await self._run(
                    self.store.change_visibility, name, _string(entry, "ReceiptHandle"), timeout
                )
            except SqsError as exc:
                if exc.code == "QueueDoesNotExist":
                    raise
                failed.append(_failure(entry["Id"], exc))
                continue
            successful.append({"Id": entry["Id"]})
        return {"Successful": successful, "Failed": failed}


def _limited(key: AccessKey, action: str, resource: str, account_id: str) -> Denied:
    """A key limited to stages or stacks reaches no queue of another stage or stack,
    none that no stage owns, and creates or lists none."""
    return outside_owner(
        key,
        action,
        resource,
        account_id,
        what="queue",
        code="AccessDeniedException",
        message_field="Message",
    )


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _params(body: bytes) -> dict[str, Any]:
    try:
        params = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise SqsError("SerializationException", "The request body is not valid JSON.") from None
    if not isinstance(params, dict):
        raise SqsError("SerializationException", "The request body must be a JSON object.")
    return params


def _string(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = params.get(name, default)
    if value is None:
        raise missing_parameter(name)
    if not isinstance(value, str):
        raise invalid_parameter(f"Value for parameter {name} is invalid. Reason: not a string.")
    return value


def _int(
    params: Mapping[str, Any], name: str, default: int | None, low: int | None, high: int | None
) -> int | None:
    value = params.get(name, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid_parameter(f"Value {value} for parameter {name} is invalid.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise invalid_parameter(
            f"Value {value} for parameter {name} is invalid. "
            f"Reason: Must be between {low} and {high}."
        )
    return value


def _string_list(params: Mapping[str, Any], name: str) -> list[str]:
    value = params.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid_parameter(f"Value for parameter {name} is invalid.")
    return value


def _string_map(params: Mapping[str, Any], name: str) -> dict[str, str]:
    value = params.get(name, {})
    if not isinstance(value, dict):
        raise invalid_parameter(f"Value for parameter {name} is invalid.")
    return value


def _entries(params: Mapping[str, Any], entry: str) -> list[dict[str, Any]]:
    entries = params.get("Entries")
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("Id"), str) for e in entries
    ):
        raise (
            missing_parameter("Entries")
            if entries is None
            else invalid_parameter("Value for parameter Entries is invalid.")
        )
    check_batch_ids([e["Id"] for e in entries], entry)
    return entries


def new_message(params: Mapping[str, Any]) -> NewMessage:
    """SendMessage's (or a batch entry's) parameters as a message for the store."""
    body = _string(params, "MessageBody")
    raw = params.get("MessageAttributes") or {}
    if not isinstance(raw, dict):
        raise invalid_parameter("Value for parameter MessageAttributes is invalid.")
    attributes: dict[str, MessageAttribute] = {}
    for key, value in raw.items():
        if not isinstance(value, dict) or not isinstance(value.get("DataType"), str):
            raise invalid_parameter(f"The message attribute '{key}' must contain a DataType.")
        binary = value.get("BinaryValue")
        decoded = None
        if isinstance(binary, str):
            try:
                decoded = base64.b64decode(binary, validate=True)
            except binascii.Error:
                raise invalid_parameter(
                    f"The message attribute '{key}' has an invalid binary value."
                ) from None
        string = value.get("StringValue")
        attributes[key] = MessageAttribute(
            value["DataType"], string if isinstance(string, str) else None, decoded
        )
    delay = _int(params, "DelaySeconds", None, None, None)
    group = params.get("MessageGroupId")
    dedup = params.get("MessageDeduplicationId")
    return NewMessage(
        body,
        attributes,
        delay,
        group_id=_string(params, "MessageGroupId") if group is not None else None,
        dedup_id=_string(params, "MessageDeduplicationId") if dedup is not None else None,
    )


def _message(message: Received, system: set[str], names: list[str]) -> dict[str, object]:
    everything = {
        "SenderId": message.sender,
        "SentTimestamp": str(int(message.sent_at * 1000)),
        "ApproximateReceiveCount": str(message.receives),
        "ApproximateFirstReceiveTimestamp": str(int(message.first_receive * 1000)),
    }
    if message.sequence_number is not None:  # a FIFO queue's
        everything["MessageGroupId"] = message.group_id or ""
        everything["MessageDeduplicationId"] = message.dedup_id or ""
        everything["SequenceNumber"] = message.sequence_number
    result: dict[str, object] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.md5_of_body,
        "Body": message.body,
    }
    attributes = (
        everything if "All" in system else {k: v for k, v in everything.items() if k in system}
    )
    if attributes:
        result["Attributes"] = attributes
    chosen = {n: message.attributes[n] for n in wanted_attributes(names, message.attributes)}
    digest = md5_of_message_attributes(chosen)
    if digest is not None:
        result["MD5OfMessageAttributes"] = digest
        result["MessageAttributes"] = {
            n: (
                {"DataType": a.data_type, "BinaryValue": base64.b64encode(a.binary_value).decode()}
                if a.binary_value is not None
                else {"DataType": a.data_type, "StringValue": a.string_value}
            )
            for n, a in chosen.items()
        }
    return result


def _failure(entry_id: str, exc: SqsError) -> dict[str, object]:
    return {"Id": entry_id, "SenderFault": True, "Code": exc.query_code, "Message": exc.message}


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise invalid_parameter("Invalid NextToken value.") from None


async def _json(send: Send, status: int, body: object) -> None:
    await send_response(
        send,
        status,
        orjson.dumps(body),
        [(b"content-type", CONTENT_TYPE), (b"x-amzn-requestid", str(uuid.uuid4()).encode())],
    )


async def _refused(send: Send, denied: Denied) -> None:
    """The access gate's refusal in the JSON protocol's shape (the code in ``__type``:
    botocore's JSON parser reads no ``x-amzn-ErrorType`` header)."""
    body = {"__type": f"com.amazon.coral.service#{denied.code}", "message": denied.message}
    await send_response(
        send,
        denied.status,
        orjson.dumps(body),
        [
            (b"content-type", CONTENT_TYPE),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
            *denied.headers,
        ],
    )


async def _xml(send: Send, status: int, body: bytes, request_id: str) -> None:
    await send_response(
        send,
        status,
        body,
        [(b"content-type", query_protocol.XML_CONTENT_TYPE),
         (b"x-amzn-requestid", request_id.encode())],
    )  # fmt: skip


async def _query_refused(send: Send, denied: Denied) -> None:
    """The access gate's refusal in the query protocol's shape."""
    request_id = str(uuid.uuid4())
    body = query_protocol.error(NAMESPACE, denied.code, denied.message, request_id)
    await send_response(
        send,
        denied.status,
        body,
        [(b"content-type", query_protocol.XML_CONTENT_TYPE),
         (b"x-amzn-requestid", request_id.encode()), *denied.headers],
    )  # fmt: skip


async def _query_error(send: Send, exc: SqsError) -> None:
    """SQS's query-protocol error: the query code (``AWS.SimpleQueueService.*``)."""
    request_id = str(uuid.uuid4())
    await _xml(
        send,
        400,
        query_protocol.error(NAMESPACE, exc.query_code, exc.message, request_id),
        request_id,
    )


async def _error(send: Send, exc: SqsError) -> None:
    """AWS's JSON-protocol error, with the query code botocore reports as Error.Code."""
    await send_response(
        send,
        400,
        orjson.dumps({"__type": f"com.amazonaws.sqs#{exc.code}", "message": exc.message}),
        [
            (b"content-type", CONTENT_TYPE),
            (b"x-amzn-requestid", str(uuid.uuid4()).encode()),
            (b"x-amzn-query-error", f"{exc.query_code};Sender".encode()),
        ],
    )
