import pytest
import yaml

from overcast.edge import EdgeConfigError, edge_config_from_template, parse_edge_config
from overcast.edge.config import CACHING_DISABLED, CACHING_OPTIMIZED

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
