"""Per-route throttling and API keys end to end through ``overcast up``.

The app (tests/integration/apps/throttled) throttles one HTTP API route by
RouteSettings and one REST method by MethodSettings, and guards its REST API with
API keys under a usage plan (daily quota of 3 per key). Rates are one request per
1000 s, so outcomes depend on burst counts only, never on timing.
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parent / "apps" / "throttled"
ALICE = "alice-0123456789abcdefghij"
BOB = "bob-0123456789abcdefghij"
EVE = "eve-0123456789abcdefghij"


@pytest.fixture(scope="module")
def app(module_running_app: Any) -> Any:
    return module_running_app(
        APP,
        extra_args=[
            "--api-key",
            f"alice={ALICE}",
            "--api-key",
            f"bob={BOB}:gold",
            "--api-key",
            f"eve={EVE}:SomeOtherPlan",
        ],
    )


def test_an_http_route_is_throttled_after_its_burst_and_others_are_not(app: Any) -> None:
    with app.client() as client:
        limited = [client.get("/http/limited") for _ in range(3)]
        open_ = [client.get("/http/open") for _ in range(3)]
    assert [r.status_code for r in limited] == [200, 200, 429]
    assert limited[0].json() == {"served": "GET /http/limited"}
    assert limited[2].content == b'{"message":"Too Many Requests"}'
    assert "apigw-requestid" in limited[2].headers
    assert [r.status_code for r in open_] == [200, 200, 200]


def test_a_rest_method_is_throttled_by_its_method_settings(app: Any) -> None:
    with app.client() as client:
        answers = [client.get("/rest/burst") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[2].json() == {"message": "Too Many Requests"}
    assert answers[2].headers["x-amzn-errortype"] == "TooManyRequestsException"


def test_a_keyed_route_refuses_missing_unknown_and_foreign_keys(app: Any) -> None:
    with app.client() as client:
        refused = [
            client.get("/rest/keyed"),
            client.get("/rest/keyed", headers={"x-api-key": "not-a-key"}),
            client.get("/rest/keyed", headers={"x-api-key": EVE}),  # a key of another plan
        ]
    for response in refused:
        assert response.status_code == 403
        assert response.content == b'{"message":"Forbidden"}'
        assert response.headers["x-amzn-errortype"] == "ForbiddenException"


def test_each_key_has_its_own_daily_quota(app: Any) -> None:
    with app.client() as client:
        alice = [client.get("/rest/keyed", headers={"x-api-key": ALICE}) for _ in range(4)]
        bob = client.get("/rest/keyed", headers={"x-api-key": BOB})
    assert [r.status_code for r in alice] == [200, 200, 200, 429]
    assert alice[0].json() == {"served": "/rest/keyed"}
    assert alice[3].content == b'{"message":"Limit Exceeded"}'
    assert alice[3].headers["x-amzn-errortype"] == "LimitExceededException"
    assert bob.status_code == 200


def test_the_key_values_never_reach_the_logs(app: Any) -> None:
    assert ALICE not in app.output()
    assert BOB not in app.output()
