"""SNS filter policies: which messages reach a subscriber."""

from __future__ import annotations

import json

import pytest

from overcast.events.sns_event import SnsAttribute
from overcast.events.sns_filter import matches, parse_policy
from overcast.events.sns_rules import SnsError

ATTRIBUTES = {
    "store": SnsAttribute("String", "example_corp"),
    "price": SnsAttribute("Number", "210.75"),
    "tags": SnsAttribute("String.Array", '["sale", "new"]'),
    "ip": SnsAttribute("String", "10.0.0.7"),
    "blob": SnsAttribute("Binary", binary_value=b"x"),
}


def _passes(policy: dict[str, object]) -> bool:
    return matches(policy, "MessageAttributes", ATTRIBUTES, "")


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"store": ["example_corp"]}, True),
        ({"store": ["other", "example_corp"]}, True),  # OR within a key
        ({"store": ["example_corp"], "price": [1]}, False),  # AND across keys
        ({"price": [210.75]}, True),
        ({"price": [{"numeric": [">", 100, "<=", 300]}]}, True),
        ({"price": [{"numeric": ["<", 100]}]}, False),
        ({"store": [{"prefix": "exam"}]}, True),
        ({"store": [{"suffix": "_corp"}]}, True),
        ({"store": [{"equals-ignore-case": "EXAMPLE_CORP"}]}, True),
        ({"store": [{"anything-but": ["example_corp"]}]}, False),
        ({"store": [{"anything-but": {"prefix": "other"}}]}, True),
        ({"tags": ["new"]}, True),  # any element of an array
        ({"tags": ["old"]}, False),
        ({"missing": [{"exists": False}]}, True),
        ({"missing": ["x"]}, False),
        ({"blob": [{"exists": True}]}, True),
        ({"blob": ["x"]}, False),  # binary values are never compared
        ({"ip": [{"cidr": "10.0.0.0/24"}]}, True),
        ({"$or": [{"store": ["nope"]}, {"price": [{"numeric": [">", 200]}]}]}, True),
    ],
)
def test_message_attribute_policies(policy: dict[str, object], expected: bool) -> None:
    assert _passes(policy) is expected


def test_body_scope_walks_nested_json() -> None:
    body = json.dumps({"order": {"kind": "book", "total": 12}, "tags": ["a", "b"]})
    policy = {"order": {"kind": ["book"], "total": [{"numeric": [">=", 10]}]}, "tags": ["b"]}
    assert matches(policy, "MessageBody", {}, body)
    assert not matches({"order": {"kind": ["toy"]}}, "MessageBody", {}, body)
    assert not matches(policy, "MessageBody", {}, "not json")


def test_no_policy_lets_everything_through() -> None:
    assert matches(None, "MessageAttributes", {}, "")


def test_malformed_policies_are_invalid_parameters() -> None:
    for text in ("{", "[]", '{"a": "b"}', '{"a": []}', '{"$or": {"a": ["b"]}}'):
        with pytest.raises(SnsError) as info:
            parse_policy(text)
        assert info.value.code == "InvalidParameter"
