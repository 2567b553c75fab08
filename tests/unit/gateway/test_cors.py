from overcast.gateway import (
    HttpResponse,
    apply_http_cors,
    http_preflight,
    is_preflight,
    rest_options_response,
)

from .helpers import cors, request

PREFLIGHT = [("origin", "https://app.example"), ("access-control-request-method", "POST")]


def test_preflight_needs_options_origin_and_requested_method() -> None:
    assert is_preflight(request("OPTIONS", "/x", headers=PREFLIGHT))
    assert not is_preflight(request("OPTIONS", "/x", headers=PREFLIGHT[:1]))
    assert not is_preflight(request("GET", "/x", headers=PREFLIGHT))


def test_http_preflight_for_an_allowed_origin() -> None:
    config = cors(
        allow_origins=("https://app.example",),
        allow_methods=("GET", "POST"),
        allow_headers=("content-type", "authorization"),
        max_age=600,
        allow_credentials=True,
    )
    response = http_preflight(config, request("OPTIONS", "/x", headers=PREFLIGHT))
    assert response.status == 204
    assert response.body == b""
    assert response.header(b"access-control-allow-origin") == b"https://app.example"
    assert response.header(b"access-control-allow-methods") == b"GET,POST"
    assert response.header(b"access-control-allow-headers") == b"content-type,authorization"
    assert response.header(b"access-control-max-age") == b"600"
    assert response.header(b"access-control-allow-credentials") == b"true"


def test_http_preflight_for_a_foreign_origin_has_no_cors_headers() -> None:
    config = cors(allow_origins=("https://other.example",), allow_methods=("*",))
    response = http_preflight(config, request("OPTIONS", "/x", headers=PREFLIGHT))
    assert response.status == 204
    assert response.header(b"access-control-allow-origin") is None


def test_http_preflight_for_a_method_not_allowed_has_no_cors_headers() -> None:
    config = cors(allow_origins=("*",), allow_methods=("GET",))
    response = http_preflight(config, request("OPTIONS", "/x", headers=PREFLIGHT))
    assert response.header(b"access-control-allow-origin") is None


def test_wildcard_origin_answers_star() -> None:
    config = cors(allow_origins=("*",), allow_methods=("*",))
    response = http_preflight(config, request("OPTIONS", "/x", headers=PREFLIGHT))
    assert response.header(b"access-control-allow-origin") == b"*"


def test_actual_http_response_gets_configured_headers_instead_of_the_functions() -> None:
    config = cors(allow_origins=("https://app.example",), expose_headers=("x-total",))
    original = HttpResponse(200, ((b"access-control-allow-origin", b"*"), (b"x-a", b"1")), b"ok")
    response = apply_http_cors(original, config, "https://app.example")
    assert response.header_values(b"access-control-allow-origin") == [b"https://app.example"]
    assert response.header(b"access-control-expose-headers") == b"x-total"
    assert response.header(b"x-a") == b"1"
    assert response.body == b"ok"


def test_actual_http_response_without_origin_is_unchanged() -> None:
    config = cors(allow_origins=("*",))
    original = HttpResponse(200, ((b"x-a", b"1"),), b"ok")
    assert apply_http_cors(original, config, None) is original


def test_rest_options_mock_lists_the_path_methods_like_sam() -> None:
    config = cors(allow_origins=("*",), allow_headers=("Content-Type",), max_age=60)
    response = rest_options_response(config, ["GET", "POST"], "rid")
    assert response.status == 200
    assert response.body == b""
    assert response.header(b"access-control-allow-origin") == b"*"
    assert response.header(b"access-control-allow-methods") == b"GET,OPTIONS,POST"
    assert response.header(b"access-control-allow-headers") == b"Content-Type"
    assert response.header(b"access-control-max-age") == b"60"


def test_rest_options_mock_uses_configured_methods() -> None:
    config = cors(allow_origins=("https://a.example",), allow_methods=("GET", "OPTIONS"))
    response = rest_options_response(config, ["ANY"], "rid")
    assert response.header(b"access-control-allow-methods") == b"GET,OPTIONS"
