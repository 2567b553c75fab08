"""Lambda authorizers end to end through ``overcast up`` (tests/integration/apps/authorizers).

REST TOKEN authorizer with IAM policies, HTTP API REQUEST authorizer with simple
responses: the refusals API Gateway sends, and the authorizer's context in the event.
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-use-lambda-authorizer.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "apps" / "authorizers"


@pytest.fixture(scope="module")
def app(module_running_app: Any) -> Any:
    return module_running_app(APP)


def test_rest_token_allowed_passes_principal_and_context_as_strings(app: Any) -> None:
    with app.client() as client:
        response = client.get("/rest/hello", headers={"Authorization": "allow-ada"})
    assert response.status_code == 200, response.text
    authorizer = response.json()["authorizer"]
    assert authorizer["principalId"] == "ada"
    assert (authorizer["tier"], authorizer["level"], authorizer["type"]) == ("gold", "3", "TOKEN")
    assert isinstance(authorizer["integrationLatency"], int)


def test_rest_token_missing_or_unauthorized_is_401(app: Any) -> None:
    with app.client() as client:
        missing = client.get("/rest/hello")
        refused = client.get("/rest/hello", headers={"Authorization": "unauthorized"})
    for response in (missing, refused):
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized"}
        assert response.headers["x-amzn-errortype"] == "UnauthorizedException"


def test_rest_explicit_deny_is_403(app: Any) -> None:
    with app.client() as client:
        response = client.get("/rest/admin", headers={"Authorization": "allow-ada"})
    assert response.status_code == 403
    assert response.json() == {
        "message": "User is not authorized to access this resource with an explicit deny"
    }


def test_rest_authorizer_crash_is_500(app: Any) -> None:
    with app.client() as client:
        response = client.get("/rest/hello", headers={"Authorization": "garbage"})
    assert response.status_code == 500
    assert response.headers["x-amzn-errortype"] == "AuthorizerConfigurationException"


def test_rest_route_with_authorizer_none_stays_open(app: Any) -> None:
    with app.client() as client:
        response = client.get("/rest/open")
    assert response.status_code == 200
    assert response.json()["authorizer"] is None


def test_http_simple_response_authorizer(app: Any) -> None:
    with app.client() as client:
        missing = client.get("/http/hello")
        wrong = client.get("/http/hello", headers={"X-Api-Key": "bad"})
        good = client.get("/http/hello", headers={"X-Api-Key": "good"})
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert (wrong.status_code, wrong.json()) == (403, {"message": "Forbidden"})
    assert good.status_code == 200, good.text
    lam = good.json()["authorizer"]["lambda"]
    assert lam["user"] == "key-user"
    assert lam["identity"] == ["good"]
