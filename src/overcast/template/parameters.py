"""Template ``Parameters``: defaults, caller overrides, types and constraints.

Reference: https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from overcast.template.errors import InvalidTemplateError, ParameterError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import Location, TemplateWarning
from overcast.template.yaml_loader import key_location, location_of

__all__ = ["ParameterValue", "parse_parameter_overrides", "resolve_parameters"]

ParameterValue = str | list[str]

_SIMPLE_TYPES = frozenset({"String", "Number", "CommaDelimitedList", "List<Number>"})
_SSM_TYPE = re.compile(r"AWS::SSM::Parameter::Value<.+>")
_AWS_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9:]+")
_AWS_LIST_TYPE = re.compile(r"List<AWS::[A-Za-z0-9:]+>")
_SAM_FORM = re.compile(r"ParameterKey=(?P<key>[^,]*),ParameterValue=(?P<value>.*)", re.DOTALL)


def parse_parameter_overrides(items: Sequence[str]) -> dict[str, str]:
    """Turn ``["Key=Value", "ParameterKey=K,ParameterValue=V"]`` into a dict.

    Both forms are what ``sam deploy --parameter-overrides`` accepts; a later item
    wins over an earlier one with the same key.
    """
    result: dict[str, str] = {}
    for item in items:
        match = _SAM_FORM.fullmatch(item)
        if match:
            key, value = match["key"], match["value"]
        else:
            key, sep, value = item.partition("=")
            if not sep:
                raise ParameterError(
                    f"parameter override '{item}' has no '='",
                    hint="write Key=Value or ParameterKey=Key,ParameterValue=Value",
                )
        key = key.strip()
        if not key:
            raise ParameterError(
                f"parameter override '{item}' has an empty key", hint="write Key=Value"
            )
        result[key] = value
    return result


def resolve_parameters(
    section: Any,
    overrides: Mapping[str, str],
    *,
    filename: str,
    section_location: Location | None = None,
) -> tuple[dict[str, ParameterValue], list[TemplateWarning]]:
    """Each declared parameter's value (overrides first, then Default), checked.

    List types become ``list[str]``; everything else stays a string, as CloudFormation
    hands parameters to resources.
    """
    if section is None:
        section = {}
    if not isinstance(section, dict):
        raise InvalidTemplateError(
            "Parameters must be a mapping of parameter names to definitions",
            location=location_of(section) or section_location,
        )
    unknown = sorted(set(overrides) - set(section))
    if unknown:
        declared = ", ".join(sorted(section)) or "none"
        raise ParameterError(
            f"parameter override for undeclared parameter {', '.join(map(repr, unknown))}",
            location=section_location or (Location(filename, 1) if not section else None),
            hint=f"declared parameters: {declared}",
        )

    values: dict[str, ParameterValue] = {}
    warnings: list[TemplateWarning] = []
    for name, spec in section.items():
        loc = key_location(section, name, section_location)
        if not isinstance(spec, dict):
            raise InvalidTemplateError(
                f"Parameter '{name}' must be a mapping with at least a Type", location=loc
            )
        kind = spec.get("Type")
        if not isinstance(kind, str):
            raise InvalidTemplateError(
                f"Parameter '{name}' has no Type", location=loc, hint="add Type: String"
            )
        if name in overrides:
            raw: str | None = overrides[name]
        elif "Default" in spec:
            default = spec["Default"]
            raw = ",".join(map(str, default)) if isinstance(default, list) else scalar_text(default)
        else:
            raw = None
        if raw is None:
            raise ParameterError(
                f"Parameter '{name}' has no Default and no value was given",
                location=loc,
                hint=f"pass --parameter-overrides {name}=VALUE or add a Default",
            )
        if _SSM_TYPE.fullmatch(kind):
            warnings.append(
                TemplateWarning(
                    f"Parameter '{name}' ({kind}) is not looked up in SSM by overcast; "
                    f"its value '{raw}' is used as is",
                    loc,
                )
            )
        values[name] = _typed_value(name, kind, raw, spec, loc)
    return values, warnings


def _typed_value(
    name: str, kind: str, raw: str, spec: Mapping[str, Any], loc: Location | None
) -> ParameterValue:
    is_list = kind in ("CommaDelimitedList", "List<Number>") or bool(_AWS_LIST_TYPE.fullmatch(kind))
    if not (
        kind in _SIMPLE_TYPES or is_list or _SSM_TYPE.fullmatch(kind) or _AWS_TYPE.fullmatch(kind)
    ):
        raise InvalidTemplateError(
            f"Parameter '{name}' has unknown Type '{kind}'",
            location=loc,
            hint="use String, Number, CommaDelimitedList, List<Number> or an AWS-specific type",
        )
    # CloudFormation trims each member of a comma-delimited list.
    items = [item.strip() for item in raw.split(",")] if is_list else [raw]
    for item in items:
        _check_constraints(name, kind, item, spec, loc)
    return items if is_list else raw


def _check_constraints(
    name: str, kind: str, value: str, spec: Mapping[str, Any], loc: Location | None
) -> None:
    def fail(problem: str, hint: str = "") -> ParameterError:
        text = spec.get("ConstraintDescription")
        message = f"Parameter '{name}' value '{value}' {problem}"
        return ParameterError(message, location=loc, hint=str(text) if text else hint)

    allowed = spec.get("AllowedValues")
    if isinstance(allowed, list):
        allowed_text = [scalar_text(item) for item in allowed]
        if value not in allowed_text:
            raise fail("is not allowed", "allowed values: " + ", ".join(map(str, allowed_text)))
    if kind in ("Number", "List<Number>"):
        try:
            number = float(value)
        except ValueError:
            raise fail("is not a number") from None
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if low is not None and number < float(low):
            raise fail(f"is below MinValue {low}")
        if high is not None and number > float(high):
            raise fail(f"is above MaxValue {high}")
        return
    pattern = spec.get("AllowedPattern")
    if isinstance(pattern, str) and re.fullmatch(pattern, value) is None:
        raise fail(f"does not match AllowedPattern {pattern}")
    shortest, longest = spec.get("MinLength"), spec.get("MaxLength")
    if shortest is not None and len(value) < int(shortest):
        raise fail(f"is shorter than MinLength {shortest}")
    if longest is not None and len(value) > int(longest):
        raise fail(f"is longer than MaxLength {longest}")
