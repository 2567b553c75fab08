"""Parameters: defaults, overrides (both CLI forms), types, constraints and their errors."""

from __future__ import annotations

import pytest

from overcast.template import ParameterError, parse_parameter_overrides

from .helpers import function, load_resources, messages

PARAMS = """
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Memory:
    Type: Number
    Default: 256
    MinValue: 128
  Origins:
    Type: CommaDelimitedList
    Default: "https://a.example, https://b.example"
  Secret:
    Type: String
"""

RESOURCES = function(
    props="""
MemorySize: !Ref Memory
Environment:
  Variables:
    STAGE: !Ref Stage
    ORIGINS: !Join [";", !Ref Origins]
    SECRET: !Ref Secret
"""
)


def load_params(overrides: dict[str, str]) -> object:
    return load_resources(RESOURCES, before=PARAMS, overrides=overrides)


def test_defaults_and_overrides_reach_the_function() -> None:
    model = load_resources(
        RESOURCES, before=PARAMS, overrides={"Secret": "s3cr3t", "Memory": "512"}
    )
    spec = model.functions["Hello"]
    assert spec.memory_mb == 512
    assert spec.environment == {
        "STAGE": "dev",
        "ORIGINS": "https://a.example;https://b.example",
        "SECRET": "s3cr3t",
    }
    assert model.parameters == {
        "Stage": "dev",
        "Memory": "512",
        "Origins": "https://a.example,https://b.example",
        "Secret": "s3cr3t",
    }


def test_missing_value_without_default_is_an_error_with_the_flag_to_use() -> None:
    with pytest.raises(ParameterError, match="'Secret' has no Default") as info:
        load_params({})
    assert "--parameter-overrides Secret=" in info.value.hint
    assert info.value.location is not None
    assert info.value.location.line == 14  # the "Secret:" key


def test_unknown_override_key_is_an_error_listing_declared_ones() -> None:
    with pytest.raises(ParameterError, match="'Stagee'") as info:
        load_params({"Secret": "x", "Stagee": "prod"})
    assert "Stage" in info.value.hint


def test_value_outside_allowed_values() -> None:
    with pytest.raises(ParameterError, match="'qa' is not allowed") as info:
        load_params({"Secret": "x", "Stage": "qa"})
    assert "dev, prod" in info.value.hint


def test_number_parameter_must_be_numeric_and_in_range() -> None:
    with pytest.raises(ParameterError, match="not a number"):
        load_params({"Secret": "x", "Memory": "lots"})
    with pytest.raises(ParameterError, match="below MinValue"):
        load_params({"Secret": "x", "Memory": "64"})


def test_list_number_parameter() -> None:
    before = "Parameters:\n  Ports:\n    Type: List<Number>\n    Default: '80,443'\n"
    resources = function(props="Environment:\n  Variables:\n    PORT: !Select [1, !Ref Ports]\n")
    assert load_resources(resources, before=before).functions["Hello"].environment == {
        "PORT": "443"
    }
    with pytest.raises(ParameterError, match="not a number"):
        load_resources(resources, before=before, overrides={"Ports": "80,x"})


def test_allowed_pattern_and_constraint_description() -> None:
    before = (
        "Parameters:\n  Name:\n    Type: String\n    Default: ok\n"
        "    AllowedPattern: '[a-z]+'\n    ConstraintDescription: lowercase letters only\n"
    )
    with pytest.raises(ParameterError, match="AllowedPattern") as info:
        load_resources(function(), before=before, overrides={"Name": "NO"})
    assert info.value.hint == "lowercase letters only"


def test_ssm_parameter_type_warns_that_it_is_not_looked_up() -> None:
    before = (
        "Parameters:\n  Conf:\n    Type: AWS::SSM::Parameter::Value<String>\n"
        "    Default: /app/conf\n"
    )
    model = load_resources(function(), before=before)
    assert any("not looked up in SSM" in m for m in messages(model))


def test_parameter_without_type_is_invalid() -> None:
    with pytest.raises(Exception, match="has no Type"):
        load_resources(function(), before="Parameters:\n  A:\n    Default: x\n")


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        (["Stage=prod"], {"Stage": "prod"}),
        (["Url=https://x/?a=b"], {"Url": "https://x/?a=b"}),
        (["ParameterKey=Stage,ParameterValue=prod"], {"Stage": "prod"}),
        (["ParameterKey=List,ParameterValue=a,b"], {"List": "a,b"}),
        (["Empty="], {"Empty": ""}),
        (["A=1", "A=2"], {"A": "2"}),
    ],
)
def test_parse_parameter_overrides(items: list[str], expected: dict[str, str]) -> None:
    assert parse_parameter_overrides(items) == expected


@pytest.mark.parametrize("item", ["novalue", "=x"])
def test_parse_parameter_overrides_rejects_malformed(item: str) -> None:
    with pytest.raises(ParameterError, match="Key=Value"):
        parse_parameter_overrides([item])
