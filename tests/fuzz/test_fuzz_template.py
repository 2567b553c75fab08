"""Fuzzing the template loader: YAML text, anchors, and CloudFormation intrinsics.

A template comes from outside: an app's author writes it, and the deploy API takes it
from an upload, so the platform parses whatever a deployer key sends. Whatever the
text, :func:`load_template` either gives an :class:`AppModel` or raises a
:class:`TemplateError` (which points at ``file:line``), never another exception and
never a hang: arbitrary text, text built from YAML's own tokens (anchors, aliases,
tags, flow and block collections), and structured SAM documents whose properties are
intrinsic functions nested inside each other, written as YAML or JSON.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.template import TemplateError
from overcast.template.loader import load_template
from overcast.template.yaml_loader import parse_yaml


def load(text: str) -> None:
    error: TemplateError | None = None
    try:
        with no_hang(f"loading {len(text)} characters of template", cpu=True):
            load_template(text, filename="template.yaml", base_dir="/nonexistent")
    except TemplateError as raised:
        error = raised
    if error is not None:
        assert error.location is None or error.location.file == "template.yaml"


def parse(text: str) -> None:
    error: TemplateError | None = None
    try:
        with no_hang(f"parsing {len(text)} characters of YAML", cpu=True):
            parse_yaml(text, "template.yaml")
    except TemplateError as raised:
        error = raised
    if error is not None:
        assert error.location is None or error.location.line >= 1


# --- text ---------------------------------------------------------------------------

_YAML_TOKENS = st.sampled_from(
    [
        "a", "b", ": ", ":", "- ", "-", "\n", "\n  ", "\n    ", "  ", "\t", "[", "]", "{", "}",
        ", ", "&a ", "&b ", "*a", "*b", "<<: ", "!Ref ", "!Sub ", "!GetAtt ", "!If ", "!Join ",
        "!Select ", "!Split ", "!FindInMap ", "!Base64 ", "!Unknown ", "!!str ", "!!binary ",
        "!!python/object ", "'", '"', "\\", "#", "%YAML 1.1\n", "---\n", "...\n", "? ", "|\n",
        ">\n", "${AWS::Region}", "${X}", "${", "Resources", "Type", "Properties",
        "AWS::Serverless::Function", "Transform: AWS::Serverless-2016-10-31\n", "~", "null",
        "1e9999", "0x1F", "2012-10-17", "\x05", "\x00", "\ufeff", "\u2028", "é",
    ]
)  # fmt: skip
_yaml_ish = st.lists(_YAML_TOKENS, max_size=60).map("".join)


@given(st.one_of(st.text(max_size=2000), _yaml_ish))
@example("\x05")  # found by atheris: a yaml.ReaderError escaped
@example("a: &a [*a]")
@example("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n")
def test_any_text_parses_or_is_a_template_syntax_error(text: str) -> None:
    parse(text)
    load(text)


def _bomb(levels: int, fan_out: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * fan_out) + "]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * fan_out) + "]")
    return "\n".join(lines) + "\n"


@given(levels=st.integers(min_value=1, max_value=12), fan_out=st.integers(1, 12))
def test_nested_aliases_of_any_depth_are_parsed_or_refused_without_a_hang(
    levels: int, fan_out: int
) -> None:
    header = (
        "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n"
        "    Type: AWS::Serverless::Function\n    Properties:\n      Handler: a.b\n"
        "      Runtime: python3.11\n      Bomb:\n"
    )
    body = "".join(f"        {line}\n" for line in _bomb(levels, fan_out).splitlines())
    load(header + body)


# --- structured documents -----------------------------------------------------------

_NAMES = st.sampled_from(["Fn", "Api", "Stage", "Cond", "Map", "P", "AWS::Region", "Nope", ""])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _NAMES,
    st.sampled_from(["${Stage}", "${Fn.Arn}", "${!Literal}", "${AWS::AccountId}", "a,b", "${"]),
    st.text(max_size=10),
)
_FUNCTIONS = [
    "Ref", "Condition", "Fn::Sub", "Fn::GetAtt", "Fn::If", "Fn::Join", "Fn::Select",
    "Fn::Split", "Fn::FindInMap", "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not",
    "Fn::Base64", "Fn::GetAZs", "Fn::ImportValue", "Fn::Cidr", "Fn::Length",
    "Fn::ToJsonString", "Fn::Transform", "Fn::Unknown",
]  # fmt: skip


def _extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(_FUNCTIONS), inner, min_size=1, max_size=1),
        st.dictionaries(st.one_of(_NAMES, st.text(max_size=6)), inner, max_size=4),
    )


_VALUES: st.SearchStrategy[Any] = st.recursive(_SCALARS, _extend, max_leaves=25)
_PROPERTY_NAMES = st.sampled_from(
    [
        "Handler", "Runtime", "CodeUri", "MemorySize", "Timeout", "Environment", "Events",
        "Policies", "FunctionName", "Layers", "AutoPublishAlias", "Unknown", "Tags",
        "ReservedConcurrentExecutions", "Architectures", "DeploymentPreference",
    ]
)  # fmt: skip


@st.composite
def templates(draw: st.DrawFn) -> dict[str, Any]:
    """A SAM-shaped document: every value may be an intrinsic, valid or not."""
    properties: dict[str, Any] = {"Handler": "app.handler", "Runtime": "python3.11"}
    properties.update(draw(st.dictionaries(_PROPERTY_NAMES, _VALUES, max_size=5)))
    event = {
        "Type": draw(st.sampled_from(["HttpApi", "Api", "Schedule", "SQS", "Nope"])),
        "Properties": draw(
            st.one_of(
                st.fixed_dictionaries(
                    {
                        "Path": st.sampled_from(["/a", "/{p}", "/{p+}", "a", ""]),
                        "Method": st.sampled_from(["get", "ANY", "x"]),
                    }
                ),
                _VALUES,
            )
        ),
    }
    if draw(st.booleans()):
        properties["Events"] = {"E": event}
    document: dict[str, Any] = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Fn": {"Type": "AWS::Serverless::Function", "Properties": properties}},
    }
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["String", "Number", "CommaDelimitedList"]))
        document["Parameters"] = {"Stage": {"Type": kind, "Default": draw(_SCALARS)}}
    if draw(st.booleans()):
        document["Conditions"] = {"Cond": draw(_VALUES)}
        document["Resources"]["Fn"]["Condition"] = "Cond"
    if draw(st.booleans()):
        document["Mappings"] = {"Map": {"a": {"b": draw(_VALUES)}}}
    if draw(st.booleans()):
        document["Globals"] = {"Function": draw(st.dictionaries(_PROPERTY_NAMES, _VALUES))}
    return document


@given(templates(), st.booleans())
def test_structured_templates_with_intrinsics_load_or_are_a_template_error(
    document: dict[str, Any], as_json: bool
) -> None:
    if as_json:
        text = json.dumps(document, default=str)
    else:
        text = yaml.safe_dump(document, allow_unicode=True)
    load(text)
