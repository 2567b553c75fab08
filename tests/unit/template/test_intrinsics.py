"""Intrinsic functions resolved against parameters, pseudo parameters, mappings, resources."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.template import IntrinsicFunctionError, UnresolvedReferenceError
from overcast.template.intrinsics import NO_VALUE, Resolver
from overcast.template.loader import pseudo_parameters
from overcast.template.yaml_loader import parse_yaml


class FakeResources:
    """Two resources: a function named 'hello-fn' and an API with id 'abc1234567'."""

    def __contains__(self, logical_id: object) -> bool:
        return logical_id in ("Hello", "Api")

    def names(self) -> list[str]:
        return ["Hello", "Api"]

    def ref(self, logical_id: str, location: object) -> Any:
        return {"Hello": "hello-fn", "Api": "abc1234567"}[logical_id]

    def get_att(self, logical_id: str, attribute: str, location: object) -> Any:
        if (logical_id, attribute) == ("Hello", "Arn"):
            return "arn:aws:lambda:us-east-1:123456789012:function:hello-fn"
        raise UnresolvedReferenceError(f"no attribute {attribute}")


def resolver(conditions: dict[str, Any] | None = None) -> Resolver:
    return Resolver(
        parameters={"Stage": "dev", "Sizes": ["1", "2", "3"], "Count": "2"},
        pseudo_parameters=pseudo_parameters("mystack", "eu-west-1", "111122223333"),
        mappings={"Env": {"dev": {"Memory": 256, "Name": "d"}, "prod": {"Memory": 1024}}},
        conditions=conditions or {},
        resources=FakeResources(),
        region="eu-west-1",
    )


def resolve(yaml_value: str, conditions: dict[str, Any] | None = None) -> Any:
    doc = parse_yaml(f"v: {yaml_value}\n", "t.yaml")
    return resolver(conditions).resolve(doc)["v"] if doc else None


def test_ref_parameter() -> None:
    assert resolve("!Ref Stage") == "dev"


def test_ref_list_parameter_is_a_list() -> None:
    assert resolve("!Ref Sizes") == ["1", "2", "3"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AWS::Region", "eu-west-1"),
        ("AWS::AccountId", "111122223333"),
        ("AWS::StackName", "mystack"),
        ("AWS::Partition", "aws"),
        ("AWS::URLSuffix", "amazonaws.com"),
    ],
)
def test_ref_pseudo_parameter(name: str, value: str) -> None:
    assert resolve(f"!Ref {name}") == value


def test_stack_id_is_a_stable_cloudformation_arn() -> None:
    stack_id = resolve("!Ref AWS::StackId")
    assert stack_id.startswith("arn:aws:cloudformation:eu-west-1:111122223333:stack/mystack/")
    assert stack_id == resolve("!Ref AWS::StackId")


def test_china_region_has_its_partition_and_suffix() -> None:
    pseudo = pseudo_parameters("s", "cn-north-1", "1")
    assert (pseudo["AWS::Partition"], pseudo["AWS::URLSuffix"]) == ("aws-cn", "amazonaws.com.cn")


def test_ref_resource_uses_the_resource_table() -> None:
    assert resolve("!Ref Hello") == "hello-fn"


def test_ref_unknown_suggests_a_close_name() -> None:
    with pytest.raises(UnresolvedReferenceError, match="'Stag'") as info:
        resolve("!Ref Stag")
    assert "Stage" in info.value.hint
    assert str(info.value).startswith("t.yaml:1:4:")


def test_ref_unknown_pseudo_parameter() -> None:
    with pytest.raises(UnresolvedReferenceError, match="pseudo parameter 'AWS::Regoin'"):
        resolve("!Ref AWS::Regoin")


def test_no_value_removes_the_key() -> None:
    doc = parse_yaml("a: 1\nb: !Ref AWS::NoValue\n", "t.yaml")
    assert resolver().resolve(doc) == {"a": 1}


def test_no_value_removes_a_list_item() -> None:
    assert resolve("[a, !Ref AWS::NoValue, b]") == ["a", "b"]


def test_sub_parameters_pseudo_and_attributes() -> None:
    value = resolve("!Sub '${Stage}-${AWS::Region}-${Hello}-${Hello.Arn}'")
    assert value == (
        "dev-eu-west-1-hello-fn-arn:aws:lambda:us-east-1:123456789012:function:hello-fn"
    )


def test_sub_escaped_literal_keeps_the_braces() -> None:
    assert resolve("!Sub '${!Literal}-${Stage}'") == "${Literal}-dev"


def test_sub_with_variable_map() -> None:
    assert resolve("!Sub ['${A}/${Stage}', {A: !Join ['-', [x, y]]}]") == "x-y/dev"


def test_sub_of_a_list_value_is_an_error() -> None:
    with pytest.raises(IntrinsicFunctionError, match="not a string"):
        resolve("!Sub '${Sizes}'")


def test_sub_unknown_variable_names_it() -> None:
    with pytest.raises(UnresolvedReferenceError, match="Nope"):
        resolve("!Sub 'a-${Nope}'")


@settings(deadline=None)  # no timing thresholds: a busy machine must not fail this
@given(st.text(alphabet=st.characters(blacklist_characters="$", blacklist_categories=("Cs",))))
def test_sub_leaves_text_without_variables_unchanged(text: str) -> None:
    assert resolver().resolve({"Fn::Sub": text}) == text


@settings(deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="}", blacklist_categories=("Cs",))))
def test_sub_escaped_variable_round_trips(name: str) -> None:
    assert resolver().resolve({"Fn::Sub": "${!" + name + "}"}) == "${" + name + "}"


def test_join_with_numbers_and_list_parameter() -> None:
    assert resolve("!Join ['-', [a, 1, true]]") == "a-1-true"
    assert resolve("!Join [',', !Ref Sizes]") == "1,2,3"


def test_join_of_a_non_list_is_an_error() -> None:
    with pytest.raises(IntrinsicFunctionError, match="needs a list"):
        resolve("!Join [',', abc]")


def test_select_and_split() -> None:
    assert resolve("!Select [1, !Split [',', 'a,b,c']]") == "b"
    assert resolve("!Select ['2', !Ref Sizes]") == "3"


def test_select_out_of_range() -> None:
    with pytest.raises(IntrinsicFunctionError, match="out of range"):
        resolve("!Select [5, [a, b]]")


def test_find_in_map_with_ref_keys() -> None:
    assert resolve("!FindInMap [Env, !Ref Stage, Memory]") == 256


def test_find_in_map_missing_key_names_it() -> None:
    with pytest.raises(UnresolvedReferenceError, match="'prod' → 'Name'"):
        resolve("!FindInMap [Env, prod, Name]")


def test_find_in_map_unknown_map() -> None:
    with pytest.raises(UnresolvedReferenceError, match="no mapping 'Envs'") as info:
        resolve("!FindInMap [Envs, dev, Memory]")
    assert "Env" in info.value.hint


def test_find_in_map_default_value() -> None:
    assert resolve("!FindInMap [Env, prod, Name, {DefaultValue: p}]") == "p"


def test_base64() -> None:
    assert resolve("!Base64 hello") == base64.b64encode(b"hello").decode()


def test_get_azs_uses_the_region() -> None:
    assert resolve("!GetAZs ''") == ["eu-west-1a", "eu-west-1b", "eu-west-1c"]


def test_cidr() -> None:
    assert resolve("!Cidr [10.0.0.0/16, 3, 8]") == ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"]


def test_get_att_long_form_and_unknown_resource() -> None:
    assert resolve("!GetAtt [Hello, Arn]").endswith(":function:hello-fn")
    with pytest.raises(UnresolvedReferenceError, match="no resource 'Helo'") as info:
        resolve("!GetAtt Helo.Arn")
    assert "Hello" in info.value.hint


def test_if_picks_the_branch_and_no_value_drops_the_key() -> None:
    conditions = {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}}
    doc = parse_yaml("a: !If [IsDev, yes-dev, no]\nb: !If [IsDev, !Ref AWS::NoValue, x]\n", "t")
    assert resolver(conditions).resolve(doc) == {"a": "yes-dev"}


def test_if_evaluates_only_the_chosen_branch() -> None:
    conditions = {"IsDev": {"Fn::Equals": ["dev", "dev"]}}
    assert resolve("!If [IsDev, ok, !Ref Missing]", conditions) == "ok"


def test_if_with_unknown_condition() -> None:
    with pytest.raises(UnresolvedReferenceError, match="condition 'Nope' is not defined"):
        resolve("!If [Nope, a, b]")


def test_import_value_is_explained() -> None:
    with pytest.raises(IntrinsicFunctionError, match="ImportValue") as info:
        resolve("!ImportValue Shared")
    assert "Parameter" in info.value.hint


def test_unknown_function_is_an_error() -> None:
    with pytest.raises(IntrinsicFunctionError, match="Fn::Nope"):
        resolver().resolve({"Fn::Nope": 1})


def test_resolving_keeps_locations_of_plain_mappings() -> None:
    doc = parse_yaml("outer:\n  inner: !Ref Stage\n", "t.yaml")
    resolved = resolver().resolve(doc)
    assert resolved["outer"] == {"inner": "dev"}
    assert resolved["outer"].key_location("inner") == doc["outer"].key_location("inner")


def test_no_value_sentinel_is_a_singleton() -> None:
    assert resolver().resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
