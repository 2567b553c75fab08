"""Misbehaving handlers behind an HTTP API: one error response each, the platform survives.

Every misbehaving route must answer HTTP API's function-error response, and the
healthy function on the same platform must keep answering afterwards.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

pytestmark = pytest.mark.slow

# A Lambda function error (raised, crashed, timed out, out of memory) behind an HTTP API.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html
HTTP_API_FUNCTION_ERROR = {"message": "Internal Server Error"}


@pytest.fixture(scope="module")
def app(module_running_app):
    return module_running_app("chaos")


@pytest.fixture
def client(app) -> Iterator[httpx.Client]:
    with app.client(timeout=60.0) as http:
        yield http


def _assert_still_serving(app, client: httpx.Client) -> None:
    assert app.process.poll() is None, "overcast up died\n" + app.output()
    response = client.get("/healthy")
    assert response.status_code == 200
    assert response.json()["calls"] >= 1


def _fork_children() -> list[psutil.Process]:
    """The fork bomb's children, found by the process name they give themselves."""
    found = []
    for proc in psutil.process_iter(["name", "status"]):
        if proc.info["name"] == "chaos-forkchild" and proc.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


@pytest.mark.parametrize("route", ["/raises", "/exits", "/segfaults", "/hog"])
def test_misbehaving_function_costs_one_500_and_platform_keeps_serving(
    app, client: httpx.Client, route: str
) -> None:
    response = client.get(route)
    assert response.status_code == 500, response.text
    assert response.json() == HTTP_API_FUNCTION_ERROR
    _assert_still_serving(app, client)


@pytest.mark.parametrize("route", ["/raises", "/exits", "/segfaults"])
def test_function_that_failed_answers_again_after_its_instance_is_replaced(
    client: httpx.Client, route: str
) -> None:
    for _ in range(2):
        response = client.get(route)
        assert response.status_code == 500
        assert response.json() == HTTP_API_FUNCTION_ERROR


def test_endless_loop_is_cut_at_the_function_timeout_not_a_hang(app, client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.get("/loops", timeout=15.0)
    elapsed = time.monotonic() - started
    assert response.status_code == 500
    assert response.json() == HTTP_API_FUNCTION_ERROR
    # Timeout is 1 s: the function must get its full second, and the caller must not
    # wait for the 30 s integration timeout.
    assert 1.0 <= elapsed < 10.0
    _assert_still_serving(app, client)


def test_loud_function_printing_50_mb_still_returns_200(app, client: httpx.Client) -> None:
    response = client.get("/loud")
    assert response.status_code == 200
    assert response.text == "ok"
    _assert_still_serving(app, client)


def test_fork_bomb_children_do_not_outlive_the_invocation(app, client: httpx.Client) -> None:
    response = client.get("/forkbomb")
    assert response.status_code == 500, response.text
    assert response.json() == HTTP_API_FUNCTION_ERROR
    # Its children sleep for 20 s; a platform that contains them kills them with
    # the instance.
    deadline = time.monotonic() + 5.0
    left = _fork_children()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _fork_children()
    assert not left, f"{len(left)} fork bomb children still running"
    _assert_still_serving(app, client)


def test_healthy_function_is_reused_warm_between_requests(client: httpx.Client) -> None:
    first = client.get("/healthy").json()
    second = client.get("/healthy").json()
    assert second["pid"] == first["pid"]
    assert second["calls"] == first["calls"] + 1
