"""SAM ``Auth`` on HttpApi/Api resources and events → authorizer specs and guarded routes."""

from __future__ import annotations

import pytest

from overcast.template import (
    InvalidTemplateError,
    JwtAuthorizerSpec,
    LambdaAuthorizerSpec,
    UnsupportedFeatureError,
)

from .helpers import function, load_resources, messages

HTTP_JWT_API = """\
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: https://idp.example.com, audience: [a, b]}
        DefaultAuthorizer: Jwt
"""


def http_event(name: str, path: str, auth: str = "", method: str = "get") -> str:
    extra = f", Auth: {auth}" if auth else ""
    return (
        f"{name}:\n  Type: HttpApi\n"
        f"  Properties: {{ApiId: !Ref Api, Path: {path}, Method: {method}{extra}}}\n"
    )


def test_http_jwt_authorizer_and_default_guard_routes_unless_none() -> None:
    events = (
        http_event("Open", "/open", "{Authorizer: NONE}")
        + http_event("Guarded", "/guarded")
        + http_event("Scoped", "/scoped", "{Authorizer: Jwt, AuthorizationScopes: [w]}")
    )
    model = load_resources(HTTP_JWT_API + function(events=events))
    api = model.apis["Api"]
    assert api.default_authorizer == "Jwt"
    assert api.authorizers["Jwt"] == JwtAuthorizerSpec(
        name="Jwt",
        issuer="https://idp.example.com",
        audiences=("a", "b"),
        identity_source="$request.header.Authorization",
        location=api.authorizers["Jwt"].location,
    )
    routes = {r.path: (r.authorizer, r.authorization_scopes) for r in model.routes}
    assert routes == {"/open": (None, ()), "/guarded": ("Jwt", ()), "/scoped": ("Jwt", ("w",))}
    assert messages(model) == []


def test_jwt_configuration_keys_are_case_insensitive_like_sam() -> None:
    api = HTTP_JWT_API.replace(
        "{issuer: https://idp.example.com, audience: [a, b]}",
        "{Issuer: https://idp.example.com, Audience: single}",
    )
    model = load_resources(api + function(events=http_event("E", "/x")))
    spec = model.apis["Api"].authorizers["Jwt"]
    assert isinstance(spec, JwtAuthorizerSpec)
    assert (spec.issuer, spec.audiences) == ("https://idp.example.com", ("single",))


def test_authorizer_scopes_apply_when_the_event_names_none() -> None:
    api = HTTP_JWT_API.replace(
        "            IdentitySource:",
        "            AuthorizationScopes: [read]\n            IdentitySource:",
    )
    model = load_resources(api + function(events=http_event("E", "/x")))
    assert model.routes[0].authorization_scopes == ("read",)


def test_http_lambda_authorizer_from_get_att_arn() -> None:
    resources = (
        """\
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
        Authorizers:
          Lam:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: '2.0'
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], QueryStrings: [key], ReauthorizeEvery: 30}
"""
        + function("AuthFn", props="FunctionName: my-authorizer")
        + function(events=http_event("E", "/x", "{Authorizer: Lam}"))
    )
    model = load_resources(resources)
    spec = model.apis["Api"].authorizers["Lam"]
    assert isinstance(spec, LambdaAuthorizerSpec)
    assert (spec.function, spec.api_kind, spec.payload_format, spec.simple_responses) == (
        "my-authorizer",
        "http",
        "2.0",
        True,
    )
    assert spec.identity_sources == ("$request.header.Authorization", "$request.querystring.key")
    assert spec.ttl_s == 30
    assert model.routes[0].authorizer == "Lam"


def test_http_lambda_authorizer_needs_a_payload_format_version() -> None:
    resources = (
        "  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n"
        "        Authorizers:\n          Lam: {FunctionArn: !GetAtt AuthFn.Arn}\n"
    ) + function("AuthFn")
    with pytest.raises(InvalidTemplateError, match="must define 'AuthorizerPayloadFormatVersion'"):
        load_resources(resources)


def test_rest_token_authorizer_defaults_to_the_authorization_header_and_300_s() -> None:
    resources = (
        """\
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        DefaultAuthorizer: Tok
        Authorizers:
          Tok: {FunctionArn: !GetAtt AuthFn.Arn}
          Req:
            FunctionArn: !GetAtt AuthFn.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [X-Key], ReauthorizeEvery: 0}
"""
        + function("AuthFn")
        + function(
            events="E:\n  Type: Api\n  Properties: {RestApiId: !Ref Api, Path: /x, Method: get}\n"
            "F:\n  Type: Api\n  Properties: {RestApiId: !Ref Api, Path: /y, Method: get, "
            "Auth: {Authorizer: Req}}\n"
        )
    )
    model = load_resources(resources)
    tok = model.apis["Api"].authorizers["Tok"]
    req = model.apis["Api"].authorizers["Req"]
    assert isinstance(tok, LambdaAuthorizerSpec)
    assert isinstance(req, LambdaAuthorizerSpec)
    assert (tok.payload_type, tok.identity_sources, tok.ttl_s) == (
        "TOKEN",
        ("$request.header.Authorization",),
        300,
    )
    assert (req.payload_type, req.identity_sources, req.ttl_s) == (
        "REQUEST",
        ("$request.header.X-Key",),
        0,
    )
    assert {r.path: r.authorizer for r in model.routes} == {"/x": "Tok", "/y": "Req"}


def test_unknown_authorizer_on_an_event_is_refused_as_sam_does() -> None:
    with pytest.raises(InvalidTemplateError, match=r"Authorizer \[Nope\]"):
        load_resources(HTTP_JWT_API + function(events=http_event("E", "/x", "{Authorizer: Nope}")))


def test_none_without_a_default_authorizer_is_refused() -> None:
    api = HTTP_JWT_API.replace("        DefaultAuthorizer: Jwt\n", "")
    with pytest.raises(InvalidTemplateError, match="'NONE' is only a valid value"):
        load_resources(api + function(events=http_event("E", "/x", "{Authorizer: NONE}")))


def test_unknown_default_authorizer_is_refused() -> None:
    api = HTTP_JWT_API.replace("DefaultAuthorizer: Jwt", "DefaultAuthorizer: Other")
    with pytest.raises(InvalidTemplateError, match="'Other' was not defined"):
        load_resources(api + function(events=http_event("E", "/x")))


def test_cognito_authorizer_warns_and_a_route_it_guards_is_refused() -> None:
    api = """\
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        Authorizers:
          Pool: {UserPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/x}
"""
    open_event = "E:\n  Type: Api\n  Properties: {RestApiId: !Ref Api, Path: /x, Method: get}\n"
    model = load_resources(api + function(events=open_event))
    assert any("Cognito user pool authorizers are not supported" in m for m in messages(model))
    guarded = (
        "E:\n  Type: Api\n  Properties: {RestApiId: !Ref Api, Path: /x, Method: get, "
        "Auth: {Authorizer: Pool}}\n"
    )
    with pytest.raises(UnsupportedFeatureError, match="authorizer 'Pool'"):
        load_resources(api + function(events=guarded))


def test_authorizer_function_outside_the_template_is_refused() -> None:
    resources = (
        "  Api:\n    Type: AWS::Serverless::HttpApi\n    Properties:\n      Auth:\n"
        "        Authorizers:\n          Lam:\n"
        "            FunctionArn: arn:aws:lambda:us-east-1:123456789012:function:elsewhere\n"
        "            AuthorizerPayloadFormatVersion: '2.0'\n"
    ) + function(events=http_event("E", "/x"))
    with pytest.raises(UnsupportedFeatureError, match="'elsewhere'"):
        load_resources(resources)


def test_auth_in_globals_guards_the_implicit_http_api() -> None:
    before = """\
Globals:
  HttpApi:
    Auth:
      Authorizers:
        Jwt:
          IdentitySource: $request.header.Authorization
          JwtConfiguration: {issuer: https://idp.example.com, audience: [a]}
      DefaultAuthorizer: Jwt
"""
    model = load_resources(
        function(events="E:\n  Type: HttpApi\n  Properties: {Path: /x, Method: get}\n"),
        before=before,
    )
    assert model.routes[0].authorizer == "Jwt"
    assert "Jwt" in model.apis["ServerlessHttpApi"].authorizers
