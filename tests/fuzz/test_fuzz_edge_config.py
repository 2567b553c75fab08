"""Fuzzing the edge configuration parser and the template reading behind it.

``Metadata: overcast: edge:`` is written by an app's author and read by every platform
that deploys the app; the deploy API takes it from an uploaded template. Whatever it
holds, parsing either gives a frozen :class:`EdgeConfig` or raises
:class:`EdgeConfigError` naming the key (never another exception, never a hang), and
a config that parses keeps CloudFront's rules: ``Authorization`` is never forwarded
by an origin request policy alone, and a policy that caches nothing keys nothing.
Reading the credentials of a template's authorizers never fails at all.
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.edge import (
    EdgeConfig,
    EdgeConfigError,
    credentials_from_template,
    edge_config_from_template,
    parse_edge_config,
)
from overcast.edge.credentials import ALWAYS_HEADERS
from overcast.edge.policies import MANAGED_CACHE_POLICIES, MANAGED_ORIGIN_REQUEST_POLICIES

WORDS = st.sampled_from(
    [
        "none", "all", "all_except", "Authorization", "authorization", "Host", "X-Token",
        "session", "token", "*", "/api/*", "re:^/a", "re:(", "api", "static", "GET", "HEAD",
        "POST", "dev", "prod", "", " ", "a;b", "Bad Header", "index.html", "/x", "example.test",
        *MANAGED_CACHE_POLICIES, *MANAGED_ORIGIN_REQUEST_POLICIES,
    ]
)  # fmt: skip
KEYS = st.sampled_from(
    [
        "domain", "stages", "behaviors", "error_pages", "static_dir", "local_stage",
        "credentials", "path_pattern", "origin", "cache", "origin_request", "allowed_methods",
        "compress", "strip_prefix", "default_ttl", "min_ttl", "max_ttl", "query_strings",
        "headers", "cookies", "all_except", "status", "path", "response_status", "ttl",
        "domains", "default_root_object", "dev", "qa",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=10**12),
    st.floats(allow_nan=True),
    WORDS,
    st.text(max_size=12),
)
VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(KEYS, st.text(max_size=6), st.integers()), inner, max_size=5),
    ),
    max_leaves=30,
)


def behavior_items() -> st.SearchStrategy[dict[str, Any]]:
    selection = st.one_of(
        st.sampled_from(["none", "all"]),
        st.lists(WORDS, max_size=3),
        st.fixed_dictionaries({"all_except": st.lists(WORDS, max_size=3)}),
        VALUES,
    )
    cache = st.one_of(
        st.sampled_from(list(MANAGED_CACHE_POLICIES)),
        st.fixed_dictionaries(
            {},
            optional={
                "default_ttl": st.integers(-1, 100),
                "min_ttl": st.integers(-1, 100),
                "max_ttl": st.integers(-1, 100),
                "headers": st.lists(WORDS, max_size=3),
                "cookies": selection,
                "query_strings": selection,
            },
        ),
    )
    origin_request = st.one_of(
        st.sampled_from([*MANAGED_ORIGIN_REQUEST_POLICIES, "none", "AllViewerAndMore"]),
        st.fixed_dictionaries(
            {}, optional={"headers": selection, "cookies": selection, "query_strings": selection}
        ),
        VALUES,
    )
    return st.fixed_dictionaries(
        {"path_pattern": st.one_of(WORDS, st.text(max_size=8))},
        optional={
            "origin": st.sampled_from(["api", "static", "lambda"]),
            "cache": cache,
            "origin_request": origin_request,
            "allowed_methods": st.lists(WORDS, max_size=4),
            "strip_prefix": st.one_of(WORDS, st.text(max_size=6)),
            "compress": st.one_of(st.booleans(), SCALARS),
        },
    )


EDGES = st.one_of(
    VALUES,
    st.fixed_dictionaries(
        {},
        optional={
            "behaviors": st.lists(behavior_items(), max_size=4),
            "credentials": st.one_of(
                VALUES,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "headers": st.lists(WORDS, max_size=3),
                        "query_strings": st.lists(WORDS, max_size=3),
                    },
                ),
            ),
            "stages": st.one_of(VALUES, st.dictionaries(WORDS, st.just({}), max_size=3)),
            "local_stage": WORDS,
            "domain": st.one_of(WORDS, st.text(max_size=10)),
        },
    ),
)


def check(config: EdgeConfig) -> None:
    """CloudFront's rules hold in every config that parses."""
    for stage in config.stages.values():
        assert stage.behaviors[-1].path_pattern == "*"
        assert stage.credentials.headers >= ALWAYS_HEADERS
        for behavior in stage.behaviors:
            headers = behavior.forwarding.headers
            assert not (headers.mode == "list" and "authorization" in headers.names)
            cache = behavior.cache
            assert cache.min_ttl <= cache.default_ttl <= cache.max_ttl
            if cache.disabled:
                assert not cache.headers
                assert cache.query_strings.mode == cache.cookies.mode == "none"


@given(EDGES)
@example({"behaviors": [{"path_pattern": "/x", "origin_request": {"headers": ["Authorization"]}}]})
@example({"behaviors": [{"path_pattern": "/x", "cache": {"cookies": {"all_except": None}}}]})
@example({"behaviors": [{"path_pattern": "/x", "cache": {"headers": [None]}}]})
@example({"credentials": {"headers": [1]}})
@example({"local_stage": []})
def test_an_edge_config_parses_or_is_refused_with_the_key_named(raw: Any) -> None:
    refused: EdgeConfigError | None = None
    with no_hang("parse_edge_config"):
        try:
            config = parse_edge_config(raw)
        except EdgeConfigError as exc:
            refused = exc
    if refused is not None:
        assert str(refused).startswith("Metadata.overcast.edge")
        return
    check(config)


TEMPLATES = st.fixed_dictionaries(
    {},
    optional={
        "Resources": st.one_of(
            VALUES,
            st.dictionaries(
                st.text(max_size=4),
                st.fixed_dictionaries(
                    {
                        "Type": st.sampled_from(
                            [
                                "AWS::Serverless::Api",
                                "AWS::Serverless::HttpApi",
                                "AWS::ApiGateway::Authorizer",
                                "AWS::ApiGatewayV2::Authorizer",
                                "AWS::Serverless::Function",
                            ]
                        ),
                        "Properties": VALUES,
                    }
                ),
                max_size=3,
            ),
        ),
        "Globals": VALUES,
        "Metadata": st.one_of(VALUES, st.fixed_dictionaries({"overcast": VALUES})),
    },
)


@given(TEMPLATES)
@example({"Resources": {"A": {"Type": "AWS::Serverless::Api", "Properties": {"Auth": None}}}})
@example(
    {
        "Resources": {
            "A": {
                "Type": "AWS::ApiGateway::Authorizer",
                "Properties": {"IdentitySource": ["method.request.header.", 3], "Type": "REQUEST"},
            }
        }
    }
)
def test_reading_a_templates_credentials_never_fails(template: dict[str, Any]) -> None:
    with no_hang("credentials_from_template"):
        found = credentials_from_template(template)
    assert found.headers >= ALWAYS_HEADERS
    with no_hang("edge_config_from_template"):
        try:
            config = edge_config_from_template(template)
        except EdgeConfigError:
            return
    check(config)
