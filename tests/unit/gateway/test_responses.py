import base64
from collections.abc import Callable

import orjson
import pytest

from overcast.gateway import Fault, HttpResponse, error_response, map_function_response


def _rest(result: object) -> HttpResponse:
    payload = result if isinstance(result, bytes) else orjson.dumps(result)
    return map_function_response(
        payload, kind="rest", payload_format="1.0", request_id="rid", extended_id="ext"
    )


def _v2(result: object) -> HttpResponse:
    payload = result if isinstance(result, bytes) else orjson.dumps(result)
    return map_function_response(payload, kind="http", payload_format="2.0", request_id="rid")


def _http_v1(result: object) -> HttpResponse:
    return map_function_response(
        orjson.dumps(result), kind="http", payload_format="1.0", request_id="rid"
    )


def test_rest_proxy_response_maps_status_headers_and_body() -> None:
    response = _rest(
        {"statusCode": 201, "headers": {"X-A": "1", "Content-Type": "text/plain"}, "body": "made"}
    )
    assert response.status == 201
    assert response.body == b"made"
    assert response.header(b"x-a") == b"1"
    assert response.header(b"content-type") == b"text/plain"
    assert response.header(b"x-amzn-requestid") == b"rid"
    assert response.header(b"x-amz-apigw-id") == b"ext"


def test_rest_response_defaults_to_json_content_type() -> None:
    assert _rest({"statusCode": 200, "body": "{}"}).header(b"content-type") == b"application/json"


def test_multi_value_headers_win_over_headers_of_the_same_name() -> None:
    response = _rest(
        {
            "statusCode": 200,
            "headers": {"X-One": "single", "X-Only": "kept"},
            "multiValueHeaders": {"X-One": ["a", "b"], "Set-Cookie": ["c=1", "d=2"]},
            "body": "",
        }
    )
    assert response.header_values(b"x-one") == [b"a", b"b"]
    assert response.header_values(b"x-only") == [b"kept"]
    assert response.header_values(b"set-cookie") == [b"c=1", b"d=2"]


def test_scalar_header_values_are_stringified() -> None:
    response = _rest({"statusCode": 200, "headers": {"X-N": 3, "X-B": True}, "body": ""})
    assert response.header(b"x-n") == b"3"
    assert response.header(b"x-b") == b"true"


def test_base64_body_is_decoded() -> None:
    response = _rest(
        {"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(), "isBase64Encoded": True}
    )
    assert response.body == b"\x00\xff"


def test_missing_body_is_empty() -> None:
    assert _rest({"statusCode": 204}).body == b""


def test_function_cannot_set_framing_headers() -> None:
    response = _rest(
        {
            "statusCode": 200,
            "headers": {"Content-Length": "999", "Transfer-Encoding": "chunked"},
            "body": "x",
        }
    )
    assert response.header(b"content-length") is None
    assert response.header(b"transfer-encoding") is None


@pytest.mark.parametrize(
    "result",
    [
        b"not json",
        {"body": "no status"},
        {"statusCode": "200", "body": "x"},
        {"statusCode": True, "body": "x"},
        {"statusCode": 42, "body": "x"},
        {"statusCode": 200, "body": {"an": "object"}},
        {"statusCode": 200, "headers": ["not", "a", "dict"]},
        {"statusCode": 200, "headers": {"X": {"nested": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"X": "not-a-list"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 200, "body": "x", "isBase64Encoded": "yes"},
        {"statusCode": 100, "body": "x"},
        {"statusCode": 101, "headers": {"Upgrade": "websocket"}},
        {"statusCode": 200, "headers": {"X-A": "a\r\nX-B: b"}},
        {"statusCode": 200, "headers": {"X-A": "a\u0000"}},
        {"statusCode": 200, "headers": {"X-A\n": "a"}},
        {"statusCode": 200, "headers": {"": "a"}},
        {"statusCode": 200, "multiValueHeaders": {"X-A": ["ok", "a\rb"]}},
        "a bare string",
        [1, 2],
    ],
)
def test_invalid_rest_results_become_502_internal_server_error(result: object) -> None:
    response = _rest(result)
    assert response.status == 502
    assert response.body == b'{"message": "Internal server error"}'
    assert response.header(b"x-amzn-errortype") == b"InternalServerErrorException"


def test_http_api_payload_1_0_makes_no_assumptions() -> None:
    response = _http_v1({"message": "no status"})
    assert response.status == 500
    assert response.body == b'{"message":"Internal Server Error"}'
    ok = _http_v1({"statusCode": 200, "body": "x"})
    assert (ok.status, ok.body) == (200, b"x")


def test_v2_structured_response_with_cookies() -> None:
    response = _v2(
        {
            "statusCode": 302,
            "headers": {"location": "/x"},
            "cookies": ["a=1; Path=/", "b=2"],
            "body": "",
        }
    )
    assert response.status == 302
    assert response.header(b"location") == b"/x"
    assert response.header_values(b"set-cookie") == [b"a=1; Path=/", b"b=2"]
    assert response.header(b"apigw-requestid") == b"rid"


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"message": "hi"}, b'{"message":"hi"}'),
        ("Hello from Lambda!", b"Hello from Lambda!"),
        (42, b"42"),
        ([1, 2], b"[1,2]"),
    ],
)
def test_v2_infers_a_200_json_response_without_status_code(result: object, body: bytes) -> None:
    response = _v2(result)
    assert response.status == 200
    assert response.header(b"content-type") == b"application/json"
    assert response.body == body


def test_v2_inference_keeps_the_function_json_text() -> None:
    response = _v2(b'{"b": 1,  "a": 2}')
    assert response.body == b'{"b": 1,  "a": 2}'


@pytest.mark.parametrize(
    "result",
    [
        b"{broken",
        {"statusCode": "x"},
        {"statusCode": 200, "body": 5},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 103, "headers": {"Link": "</a.css>"}},
        {"statusCode": 200, "cookies": ["a=1\r\nX-B: b"]},
        {"statusCode": 200, "headers": {"X A": "1"}},
        {"statusCode": 200, "headers": {"X-A": "\u007f"}},
    ],
)
def test_invalid_v2_results_become_500(result: object) -> None:
    response = _v2(result)
    assert response.status == 500
    assert response.body == b'{"message":"Internal Server Error"}'


@pytest.mark.parametrize(
    ("fault", "kind", "status", "body"),
    [
        (Fault.NO_ROUTE, "http", 404, b'{"message":"Not Found"}'),
        (Fault.NO_ROUTE, "rest", 403, b'{"message":"Missing Authentication Token"}'),
        (Fault.INTEGRATION_ERROR, "rest", 502, b'{"message": "Internal server error"}'),
        (Fault.INTEGRATION_ERROR, "http", 500, b'{"message":"Internal Server Error"}'),
        (Fault.INTEGRATION_TIMEOUT, "rest", 504, b'{"message": "Endpoint request timed out"}'),
        (Fault.INTEGRATION_TIMEOUT, "http", 503, b'{"message":"Service Unavailable"}'),
        (Fault.LAMBDA_THROTTLED, "rest", 500, b'{"message": "Internal server error"}'),
        (Fault.LAMBDA_THROTTLED, "http", 500, b'{"message":"Internal Server Error"}'),
        (Fault.REQUEST_TOO_LARGE, "rest", 413, b'{"message":"Request Too Long"}'),
        (Fault.REQUEST_TOO_LARGE, "http", 413, b'{"message":"Request Entity Too Large"}'),
    ],
)
def test_error_shapes_per_api_type(fault: Fault, kind: str, status: int, body: bytes) -> None:
    response = error_response(fault, kind, "rid")  # type: ignore[arg-type]
    assert (response.status, response.body) == (status, body)
    assert response.header(b"content-type") == b"application/json"
    id_header = b"x-amzn-requestid" if kind == "rest" else b"apigw-requestid"
    assert response.header(id_header) == b"rid"


def test_missing_authentication_token_names_its_error_type() -> None:
    response = error_response(Fault.NO_ROUTE, "rest", "rid")
    assert response.header(b"x-amzn-errortype") == b"MissingAuthenticationTokenException"


def test_every_fault_has_a_shape_for_both_api_types() -> None:
    for fault in Fault:
        for kind in ("rest", "http"):
            assert error_response(fault, kind, "r").status >= 400  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [204, 304])
@pytest.mark.parametrize("mapper", [_rest, _v2, _http_v1])
def test_204_and_304_lose_the_body_the_function_gave_them(
    mapper: Callable[[object], HttpResponse], status: int
) -> None:
    response = mapper({"statusCode": status, "body": "HTTP/1.1 200 OK\r\n\r\n"})
    assert response.status == status
    assert response.body == b""


def test_a_tab_in_a_header_value_is_allowed() -> None:
    assert _v2({"statusCode": 200, "headers": {"X-A": "a\tb"}}).header(b"x-a") == b"a\tb"
