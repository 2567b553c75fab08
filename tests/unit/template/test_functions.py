"""AWS::Serverless::Function → FunctionSpec: values, defaults and the errors Lambda would give."""

from __future__ import annotations

import pytest

from overcast.template import (
    InvalidTemplateError,
    Location,
    UnsupportedFeatureError,
)

from .helpers import BASE_DIR, function, load, load_resources, messages, sam


def test_full_function() -> None:
    resources = function(
        props="""
CodeUri: functions/hello/
MemorySize: 1024
Timeout: 30
FunctionName: hello-fn
Description: says hello
Architectures: [arm64]
ReservedConcurrentExecutions: 5
ProvisionedConcurrencyConfig:
  ProvisionedConcurrentExecutions: 2
Environment:
  Variables:
    PORT: 8080
    DEBUG: true
    RATIO: 0.5
    NAME: plain
"""
    )
    spec = load_resources(resources).functions["Hello"]
    assert spec.name == "hello-fn"
    assert spec.handler == "app.handler"
    assert spec.runtime == "python3.12"
    assert spec.code_dir == f"{BASE_DIR}/functions/hello"
    assert (spec.memory_mb, spec.timeout_s) == (1024, 30.0)
    assert spec.description == "says hello"
    assert spec.architectures == ("arm64",)
    assert (spec.reserved_concurrency, spec.provisioned_concurrency) == (5, 2)
    # Lambda hands values over as strings, booleans in lower case.
    assert spec.environment == {"PORT": "8080", "DEBUG": "true", "RATIO": "0.5", "NAME": "plain"}
    assert spec.location == Location("template.yaml", 3, 3)


def test_defaults_match_lambda() -> None:
    spec = load_resources(function()).functions["Hello"]
    assert spec.name == "Hello"
    assert spec.code_dir == BASE_DIR
    assert (spec.memory_mb, spec.timeout_s) == (128, 3.0)
    assert spec.environment == {}
    assert (spec.reserved_concurrency, spec.provisioned_concurrency) == (None, 0)
    assert spec.architectures == ("x86_64",)


def test_code_uri_parent_folder_is_normalised() -> None:
    spec = load_resources(function(props="CodeUri: ../shared/src")).functions["Hello"]
    assert spec.code_dir == "/srv/shared/src"


def test_function_without_handler_points_at_its_properties() -> None:
    text = sam(
        """
        Resources:
          Hello:
            Type: AWS::Serverless::Function
            Properties:
              Runtime: python3.12
        """
    )
    with pytest.raises(InvalidTemplateError) as info:
        load(text)
    assert str(info.value) == (
        "template.yaml:5:5: Function 'Hello' has no Handler — "
        "add Handler: app.handler (module.function)"
    )


@pytest.mark.parametrize(
    ("props", "error", "match"),
    [
        ("Runtime: nodejs20.x", UnsupportedFeatureError, "only Python"),
        ("Runtime: python3.8", UnsupportedFeatureError, "python3.9 to python3.13"),
        ("MemorySize: 64", InvalidTemplateError, "between 128 and 10240"),
        ("MemorySize: 20000", InvalidTemplateError, "between 128 and 10240"),
        ("Timeout: 0", InvalidTemplateError, "between 1 and 900"),
        ("Timeout: 901", InvalidTemplateError, "between 1 and 900"),
        ("Timeout: soon", InvalidTemplateError, "whole number"),
        ("CodeUri: s3://bucket/key.zip", UnsupportedFeatureError, "local folder"),
        ("CodeUri: {Bucket: b, Key: k}", UnsupportedFeatureError, "local folder"),
        ("PackageType: Image", UnsupportedFeatureError, "only Zip"),
        ("Architectures: [sparc]", InvalidTemplateError, "x86_64"),
        ("FunctionName: 'has space'", InvalidTemplateError, "not a valid Lambda function name"),
        ("Environment: {Variables: {AWS_REGION: x}}", InvalidTemplateError, "reserved"),
        ("Environment: {Variables: {1BAD: x}}", InvalidTemplateError, "not allowed by Lambda"),
        ("Environment: {Variables: {EMPTY: }}", InvalidTemplateError, "must be a string"),
        (
            "ReservedConcurrentExecutions: 1\nProvisionedConcurrencyConfig:\n"
            "  ProvisionedConcurrentExecutions: 2",
            InvalidTemplateError,
            "reserves only 1",
        ),
    ],
)
def test_invalid_function_properties(props: str, error: type[Exception], match: str) -> None:
    resources = function(props=props)
    if props.startswith("Runtime:"):
        resources = resources.replace("      Runtime: python3.12\n", "")
    with pytest.raises(error, match=match) as info:
        load_resources(resources)
    assert getattr(info.value, "location", None) is not None


def test_runtime_error_points_at_the_runtime_line() -> None:
    resources = function(props="Runtime: go1.x").replace("      Runtime: python3.12\n", "")
    with pytest.raises(UnsupportedFeatureError) as info:
        load_resources(resources)
    assert info.value.location == Location("template.yaml", 7, 7)


def test_handler_without_function_part() -> None:
    with pytest.raises(InvalidTemplateError, match=r"module\.function"):
        load_resources(function(handler="app"))


def test_environment_over_4_kb_is_rejected() -> None:
    big = "x" * 5000
    with pytest.raises(InvalidTemplateError, match="4 KB"):
        load_resources(function(props=f"Environment: {{Variables: {{BIG: {big}}}}}"))


def test_function_name_from_sub_and_ref_to_function() -> None:
    resources = function("A", props="FunctionName: !Sub '${AWS::StackName}-a'") + function(
        "B", props="Environment:\n  Variables:\n    TARGET: !Ref A\n    ARN: !GetAtt A.Arn\n"
    )
    model = load_resources(resources, stack_name="shop")
    assert model.functions["A"].name == "shop-a"
    assert model.functions["B"].environment == {
        "TARGET": "shop-a",
        "ARN": "arn:aws:lambda:us-east-1:123456789012:function:shop-a",
    }
    assert model.function_by_name("shop-a") is model.functions["A"]


def test_unknown_get_att_attribute_on_a_function() -> None:
    resources = function("A") + function(
        "B", props="Environment:\n  Variables:\n    X: !GetAtt A.Nope\n"
    )
    with pytest.raises(Exception, match="'A' has no attribute 'Nope'") as info:
        load_resources(resources)
    assert "Arn" in getattr(info.value, "hint", "")


def test_two_functions_with_the_same_name() -> None:
    resources = function("A", props="FunctionName: same") + function(
        "B", props="FunctionName: same"
    )
    with pytest.raises(InvalidTemplateError, match="both named 'same'"):
        load_resources(resources)


def test_inline_code_and_unsupported_properties_warn_once_each() -> None:
    resources = function(
        props="InlineCode: 'def handler(e, c): pass'\nPolicies: [AWSLambdaBasicExecutionRole]\n"
        "Tracing: Active\nTags: {team: a}"
    )
    model = load_resources(resources)
    assert messages(model) == [
        "Function 'Hello': property 'Tracing' is not supported by overcast; it is ignored",
        "Function 'Hello': InlineCode is not supported by overcast; it is ignored "
        "(put the code in a file under CodeUri)",
        "Function 'Hello': Policies: managed policy 'AWSLambdaBasicExecutionRole' is not "
        "applied by overcast; it is ignored (use a SAM policy template or a Statement "
        "overcast supports, see docs/policies.md)",
    ]
    assert all(w.location is not None for w in model.warnings)
