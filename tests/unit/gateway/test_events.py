import base64
from urllib.parse import quote

import orjson
from hypothesis import given
from hypothesis import strategies as st

from overcast.gateway import (
    build_event,
    build_http_event,
    build_http_v1_event,
    build_rest_event,
    dump_event,
    request_time,
)
from overcast.template.model import ApiSpec

from .helpers import HTTP, REST, matched, request, rest_route, route, table

ACCOUNT = "123456789012"

# Key sets of AWS's documented sample events:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
REST_KEYS = {
    "resource", "path", "httpMethod", "headers", "multiValueHeaders", "queryStringParameters",
    "multiValueQueryStringParameters", "pathParameters", "stageVariables", "requestContext",
    "body", "isBase64Encoded",
}  # fmt: skip
REST_CONTEXT_KEYS = {
    "accountId", "apiId", "domainName", "domainPrefix", "extendedRequestId", "httpMethod",
    "identity", "path", "protocol", "requestId", "requestTime", "requestTimeEpoch",
    "resourceId", "resourcePath", "stage",
}  # fmt: skip
IDENTITY_KEYS = {
    "accessKey", "accountId", "caller", "cognitoAuthenticationProvider",
    "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId",
    "sourceIp", "user", "userAgent", "userArn",
}  # fmt: skip
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
HTTP_KEYS = {
    "version", "routeKey", "rawPath", "rawQueryString", "cookies", "headers",
    "queryStringParameters", "requestContext", "body", "pathParameters", "isBase64Encoded",
    "stageVariables",
}  # fmt: skip
HTTP_CONTEXT_KEYS = {
    "accountId", "apiId", "domainName", "domainPrefix", "http", "requestId", "routeKey", "stage",
    "time", "timeEpoch",
}  # fmt: skip


def _rest(req, path="/hello/{name}", **kwargs):  # type: ignore[no-untyped-def]
    tbl = table([rest_route(path, "ANY")])
    return build_rest_event(req, matched(tbl, req), account_id=ACCOUNT, **kwargs)


def _http(req, path="/hello/{name}", method="GET", api=HTTP):  # type: ignore[no-untyped-def]
    tbl = table([route(path, method)], REST, api)
    return build_http_event(req, matched(tbl, req), account_id=ACCOUNT)


def test_request_time_uses_clf_format_in_utc() -> None:
    assert request_time(1583348638390) == "04/Mar/2020:19:03:58 +0000"


def test_rest_event_has_the_documented_field_set() -> None:
    event = _rest(request("GET", "/hello/world"))
    assert set(event) == REST_KEYS
    assert set(event["requestContext"]) == REST_CONTEXT_KEYS
    assert set(event["requestContext"]["identity"]) == IDENTITY_KEYS


def test_rest_event_path_has_no_stage_but_request_context_path_does() -> None:
    event = _rest(request("GET", "/hello/world"))
    assert event["resource"] == "/hello/{name}"
    assert event["path"] == "/hello/world"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"name": "world"}
    ctx = event["requestContext"]
    assert ctx["path"] == "/Prod/hello/world"
    assert ctx["stage"] == "Prod"
    assert ctx["resourcePath"] == "/hello/{name}"
    assert ctx["httpMethod"] == "GET"
    assert ctx["accountId"] == ACCOUNT
    assert ctx["apiId"] == "abcde12345"
    assert ctx["requestTime"] == "04/Mar/2020:19:03:58 +0000"
    assert ctx["requestTimeEpoch"] == 1583348638390
    assert ctx["requestId"] == "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    assert ctx["identity"]["sourceIp"] == "192.0.2.1"
    assert ctx["identity"]["userAgent"] == "curl/8.0"
    assert ctx["identity"]["user"] is None
    assert ctx["protocol"] == "HTTP/1.1"
    assert ctx["domainName"] == "localhost:3000"
    assert len(ctx["resourceId"]) == 6


def test_rest_event_without_query_body_or_params_has_nulls() -> None:
    event = _rest(request("GET", "/hello"), path="/hello")
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_rest_event_multi_value_query_and_headers() -> None:
    req = request(
        "GET",
        "/hello/x",
        query_string="a=1&a=2&b=%20sp&flag",
        headers=[("x-dup", "one"), ("x-dup", "two")],
    )
    event = _rest(req)
    assert event["queryStringParameters"] == {"a": "2", "b": " sp", "flag": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [" sp"], "flag": [""]}
    assert event["headers"]["x-dup"] == "two"
    assert event["multiValueHeaders"]["x-dup"] == ["one", "two"]
    assert event["multiValueHeaders"]["host"] == ["localhost:3000"]


def test_rest_event_body_is_text_without_binary_media_types() -> None:
    event = _rest(request("POST", "/hello/x", body=b'{"a": 1}'))
    assert event["body"] == '{"a": 1}'
    assert event["isBase64Encoded"] is False


def test_rest_event_body_is_base64_for_a_binary_media_type() -> None:
    req = request("POST", "/hello/x", headers=[("content-type", "image/png")], body=b"\x89PNG\x00")
    event = _rest(req, binary_media_types=("image/*",))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x89PNG\x00"


def test_rest_event_stage_variables() -> None:
    api = ApiSpec("ServerlessRestApi", "rest", "abcde12345", "Prod", stage_variables={"k": "v"})
    tbl = table([rest_route("/x")], api)
    req = request("GET", "/x")
    event = build_rest_event(req, matched(tbl, req), account_id=ACCOUNT)
    assert event["stageVariables"] == {"k": "v"}


def test_http_event_has_the_documented_field_set() -> None:
    req = request(
        "POST",
        "/hello/w",
        query_string="q=1",
        headers=[("cookie", "a=1"), ("content-type", "application/json")],
        body=b"{}",
    )
    api = ApiSpec("ServerlessHttpApi", "http", "fghij67890", "$default", stage_variables={"s": "1"})
    event = _http(req, method="POST", api=api)
    assert set(event) == HTTP_KEYS
    assert set(event["requestContext"]) == HTTP_CONTEXT_KEYS
    assert set(event["requestContext"]["http"]) == {
        "method", "path", "protocol", "sourceIp", "userAgent",
    }  # fmt: skip


def test_http_event_values() -> None:
    event = _http(request("GET", "/hello/w%20x", query_string="a=1&a=2&b=3"))
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /hello/{name}"
    assert event["rawPath"] == "/hello/w%20x"
    assert event["rawQueryString"] == "a=1&a=2&b=3"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "3"}
    assert event["pathParameters"] == {"name": "w x"}
    ctx = event["requestContext"]
    assert ctx["routeKey"] == "GET /hello/{name}"
    assert ctx["stage"] == "$default"
    assert ctx["time"] == "04/Mar/2020:19:03:58 +0000"
    assert ctx["timeEpoch"] == 1583348638390
    assert ctx["http"] == {
        "method": "GET",
        "path": "/hello/w%20x",
        "protocol": "HTTP/1.1",
        "sourceIp": "192.0.2.1",
        "userAgent": "curl/8.0",
    }


def test_http_event_omits_keys_with_nothing_to_say() -> None:
    event = _http(request("GET", "/hello"), path="/hello")
    for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables", "body"):
        assert key not in event
    assert event["isBase64Encoded"] is False
    assert event["rawQueryString"] == ""


def test_http_event_named_stage_prefixes_raw_path() -> None:
    api = ApiSpec("ServerlessHttpApi", "http", "fghij67890", "dev")
    event = _http(request("GET", "/hello/x"), api=api)
    assert event["rawPath"] == "/dev/hello/x"
    assert event["requestContext"]["http"]["path"] == "/dev/hello/x"
    assert event["requestContext"]["stage"] == "dev"


def test_http_event_joins_duplicate_headers_and_moves_cookies() -> None:
    req = request(
        "GET",
        "/hello/x",
        headers=[
            ("x-dup", "one"),
            ("cookie", "a=1; b=2"),
            ("x-dup", "two"),
            ("cookie", "c=3"),
        ],
    )
    event = _http(req)
    assert event["headers"]["x-dup"] == "one,two"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2", "c=3"]


def test_http_event_body_text_for_json_and_text_types() -> None:
    for content_type in ("application/json; charset=utf-8", "text/plain", "application/xml"):
        req = request(
            "POST", "/hello/x", headers=[("content-type", content_type)], body=b"hi \xc3\xa9"
        )
        event = _http(req, method="POST")
        assert event["body"] == "hi \u00e9"
        assert event["isBase64Encoded"] is False


def test_http_event_body_base64_for_binary_form_and_missing_types() -> None:
    for headers in (
        [("content-type", "application/octet-stream")],
        [("content-type", "application/x-www-form-urlencoded")],
        [],
    ):
        req = request("POST", "/hello/x", headers=headers, body=b"a=1")
        event = _http(req, method="POST")
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == b"a=1"


def test_default_route_event_has_default_route_key() -> None:
    tbl = table([route("$default", "ANY")])
    req = request("DELETE", "/any/where")
    event = build_http_event(req, matched(tbl, req), account_id=ACCOUNT)
    assert event["routeKey"] == "$default"
    assert event["requestContext"]["routeKey"] == "$default"
    assert "pathParameters" not in event


def test_http_api_payload_1_0_event() -> None:
    tbl = table([route("/my/path", "GET", payload_format="1.0")])
    req = request("GET", "/my/path", query_string="p=1&p=2")
    event = build_http_v1_event(req, matched(tbl, req), account_id=ACCOUNT)
    assert event["version"] == "1.0"
    assert event["resource"] == "/my/path"
    assert event["path"] == "/my/path"
    assert event["multiValueQueryStringParameters"] == {"p": ["1", "2"]}
    ctx = event["requestContext"]
    assert ctx["stage"] == "$default"
    assert ctx["path"] == "/my/path"
    assert ctx["resourceId"] is None
    assert ctx["authorizer"] == {"claims": None, "scopes": None}


def test_build_event_dispatches_on_api_kind_and_payload_format() -> None:
    tbl = table([rest_route("/r"), route("/h2"), route("/h1", payload_format="1.0")], REST, HTTP)
    for path, check in (
        ("/r", lambda e: "version" not in e and "httpMethod" in e),
        ("/h2", lambda e: e["version"] == "2.0"),
        ("/h1", lambda e: e["version"] == "1.0"),
    ):
        req = request("GET", path)
        assert check(build_event(req, matched(tbl, req), account_id=ACCOUNT))


def test_dump_event_is_json_bytes() -> None:
    event = _http(request("GET", "/hello/x"))
    assert orjson.loads(dump_event(event)) == event


# -- properties ---------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=6
)
_pairs = st.lists(
    st.tuples(
        _text,
        st.text(max_size=6, alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",))),
    ),
    max_size=6,
)


def _qs(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)


@given(_pairs)
def test_any_query_string_round_trips_to_the_v1_fields(pairs: list[tuple[str, str]]) -> None:
    event = _rest(request("GET", "/hello/x", query_string=_qs(pairs)))
    multi: dict[str, list[str]] = {}
    for k, v in pairs:
        multi.setdefault(k, []).append(v)
    assert (event["multiValueQueryStringParameters"] or {}) == multi
    assert (event["queryStringParameters"] or {}) == {k: vs[-1] for k, vs in multi.items()}


@given(_pairs)
def test_any_query_string_round_trips_to_the_v2_fields(pairs: list[tuple[str, str]]) -> None:
    query = _qs(pairs)
    event = _http(request("GET", "/hello/x", query_string=query))
    assert event["rawQueryString"] == query
    multi: dict[str, list[str]] = {}
    for k, v in pairs:
        multi.setdefault(k, []).append(v)
    expected = {k: ",".join(vs) for k, vs in multi.items()}
    assert event.get("queryStringParameters", {}) == expected


_header_name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=8).filter(
    lambda n: n not in ("cookie", "host", "user-agent")
)
_header_value = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=8)


@given(st.lists(st.tuples(_header_name, _header_value), max_size=8))
def test_any_header_set_round_trips(headers: list[tuple[str, str]]) -> None:
    req = request("GET", "/hello/x", headers=headers)
    v1 = _rest(req)
    v2 = _http(req)
    multi: dict[str, list[str]] = {}
    for k, v in req.headers:
        multi.setdefault(k, []).append(v)
    assert v1["multiValueHeaders"] == multi
    assert v1["headers"] == {k: vs[-1] for k, vs in multi.items()}
    assert v2["headers"] == {k: ",".join(vs) for k, vs in multi.items()}


def test_request_time_stays_right_across_seconds_in_any_order() -> None:
    base = 1583348638390
    assert request_time(base) == "04/Mar/2020:19:03:58 +0000"
    assert request_time(base + 500) == "04/Mar/2020:19:03:58 +0000"
    assert request_time(base + 1000) == "04/Mar/2020:19:03:59 +0000"
    assert request_time(base) == "04/Mar/2020:19:03:58 +0000"
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"
