"""Lambda's event filtering (an event source mapping's ``FilterCriteria``); pure.

A neutral module (like ``schedule_expression``): the template checks patterns with it
at load, the events package matches records with it.

The rules, as the Lambda developer guide gives them ("Control which events Lambda
sends to your function", and "Using event filtering with an Amazon SQS event
source"):

- ``FilterCriteria: {Filters: [{Pattern: "<JSON>"}, ...]}``; up to five filters, ORed:
  a record that matches any of them is sent, one that matches none is discarded (an
  SQS message is then deleted).
- A pattern is a JSON object whose keys follow the record's; a leaf is an array of
  conditions, ORed: a literal (string, number, ``true``/``false``, ``null``: equal),
  or one of ``{"prefix": s}``, ``{"suffix": s}``, ``{"equals-ignore-case": s}``,
  ``{"anything-but": v | [v...] | {"prefix": s}}``, ``{"numeric": [op, n(, op, n)]}``
  (op ``=``, ``<``, ``<=``, ``>``, ``>=``) and ``{"exists": true | false}``.
  All keys of an object must match (AND); ``"$or": [pattern, ...]`` ORs sub-patterns.
  Against an array value, a leaf matches when any element does.
- An SQS record's ``body`` is matched as JSON when the pattern's ``body`` is an object
  (a body that is not a JSON object then does not match), as its text otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from overcast.errors import OvercastError

#: Lambda's default quota of filters per event source mapping
MAX_FILTERS: Final = 5
_STRING_OPERATORS: Final = ("prefix", "suffix", "equals-ignore-case")
_NUMERIC_OPS: Final = ("=", "<", "<=", ">", ">=")
_MISSING: Final = object()


class FilterPatternError(OvercastError):
    """A pattern Lambda would refuse (CreateEventSourceMapping's InvalidParameterValue)."""


@dataclass(frozen=True, slots=True)
class FilterPattern:
    """One parsed pattern (the JSON object), ready to match records."""

    text: str
    tree: Mapping[str, Any]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` (a record of the event, as JSON data) matches."""
        return _match_object(self.tree, record, top=True)


def parse_pattern(text: str) -> FilterPattern:
    """``text`` as a pattern, or :class:`FilterPatternError` saying what is wrong."""
    try:
        tree = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FilterPatternError(
            f"Invalid filter pattern definition: {text!r} is not JSON"
        ) from None
    if not isinstance(tree, dict) or not tree:
        raise FilterPatternError(
            f"Invalid filter pattern definition: {text!r} must be a non-empty JSON object"
        )
    _check_object(tree, text)
    return FilterPattern(text, tree)


def matches_any(patterns: Sequence[FilterPattern], record: Mapping[str, Any]) -> bool:
    """Whether ``record`` passes the filters (no filters: every record does)."""
    return not patterns or any(p.matches(record) for p in patterns)


# -- checking ---------------------------------------------------------------------------


def _invalid(text: str, why: str) -> FilterPatternError:
    return FilterPatternError(f"Invalid filter pattern definition: {why} (in {text})")


def _check_object(tree: Mapping[str, Any], text: str) -> None:
    for key, rule in tree.items():
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                raise _invalid(text, "$or takes a list of at least two patterns")
            for sub in rule:
                if not isinstance(sub, dict) or not sub:
                    raise _invalid(text, "each $or entry must be a non-empty object")
                _check_object(sub, text)
        elif isinstance(rule, dict):
            if not rule:
                raise _invalid(text, f"{key!r} is an empty object")
            _check_object(rule, text)
        elif isinstance(rule, list):
            if not rule:
                raise _invalid(text, f"{key!r} has an empty list of values")
            for condition in rule:
                _check_condition(condition, key, text)
        else:
            raise _invalid(text, f"{key!r} must be an object or a list of values, got {rule!r}")


def _check_condition(condition: Any, key: str, text: str) -> None:
    if condition is None or isinstance(condition, str | int | float | bool):
        return
    if not isinstance(condition, dict) or len(condition) != 1:
        raise _invalid(text, f"{key!r}: {condition!r} is not a value or a single operator")
    [(operator, operand)] = condition.items()
    if operator in _STRING_OPERATORS:
        if not isinstance(operand, str):
            raise _invalid(text, f"{key!r}: {operator} takes a string")
    elif operator == "exists":
        if not isinstance(operand, bool):
            raise _invalid(text, f"{key!r}: exists takes true or false")
    elif operator == "anything-but":
        values = operand if isinstance(operand, list) else [operand]
        if isinstance(operand, dict):
            if set(operand) != {"prefix"} or not isinstance(operand["prefix"], str):
                raise _invalid(text, f"{key!r}: anything-but takes values or a prefix")
        elif not values or not all(isinstance(v, str | int | float) for v in values):
            raise _invalid(text, f"{key!r}: anything-but takes strings or numbers")
    elif operator == "numeric":
        _check_numeric(operand, key, text)
    else:
        raise _invalid(text, f"{key!r}: unknown operator {operator!r}")


def _check_numeric(operand: Any, key: str, text: str) -> None:
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise _invalid(text, f"{key!r}: numeric takes [op, n] or [op, n, op, n]")
    for index in range(0, len(operand), 2):
        op, number = operand[index], operand[index + 1]
        if (
            op not in _NUMERIC_OPS
            or isinstance(number, bool)
            or not isinstance(number, int | float)
        ):
            raise _invalid(text, f"{key!r}: numeric {op!r} {number!r} is not a comparison")


# -- matching ---------------------------------------------------------------------------


def _match_object(tree: Mapping[str, Any], data: Any, *, top: bool = False) -> bool:
    for key, rule in tree.items():
        if key == "$or":
            if not any(_match_object(sub, data, top=top) for sub in rule):
                return False
            continue
        value = data.get(key, _MISSING) if isinstance(data, Mapping) else _MISSING
        if top and key == "body" and isinstance(value, str) and isinstance(rule, dict):
            # an SQS body is matched as JSON when the pattern looks inside it
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                return False
        if isinstance(rule, dict):
            if not isinstance(value, Mapping) or not _match_object(rule, value):
                return False
        elif not _match_leaf(rule, value):
            return False
    return True


def _match_leaf(conditions: Sequence[Any], value: Any) -> bool:
    for condition in conditions:
        if isinstance(condition, dict) and "exists" in condition:
            present = value is not _MISSING and value != []
            if present == condition["exists"]:
                return True
            continue
        if value is _MISSING:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_match_one(condition, v) for v in values):
            return True
    return False


def _same(expected: Any, value: Any) -> bool:
    """JSON equality: numbers by value, never a boolean for a number."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(expected) is type(value) and expected == value
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _match_one(condition: Any, value: Any) -> bool:
    if not isinstance(condition, dict):
        return _same(condition, value)
    [(operator, operand)] = condition.items()
    if operator == "prefix":
        return isinstance(value, str) and value.startswith(operand)
    if operator == "suffix":
        return isinstance(value, str) and value.endswith(operand)
    if operator == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(operand).casefold()
    if operator == "anything-but":
        if isinstance(operand, dict):
            return isinstance(value, str) and not value.startswith(operand["prefix"])
        excluded = operand if isinstance(operand, list) else [operand]
        return not any(_same(e, value) for e in excluded)
    if operator == "numeric":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return all(
            _compare(operand[i], float(value), float(operand[i + 1]))
            for i in range(0, len(operand), 2)
        )
    return False


def _compare(op: str, value: float, bound: float) -> bool:
    if op == "=":
        return value == bound
    if op == "<":
        return value < bound
    if op == "<=":
        return value <= bound
    if op == ">":
        return value > bound
    return value >= bound
