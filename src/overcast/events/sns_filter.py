"""SNS subscription filter policies, pure: does a published message reach a subscriber?

The rules of "Amazon SNS message filtering"
(https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html): a policy maps
keys to lists of conditions; every key must match (AND) and, within a key, any one
condition (OR); ``$or`` holds alternative policies. With ``FilterPolicyScope``
``MessageAttributes`` (the default) the keys are message attribute names; with
``MessageBody`` they walk into the JSON message, nested objects matching nested
policies. Conditions: a string or number (exact; numbers compared as numbers),
``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or a
``prefix``/``suffix``), ``numeric`` (``["=", 5]``, ``[">", 0, "<=", 10]``), ``exists``
and ``cidr``. A ``String.Array`` attribute matches when any element does; a
``Binary`` attribute is never matched by a value (only ``exists`` sees it).
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from overcast.events.sns_event import SnsAttribute
from overcast.events.sns_rules import invalid_parameter

_ABSENT = object()
_NUMERIC: Mapping[str, Callable[[float, float], bool]] = {
    "=": operator.eq, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip


def parse_policy(text: str) -> dict[str, Any]:
    """A FilterPolicy attribute's value, checked as SNS checks it when it is set."""
    try:
        policy = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise invalid_parameter("FilterPolicy: failed to parse JSON.") from None
    if not isinstance(policy, dict):
        raise invalid_parameter("FilterPolicy: Filter policy must be a JSON object")
    _check(policy)
    return policy


def _check(policy: Mapping[str, Any]) -> None:
    for key, rule in policy.items():
        if key == "$or":
            if not isinstance(rule, list) or not all(isinstance(p, dict) for p in rule):
                raise invalid_parameter("FilterPolicy: $or must be a list of objects")
            for alternative in rule:
                _check(alternative)
        elif isinstance(rule, dict):
            _check(rule)
        elif not isinstance(rule, list) or not rule:
            raise invalid_parameter(f'FilterPolicy: "{key}" must be a non-empty list')


def attribute_document(attributes: Mapping[str, SnsAttribute]) -> dict[str, Any]:
    """Message attributes as the values a policy compares (see the module docstring)."""
    document: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if attribute.data_type.startswith("Number"):
            document[name] = _number(attribute.string_value)
        elif attribute.data_type.startswith("String.Array"):
            try:
                values = orjson.loads(attribute.string_value or "")
            except orjson.JSONDecodeError:
                values = None
            document[name] = values if isinstance(values, list) else []
        elif attribute.data_type.startswith("String"):
            document[name] = attribute.string_value
        else:
            document[name] = []  # present, but no value to compare
    return document


def matches(
    policy: Mapping[str, Any] | None,
    scope: str,
    attributes: Mapping[str, SnsAttribute],
    message: str,
) -> bool:
    """Whether a message with these attributes and body passes ``policy`` (None: all do)."""
    if not policy:
        return True
    if scope == "MessageBody":
        try:
            body = orjson.loads(message)
        except orjson.JSONDecodeError:
            return False
        return isinstance(body, dict) and _matches(policy, body)
    return _matches(policy, attribute_document(attributes))


def _matches(policy: Mapping[str, Any], document: Mapping[str, Any]) -> bool:
    for key, rule in policy.items():
        if key == "$or":
            if not any(_matches(alternative, document) for alternative in rule):
                return False
            continue
        value = document.get(key, _ABSENT)
        if isinstance(rule, dict):
            if not isinstance(value, dict) or not _matches(rule, value):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(_condition(c, value is not _ABSENT, values) for c in rule):
            return False
    return True


def _condition(condition: Any, present: bool, values: list[Any]) -> bool:
    if isinstance(condition, dict):
        if "exists" in condition:
            return present is bool(condition["exists"])
        if not present:
            return False
        (kind, operand), *_ = condition.items()
        strings = [v for v in values if isinstance(v, str)]
        if kind == "prefix":
            return any(v.startswith(operand) for v in strings)
        if kind == "suffix":
            return any(v.endswith(operand) for v in strings)
        if kind == "equals-ignore-case":
            return any(v.lower() == str(operand).lower() for v in strings)
        if kind == "anything-but":
            return bool(values) and all(not _excluded(operand, v) for v in values)
        if kind == "numeric":
            return any(_numeric(operand, v) for v in values)
        if kind == "cidr":
            return any(_in_network(operand, v) for v in strings)
        return False
    if not present:
        return False
    return any(_equal(condition, v) for v in values)


def _equal(condition: Any, value: Any) -> bool:
    if isinstance(condition, bool) or isinstance(value, bool):
        return condition is value
    if isinstance(condition, int | float):
        number = _number(value) if isinstance(value, str) else value
        return isinstance(number, int | float) and float(number) == float(condition)
    return bool(condition == value)


def _excluded(operand: Any, value: Any) -> bool:
    if isinstance(operand, dict):
        if not isinstance(value, str):
            return False
        if "prefix" in operand:
            return value.startswith(operand["prefix"])
        if "suffix" in operand:
            return value.endswith(operand["suffix"])
        return False
    if isinstance(operand, list):
        return any(_equal(o, value) for o in operand)
    return _equal(operand, value)


def _numeric(operand: Any, value: Any) -> bool:
    number = _number(value) if isinstance(value, str) else value
    if not isinstance(number, int | float) or isinstance(number, bool):
        return False
    if not isinstance(operand, list) or len(operand) % 2:
        return False
    pairs = zip(operand[::2], operand[1::2], strict=True)
    return all(
        op in _NUMERIC and isinstance(bound, int | float) and _NUMERIC[op](number, bound)
        for op, bound in pairs
    )


def _in_network(operand: Any, value: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(str(operand), strict=False)
    except ValueError:
        return False


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None
