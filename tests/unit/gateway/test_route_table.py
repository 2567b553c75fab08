from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.gateway import (
    InvalidRouteError,
    RouteConflictError,
    RouteMatch,
    RouteMiss,
    RouteTable,
)

from .helpers import HTTP, REST, apis, function, rest_route, route, table


def _fn(tbl: RouteTable, method: str, path: str) -> str | None:
    found = tbl.match(method, path)
    return found.route.spec.function if found else None


def test_exact_route_matches_with_no_path_parameters() -> None:
    tbl = table([route("/hello")])
    found = tbl.match("GET", "/hello")
    assert found is not None
    assert found.route.route_key == "GET /hello"
    assert found.path_parameters is None


def test_param_segment_captures_decoded_value() -> None:
    tbl = table([route("/users/{id}/posts/{post}")])
    found = tbl.match("GET", "/users/a%20b/posts/%E2%9C%93")
    assert found is not None
    assert found.path_parameters == {"id": "a b", "post": "\u2713"}


def test_encoded_slash_stays_inside_one_parameter() -> None:
    tbl = table([route("/files/{name}")])
    found = tbl.match("GET", "/files/a%2Fb")
    assert found is not None
    assert found.path_parameters == {"name": "a/b"}


def test_greedy_proxy_matches_one_or_more_segments() -> None:
    tbl = table([route("/static/{proxy+}")])
    found = tbl.match("GET", "/static/css/site.css")
    assert found is not None
    assert found.path_parameters == {"proxy": "css/site.css"}
    assert tbl.match("GET", "/static") is None
    assert tbl.match("GET", "/static/") is None


def test_root_greedy_route_does_not_match_root_path() -> None:
    tbl = table([route("/{proxy+}", "ANY")])
    assert tbl.match("GET", "/") is None
    assert tbl.match("GET", "/x") is not None


def test_greedy_proxy_route_loses_to_exact_route() -> None:
    tbl = table([route("/{proxy+}", "ANY", "Proxy"), route("/pets/dog/1", "GET", "Exact")])
    assert _fn(tbl, "GET", "/pets/dog/1") == "Exact"
    assert _fn(tbl, "GET", "/pets/dog/2") == "Proxy"


def test_static_segment_beats_param_beats_greedy() -> None:
    # The example of AWS's "Routing API requests" section for HTTP APIs.
    tbl = table(
        [
            route("/pets/dog/1", "GET", "Static"),
            route("/pets/dog/{id}", "GET", "Param"),
            route("/pets/{proxy+}", "GET", "Greedy"),
            route("/{proxy+}", "ANY", "AnyGreedy"),
        ]
    )
    assert _fn(tbl, "GET", "/pets/dog/1") == "Static"
    assert _fn(tbl, "GET", "/pets/dog/2") == "Param"
    assert _fn(tbl, "GET", "/pets/cat/1") == "Greedy"
    assert _fn(tbl, "POST", "/pets/dog/1") == "AnyGreedy"
    assert _fn(tbl, "GET", "/test") == "AnyGreedy"


def test_walk_backtracks_from_a_static_branch_that_leads_nowhere() -> None:
    tbl = table([route("/a/b/c", "GET", "Deep"), route("/a/{x}/d", "GET", "Param")])
    found = tbl.match("GET", "/a/b/d")
    assert found is not None
    assert found.route.spec.function == "Param"
    assert found.path_parameters == {"x": "b"}


def test_method_route_beats_any_on_the_same_path() -> None:
    tbl = table([route("/items", "ANY", "Any"), route("/items", "POST", "Post")])
    assert _fn(tbl, "POST", "/items") == "Post"
    assert _fn(tbl, "DELETE", "/items") == "Any"


def test_http_api_falls_back_to_a_less_specific_route_for_another_method() -> None:
    tbl = table([route("/items/{id}", "GET", "Get"), route("/{proxy+}", "POST", "Catch")])
    assert _fn(tbl, "POST", "/items/3") == "Catch"


def test_default_route_catches_unmatched_paths() -> None:
    tbl = table([route("/hello", "GET", "Hello"), route("$default", "ANY", "Default")])
    assert _fn(tbl, "GET", "/hello") == "Hello"
    found = tbl.match("PATCH", "/anything/else")
    assert found is not None
    assert found.route.route_key == "$default"
    assert found.route.spec.function == "Default"
    assert found.path_parameters is None


def test_unknown_route_on_http_api_misses_with_http_shape() -> None:
    assert table([route("/hello")]).resolve("GET", "/nope") == RouteMiss("http")


def test_rest_only_app_misses_with_rest_shape() -> None:
    tbl = RouteTable.build([rest_route("/hello")], apis(REST))
    assert tbl.resolve("GET", "/nope") == RouteMiss("rest")


def test_rest_resource_without_the_method_does_not_fall_back_to_proxy() -> None:
    tbl = RouteTable.build(
        [rest_route("/items", "GET", "Items"), rest_route("/{proxy+}", "POST", "Proxy")], apis(REST)
    )
    assert tbl.resolve("POST", "/items") == RouteMiss("rest", method_not_defined=True)
    assert _fn(tbl, "POST", "/other") == "Proxy"


def test_head_is_its_own_method() -> None:
    tbl = table([route("/hello", "GET")])
    assert tbl.match("HEAD", "/hello") is None
    assert table([route("/hello", "ANY")]).match("HEAD", "/hello") is not None


def test_one_trailing_slash_is_ignored() -> None:
    tbl = table([route("/hello"), route("/users/{id}")])
    assert tbl.match("GET", "/hello/") is not None
    found = tbl.match("GET", "/users/7/")
    assert found is not None
    assert found.path_parameters == {"id": "7"}


def test_root_route() -> None:
    tbl = table([rest_route("/", "GET", "Root")])
    assert _fn(tbl, "GET", "/") == "Root"


def test_two_apis_claiming_the_same_route_is_an_error_naming_both() -> None:
    other = HTTP.__class__(logical_id="OtherApi", kind="http", api_id="x", stage_name="$default")
    with pytest.raises(RouteConflictError) as info:
        RouteTable.build(
            [route("/hello", "GET", "First"), route("/hello", "GET", "Second", api="OtherApi")],
            apis(HTTP, other),
        )
    message = str(info.value)
    for name in ("ServerlessHttpApi", "OtherApi", "First", "Second", "GET /hello"):
        assert name in message


def test_param_names_do_not_hide_a_conflict() -> None:
    with pytest.raises(RouteConflictError):
        table([rest_route("/u/{id}", "GET", "A"), route("/u/{name}", "GET", "B")])


def test_same_path_with_different_methods_is_no_conflict() -> None:
    tbl = table([rest_route("/u", "GET", "A"), route("/u", "POST", "B")])
    assert _fn(tbl, "GET", "/u") == "A"
    assert _fn(tbl, "POST", "/u") == "B"


def test_greedy_variable_must_be_last() -> None:
    with pytest.raises(InvalidRouteError):
        table([route("/{proxy+}/x")])


def test_route_naming_an_unknown_api_is_an_error() -> None:
    with pytest.raises(InvalidRouteError, match="NoSuchApi"):
        table([route("/x", api="NoSuchApi")])


def test_default_route_on_rest_api_is_an_error() -> None:
    with pytest.raises(InvalidRouteError):
        table([rest_route("$default", "ANY")])


def test_function_name_comes_from_function_name_property() -> None:
    tbl = RouteTable.build(
        [route("/x", function="Fn")], apis(HTTP), {"Fn": function("Fn", name="my-fn")}
    )
    found = tbl.match("GET", "/x")
    assert found is not None
    assert found.route.function_name == "my-fn"


# -- properties ---------------------------------------------------------------

_segment = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/{}%?#", exclude_categories=("Cs",)),
    min_size=1,
    max_size=8,
)
_value = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/", exclude_categories=("Cs",)),
    min_size=1,
    max_size=8,
)


def _quote(value: str) -> str:
    return quote(value, safe="")


@given(st.lists(st.tuples(st.booleans(), _segment, _value), min_size=1, max_size=6))
def test_a_generated_path_matches_its_own_route_with_the_right_params(
    parts: list[tuple[bool, str, str]],
) -> None:
    template, actual, expected = [], [], {}
    for index, (is_param, literal, value) in enumerate(parts):
        if is_param:
            name = f"p{index}"
            template.append("{" + name + "}")
            actual.append(_quote(value))
            expected[name] = value
        else:
            template.append(literal)
            actual.append(_quote(literal))
    tbl = table([route("/" + "/".join(template))])
    found = tbl.match("GET", "/" + "/".join(actual))
    assert isinstance(found, RouteMatch)
    assert (found.path_parameters or {}) == expected


@given(st.lists(_segment, min_size=1, max_size=5), st.integers(min_value=0, max_value=4))
def test_static_route_beats_a_param_route_over_the_same_path(segments: list[str], at: int) -> None:
    at = at % len(segments)
    param_path = [*segments]
    param_path[at] = "{v}"
    tbl = table(
        [
            route("/" + "/".join(segments), "GET", "Static"),
            route("/" + "/".join(param_path), "GET", "Param"),
        ]
    )
    path = "/" + "/".join(_quote(s) for s in segments)
    assert _fn(tbl, "GET", path) == "Static"


@given(st.lists(_value, min_size=1, max_size=5))
def test_greedy_parameter_is_the_decoded_rest_of_the_path(values: list[str]) -> None:
    tbl = table([route("/base/{proxy+}")])
    found = tbl.match("GET", "/base/" + "/".join(_quote(v) for v in values))
    assert found is not None
    assert found.path_parameters == {"proxy": "/".join(values)}
