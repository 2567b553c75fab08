"""The ``Conditions`` section: named booleans built from parameters.

Each condition is evaluated at most once, on first use, so an unused condition
that refers to something missing does no harm, and a cycle is reported rather
than recursing forever.

Reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Any

from overcast.template.errors import IntrinsicFunctionError, UnresolvedReferenceError
from overcast.template.model import Location
from overcast.template.yaml_loader import key_location, location_of

__all__ = ["ConditionEvaluator"]

# CloudFormation allows between 2 and 10 conditions in Fn::And / Fn::Or.
_MIN_OPERANDS, _MAX_OPERANDS = 2, 10

Resolve = Callable[[Any, Location | None], Any]


class ConditionEvaluator:
    """Evaluates named conditions; ``resolve`` turns Ref/FindInMap into values."""

    def __init__(self, section: Mapping[str, Any], resolve: Resolve) -> None:
        self._section = section
        self._resolve = resolve
        self._cache: dict[str, bool] = {}
        self._evaluating: list[str] = []

    def __contains__(self, name: object) -> bool:
        return name in self._section

    def is_true(self, name: str, location: Location | None = None) -> bool:
        """Whether condition ``name`` holds; raises if it is not defined."""
        if name in self._cache:
            return self._cache[name]
        if name not in self._section:
            close = difflib.get_close_matches(name, list(self._section), n=3)
            raise UnresolvedReferenceError(
                f"condition '{name}' is not defined",
                location=location,
                hint=f"did you mean {' or '.join(map(repr, close))}?"
                if close
                else "declare it under Conditions",
            )
        if name in self._evaluating:
            cycle = " → ".join([*self._evaluating[self._evaluating.index(name) :], name])
            raise IntrinsicFunctionError(
                f"conditions refer to each other in a circle: {cycle}",
                location=key_location(self._section, name, location),
            )
        self._evaluating.append(name)
        try:
            expression = self._section[name]
            here = location_of(expression) or key_location(self._section, name, location)
            value = self.evaluate(expression, here)
        finally:
            self._evaluating.pop()
        self._cache[name] = value
        return value

    def evaluate(self, expression: Any, location: Location | None) -> bool:
        """Evaluate one condition expression (Fn::Equals/And/Or/Not or Condition)."""
        here = location_of(expression) or location
        if not (isinstance(expression, dict) and len(expression) == 1):
            raise IntrinsicFunctionError(
                "a condition must be one of Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition",
                location=here,
                hint="write e.g. IsProd: !Equals [!Ref Stage, prod]",
            )
        name, args = next(iter(expression.items()))
        if name == "Condition":
            if not isinstance(args, str):
                raise IntrinsicFunctionError("Condition needs a condition name", location=here)
            return self.is_true(args, here)
        if name == "Fn::Equals":
            if not isinstance(args, list) or len(args) != 2:
                raise IntrinsicFunctionError(
                    "Fn::Equals needs two values", location=here, hint="write !Equals [!Ref A, b]"
                )
            left, right = (_comparable(self._resolve(arg, here)) for arg in args)
            return bool(left == right)
        if name in ("Fn::And", "Fn::Or"):
            if not isinstance(args, list) or not _MIN_OPERANDS <= len(args) <= _MAX_OPERANDS:
                raise IntrinsicFunctionError(
                    f"{name} needs a list of 2 to 10 conditions", location=here
                )
            results = (self.evaluate(arg, here) for arg in args)
            return all(results) if name == "Fn::And" else any(results)
        if name == "Fn::Not":
            if not isinstance(args, list) or len(args) != 1:
                raise IntrinsicFunctionError("Fn::Not needs a list of one condition", location=here)
            return not self.evaluate(args[0], here)
        raise IntrinsicFunctionError(
            f"'{name}' cannot be used as a condition",
            location=here,
            hint="use Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition",
        )


def _comparable(value: Any) -> Any:
    # CloudFormation compares the string forms: !Equals [!Ref Count, 1] holds for "1".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    return value
