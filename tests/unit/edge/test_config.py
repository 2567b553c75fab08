import pytest
import yaml

from overcast.edge import Behavior, EdgeConfigError, edge_config_from_template, parse_edge_config
from overcast.edge.config import CACHING_DISABLED, CACHING_OPTIMIZED
from overcast.edge.policies import (
    ALL_VIEWER,
    MANAGED_ORIGIN_REQUEST_POLICIES,
    NO_ORIGIN_REQUEST_POLICY,
    KeySelection,
)

TEMPLATE = """
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Metadata:
  overcast:
    edge:
      domain: Example.Test
      behaviors:
        - path_pattern: /api/*
          origin: api
          allowed_methods: [GET, HEAD, OPTIONS, PUT, PATCH, POST, DELETE]
          cache:
            default_ttl: 0
            min_ttl: 0
            max_ttl: 60
            query_strings: [page, sort]
            headers: [Authorization]
            cookies: none
        - path_pattern: 're:^/app/[0-9]+$'
          origin: api
        - path_pattern: '*'
          origin: static
          compress: true
      error_pages:
        - {status: 404, path: /index.html, response_status: 200}
      stages:
        dev:
          domains: [dev.myapp.com]
        qa: {}
        prod:
          domains: [myapp.com]
          error_pages: []
Resources: {}
"""


def test_template_metadata_parses_into_frozen_stages() -> None:
    config = edge_config_from_template(yaml.safe_load(TEMPLATE))
    assert config.domain == "example.test"
    assert list(config.stages) == ["dev", "qa", "prod"]
    dev = config.stages["dev"]
    assert dev.domains == ("dev.myapp.com",)
    assert [b.path_pattern for b in dev.behaviors] == ["/api/*", "re:^/app/[0-9]+$", "*"]
    api = dev.behaviors[0]
    assert api.cache.max_ttl == 60
    assert api.cache.query_strings.names == ("page", "sort")
    assert api.cache.headers == ("authorization",)
    assert dev.error_pages[0].response_status == 200
    assert config.stages["prod"].error_pages == ()


def test_absent_edge_gives_three_stages_with_api_default_behavior() -> None:
    config = parse_edge_config(None)
    assert list(config.stages) == ["dev", "qa", "prod"]
    (only,) = config.stages["dev"].behaviors
    assert only.path_pattern == "*"
    assert only.origin == "api"
    assert only.cache == CACHING_DISABLED


def test_behavior_cache_defaults_depend_on_origin() -> None:
    config = parse_edge_config(
        {"behaviors": [{"path_pattern": "/assets/*", "origin": "static"}, {"path_pattern": "*"}]}
    )
    static, api = config.stages["dev"].behaviors
    assert static.cache == CACHING_OPTIMIZED
    assert api.cache == CACHING_DISABLED


def test_managed_policy_by_name() -> None:
    config = parse_edge_config(
        {"behaviors": [{"path_pattern": "*", "origin": "static", "cache": "CachingDisabled"}]}
    )
    assert config.stages["qa"].behaviors[0].cache == CACHING_DISABLED


@pytest.mark.parametrize(
    ("edge", "where"),
    [
        ({"behaviors": [{"origin": "api"}]}, "behaviors[0].path_pattern"),
        ({"behaviors": [{"path_pattern": "/x", "origin": "lambda"}]}, "behaviors[0].origin"),
        (
            {"behaviors": [{"path_pattern": "/x", "allowed_methods": ["GET", "POST"]}]},
            "behaviors[0].allowed_methods",
        ),
        (
            {"behaviors": [{"path_pattern": "/x", "cache": {"min_ttl": 10, "default_ttl": 5}}]},
            "behaviors[0].cache",
        ),
        (
            {"behaviors": [{"path_pattern": "/x", "cache": {"query_strings": "some"}}]},
            "behaviors[0].cache.query_strings",
        ),
        ({"behaviors": [{"path_pattern": "re:(unclosed"}]}, "behaviors[0].path_pattern"),
        ({"behaviors": [{"path_pattern": "*"}, {"path_pattern": "/a"}]}, "behaviors"),
        ({"error_pages": [{"status": 200, "path": "/i.html"}]}, "error_pages[0].status"),
        ({"error_pages": [{"status": 404, "path": "i.html"}]}, "error_pages[0].path"),
        (
            {"stages": {"dev": {"domains": ["a.test"]}, "qa": {"domains": ["A.test"]}}},
            "stages.qa.domains[0]",
        ),
        ({"domain": "https://example.test"}, "domain"),
        ({"stages": {"dev": {"colour": "blue"}}}, "stages.dev"),
    ],
)
def test_invalid_config_names_the_offending_key(edge: dict[str, object], where: str) -> None:
    with pytest.raises(EdgeConfigError) as info:
        parse_edge_config(edge)
    assert info.value.where == where
    assert f"Metadata.overcast.edge.{where}:" in str(info.value)


def behavior(**item: object) -> Behavior:
    config = parse_edge_config({"behaviors": [{"path_pattern": "/x", "origin": "api", **item}]})
    return config.stages["dev"].behaviors[0]


def test_origin_request_defaults_to_all_viewer_without_caching_and_none_with_it() -> None:
    assert behavior().forwarding == ALL_VIEWER
    assert behavior(cache="CachingOptimized").forwarding == NO_ORIGIN_REQUEST_POLICY


@pytest.mark.parametrize("name", sorted(MANAGED_ORIGIN_REQUEST_POLICIES))
def test_managed_origin_request_policies_by_their_aws_names(name: str) -> None:
    found = behavior(cache="CachingOptimized", origin_request=name).forwarding
    assert found == MANAGED_ORIGIN_REQUEST_POLICIES[name]
    assert found.name == name


def test_managed_policies_mean_what_aws_says() -> None:
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
    assert (CACHING_OPTIMIZED.min_ttl, CACHING_OPTIMIZED.default_ttl) == (1, 86400)
    assert CACHING_OPTIMIZED.max_ttl == 31536000
    assert CACHING_OPTIMIZED.headers == ()
    assert CACHING_OPTIMIZED.cookies.mode == CACHING_OPTIMIZED.query_strings.mode == "none"
    assert (CACHING_DISABLED.min_ttl, CACHING_DISABLED.default_ttl, CACHING_DISABLED.max_ttl) == (
        0,
        0,
        0,
    )
    # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
    managed = MANAGED_ORIGIN_REQUEST_POLICIES
    for name in ("AllViewer", "AllViewerExceptHostHeader"):
        assert managed[name].cookies.mode == managed[name].query_strings.mode == "all"
    assert managed["AllViewer"].headers.mode == "all"
    assert managed["AllViewerExceptHostHeader"].headers == KeySelection("all_except", ("host",))
    assert managed["CORS-CustomOrigin"].headers.names == ("origin",)
    assert set(managed["CORS-S3Origin"].headers.names) == {
        "origin",
        "access-control-request-headers",
        "access-control-request-method",
    }
    assert set(managed["UserAgentRefererHeaders"].headers.names) == {"user-agent", "referer"}
    assert managed["HostHeaderOnly"].headers.names == ("host",)


def test_a_written_origin_request_policy() -> None:
    found = behavior(
        cache="CachingOptimized",
        origin_request={
            "headers": ["Accept-Language", "X-Trace"],
            "cookies": {"all_except": ["session"]},
            "query_strings": "all",
        },
    ).forwarding
    assert found.headers == KeySelection("list", ("accept-language", "x-trace"))
    assert found.cookies == KeySelection("all_except", ("session",))
    assert found.query_strings.mode == "all"


def test_none_is_the_absence_of_an_origin_request_policy() -> None:
    assert behavior(origin_request="none").forwarding == NO_ORIGIN_REQUEST_POLICY


def test_cache_key_selections_take_all_except() -> None:
    cache = behavior(cache={"query_strings": {"all_except": ["utm"]}}).cache
    assert cache.query_strings.includes("page")
    assert not cache.query_strings.includes("utm")


def test_extra_credentials_join_the_templates() -> None:
    config = parse_edge_config(
        {"credentials": {"headers": ["X-Session"], "query_strings": ["sig"]}}
    )
    credentials = config.stages["dev"].credentials
    assert "x-session" in credentials.headers
    assert "authorization" in credentials.headers
    assert credentials.query_strings == {"sig"}


@pytest.mark.parametrize(
    ("item", "where", "words"),
    [
        (
            {"origin_request": {"headers": ["Authorization"]}},
            "behaviors[0].origin_request.headers",
            "Authorization cannot be forwarded",
        ),
        ({"origin_request": "AllViewerPlease"}, "behaviors[0].origin_request", "unknown managed"),
        (
            {"origin_request": {"headers": "some"}},
            "behaviors[0].origin_request.headers",
            "none, all",
        ),
        ({"origin_request": {"body": "all"}}, "behaviors[0].origin_request", "unknown key"),
        (
            {"origin_request": {"cookies": {"all_except": "x"}}},
            "behaviors[0].origin_request.cookies.all_except",
            "none, all",
        ),
        (
            {"origin_request": {"cookies": {"only": ["x"]}}},
            "behaviors[0].origin_request.cookies",
            "unknown key",
        ),
        (
            {"cache": {"headers": ["Bad Header"]}},
            "behaviors[0].cache.headers[0]",
            "header name",
        ),
        ({"cache": {"cookies": ["a;b"]}}, "behaviors[0].cache.cookies[0]", "cookie name"),
        (
            {"cache": {"max_ttl": 0, "min_ttl": 0, "default_ttl": 0, "headers": ["Authorization"]}},
            "behaviors[0].cache",
            "caches nothing",
        ),
    ],
)
def test_invalid_policies_name_the_offending_key(
    item: dict[str, object], where: str, words: str
) -> None:
    with pytest.raises(EdgeConfigError) as info:
        behavior(**item)
    assert info.value.where == where
    assert words in info.value.problem


def test_invalid_credentials_name_the_offending_key() -> None:
    with pytest.raises(EdgeConfigError) as info:
        parse_edge_config({"credentials": {"headers": [""]}})
    assert info.value.where == "credentials.headers[0]"
