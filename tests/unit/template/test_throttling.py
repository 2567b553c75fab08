"""Template throttling: HttpApi RouteSettings, Api MethodSettings, usage plans, API keys."""

from __future__ import annotations

import textwrap

import pytest

from overcast.template import AppModel, InvalidTemplateError
from overcast.template.model import QuotaSettings, ThrottleSettings, UsagePlanSpec
from overcast.template.throttling import decode_resource_path

from .helpers import FILENAME, load_resources, messages


def _indent(text: str, by: int) -> str:
    return textwrap.indent(textwrap.dedent(text).strip("\n"), " " * by) + "\n"


def app(api_type: str, api_props: str, events: str) -> str:
    """An API ``Api`` of ``api_type`` and one function with ``events`` on it."""
    return (
        "  Api:\n"
        f"    Type: AWS::Serverless::{api_type}\n"
        "    Properties:\n" + _indent(api_props, 6) + "  Fn:\n"
        "    Type: AWS::Serverless::Function\n"
        "    Properties:\n"
        "      Handler: app.handler\n"
        "      Runtime: python3.12\n"
        "      Events:\n" + _indent(events, 8)
    )


def http_event(name: str, method: str, path: str) -> str:
    return (
        f"{name}:\n  Type: HttpApi\n"
        f"  Properties: {{ApiId: !Ref Api, Method: {method}, Path: '{path}'}}\n"
    )


def rest_event(name: str, method: str, path: str, extra: str = "") -> str:
    return (
        f"{name}:\n  Type: Api\n"
        f"  Properties: {{RestApiId: !Ref Api, Method: {method}, Path: '{path}'{extra}}}\n"
    )


def throttles(model: AppModel) -> dict[str, ThrottleSettings | None]:
    return {route.event_name: route.throttle for route in model.routes}


# -- HTTP APIs -------------------------------------------------------------------


def test_http_default_route_settings_apply_to_every_route_and_route_settings_override() -> None:
    model = load_resources(
        app(
            "HttpApi",
            """
            DefaultRouteSettings: {ThrottlingRateLimit: 100, ThrottlingBurstLimit: 50}
            RouteSettings:
              "POST /orders": {ThrottlingBurstLimit: 5}
              "GET /orders/{id}": {ThrottlingRateLimit: 2.5, ThrottlingBurstLimit: 3}
            """,
            http_event("List", "get", "/orders")
            + http_event("Create", "post", "/orders")
            + http_event("One", "get", "/orders/{id}"),
        )
    )
    assert throttles(model) == {
        "List": ThrottleSettings(100.0, 50),
        # the burst is the route's own, the rate falls back to the defaults
        "Create": ThrottleSettings(100.0, 5),
        "One": ThrottleSettings(2.5, 3),
    }
    assert model.warnings == ()


def test_http_default_route_can_be_throttled_by_its_key() -> None:
    model = load_resources(
        app(
            "HttpApi",
            'RouteSettings: {"$default": {ThrottlingRateLimit: 1, ThrottlingBurstLimit: 1}}',
            "Catch:\n  Type: HttpApi\n  Properties: {ApiId: !Ref Api}\n",
        )
    )
    assert throttles(model) == {"Catch": ThrottleSettings(1.0, 1)}


def test_routes_without_settings_have_no_throttle() -> None:
    model = load_resources(app("HttpApi", "StageName: $default", http_event("A", "get", "/a")))
    assert throttles(model) == {"A": None}


def test_a_rate_alone_gets_a_burst_of_the_rate_rounded_up() -> None:
    model = load_resources(
        app(
            "HttpApi",
            "DefaultRouteSettings: {ThrottlingRateLimit: 2.5}",
            http_event("A", "get", "/a"),
        )
    )
    assert throttles(model) == {"A": ThrottleSettings(2.5, 3)}


def test_a_burst_alone_is_warned_about_and_not_applied() -> None:
    model = load_resources(
        app(
            "HttpApi",
            "DefaultRouteSettings: {ThrottlingBurstLimit: 5}",
            http_event("A", "get", "/a"),
        )
    )
    assert throttles(model) == {"A": None}
    assert any("burst limit without a rate limit" in m for m in messages(model))


def test_route_settings_for_a_route_that_does_not_exist_warn() -> None:
    model = load_resources(
        app(
            "HttpApi",
            'RouteSettings: {"GET /nope": {ThrottlingRateLimit: 1}}',
            http_event("A", "get", "/a"),
        )
    )
    assert messages(model) == [
        "API 'Api': throttling for route GET /nope matches no route of the API; it has no effect"
    ]


@pytest.mark.parametrize(
    ("props", "match", "line"),
    [
        ('RouteSettings: {"/a": {ThrottlingRateLimit: 1}}', "'/a' is not a route key", 6),
        ('RouteSettings: {"FETCH /a": {ThrottlingRateLimit: 1}}', "not a route key", 6),
        ("DefaultRouteSettings: {ThrottlingRateLimit: -1}", "must be a number of 0 or more", 6),
        ("DefaultRouteSettings: {ThrottlingRateLimit: fast}", "must be a number of 0", 6),
        ("DefaultRouteSettings: {ThrottlingBurstLimit: 2.5}", "must be a whole number", 6),
        ("DefaultRouteSettings: {ThrottlingBurstLimit: true}", "must be a whole number", 6),
        ("DefaultRouteSettings: {Throttle: 1}", "invalid key 'Throttle'", 6),
        ("DefaultRouteSettings: 10", "must be a mapping", 6),
    ],
)
def test_bad_http_route_settings_are_refused_where_they_are_written(
    props: str, match: str, line: int
) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_resources(app("HttpApi", props, http_event("A", "get", "/a")))
    assert info.value.location is not None
    assert info.value.location.file == FILENAME
    assert info.value.location.line == line


# -- REST APIs -------------------------------------------------------------------


def test_rest_method_settings_pick_the_most_specific_entry_per_property() -> None:
    model = load_resources(
        app(
            "Api",
            """
            StageName: prod
            MethodSettings:
              - ResourcePath: /*
                HttpMethod: '*'
                ThrottlingRateLimit: 100
                ThrottlingBurstLimit: 200
              - {ResourcePath: '/~1users~1{id}', HttpMethod: GET, ThrottlingBurstLimit: 2}
              - ResourcePath: /*
                HttpMethod: POST
                ThrottlingRateLimit: 5
                ThrottlingBurstLimit: 10
              - {ResourcePath: /*, HttpMethod: '*', LoggingLevel: INFO}
            """,
            rest_event("Get", "get", "/users/{id}")
            + rest_event("Post", "post", "/users")
            + rest_event("List", "get", "/users"),
        )
    )
    assert throttles(model) == {
        "Get": ThrottleSettings(100.0, 2),
        "Post": ThrottleSettings(5.0, 10),
        "List": ThrottleSettings(100.0, 200),
    }


@pytest.mark.parametrize(
    ("written", "path"),
    [("/~1users~1{id}", "/users/{id}"), ("/users/{id}", "/users/{id}"), ("/", "/"), ("/*", "/*")],
)
def test_resource_paths_are_decoded(written: str, path: str) -> None:
    assert decode_resource_path(written) == path


def test_method_settings_apply_to_the_implicit_api_through_globals() -> None:
    model = load_resources(
        "  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        "      Handler: app.handler\n      Runtime: python3.12\n"
        "      Events:\n        A:\n          Type: Api\n"
        "          Properties: {Path: /a, Method: get}\n",
        before="""
        Globals:
          Api:
            MethodSettings:
              - {ResourcePath: /*, HttpMethod: '*', ThrottlingRateLimit: 1, ThrottlingBurstLimit: 1}
        """,
    )
    assert throttles(model) == {"A": ThrottleSettings(1.0, 1)}


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ("MethodSettings: {ResourcePath: /*}", "must be a list"),
        ("MethodSettings: [{HttpMethod: GET, ThrottlingRateLimit: 1}]", "needs both"),
        ("MethodSettings: [{ResourcePath: a, HttpMethod: GET, ThrottlingRateLimit: 1}]", "start"),
        ("MethodSettings: [{ResourcePath: /*, HttpMethod: GRAB, ThrottlingRateLimit: 1}]", "GRAB"),
        ("MethodSettings: [{ResourcePath: /*, HttpMethod: GET, Bogus: 1}]", "invalid key"),
    ],
)
def test_bad_method_settings_are_refused(settings: str, match: str) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_resources(app("Api", "StageName: prod\n" + settings, rest_event("A", "get", "/a")))
    assert info.value.location is not None


# -- usage plans and API keys ---------------------------------------------------------


def test_per_api_usage_plan_and_api_key_required() -> None:
    model = load_resources(
        app(
            "Api",
            """
            StageName: prod
            Auth:
              ApiKeyRequired: true
              UsagePlan:
                CreateUsagePlan: PER_API
                UsagePlanName: gold
                Throttle: {BurstLimit: 5, RateLimit: 1}
                Quota: {Limit: 1000, Period: MONTH}
            """,
            rest_event("Keyed", "get", "/a")
            + rest_event("Open", "get", "/b", ", Auth: {ApiKeyRequired: false}"),
        )
    )
    api = model.apis["Api"]
    assert api.usage_plan is not None
    assert api.usage_plan.logical_id == "ApiUsagePlan"
    assert api.usage_plan.name == "gold"
    assert api.usage_plan.throttle == ThrottleSettings(1.0, 5)
    assert api.usage_plan.quota == QuotaSettings(1000, "MONTH")
    assert {r.event_name: r.api_key_required for r in model.routes} == {
        "Keyed": True,
        "Open": False,
    }
    assert model.warnings == ()


def test_an_event_can_require_a_key_on_an_api_that_does_not() -> None:
    model = load_resources(
        app(
            "Api",
            "StageName: prod",
            rest_event("A", "get", "/a", ", Auth: {ApiKeyRequired: true}"),
        )
    )
    assert [r.api_key_required for r in model.routes] == [True]


def test_shared_usage_plans_are_one_plan() -> None:
    second = (
        "  Other:\n    Type: AWS::Serverless::Api\n    Properties:\n"
        "      StageName: prod\n"
        "      Auth: {ApiKeyRequired: true, UsagePlan: {CreateUsagePlan: SHARED}}\n"
    )
    model = load_resources(
        app(
            "Api",
            """
            StageName: prod
            Auth:
              UsagePlan: {CreateUsagePlan: SHARED, Quota: {Limit: 10, Period: DAY, Offset: 2}}
            """,
            rest_event("A", "get", "/a"),
        )
        + second
    )
    plans = {name: api.usage_plan for name, api in model.apis.items()}
    expected = QuotaSettings(10, "DAY", 2)
    assert isinstance(plans["Api"], UsagePlanSpec)
    assert plans["Api"] == plans["Other"]
    assert plans["Other"] is not None
    assert plans["Other"].quota == expected
    assert plans["Api"].logical_id == "ServerlessUsagePlan"


def test_create_usage_plan_none_means_no_plan() -> None:
    model = load_resources(
        app(
            "Api",
            "StageName: prod\nAuth: {UsagePlan: {CreateUsagePlan: NONE}}",
            rest_event("A", "get", "/a"),
        )
    )
    assert model.apis["Api"].usage_plan is None


@pytest.mark.parametrize(
    ("auth", "match"),
    [
        ("{UsagePlan: {Quota: {Limit: 1, Period: DAY}}}", "must define 'CreateUsagePlan'"),
        ("{UsagePlan: {CreateUsagePlan: ALL}}", "must be one of PER_API, SHARED, NONE"),
        ("{UsagePlan: {CreateUsagePlan: PER_API, Quota: {Limit: 1, Period: YEAR}}}", "DAY, WEEK"),
        ("{UsagePlan: {CreateUsagePlan: PER_API, Quota: {Limit: 1}}}", "needs Limit and Period"),
        (
            "{UsagePlan: {CreateUsagePlan: PER_API, Quota: {Limit: 1, Period: DAY, Offset: 5}}}",
            "larger than its Limit",
        ),
        ("{UsagePlan: {CreateUsagePlan: PER_API, Throttle: {RateLimit: -2}}}", "0 or more"),
        ("{ApiKeyRequired: maybe}", "must be true or false"),
    ],
)
def test_bad_usage_plans_are_refused(auth: str, match: str) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_resources(app("Api", f"StageName: prod\nAuth: {auth}", rest_event("A", "get", "/a")))
    assert info.value.location is not None
    assert info.value.location.line >= 5


def test_http_api_events_cannot_ask_for_api_keys() -> None:
    with pytest.raises(InvalidTemplateError, match="invalid key 'ApiKeyRequired'"):
        load_resources(
            app(
                "HttpApi",
                "StageName: $default",
                "A:\n  Type: HttpApi\n"
                "  Properties: {ApiId: !Ref Api, Path: /a, Method: get,\n"
                "               Auth: {ApiKeyRequired: true}}\n",
            )
        )
