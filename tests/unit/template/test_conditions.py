"""Conditions: Fn::Equals/And/Or/Not/Condition; resources with a false Condition are dropped."""

from __future__ import annotations

import pytest

from overcast.template import IntrinsicFunctionError, UnresolvedReferenceError

from .helpers import function, load_resources

BEFORE = """
Parameters:
  Stage:
    Type: String
    Default: dev
  Replicas:
    Type: Number
    Default: 1
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
  OneReplica: !Equals [!Ref Replicas, 1]
  DevAndOne: !And [!Condition IsDev, !Condition OneReplica]
  ProdOrOne: !Or [!Condition IsProd, !Condition OneReplica]
"""


def resources_with(condition: str) -> str:
    return function("Always") + function("Sometimes").replace(
        "    Type: AWS::Serverless::Function\n",
        f"    Type: AWS::Serverless::Function\n    Condition: {condition}\n",
    )


@pytest.mark.parametrize(
    ("condition", "overrides", "kept"),
    [
        ("IsProd", {}, False),
        ("IsProd", {"Stage": "prod"}, True),
        ("IsDev", {}, True),
        ("OneReplica", {}, True),  # a Number default 1 equals the string "1"
        ("DevAndOne", {"Replicas": "2"}, False),
        ("ProdOrOne", {"Replicas": "2"}, False),
        ("ProdOrOne", {"Stage": "prod", "Replicas": "2"}, True),
    ],
)
def test_resource_condition_keeps_or_drops_it(
    condition: str, overrides: dict[str, str], kept: bool
) -> None:
    model = load_resources(resources_with(condition), before=BEFORE, overrides=overrides)
    assert ("Sometimes" in model.functions) is kept
    assert "Always" in model.functions


def test_dropped_function_takes_its_routes_and_implicit_api_with_it() -> None:
    resources = function(
        "Sometimes", events="E:\n  Type: HttpApi\n  Properties: {Path: /x, Method: get}\n"
    ).replace("    Properties:\n", "    Condition: IsProd\n    Properties:\n", 1)
    resources += function("Always")
    model = load_resources(resources, before=BEFORE)
    assert model.routes == ()
    assert model.apis == {}


def test_reference_to_a_dropped_resource_names_the_condition() -> None:
    resources = resources_with("IsProd") + function(
        "User", props="Environment:\n  Variables:\n    OTHER: !Ref Sometimes\n"
    )
    with pytest.raises(UnresolvedReferenceError, match="Condition 'IsProd' is false"):
        load_resources(resources, before=BEFORE)


def test_undefined_condition_on_a_resource() -> None:
    with pytest.raises(UnresolvedReferenceError, match="condition 'IsProdd'") as info:
        load_resources(resources_with("IsProdd"), before=BEFORE)
    assert "IsProd" in info.value.hint
    assert info.value.location is not None


def test_circular_conditions_are_reported() -> None:
    before = "Conditions:\n  A: !Not [!Condition B]\n  B: !Not [!Condition A]\n"
    with pytest.raises(IntrinsicFunctionError, match="circle: A → B → A"):
        load_resources(resources_with("A"), before=before)


def test_condition_may_not_refer_to_a_resource() -> None:
    before = "Conditions:\n  C: !Equals [!Ref Always, x]\n"
    with pytest.raises(IntrinsicFunctionError, match="cannot refer to resource 'Always'"):
        load_resources(resources_with("C"), before=before)


def test_and_needs_two_to_ten_conditions() -> None:
    before = "Conditions:\n  A: !Equals [a, a]\n  C: !And [!Condition A]\n"
    with pytest.raises(IntrinsicFunctionError, match="2 to 10"):
        load_resources(resources_with("C"), before=before)


def test_fn_if_in_a_property_with_no_value() -> None:
    resources = function(
        props="""
Timeout: !If [IsProd, 30, !Ref AWS::NoValue]
Environment:
  Variables:
    MODE: !If [IsDev, debug, quiet]
"""
    )
    dev = load_resources(resources, before=BEFORE).functions["Hello"]
    assert (dev.timeout_s, dev.environment) == (3.0, {"MODE": "debug"})
    prod = load_resources(resources, before=BEFORE, overrides={"Stage": "prod"})
    assert prod.functions["Hello"].timeout_s == 30.0
