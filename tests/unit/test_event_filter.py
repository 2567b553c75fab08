"""Lambda's event filtering patterns: checked once, matched against records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from overcast.event_filter import FilterPatternError, matches_any, parse_pattern


def passes(pattern: dict[str, Any], record: dict[str, Any]) -> bool:
    return parse_pattern(json.dumps(pattern)).matches(record)


def sqs(body: Any) -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": "m1", "body": text, "attributes": {"ApproximateReceiveCount": "1"}}


def test_a_json_body_is_matched_by_an_object_pattern() -> None:
    pattern = {"body": {"RequestCode": ["BBBB"]}}
    assert passes(pattern, sqs({"RequestCode": "BBBB", "RecordNumber": 1}))
    assert not passes(pattern, sqs({"RequestCode": "AAAA"}))
    assert not passes(pattern, sqs("RequestCode BBBB"))  # not JSON: no match


def test_a_plain_body_is_matched_as_text() -> None:
    assert passes({"body": [{"prefix": "urgent"}]}, sqs("urgent: now"))
    assert not passes({"body": [{"prefix": "urgent"}]}, sqs("later"))


@pytest.mark.parametrize(
    ("condition", "value", "expected"),
    [
        ("a", "a", True), ("a", "b", False), (5, 5.0, True), (1, True, False),
        (None, None, True), (True, True, True),
        ({"prefix": "ab"}, "abc", True), ({"suffix": "bc"}, "abc", True),
        ({"suffix": "x"}, "abc", False), ({"equals-ignore-case": "ABC"}, "abc", True),
        ({"anything-but": ["a", "b"]}, "c", True), ({"anything-but": "a"}, "a", False),
        ({"anything-but": {"prefix": "in"}}, "out", True),
        ({"anything-but": {"prefix": "in"}}, "inside", False),
        ({"numeric": [">", 0, "<=", 5]}, 5, True), ({"numeric": [">", 0, "<=", 5]}, 6, False),
        ({"numeric": ["=", 3]}, "3", False),
    ],
)  # fmt: skip
def test_each_condition(condition: Any, value: Any, expected: bool) -> None:
    assert passes({"body": {"k": [condition]}}, sqs({"k": value})) is expected


def test_exists_and_missing_keys() -> None:
    assert passes({"body": {"k": [{"exists": True}]}}, sqs({"k": 1}))
    assert not passes({"body": {"k": [{"exists": True}]}}, sqs({"j": 1}))
    assert passes({"body": {"k": [{"exists": False}]}}, sqs({"j": 1}))
    assert not passes({"body": {"k": [{"anything-but": "x"}]}}, sqs({"j": 1}))


def test_arrays_match_when_any_element_does_and_keys_and() -> None:
    assert passes({"body": {"tags": ["red"]}}, sqs({"tags": ["blue", "red"]}))
    pattern = {"body": {"a": [1], "b": [2]}}
    assert passes(pattern, sqs({"a": 1, "b": 2}))
    assert not passes(pattern, sqs({"a": 1, "b": 3}))


def test_or_and_several_filters() -> None:
    either = {"body": {"$or": [{"a": [1]}, {"b": [2]}]}}
    assert passes(either, sqs({"b": 2}))
    assert not passes(either, sqs({"c": 3}))
    filters = [parse_pattern('{"body": {"a": [1]}}'), parse_pattern('{"body": {"a": [2]}}')]
    assert matches_any(filters, sqs({"a": 2}))
    assert not matches_any(filters, sqs({"a": 3}))
    assert matches_any([], sqs("anything"))


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", "{}", '{"a": 1}', '{"a": []}', '{"a": [{"like": "x"}]}',
     '{"a": [{"prefix": 1}]}', '{"a": [{"numeric": [">"]}]}', '{"$or": [{"a": [1]}]}'],
)  # fmt: skip
def test_invalid_patterns_are_refused(text: str) -> None:
    with pytest.raises(FilterPatternError, match="Invalid filter pattern definition"):
        parse_pattern(text)
