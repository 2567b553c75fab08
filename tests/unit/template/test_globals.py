"""Globals: SAM's merge rules, checked against aws-sam-translator's own implementation."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.plugins.globals.globals import Globals as SamGlobals

from overcast.template import InvalidTemplateError
from overcast.template.globals import SUPPORTED_PROPERTIES, parse_globals
from overcast.template.yaml_loader import LocatedDict, parse_yaml

from .helpers import function, load_resources, messages


def test_supported_properties_match_the_installed_samtranslator() -> None:
    theirs = {
        resource_type.removeprefix("AWS::Serverless::"): tuple(props)
        for resource_type, props in SamGlobals.supported_properties.items()
    }
    assert dict(SUPPORTED_PROPERTIES) == theirs


MERGE_CASES: list[tuple[str, str]] = [
    # scalars: the resource wins
    ("Timeout: 3\nRuntime: python3.11", "Timeout: 10"),
    # maps merge recursively
    (
        "Environment:\n  Variables:\n    A: '1'\n    B: '2'",
        "Environment:\n  Variables:\n    B: x\n    C: y",
    ),
    # lists concatenate, globals first
    ("Layers: [l1, l2]", "Layers: [l3]"),
    # ... except Architectures, which the resource replaces
    ("Architectures: [x86_64]", "Architectures: [arm64]"),
    # an intrinsic is a scalar: it replaces a map and is replaced by one
    ("Environment: !Ref Env", "Environment:\n  Variables: {A: b}"),
    ("Environment:\n  Variables: {A: b}", "Environment: !If [C, {Variables: {X: y}}, {}]"),
    # different kinds: the resource wins
    ("CodeUri: src/", "CodeUri: {Bucket: b, Key: k}"),
    # nothing local
    ("MemorySize: 256", "Handler: app.h"),
]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@pytest.mark.parametrize(("global_yaml", "local_yaml"), MERGE_CASES)
def test_merge_matches_samtranslator(global_yaml: str, local_yaml: str) -> None:
    global_props = parse_yaml(global_yaml, "t.yaml")
    local_props = parse_yaml(local_yaml, "t.yaml")
    ours = parse_globals(LocatedDict({"Function": global_props})).applied(
        "AWS::Serverless::Function", local_props, logical_id="Fn"
    )
    sam = SamGlobals({"Globals": {"Function": _plain(global_props)}})
    theirs = sam.merge("AWS::Serverless::Function", copy.deepcopy(_plain(local_props)), "Fn")
    assert _plain(ours) == theirs


def test_function_globals_apply_to_every_function() -> None:
    before = "Globals:\n  Function:\n    Timeout: 10\n    MemorySize: 512\n"
    resources = function("A") + function("B", props="Timeout: 20")
    model = load_resources(resources, before=before)
    assert (model.functions["A"].timeout_s, model.functions["A"].memory_mb) == (10.0, 512)
    assert (model.functions["B"].timeout_s, model.functions["B"].memory_mb) == (20.0, 512)


def test_environment_variables_merge_with_globals() -> None:
    before = "Globals:\n  Function:\n    Environment:\n      Variables: {AA: '1', BB: '2'}\n"
    resources = function(props="Environment:\n  Variables: {BB: local, CC: '3'}\n")
    env = load_resources(resources, before=before).functions["Hello"].environment
    assert env == {"AA": "1", "BB": "local", "CC": "3"}


def test_ignore_globals_star_and_list() -> None:
    before = "Globals:\n  Function:\n    Timeout: 10\n    MemorySize: 512\n"
    star = function("A").replace("    Properties:", "    IgnoreGlobals: '*'\n    Properties:")
    some = function("B").replace("    Properties:", "    IgnoreGlobals: [Timeout]\n    Properties:")
    model = load_resources(star + some, before=before)
    assert (model.functions["A"].timeout_s, model.functions["A"].memory_mb) == (3.0, 128)
    assert (model.functions["B"].timeout_s, model.functions["B"].memory_mb) == (3.0, 512)


def test_ignore_globals_naming_an_unset_property_is_an_error() -> None:
    before = "Globals:\n  Function:\n    Timeout: 10\n"
    resources = function().replace(
        "    Properties:", "    IgnoreGlobals: [Tracing]\n    Properties:"
    )
    with pytest.raises(InvalidTemplateError, match="IgnoreGlobals' on item 'Tracing'"):
        load_resources(resources, before=before)


def test_api_globals_apply_to_the_implicit_rest_api() -> None:
    before = "Globals:\n  Api:\n    Cors: \"'*'\"\n    Variables: {Mode: test}\n"
    resources = function(events="E:\n  Type: Api\n  Properties: {Path: /x, Method: get}\n")
    api = load_resources(resources, before=before).apis["ServerlessRestApi"]
    assert api.stage_name == "Prod"
    assert api.cors is not None
    assert api.cors.allow_origins == ("*",)
    assert api.stage_variables == {"Mode": "test"}


def test_http_api_globals_apply_to_the_implicit_http_api() -> None:
    before = "Globals:\n  HttpApi:\n    CorsConfiguration: true\n"
    resources = function(events="E:\n  Type: HttpApi\n")
    api = load_resources(resources, before=before).apis["ServerlessHttpApi"]
    assert api.cors is not None
    assert api.cors.allow_origins == ("*",)


@pytest.mark.parametrize(
    ("globals_yaml", "match"),
    [
        ("Globals:\n  Function:\n    FunctionName: x\n", "'FunctionName' is not a supported"),
        ("Globals:\n  Api:\n    StageName: v1\n", "'StageName' is not a supported"),
        ("Globals:\n  Lambda:\n    Timeout: 3\n", "'Lambda' is not supported"),
        ("Globals:\n  Function: 3\n", "must be a dictionary"),
        ("Globals: []\n", "non-empty dictionary"),
    ],
)
def test_invalid_globals_are_errors_as_in_sam(globals_yaml: str, match: str) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_resources(function(), before=globals_yaml)
    assert info.value.location is not None


def test_unsupported_global_property_warns_once_not_per_function() -> None:
    before = "Globals:\n  Function:\n    Tracing: Active\n"
    model = load_resources(function("A") + function("B"), before=before)
    tracing = [m for m in messages(model) if "Tracing" in m]
    assert tracing == [
        "Globals Function: property 'Tracing' is not supported by overcast; it is ignored"
    ]
    assert model.warnings[0].location is not None
    assert model.warnings[0].location.line == 4
