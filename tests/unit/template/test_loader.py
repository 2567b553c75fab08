"""load_template end to end: sections, a realistic two-API app, warnings, the hello example."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from overcast.template import (
    InvalidTemplateError,
    Location,
    TemplateError,
    TemplateSyntaxError,
    load_template,
)

from .helpers import function, load, load_resources, messages

REPO = Path(__file__).resolve().parents[3]

SHOP = """\
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Description: two APIs, one REST and one HTTP, with CORS

Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]

Mappings:
  Sizes:
    dev: {Memory: 256}
    prod: {Memory: 1024}

Conditions:
  IsProd: !Equals [!Ref Stage, prod]

Globals:
  Function:
    Runtime: python3.12
    CodeUri: src/
    Timeout: 10
    MemorySize: !FindInMap [Sizes, !Ref Stage, Memory]
    Environment:
      Variables:
        STAGE: !Ref Stage
  HttpApi:
    CorsConfiguration:
      AllowOrigins: ["https://shop.example"]
      AllowMethods: [GET, POST]

Resources:
  AdminApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      Cors:
        AllowOrigin: "'https://admin.example'"
        AllowHeaders: "'Content-Type,Authorization'"
      Variables:
        Table: !Sub "${AWS::StackName}-orders"

  PublicApi:
    Type: AWS::Serverless::HttpApi

  Orders:
    Type: AWS::Serverless::Function
    Properties:
      Handler: orders.handler
      Environment:
        Variables:
          ADMIN_API: !Ref AdminApi
      Events:
        List:
          Type: Api
          Properties:
            RestApiId: !Ref AdminApi
            Path: /orders
            Method: get
        Create:
          Type: Api
          Properties:
            RestApiId: !Ref AdminApi
            Path: /orders/{id+}
            Method: any

  Catalog:
    Type: AWS::Serverless::Function
    Properties:
      Handler: catalog.handler
      Timeout: !If [IsProd, 20, !Ref AWS::NoValue]
      Events:
        Items:
          Type: HttpApi
          Properties:
            ApiId: !Ref PublicApi
            Path: /items/{id}
            Method: GET
        Fallback:
          Type: HttpApi
          Properties:
            ApiId: !Ref PublicApi

  Table:
    Type: AWS::DynamoDB::Table

Outputs:
  Url:
    Value: !Sub "https://${PublicApi}.execute-api.${AWS::Region}.amazonaws.com"
"""


def test_realistic_app_with_rest_and_http_api() -> None:
    model = load_template(
        SHOP, filename="shop/template.yaml", base_dir="/apps/shop", stack_name="shop"
    )
    assert set(model.functions) == {"Orders", "Catalog"}
    orders, catalog = model.functions["Orders"], model.functions["Catalog"]
    assert orders.code_dir == "/apps/shop/src"
    # SAM merges Globals before CloudFormation resolves intrinsics: Catalog's own
    # Timeout (an !If, so a scalar) wins over the global 10, then AWS::NoValue removes
    # it and Lambda's default of 3 s applies, exactly as on AWS.
    assert (orders.memory_mb, orders.timeout_s, catalog.timeout_s) == (256, 10.0, 3.0)
    assert orders.environment == {"STAGE": "dev", "ADMIN_API": model.apis["AdminApi"].api_id}

    admin, public = model.apis["AdminApi"], model.apis["PublicApi"]
    assert (admin.kind, admin.stage_name, admin.implicit) == ("rest", "dev", False)
    assert admin.stage_variables == {"Table": "shop-orders"}
    assert admin.cors is not None
    assert admin.cors.allow_origins == ("https://admin.example",)
    assert admin.cors.allow_headers == ("Content-Type", "Authorization")
    assert (public.kind, public.stage_name) == ("http", "$default")
    assert public.cors is not None
    assert public.cors.allow_origins == ("https://shop.example",)
    assert admin.api_id != public.api_id
    assert set(model.apis) == {"AdminApi", "PublicApi"}  # no implicit API was needed

    routes = {(r.api, r.method, r.path): (r.function, r.payload_format) for r in model.routes}
    assert routes == {
        ("AdminApi", "GET", "/orders"): ("Orders", "1.0"),
        ("AdminApi", "ANY", "/orders/{id+}"): ("Orders", "1.0"),
        ("PublicApi", "GET", "/items/{id}"): ("Catalog", "2.0"),
        ("PublicApi", "ANY", "$default"): ("Catalog", "2.0"),
    }
    assert messages(model) == [
        "Resource 'Table' (AWS::DynamoDB::Table) is not run by overcast; it is ignored"
    ]
    table_line = SHOP.splitlines().index("  Table:") + 1
    assert model.warnings[0].location == Location("shop/template.yaml", table_line, 3)


def test_realistic_app_in_prod() -> None:
    model = load_template(
        SHOP, filename="t.yaml", base_dir="/a", parameter_overrides={"Stage": "prod"}
    )
    assert model.functions["Catalog"].memory_mb == 1024
    assert model.functions["Catalog"].timeout_s == 20.0
    assert model.apis["AdminApi"].stage_name == "prod"
    assert model.parameters == {"Stage": "prod"}


def test_model_carries_stack_region_and_account() -> None:
    model = load_template(
        SHOP,
        filename="t.yaml",
        base_dir="/a",
        stack_name="s",
        region="eu-central-1",
        account_id="999999999999",
    )
    assert (model.template_path, model.stack_name, model.region, model.account_id) == (
        "t.yaml",
        "s",
        "eu-central-1",
        "999999999999",
    )


def test_missing_transform_is_an_error_with_the_line_to_add() -> None:
    with pytest.raises(InvalidTemplateError, match="SAM transform") as info:
        load("Resources:\n" + function())
    assert "Transform: AWS::Serverless-2016-10-31" in info.value.hint
    assert info.value.location == Location("template.yaml", 1, 1)


def test_transform_may_be_a_list() -> None:
    text = "Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]\nResources:\n"
    assert "Hello" in load(text + function()).functions


@pytest.mark.parametrize(
    ("resources", "line"),
    [("Resources: [a, b]\n", 2), ("Resources:\n", 2)],
)
def test_resources_must_be_a_non_empty_mapping(resources: str, line: int) -> None:
    with pytest.raises(InvalidTemplateError, match="Resources must be a mapping") as info:
        load("Transform: AWS::Serverless-2016-10-31\n" + resources)
    assert info.value.location is not None
    assert info.value.location.line == line


def test_resource_without_type() -> None:
    with pytest.raises(InvalidTemplateError, match="'Thing' must be a mapping with a Type") as info:
        load_resources("  Thing:\n    Properties: {}\n")
    assert info.value.location == Location("template.yaml", 3, 3)


def test_unknown_top_level_section() -> None:
    with pytest.raises(InvalidTemplateError, match="unknown top-level section 'Resource'"):
        load("Transform: AWS::Serverless-2016-10-31\nResource:\n  A: 1\n")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a list\n", "just text\n"])
def test_empty_or_non_mapping_documents(text: str) -> None:
    with pytest.raises(InvalidTemplateError):
        load(text)


def test_syntax_error_is_a_template_error_with_location() -> None:
    with pytest.raises(TemplateSyntaxError) as info:
        load("Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Type: [\n")
    assert isinstance(info.value, TemplateError)
    assert str(info.value).startswith("template.yaml:")


def test_json_template() -> None:
    doc = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Hello": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Handler": "app.handler",
                    "Runtime": "python3.13",
                    "MemorySize": {"Fn::If": ["Never", 1, 512]},
                },
            }
        },
        "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}},
    }
    model = load(json.dumps(doc, indent="\t"))
    assert model.functions["Hello"].memory_mb == 512


def test_unsupported_resource_referenced_warns_and_uses_a_placeholder() -> None:
    resources = "  Table:\n    Type: AWS::DynamoDB::Table\n" + function(
        props="Environment:\n  Variables:\n    TABLE: !Ref Table\n    ARN: !GetAtt Table.Arn\n"
    )
    model = load_resources(resources)
    assert model.functions["Hello"].environment == {"TABLE": "Table", "ARN": "Table.Arn"}
    text = messages(model)
    assert "Resource 'Table' (AWS::DynamoDB::Table) is not run by overcast; it is ignored" in text
    assert any(m.startswith("Ref Table:") for m in text)
    assert any(m.startswith("Fn::GetAtt Table.Arn:") for m in text)


def test_same_warning_is_reported_once() -> None:
    resources = "  Table:\n    Type: AWS::DynamoDB::Table\n" + function(
        props="Environment:\n  Variables:\n    AA: !Ref Table\n    BB: !Ref Table\n"
    )
    # Both Refs sit at different places, so two; the same place twice would be one.
    refs = [m for m in messages(load_resources(resources)) if m.startswith("Ref Table")]
    assert len(refs) == 2


def test_hello_example_loads() -> None:
    app = REPO / "examples" / "hello"
    model = load_template(
        (app / "template.yaml").read_text(),
        filename=str(app / "template.yaml"),
        base_dir=str(app),
    )
    spec = model.functions["HelloWorldFunction"]
    assert (spec.handler, spec.runtime, spec.code_dir) == (
        "app.lambda_handler",
        "python3.11",
        str(app / "src"),
    )
    assert (app / "src" / "app.py").is_file()
    assert [(r.method, r.path, r.api) for r in model.routes] == [
        ("GET", "/hello", "ServerlessHttpApi"),
        ("GET", "/hello/{name}", "ServerlessHttpApi"),
    ]
    assert model.warnings == ()


def test_hello_example_handler_answers_the_sample_event() -> None:
    app = REPO / "examples" / "hello"
    spec = importlib.util.spec_from_file_location("hello_app", app / "src" / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    event = json.loads((app / "events" / "hello.json").read_text())
    result = module.lambda_handler(event, None)
    assert result["statusCode"] == 200
    assert result["headers"] == {"content-type": "application/json"}
    assert json.loads(result["body"]) == {"message": "hello overcast"}
