"""Events, implicit and explicit APIs, CORS, and the routes that tie them to functions."""

from __future__ import annotations

import re

import pytest

from overcast.template import InvalidTemplateError, UnresolvedReferenceError
from overcast.template.sam_resources import api_id_for

from .helpers import function, load_resources, messages


def events(text: str) -> str:
    return function(events=text)


def test_implicit_rest_api_is_named_and_staged_as_sam_does() -> None:
    model = load_resources(events("E:\n  Type: Api\n  Properties: {Path: /x, Method: post}\n"))
    api = model.apis["ServerlessRestApi"]
    assert (api.kind, api.stage_name, api.implicit) == ("rest", "Prod", True)
    (route,) = model.routes
    assert (route.api, route.method, route.path, route.payload_format) == (
        "ServerlessRestApi",
        "POST",
        "/x",
        "1.0",
    )
    assert (route.function, route.event_name) == ("Hello", "E")


def test_implicit_http_api_uses_the_default_stage_and_payload_2() -> None:
    model = load_resources(events("E:\n  Type: HttpApi\n  Properties: {Path: /x, Method: GET}\n"))
    api = model.apis["ServerlessHttpApi"]
    assert (api.kind, api.stage_name, api.implicit) == ("http", "$default", True)
    assert model.routes[0].payload_format == "2.0"


def test_http_event_without_path_and_method_is_the_default_route() -> None:
    model = load_resources(events("Catch:\n  Type: HttpApi\n"))
    (route,) = model.routes
    assert (route.method, route.path) == ("ANY", "$default")


@pytest.mark.parametrize(("written", "method"), [("any", "ANY"), ("Get", "GET"), ("ANY", "ANY")])
def test_methods_are_upper_cased(written: str, method: str) -> None:
    model = load_resources(
        events(f"E:\n  Type: Api\n  Properties: {{Path: /x, Method: {written}}}\n")
    )
    assert model.routes[0].method == method


def test_http_event_payload_and_timeout() -> None:
    model = load_resources(
        events(
            "E:\n  Type: HttpApi\n  Properties:\n    Path: /v1\n    Method: get\n"
            "    PayloadFormatVersion: '1.0'\n    TimeoutInMillis: 5000\n"
        )
    )
    assert (model.routes[0].payload_format, model.routes[0].timeout_ms) == ("1.0", 5000)


@pytest.mark.parametrize(
    ("event", "match"),
    [
        ("Type: Api\n  Properties: {Method: get}", "has no Path"),
        ("Type: Api\n  Properties: {Path: /x}", "has no Method"),
        ("Type: HttpApi\n  Properties: {Path: /x}", "has no Method"),
        ("Type: Api\n  Properties: {Path: x, Method: get}", "must start with '/'"),
        ("Type: Api\n  Properties: {Path: /x, Method: fetch}", "not an HTTP method"),
        ("Type: HttpApi\n  Properties: {Path: /x, Method: get, PayloadFormatVersion: '3.0'}",
         "'1.0' or '2.0'"),
        ("Type: HttpApi\n  Properties: {Path: /x, Method: get, TimeoutInMillis: 40000}",
         "between 50 and 30000"),
    ],
)  # fmt: skip
def test_invalid_events(event: str, match: str) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_resources(events(f"E:\n  {event}\n"))
    assert info.value.location is not None


def test_other_event_types_warn_and_are_skipped() -> None:
    model = load_resources(events("Q:\n  Type: Kinesis\n  Properties: {Stream: arn:x}\n"))
    assert model.routes == ()
    assert messages(model) == [
        "Function 'Hello' event 'Q' of type 'Kinesis' is not run by overcast; it is ignored"
    ]


def test_unsupported_event_properties_warn() -> None:
    model = load_resources(
        events(
            "E:\n  Type: Api\n"
            "  Properties: {Path: /x, Method: get, Auth: {InvokeRole: CALLER_CREDENTIALS}}\n"
        )
    )
    assert messages(model) == [
        "Function 'Hello' event 'E': Auth InvokeRole is not supported by overcast; it is ignored"
    ]


def test_same_route_twice_on_one_api_names_both() -> None:
    resources = function(
        "A", events="E:\n  Type: HttpApi\n  Properties: {Path: /x, Method: get}\n"
    ) + function("B", events="F:\n  Type: HttpApi\n  Properties: {Path: /x, Method: GET}\n")
    with pytest.raises(InvalidTemplateError, match="'A' event 'E' and by Function 'B' event 'F'"):
        load_resources(resources)


def test_rest_api_id_to_a_missing_api() -> None:
    with pytest.raises(
        UnresolvedReferenceError, match="'Nope', which is not a AWS::Serverless::Api"
    ):
        load_resources(
            events("E:\n  Type: Api\n  Properties: {Path: /x, Method: get, RestApiId: !Ref Nope}\n")
        )


def test_api_event_pointing_at_an_http_api_is_explained() -> None:
    resources = "  Http:\n    Type: AWS::Serverless::HttpApi\n" + events(
        "E:\n  Type: Api\n  Properties: {Path: /x, Method: get, RestApiId: !Ref Http}\n"
    )
    with pytest.raises(InvalidTemplateError, match="Type: HttpApi"):
        load_resources(resources)


def test_api_ids_are_stable_ten_lowercase_alphanumerics() -> None:
    first = api_id_for("overcast", "MyApi")
    assert re.fullmatch(r"[a-z0-9]{10}", first)
    assert first == api_id_for("overcast", "MyApi")
    assert first != api_id_for("other", "MyApi")
    assert first != api_id_for("overcast", "MyApi2")


def test_ref_to_an_api_is_its_id() -> None:
    resources = "  Http:\n    Type: AWS::Serverless::HttpApi\n" + function(
        props="Environment:\n  Variables:\n    API: !Ref Http\n    URL: !GetAtt Http.ApiEndpoint\n"
    )
    model = load_resources(resources)
    api_id = model.apis["Http"].api_id
    assert model.functions["Hello"].environment == {
        "API": api_id,
        "URL": f"https://{api_id}.execute-api.us-east-1.amazonaws.com",
    }


def test_rest_cors_string_strips_sam_quotes() -> None:
    resources = (
        "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: v1\n      Cors: \"'https://app.example'\"\n"
    )
    cors = load_resources(resources).apis["Api"].cors
    assert cors is not None
    assert cors.allow_origins == ("https://app.example",)
    assert cors.allow_methods == ()  # API Gateway then allows the path's own methods


def test_rest_cors_object() -> None:
    resources = """\
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: v1
      Cors:
        AllowOrigin: "'https://app.example'"
        AllowMethods: "'GET,POST'"
        AllowHeaders: "'Content-Type, Authorization'"
        MaxAge: "'600'"
        AllowCredentials: true
"""
    cors = load_resources(resources).apis["Api"].cors
    assert cors is not None
    assert cors.allow_origins == ("https://app.example",)
    assert cors.allow_methods == ("GET", "POST")
    assert cors.allow_headers == ("Content-Type", "Authorization")
    assert (cors.max_age, cors.allow_credentials) == (600, True)


def test_rest_cors_credentials_with_wildcard_origin_is_an_error_as_in_sam() -> None:
    resources = (
        "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: v1\n      Cors: {AllowCredentials: true}\n"
    )
    with pytest.raises(InvalidTemplateError, match="AllowCredentials cannot be true"):
        load_resources(resources)


def test_rest_cors_unquoted_value_warns() -> None:
    resources = (
        "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: v1\n      Cors: {AllowOrigin: '*'}\n"
    )
    model = load_resources(resources)
    assert model.apis["Api"].cors is not None
    assert any("should be quoted" in m for m in messages(model))


def test_http_cors_configuration_object() -> None:
    resources = """\
  Http:
    Type: AWS::Serverless::HttpApi
    Properties:
      StageName: live
      StageVariables: {Version: 2}
      CorsConfiguration:
        AllowOrigins: [https://a.example, https://b.example]
        AllowMethods: [get, post]
        AllowHeaders: [content-type]
        ExposeHeaders: [x-total]
        MaxAge: 300
        AllowCredentials: true
"""
    api = load_resources(resources).apis["Http"]
    assert (api.stage_name, api.stage_variables) == ("live", {"Version": "2"})
    assert api.cors is not None
    assert api.cors.allow_origins == ("https://a.example", "https://b.example")
    assert api.cors.allow_methods == ("GET", "POST")
    assert api.cors.expose_headers == ("x-total",)
    assert (api.cors.max_age, api.cors.allow_credentials) == (300, True)


def test_invalid_cors_key_is_an_error() -> None:
    resources = (
        "  Http:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n"
        "      CorsConfiguration: {AllowOrigin: ['*']}\n"
    )
    with pytest.raises(InvalidTemplateError, match="invalid key 'AllowOrigin'"):
        load_resources(resources)


def test_rest_api_needs_a_stage_name() -> None:
    with pytest.raises(InvalidTemplateError, match="has no StageName"):
        load_resources("  Api:\n    Type: AWS::Serverless::Api\n    Properties: {}\n")


def test_unsupported_api_properties_warn() -> None:
    resources = (
        "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: v1\n      TracingEnabled: true\n      Name: shop\n"
    )
    assert messages(load_resources(resources)) == [
        "Api 'Api': property 'TracingEnabled' is not supported by overcast; it is ignored"
    ]


def test_declaring_the_implicit_api_by_name_configures_it() -> None:
    resources = (
        "  ServerlessRestApi:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: v2\n"
    ) + events("E:\n  Type: Api\n  Properties: {Path: /x, Method: get}\n")
    model = load_resources(resources)
    api = model.apis["ServerlessRestApi"]
    assert (api.stage_name, api.implicit) == ("v2", False)
    assert model.routes[0].api == "ServerlessRestApi"


def test_binary_media_types_unescape_sam_slashes_and_merge_globals() -> None:
    before = "Globals:\n  Api:\n    BinaryMediaTypes: [image~1png]\n"
    resources = (
        "  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: v1\n      BinaryMediaTypes: ['*~1*']\n"
    )
    api = load_resources(resources, before=before).apis["Api"]
    assert api.binary_media_types == ("image/png", "*/*")
