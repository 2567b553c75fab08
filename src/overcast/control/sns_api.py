"""The admin port's SNS API: Amazon SNS's query protocol over :class:`SnsStore`.

Every SDK speaks the query protocol to SNS: a form-encoded ``Action=Publish&...``
posted to ``/``, SigV4-signed for the ``sns`` service (which is how the admin port
tells it from an SQS query request), answered in XML; errors as
``<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code>...`` with SNS's
status (404 for NotFound), which botocore maps to ``client.exceptions.NotFoundException``.

Topics, subscriptions (``lambda`` and ``sqs``), Publish and PublishBatch. Each
operation needs its IAM action (``sns:Publish`` for both publishes) on the topic's ARN,
allowed by the key's role (or a function's policies). On a platform a template's
topics belong to the stage and stack that deployed them: a key limited to stages or
stacks reaches theirs only (and none that no stage owns). Publish answers once the
message is durably queued for every subscriber (events/sns_fanout.py);
:meth:`SnsApi.deliver` publishes for the platform itself (Lambda's SNS destinations).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from overcast.control import query_protocol
from overcast.control.access import AccessControl, Denied, outside_owner, within_owner
from overcast.control.access_keys import AccessKey
from overcast.control.asgi_types import Receive, Scope, Send, send_response
from overcast.control.sns_query_shapes import NAMESPACE, OPERATIONS
from overcast.errors import OvercastError
from overcast.events.sns_event import Published, SnsAttribute, check_structure
from overcast.events.sns_fanout import Deliver, Submit, TopicFanout
from overcast.events.sns_filter import parse_policy
from overcast.events.sns_rules import (
    MAX_MESSAGE_ATTRIBUTES,
    MAX_MESSAGE_BYTES,
    MAX_SUBJECT_CHARS,
    SnsError,
    check_batch_ids,
    invalid_parameter,
    not_found,
    topic_name,
)
from overcast.events.sns_store import TOPICS_FILE, SnsStore, Subscription
from overcast.template.sns_topics import TopicSpec

logger = logging.getLogger(__name__)

#: a whole request: a 256 KiB batch grows by form encoding
MAX_REQUEST_BYTES = 1024 * 1024
_PAGE = 100

#: the IAM action each operation needs
ACTIONS: Mapping[str, str] = {
    "CreateTopic": "sns:CreateTopic",
    "DeleteTopic": "sns:DeleteTopic",
    "ListTopics": "sns:ListTopics",
    "GetTopicAttributes": "sns:GetTopicAttributes",
    "SetTopicAttributes": "sns:SetTopicAttributes",
    "Subscribe": "sns:Subscribe",
    "Unsubscribe": "sns:Unsubscribe",
    "ListSubscriptions": "sns:ListSubscriptions",
    "ListSubscriptionsByTopic": "sns:ListSubscriptionsByTopic",
    "GetSubscriptionAttributes": "sns:GetSubscriptionAttributes",
    "SetSubscriptionAttributes": "sns:SetSubscriptionAttributes",
    "Publish": "sns:Publish",
    "PublishBatch": "sns:Publish",
}
_SUBSCRIPTION_OPERATIONS = frozenset(
    {"Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"}
)


class TemplateTopicError(OvercastError):
    """A template's topic or subscription cannot be created as its Properties say."""


def create_template_topics(
    store: SnsStore,
    topics: Iterable[TopicSpec],
    *,
    origin: str = "template",
    qualifier: str | None = None,
) -> None:
    """Create (or bring up to date) each ``AWS::SNS::Topic`` and its subscriptions.

    ``origin`` tells this template's subscriptions from others' (a platform's stage and
    stack); ``qualifier`` (a platform's stage) is added to each unqualified function
    ARN, so a topic invokes the stage's deployment of the function.
    """
    for topic in topics:
        try:
            store.ensure_topic(topic.name, topic.attributes)
            wanted = []
            for subscription in topic.subscriptions:
                _check_subscription_attributes(subscription.attributes)
                endpoint = subscription.endpoint
                if qualifier and subscription.protocol == "lambda" and endpoint.count(":") == 6:
                    endpoint = f"{endpoint}:{qualifier}"
                wanted.append((subscription.protocol, endpoint, subscription.attributes))
            store.sync_template_subscriptions(topic.name, wanted, origin)
        except SnsError as exc:
            raise TemplateTopicError(
                f"Topic '{topic.logical_id}' ({topic.name}): {exc.message}"
            ) from None


class SnsApi:
    """Serves the SNS operations above; everything else is refused as SNS refuses it."""

    def __init__(
        self,
        store: SnsStore,
        access: AccessControl,
        fanout: TopicFanout,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.fanout = fanout
        self._access = access
        self._clock = clock
        #: where the unsubscribe and certificate links of the platform's own
        #: publications point (the node sets its admin URL)
        self.base_url = "http://localhost"
        #: the (stage, stack) whose live deployment owns a topic, None for no stage's
        #: (a platform sets it: keys limited to stages reach their stages' topics only)
        self.owner_of: Callable[[str], tuple[str, str] | None] = lambda name: None

    @classmethod
    def open(
        cls,
        state_dir: Path,
        access: AccessControl,
        *,
        region: str,
        account_id: str,
        submit: Submit,
        deliver: Deliver,
    ) -> SnsApi:
        """The API over the store in ``state_dir`` (``topics.sqlite3``), delivering
        through ``submit`` (async invocations) and ``deliver`` (queues)."""
        store = SnsStore(state_dir / TOPICS_FILE, region=region, account_id=account_id)
        return cls(store, access, TopicFanout(store, submit, deliver))

    async def deliver(
        self, name: str, message: str, attributes: Mapping[str, tuple[str, str]] | None = None
    ) -> str:
        """Publish ``message`` to topic ``name`` from inside the platform (Lambda's SNS
        destinations and dead-letter topics); its message id once every subscriber's
        copy is stored. ``attributes``: name → (DataType, value), all strings."""
        if not await self._run(self.store.exists, name):
            raise not_found()
        published = Published(
            message_id=str(uuid.uuid4()),
            topic_arn=self.store.arn(name),
            message=message,
            timestamp=self._clock(),
            attributes={
                key: SnsAttribute(data_type, string_value=value)
                for key, (data_type, value) in (attributes or {}).items()
            },
        )
        await self.fanout.publish(name, published, self.base_url)
        return published.message_id

    @staticmethod
    def handles(scope: Scope) -> bool:
        """Whether this is an SNS request (a query request signed for ``sns``)."""
        return query_protocol.is_query_request(scope, "sns")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        signed = await self._access.read_signed(
            scope,
            receive,
            MAX_REQUEST_BYTES,
            Denied(413, "RequestEntityTooLarge", "the request is too large"),
        )
        if isinstance(signed, Denied):
            await _refused(send, signed)
            return
        who, body = signed
        host = next((v for k, v in scope["headers"] if k == b"host"), b"localhost")
        base = f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}"
        form = query_protocol.form_params(body, scope.get("query_string", b""))
        operation = form.get("Action", "")
        try:
            if operation not in ACTIONS:
                raise SnsError(
                    "InvalidAction",
                    f"The action {operation or '(none)'} is not valid for this endpoint.",
                )
            params = query_protocol.decode(OPERATIONS[operation].input, form)
            resource = self._resource(operation, params)
            denied = self._access.authorize(who, ACTIONS[operation], resource)
            if denied is None and (who.stages or who.stacks):
                denied = self._outside(who, ACTIONS[operation], resource)
            if denied is not None:
                await _refused(send, denied)
                return
            result = await getattr(self, "_" + _snake(operation))(params, base)
        except SnsError as exc:
            await _error(send, exc)
            return
        request_id = str(uuid.uuid4())
        xml = query_protocol.encode(operation, NAMESPACE, OPERATIONS[operation], result, request_id)
        await _xml(send, 200, xml, request_id)

    def _outside(self, key: AccessKey, action: str, resource: str) -> Denied | None:
        """A key limited to stages (or stacks) reaches the topics its stages' deployments
        own; a function, also the topics no stage owns that its policies name."""
        owner = self.owner_of(resource.rsplit(":", 1)[-1]) if resource != "*" else None
        if within_owner(key, resource, owner):
            return None
        return _limited(key, action, resource, self.store.account_id)

    def _resource(self, operation: str, params: Mapping[str, Any]) -> str:
        if operation in ("ListTopics", "ListSubscriptions"):
            return "*"
        if operation == "CreateTopic":
            return self.store.arn(_string(params, "Name"))
        if operation in _SUBSCRIPTION_OPERATIONS:
            # A subscription's ARN is its topic's and an id: the topic is the resource.
            return _string(params, "SubscriptionArn").rpartition(":")[0]
        if operation == "Publish" and "TopicArn" not in params and "TargetArn" in params:
            return _string(params, "TargetArn")
        return _string(params, "TopicArn")

    def _topic(self, params: Mapping[str, Any], name: str = "TopicArn") -> str:
        return topic_name(_string(params, name), self.store.region, self.store.account_id)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        # SQLite commits with fsync: off the event loop.
        return await asyncio.to_thread(fn, *args)

    # -- topics ---------------------------------------------------------------

    async def _create_topic(self, p: Mapping[str, Any], _base: str) -> object:
        arn = await self._run(self.store.create_topic, _string(p, "Name"), _map(p, "Attributes"))
        return {"TopicArn": arn}

    async def _delete_topic(self, p: Mapping[str, Any], _base: str) -> object:
        await self._run(self.store.delete_topic, self._topic(p))
        return {}

    async def _list_topics(self, p: Mapping[str, Any], _base: str) -> object:
        names: list[str] = await self._run(self.store.list_topics)
        page, token = _page(names, _string(p, "NextToken", ""))
        result: dict[str, object] = {"Topics": [{"TopicArn": self.store.arn(n)} for n in page]}
        if token:
            result["NextToken"] = token
        return result

    async def _get_topic_attributes(self, p: Mapping[str, Any], _base: str) -> object:
        return {"Attributes": await self._run(self.store.topic_attributes, self._topic(p))}

    async def _set_topic_attributes(self, p: Mapping[str, Any], _base: str) -> object:
        await self._run(
            self.store.set_topic_attribute,
            self._topic(p),
            _string(p, "AttributeName"),
            _string(p, "AttributeValue", ""),
        )
        return {}

    # -- subscriptions --------------------------------------------------------

    async def _subscribe(self, p: Mapping[str, Any], _base: str) -> object:
        name = self._topic(p)
        protocol = _string(p, "Protocol")
        endpoint = _string(p, "Endpoint", "")
        _check_endpoint(protocol, endpoint)
        attributes = _map(p, "Attributes")
        _check_subscription_attributes(attributes)
        if protocol != "sqs" and await self._fifo(name):
            raise invalid_parameter("Protocol Reason: FIFO topics deliver only to SQS FIFO queues")
        subscription: Subscription = await self._run(
            self.store.subscribe, name, protocol, endpoint, attributes, self.store.account_id
        )
        return {"SubscriptionArn": subscription.arn}

    async def _unsubscribe(self, p: Mapping[str, Any], _base: str) -> object:
        await self._run(self.store.unsubscribe, _string(p, "SubscriptionArn"))
        return {}

    async def _list_subscriptions(self, p: Mapping[str, Any], _base: str) -> object:
        return self._subscription_page(await self._run(self.store.subscriptions), p)

    async def _list_subscriptions_by_topic(self, p: Mapping[str, Any], _base: str) -> object:
        return self._subscription_page(await self._run(self.store.subscriptions, self._topic(p)), p)

    def _subscription_page(self, all_: list[Subscription], p: Mapping[str, Any]) -> object:
        by_arn = {s.arn: s for s in all_}
        page, token = _page(sorted(by_arn), _string(p, "NextToken", ""))
        result: dict[str, object] = {
            "Subscriptions": [
                {
                    "SubscriptionArn": s.arn,
                    "Owner": s.owner,
                    "Protocol": s.protocol,
                    "Endpoint": s.endpoint,
                    "TopicArn": s.topic_arn,
                }
                for s in (by_arn[a] for a in page)
            ]
        }
        if token:
            result["NextToken"] = token
        return result

    async def _get_subscription_attributes(self, p: Mapping[str, Any], _base: str) -> object:
        s: Subscription = await self._run(self.store.subscription, _string(p, "SubscriptionArn"))
        return {
            "Attributes": {
                "SubscriptionArn": s.arn,
                "TopicArn": s.topic_arn,
                "Owner": s.owner,
                "Protocol": s.protocol,
                "Endpoint": s.endpoint,
                "ConfirmationWasAuthenticated": "true",
                "PendingConfirmation": "false",
                "RawMessageDelivery": "false",
                **s.attributes,
            }
        }

    async def _set_subscription_attributes(self, p: Mapping[str, Any], _base: str) -> object:
        name = _string(p, "AttributeName")
        value = _string(p, "AttributeValue", "")
        _check_subscription_attributes({name: value})
        await self._run(
            self.store.set_subscription_attribute, _string(p, "SubscriptionArn"), name, value
        )
        return {}

    # -- publishing -----------------------------------------------------------

    async def _publish(self, p: Mapping[str, Any], base: str) -> object:
        if "PhoneNumber" in p:
            raise invalid_parameter("PhoneNumber Reason: overcast delivers no SMS")
        field = "TopicArn" if "TopicArn" in p or "TargetArn" not in p else "TargetArn"
        name = self._topic(p, field)
        fifo = await self._fifo(name)
        published = self._published(p, self.store.arn(name), fifo)
        await self.fanout.publish(name, published, base)
        result = {"MessageId": published.message_id}
        if fifo:
            result["SequenceNumber"] = f"{time.time_ns():020d}"
        return result

    async def _publish_batch(self, p: Mapping[str, Any], base: str) -> object:
        name = self._topic(p)
        entries = p.get("PublishBatchRequestEntries")
        if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("Id"), str) for e in entries
        ):
            entries = []
        check_batch_ids([e["Id"] for e in entries])
        total = sum(len(str(e.get("Message", "")).encode()) for e in entries)
        if total > MAX_MESSAGE_BYTES:
            raise SnsError(
                "BatchRequestTooLong",
                f"The length of all the batch messages put together is more than the limit "
                f"({MAX_MESSAGE_BYTES} bytes).",
            )
        fifo = await self._fifo(name)
        successful: list[dict[str, str]] = []
        failed: list[dict[str, object]] = []
        for entry in entries:
            try:
                published = self._published(entry, self.store.arn(name), fifo)
            except SnsError as exc:
                failed.append(
                    {
                        "Id": entry["Id"],
                        "Code": exc.code,
                        "Message": exc.message,
                        "SenderFault": True,
                    }
                )
                continue
            await self.fanout.publish(name, published, base)
            success = {"Id": entry["Id"], "MessageId": published.message_id}
            if fifo:
                success["SequenceNumber"] = f"{time.time_ns():020d}"
            successful.append(success)
        return {"Successful": successful, "Failed": failed}

    async def _fifo(self, name: str) -> bool:
        attributes: dict[str, str] = await self._run(self.store.topic_attributes, name)
        return attributes.get("FifoTopic") == "true"

    def _published(self, p: Mapping[str, Any], arn: str, fifo: bool) -> Published:
        message = _string(p, "Message", "")
        if not message:
            raise invalid_parameter("Empty message")
        if len(message.encode()) > MAX_MESSAGE_BYTES:
            raise invalid_parameter("Message too long")
        subject = p.get("Subject")
        if subject is not None and (
            not isinstance(subject, str)
            or not subject
            or len(subject) > MAX_SUBJECT_CHARS
            or any(c in subject for c in "\r\n")
        ):
            raise invalid_parameter("Subject")
        structure = p.get("MessageStructure")
        if structure is not None:
            if structure != "json":
                raise invalid_parameter("MessageStructure")
            check_structure(message)
        group, dedup = p.get("MessageGroupId"), p.get("MessageDeduplicationId")
        if fifo and not group:
            raise invalid_parameter("The MessageGroupId parameter is required for FIFO topics")
        if not fifo and (group is not None or dedup is not None):
            raise invalid_parameter(
                "MessageGroupId Reason: The request includes MessageGroupId parameter that "
                "is not valid for this topic type"
            )
        return Published(
            message_id=str(uuid.uuid4()),
            topic_arn=arn,
            message=message,
            timestamp=self._clock(),
            subject=subject,
            structure=structure,
            attributes=_message_attributes(p.get("MessageAttributes") or {}),
            group_id=str(group) if group is not None else None,
            dedup_id=str(dedup) if dedup is not None else None,
        )


def _message_attributes(raw: Any) -> dict[str, SnsAttribute]:
    if not isinstance(raw, dict):
        raise invalid_parameter("MessageAttributes")
    if len(raw) > MAX_MESSAGE_ATTRIBUTES:
        raise invalid_parameter(
            f"MessageAttributes: Number of message attributes [{len(raw)}] exceeds the "
            f"allowed maximum [{MAX_MESSAGE_ATTRIBUTES}]."
        )
    attributes: dict[str, SnsAttribute] = {}
    for name, value in raw.items():
        data_type = value.get("DataType") if isinstance(value, dict) else None
        if not isinstance(data_type, str) or not data_type:
            raise _attribute_error(f"The message attribute '{name}' must contain a DataType.")
        if data_type.startswith("Binary"):
            try:
                binary = base64.b64decode(str(value.get("BinaryValue", "")), validate=True)
            except binascii.Error:
                raise _attribute_error(
                    f"The message attribute '{name}' has an invalid binary value."
                ) from None
            if not binary:
                raise _attribute_error(
                    f"The message attribute '{name}' must contain non-empty message attribute "
                    f"value for message attribute type '{data_type}'."
                )
            attributes[name] = SnsAttribute(data_type, binary_value=binary)
            continue
        text = value.get("StringValue")
        if not isinstance(text, str) or not text:
            raise _attribute_error(
                f"The message attribute '{name}' must contain non-empty message attribute "
                f"value for message attribute type '{data_type}'."
            )
        if data_type.startswith("Number"):
            try:
                float(text)
            except ValueError:
                raise _attribute_error(
                    f"Could not cast message attribute '{name}' value to number."
                ) from None
        elif not data_type.startswith("String"):
            raise _attribute_error(
                f"The message attribute '{name}' has an invalid message attribute type, the "
                "set of supported type prefixes is Binary, Number, and String."
            )
        attributes[name] = SnsAttribute(data_type, string_value=text)
    return attributes


def _attribute_error(message: str) -> SnsError:
    return SnsError("ParameterValueInvalid", message)


def _check_endpoint(protocol: str, endpoint: str) -> None:
    parts = endpoint.split(":")
    if protocol == "lambda":
        if (
            len(parts) not in (7, 8)
            or parts[:3] != ["arn", "aws", "lambda"]
            or parts[5] != "function"
        ):
            raise invalid_parameter("Lambda endpoint ARN")
    elif protocol == "sqs":
        if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
            raise invalid_parameter("SQS endpoint ARN")
    else:
        raise invalid_parameter(
            f"Protocol: {protocol} (overcast delivers to lambda and sqs subscribers)"
        )


def _check_subscription_attributes(attributes: Mapping[str, str]) -> None:
    raw = attributes.get("RawMessageDelivery")
    if raw is not None and raw.lower() not in ("true", "false"):
        raise invalid_parameter("Attributes Reason: RawMessageDelivery: Invalid value")
    policy = attributes.get("FilterPolicy")
    if policy:
        parse_policy(policy)
    scope = attributes.get("FilterPolicyScope")
    if scope is not None and scope not in ("MessageAttributes", "MessageBody"):
        raise invalid_parameter("Attributes Reason: FilterPolicyScope: Invalid value")


def _page(names: list[str], token: str) -> tuple[list[str], str]:
    """One page of ``names`` after ``token`` (the last name of the page before)."""
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode("ascii")).decode()
        except (binascii.Error, UnicodeError, ValueError):
            raise invalid_parameter("NextToken") from None
        names = [n for n in names if n > after]
    if len(names) <= _PAGE:
        return names, ""
    page = names[:_PAGE]
    return page, base64.urlsafe_b64encode(page[-1].encode()).decode()


def _limited(key: AccessKey, action: str, resource: str, account_id: str) -> Denied:
    """A key limited to stages or stacks reaches no topic of another stage or stack,
    none that no stage owns, and creates or lists none."""
    return outside_owner(key, action, resource, account_id, what="topic", code="AuthorizationError")


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def _string(params: Mapping[str, Any], name: str, default: str | None = None) -> str:
    value = params.get(name, default)
    if value is None:
        raise invalid_parameter(f"{name}")
    if not isinstance(value, str):
        raise invalid_parameter(f"{name}: not a string")
    return value


def _map(params: Mapping[str, Any], name: str) -> dict[str, str]:
    value = params.get(name, {})
    if not isinstance(value, dict):
        raise invalid_parameter(name)
    return value


async def _xml(send: Send, status: int, body: bytes, request_id: str) -> None:
    await send_response(
        send,
        status,
        body,
        [(b"content-type", query_protocol.XML_CONTENT_TYPE),
         (b"x-amzn-requestid", request_id.encode())],
    )  # fmt: skip


async def _error(send: Send, exc: SnsError) -> None:
    request_id = str(uuid.uuid4())
    body = query_protocol.error(NAMESPACE, exc.code, exc.message, request_id)
    await _xml(send, exc.status, body, request_id)


async def _refused(send: Send, denied: Denied) -> None:
    """The access gate's refusal as SNS words it (``AuthorizationError`` for IAM's)."""
    code = "AuthorizationError" if denied.code == "AccessDeniedException" else denied.code
    request_id = str(uuid.uuid4())
    await send_response(
        send,
        denied.status,
        query_protocol.error(NAMESPACE, code, denied.message, request_id),
        [(b"content-type", query_protocol.XML_CONTENT_TYPE),
         (b"x-amzn-requestid", request_id.encode()), *denied.headers],
    )  # fmt: skip
