"""A FastAPI app behind Mangum, unchanged, on an HTTP API's $default route."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app("compat-fastapi-mangum")


@pytest.fixture
def client(app) -> Iterator[httpx.Client]:
    # a fresh client per test, so cookies set by one test never reach another
    with app.client() as http:
        yield http


def test_default_route_serves_the_root_with_template_environment(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.json()["greeting"] == "hello from fastapi"


def test_path_parameter_is_parsed_by_fastapi(client: httpx.Client) -> None:
    response = client.get("/items/2")
    assert response.status_code == 200
    assert response.json() == {"id": 2, "name": "nails", "price": 2.25}


def test_invalid_path_parameter_is_fastapi_422(client: httpx.Client) -> None:
    response = client.get("/items/not-a-number")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "item_id"]


def test_query_parameters_including_repeated_ones(client: httpx.Client) -> None:
    response = client.get(
        "/search", params=[("q", "ham"), ("limit", "5"), ("tag", "a"), ("tag", "b")]
    )
    assert response.status_code == 200
    body = response.json()
    assert body["q"] == "ham"
    assert body["limit"] == 5
    assert body["tags"] == ["a", "b"]
    assert [hit["name"] for hit in body["hits"]] == ["hammer"]


def test_encoded_query_value_arrives_decoded(client: httpx.Client) -> None:
    response = client.get("/search", params={"q": "a b&c=d"})
    assert response.status_code == 200
    assert response.json()["q"] == "a b&c=d"


def test_json_body_post_is_validated_and_created(client: httpx.Client) -> None:
    response = client.post("/items", json={"name": "saw", "price": 12, "tags": ["tools"]})
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "saw"
    assert body["price"] == 12.0
    assert body["tags"] == ["tools"]
    assert response.headers["x-item-id"] == str(body["id"])


def test_invalid_json_body_is_fastapi_422(client: httpx.Client) -> None:
    response = client.post("/items", json={"price": "free"})
    assert response.status_code == 422


def test_response_headers_set_by_the_app_reach_the_client(client: httpx.Client) -> None:
    response = client.get("/headers")
    assert response.status_code == 200
    assert response.headers["x-powered-by"] == "fastapi+mangum"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"


def test_unknown_path_is_fastapi_404_not_gateway_404(client: httpx.Client) -> None:
    # $default catches every path, so the 404 comes from FastAPI's router.
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_http_exception_404_carries_its_detail(client: httpx.Client) -> None:
    response = client.get("/items/999")
    assert response.status_code == 404
    assert response.json() == {"detail": "item 999 not found"}


def test_cookies_set_by_the_app_become_separate_set_cookie_headers(client: httpx.Client) -> None:
    response = client.post("/login")
    assert response.status_code == 200
    set_cookies = response.headers.get_list("set-cookie")
    assert len(set_cookies) == 2
    assert any(c.startswith("session=abc123") and "HttpOnly" in c for c in set_cookies)
    assert any(c.startswith("theme=dark") for c in set_cookies)


def test_request_cookies_reach_the_app(client: httpx.Client) -> None:
    response = client.get("/me", headers={"Cookie": "session=s1; theme=light"})
    assert response.status_code == 200
    assert response.json() == {"session": "s1", "theme": "light"}
