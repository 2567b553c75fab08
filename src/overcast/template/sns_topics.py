"""``AWS::SNS::Topic`` and ``AWS::SNS::Subscription`` resources, and functions' SNS events.

CloudFormation's references
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-sns-topic.html,
``aws-resource-sns-subscription.html``): a topic's ``Ref`` is its ARN, ``Fn::GetAtt``
gives ``TopicArn`` and ``TopicName``; without ``TopicName`` the name is generated (as a
queue's, stable per stack and logical ID). ``Subscription`` lists ``{Protocol,
Endpoint}``; a Subscription resource names its topic by ARN and may set
``RawMessageDelivery``, ``FilterPolicy`` and ``FilterPolicyScope``.

SAM's ``Events: {Type: SNS}`` (``Topic``, ``FilterPolicy``, ``FilterPolicyScope``,
``SqsSubscription``, ``RedrivePolicy``, ``Region``) subscribes the function to a topic of
the same template: overcast runs no other, so any other ARN is refused at load.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.model import Location
from overcast.template.sqs_queues import generated_name

TOPIC_TYPE = "AWS::SNS::Topic"
SUBSCRIPTION_TYPE = "AWS::SNS::Subscription"
EVENT_TYPE = "SNS"
#: the subscriber protocols overcast delivers to
PROTOCOLS = frozenset({"lambda", "sqs"})

#: Properties that are SNS attributes of the same name
_ATTRIBUTE_PROPERTIES = ("DisplayName", "KmsMasterKeyId", "SignatureVersion", "TracingConfig")
KNOWN_PROPERTIES = frozenset(
    {
        *_ATTRIBUTE_PROPERTIES,
        "TopicName",
        "Subscription",
        "FifoTopic",
        "ContentBasedDeduplication",
        "Tags",
        "ArchivePolicy",
        "DataProtectionPolicy",
        "DeliveryStatusLogging",
    }
)
_SUBSCRIPTION_PROPERTIES = frozenset(
    {"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy",
     "FilterPolicyScope", "Region", "RedrivePolicy", "DeliveryPolicy"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """One subscriber of a template topic."""

    protocol: str
    #: a function's ARN (``lambda``) or a queue's (``sqs``)
    endpoint: str
    #: SNS subscription attributes (``RawMessageDelivery``, ``FilterPolicy``...)
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A template topic, resolved: created (or updated) when the app starts."""

    logical_id: str
    name: str
    attributes: Mapping[str, str] = field(default_factory=dict)
    subscriptions: tuple[SubscriptionSpec, ...] = ()


def topic_name(stack_name: str, logical_id: str, properties: Mapping[str, Any]) -> str:
    """TopicName if set (resolved), else the stable generated one."""
    name = properties.get("TopicName")
    return str(name) if name is not None else generated_name(stack_name, logical_id)


def topic_arn(partition: str, region: str, account_id: str, name: str) -> str:
    return f"arn:{partition}:sns:{region}:{account_id}:{name}"


def topic_attributes(properties: Mapping[str, Any]) -> dict[str, str]:
    """The SNS attributes a topic's resolved Properties ask for."""
    attributes = {n: str(properties[n]) for n in _ATTRIBUTE_PROPERTIES if n in properties}
    for name in ("FifoTopic", "ContentBasedDeduplication"):
        value = properties.get(name)
        if value is not None:
            attributes[name] = str(value).lower()
    return attributes


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def subscription(
    owner: str, properties: Mapping[str, Any], location: Location | None, log: WarningLog
) -> SubscriptionSpec | None:
    """One ``{Protocol, Endpoint, ...}`` (an inline entry or a Subscription resource);
    None, with a warning, for a protocol overcast does not deliver to."""
    protocol = properties.get("Protocol")
    endpoint = properties.get("Endpoint")
    if not isinstance(protocol, str) or not isinstance(endpoint, str):
        raise InvalidTemplateError(f"{owner} needs a Protocol and an Endpoint", location=location)
    if protocol not in PROTOCOLS:
        log.warn(
            f"{owner}: protocol '{protocol}' is not delivered by overcast (lambda and sqs "
            "are); the subscription is ignored",
            location,
        )
        return None
    attributes = {
        k: _text(properties[k])
        for k in ("RawMessageDelivery", "FilterPolicy", "FilterPolicyScope")
        if k in properties
    }
    for key in properties:
        if key not in _SUBSCRIPTION_PROPERTIES:
            log.warn(f"{owner} {key} is not supported by overcast; it is ignored", location)
    return SubscriptionSpec(protocol, endpoint, attributes)


def sns_event(
    owner: str,
    event_name: str,
    properties: Mapping[str, Any],
    *,
    function_arn: str,
    topics: Mapping[str, str],
    location: Location | None,
    log: WarningLog,
) -> tuple[str, SubscriptionSpec]:
    """A function's SNS event as (its topic's logical ID, the function's subscription).

    ``topics`` maps each template topic's ARN to its logical ID.
    """
    where = f"{owner} event '{event_name}'"
    topic = properties.get("Topic")
    if not isinstance(topic, str):
        raise InvalidTemplateError(
            f"{where} (SNS) needs a Topic", location=location, hint="write Topic: !Ref MyTopic"
        )
    if topic not in topics:
        raise InvalidTemplateError(
            f"{where} (SNS) Topic '{topic}' is not a topic of this template",
            location=location,
            hint="overcast runs only the template's own AWS::SNS::Topic resources; "
            "write Topic: !Ref <one of them>",
        )
    attributes: dict[str, str] = {}
    policy = properties.get("FilterPolicy")
    if policy is not None:
        if not isinstance(policy, Mapping):
            raise InvalidTemplateError(
                f"{where} (SNS) FilterPolicy must be a mapping", location=location
            )
        attributes["FilterPolicy"] = _text(policy)
    scope = properties.get("FilterPolicyScope")
    if scope is not None:
        if scope not in ("MessageAttributes", "MessageBody"):
            raise InvalidTemplateError(
                f"{where} (SNS) FilterPolicyScope must be MessageAttributes or MessageBody",
                location=location,
            )
        attributes["FilterPolicyScope"] = str(scope)
    if properties.get("SqsSubscription"):
        log.warn(
            f"{where} (SNS): SqsSubscription is not supported yet; the topic invokes the "
            "function directly (no queue between them)",
            location,
        )
    for key in ("RedrivePolicy", "Region"):
        if key in properties:
            log.warn(f"{where} (SNS) {key} is not supported by overcast; it is ignored", location)
    return topics[topic], SubscriptionSpec("lambda", function_arn, attributes)
