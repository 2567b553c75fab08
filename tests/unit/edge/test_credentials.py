"""The credentials a template's authorizers read, which the edge never shares unkeyed."""

from pathlib import Path
from typing import Any

import pytest

from overcast.control.local_edge import read_edge_config
from overcast.edge.credentials import ALWAYS_HEADERS, CredentialNames, credentials_from_template

PRIVATE_API = Path(__file__).resolve().parents[2] / "security" / "apps" / "private_api"


def api(kind: str, auth: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Api": {"Type": kind, "Properties": {"Auth": auth}}}}


def lambda_authorizer(**body: Any) -> dict[str, Any]:
    return {"Authorizers": {"A": {"FunctionArn": "arn:aws:lambda:::function:f", **body}}}


def test_the_always_counted_headers_need_no_template() -> None:
    found = credentials_from_template({})
    assert found.headers == ALWAYS_HEADERS
    assert {"authorization", "x-api-key", "x-amz-security-token"} <= found.headers
    assert not found.any_value


def test_a_token_authorizer_reads_authorization_or_its_identity_header() -> None:
    assert (
        "authorization"
        in credentials_from_template(api("AWS::Serverless::Api", lambda_authorizer())).headers
    )
    custom = api("AWS::Serverless::Api", lambda_authorizer(Identity={"Header": "X-Auth"}))
    assert "x-auth" in credentials_from_template(custom).headers


def test_a_cached_request_authorizer_counts_its_identity_sources_only() -> None:
    body = lambda_authorizer(
        FunctionPayloadType="REQUEST",
        Identity={"Headers": ["X-Token"], "QueryStrings": ["sig"], "ReauthorizeEvery": 300},
    )
    found = credentials_from_template(api("AWS::Serverless::Api", body))
    assert "x-token" in found.headers
    assert found.query_strings == {"sig"}
    assert not found.any_value
    assert not found.is_header("x-other")


@pytest.mark.parametrize(
    "identity",
    [
        {"Headers": ["X-Token"], "ReauthorizeEvery": 0},
        {"StageVariables": ["v"]},
        None,
    ],
)
def test_an_uncached_or_sourceless_request_authorizer_makes_every_value_count(
    identity: dict[str, Any] | None,
) -> None:
    body = lambda_authorizer(AuthorizerPayloadFormatVersion="2.0", EnableSimpleResponses=True)
    if identity is not None:
        body["Authorizers"]["A"]["Identity"] = identity
    found = credentials_from_template(api("AWS::Serverless::HttpApi", body))
    assert found.any_value
    assert found.is_header("x-anything")
    assert found.is_query_string("anything")
    assert not found.is_header("accept-language")
    assert not found.is_header("sec-fetch-mode")


def test_jwt_identity_source_and_globals() -> None:
    template = {
        "Globals": {
            "HttpApi": {
                "Auth": {
                    "Authorizers": {
                        "Jwt": {
                            "IdentitySource": "$request.header.X-Jwt",
                            "JwtConfiguration": {"issuer": "i", "audience": ["a"]},
                        }
                    }
                }
            }
        }
    }
    assert "x-jwt" in credentials_from_template(template).headers


def test_raw_api_gateway_authorizers() -> None:
    template = {
        "Resources": {
            "V1": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {
                    "Type": "REQUEST",
                    "IdentitySource": "method.request.header.X-One, method.request.querystring.q",
                },
            },
            "V2": {
                "Type": "AWS::ApiGatewayV2::Authorizer",
                "Properties": {
                    "AuthorizerType": "REQUEST",
                    "IdentitySource": ["$request.header.X-Two"],
                    "AuthorizerResultTtlInSeconds": 0,
                },
            },
        }
    }
    found = credentials_from_template(template)
    assert {"x-one", "x-two"} <= found.headers
    assert "q" in found.query_strings
    assert found.any_value  # V2 caches nothing


@pytest.mark.parametrize(
    "template",
    [
        {"Resources": None},
        {"Resources": {"A": "x"}},
        {"Resources": {"A": {"Type": "AWS::Serverless::Api", "Properties": ["x"]}}},
        api("AWS::Serverless::Api", {"Authorizers": ["x"]}),
        api("AWS::Serverless::Api", {"Authorizers": {"A": None}}),
        api("AWS::Serverless::Api", lambda_authorizer(Identity={"Headers": "X", "Header": 3})),
        {"Globals": {"Api": {"Auth": 3}}},
    ],
)
def test_templates_it_cannot_read_add_no_names(template: dict[str, Any]) -> None:
    assert credentials_from_template(template).headers >= ALWAYS_HEADERS


def test_the_edge_config_of_a_template_carries_its_credentials_to_every_stage() -> None:
    config = read_edge_config(PRIVATE_API / "template.yaml")  # as `overcast up` reads it
    assert config is not None
    for stage in config.stages.values():
        assert "x-token" in stage.credentials.headers
        assert "token" in stage.credentials.query_strings
        assert stage.credentials.any_value  # the Fresh authorizer caches nothing


def test_merged_keeps_both() -> None:
    one = CredentialNames(frozenset({"a"}), frozenset({"q"}))
    two = CredentialNames(frozenset({"b"}), frozenset(), any_value=True)
    both = one.merged(two)
    assert both.headers == {"a", "b"}
    assert both.query_strings == {"q"}
    assert both.any_value
