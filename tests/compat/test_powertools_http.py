"""An aws-lambda-powertools APIGatewayHttpResolver app, unchanged, behind overcast's HTTP API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(module_running_app) -> Iterator[httpx.Client]:
    app = module_running_app("compat-powertools-http")
    with app.client() as http:
        yield http


def test_list_route_returns_powertools_json(client: httpx.Client) -> None:
    response = client.get("/todos")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert {t["id"] for t in response.json()["todos"]} >= {"1", "2"}


def test_query_string_reaches_the_resolver(client: httpx.Client) -> None:
    response = client.get("/todos", params={"completed": "true"})
    assert response.status_code == 200
    todos = response.json()["todos"]
    assert todos
    assert all(t["completed"] for t in todos)


def test_path_parameter_selects_the_todo(client: httpx.Client) -> None:
    response = client.get("/todos/2")
    assert response.status_code == 200
    assert response.json() == {"id": "2", "title": "run it on overcast", "completed": False}


def test_not_found_error_becomes_powertools_404(client: httpx.Client) -> None:
    response = client.get("/todos/999")
    assert response.status_code == 404
    assert response.json() == {"statusCode": 404, "message": "todo 999 not found"}


def test_post_json_body_creates_with_status_and_location(client: httpx.Client) -> None:
    response = client.post("/todos", json={"title": "buy milk"})
    assert response.status_code == 201
    todo = response.json()
    assert todo["title"] == "buy milk"
    assert todo["completed"] is False
    assert response.headers["location"] == f"/todos/{todo['id']}"


def test_bad_request_error_becomes_400(client: httpx.Client) -> None:
    response = client.post("/todos", json=["not", "a", "todo"])
    assert response.status_code == 400
    assert response.json() == {"statusCode": 400, "message": "a todo needs a title"}


def test_event_carries_http_api_fields_and_cookies(client: httpx.Client) -> None:
    response = client.get(
        "/whoami", headers={"User-Agent": "compat-test/1.0", "Cookie": "a=1; b=2"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["function_name"] == "TodosFunction"
    assert body["method"] == "GET"
    assert body["path"] == "/whoami"
    assert body["route_key"] == "GET /whoami"
    assert body["user_agent"] == "compat-test/1.0"
    assert body["cookies"] == ["a=1", "b=2"]


def test_route_not_in_the_template_is_gateway_404(client: httpx.Client) -> None:
    # /todos/1/extra matches no HttpApi route, so API Gateway answers before Lambda runs.
    response = client.get("/todos/1/extra")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_method_not_in_the_template_is_gateway_404(client: httpx.Client) -> None:
    response = client.delete("/todos/1")
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}


def test_unhandled_exception_in_a_route_is_http_api_500(client: httpx.Client) -> None:
    response = client.get("/crash")
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
    # the platform keeps serving the same function afterwards
    assert client.get("/todos/1").status_code == 200
