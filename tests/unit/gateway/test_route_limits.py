"""Per-route throttles, API keys with usage plans and client limits, through GatewayApp.

Slow rates and burst counts keep every outcome independent of timing; the clock
only moves when a test moves it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable
from typing import Any

import httpx

from overcast.gateway import (
    ApiKey,
    ClientLimit,
    GatewayApp,
    InMemoryApiKeyStore,
    UsageLedger,
)
from overcast.gateway.throttle import ThrottleLimit
from overcast.template.model import (
    ApiSpec,
    CorsConfig,
    QuotaSettings,
    RouteSpec,
    ThrottleSettings,
    UsagePlanSpec,
)

from .helpers import HTTP, REST, FakeInvoker, model, rest_route, route

SLOW = 0.001  # one token every 1000 s: never refills within a test


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def throttled(spec: RouteSpec, burst: int, rate: float = SLOW) -> RouteSpec:
    return dataclasses.replace(spec, throttle=ThrottleSettings(rate, burst))


def keyed(spec: RouteSpec) -> RouteSpec:
    return dataclasses.replace(spec, api_key_required=True)


PLAN = UsagePlanSpec(
    logical_id="ServerlessRestApiUsagePlan",
    name="gold",
    throttle=ThrottleSettings(SLOW, 3),
    quota=QuotaSettings(limit=2, period="DAY"),
)
REST_WITH_PLAN = dataclasses.replace(REST, usage_plan=PLAN)


def app(
    routes: Iterable[RouteSpec],
    invoker: FakeInvoker,
    *,
    clock: Clock | None = None,
    api_specs: Iterable[ApiSpec] = (REST, HTTP),
    **kwargs: Any,
) -> GatewayApp:
    return GatewayApp(
        model(routes, api_specs=api_specs),
        invoker,
        clock=clock or Clock(),
        id_factory=lambda: "req-1",
        **kwargs,
    )


async def _send(
    gateway: GatewayApp, requests: list[tuple[str, str, dict[str, str]]], client: str
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=gateway, client=(client, 4321))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:3000") as http:
        return [await http.request(m, url, headers=h) for m, url, h in requests]


def send(
    gateway: GatewayApp,
    url: str,
    times: int = 1,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    client: str = "192.0.2.1",
) -> list[httpx.Response]:
    batch = [(method, url, headers or {})] * times
    return asyncio.run(_send(gateway, batch, client))


def statuses(responses: list[httpx.Response]) -> list[int]:
    return [r.status_code for r in responses]


# -- per-route throttling -------------------------------------------------------------


def test_an_app_without_limits_builds_no_limit_state() -> None:
    gateway = app([route("/a")], FakeInvoker())
    assert gateway.limits is None
    assert gateway.client_limiter is None


def test_a_throttled_http_route_answers_429_after_its_burst_without_invoking() -> None:
    invoker = FakeInvoker()
    gateway = app([throttled(route("/a"), burst=2)], invoker)
    answers = send(gateway, "/a", 3)
    assert statuses(answers) == [200, 200, 429]
    assert answers[2].json() == {"message": "Too Many Requests"}
    assert answers[2].headers["apigw-requestid"] == "req-1"
    assert "x-amzn-errortype" not in answers[2].headers
    assert len(invoker.calls) == 2


def test_a_throttled_rest_route_answers_429_with_the_error_type() -> None:
    gateway = app([throttled(rest_route("/a"), burst=1)], FakeInvoker())
    answers = send(gateway, "/a", 2)
    assert statuses(answers) == [200, 429]
    assert answers[1].content == b'{"message":"Too Many Requests"}'
    assert answers[1].headers["x-amzn-errortype"] == "TooManyRequestsException"


def test_each_route_has_its_own_bucket() -> None:
    gateway = app(
        [throttled(route("/a"), burst=1), throttled(route("/b"), burst=1), route("/c")],
        FakeInvoker(),
    )
    assert statuses(send(gateway, "/a", 2)) == [200, 429]
    assert statuses(send(gateway, "/b", 2)) == [200, 429]
    assert statuses(send(gateway, "/c", 5)) == [200] * 5


def test_the_bucket_refills_at_the_rate() -> None:
    clock = Clock()
    gateway = app([throttled(route("/a"), burst=1, rate=1.0)], FakeInvoker(), clock=clock)
    assert statuses(send(gateway, "/a", 2)) == [200, 429]
    clock.now += 1.0
    assert statuses(send(gateway, "/a", 2)) == [200, 429]


def test_a_zero_throttle_blocks_the_route() -> None:
    invoker = FakeInvoker()
    gateway = app([throttled(route("/a"), burst=0, rate=0.0)], invoker)
    assert statuses(send(gateway, "/a")) == [429]
    assert invoker.calls == []


def test_a_throttled_answer_on_an_http_api_with_cors_carries_cors_headers() -> None:
    api = dataclasses.replace(HTTP, cors=CorsConfig(allow_origins=("*",)))
    gateway = app([throttled(route("/a"), burst=1)], FakeInvoker(), api_specs=(REST, api))
    answers = send(gateway, "/a", 2, headers={"origin": "https://example.com"})
    assert answers[1].status_code == 429
    assert answers[1].headers["access-control-allow-origin"] == "*"


# -- API keys and usage plans ---------------------------------------------------------


def keys(**plans: str | None) -> InMemoryApiKeyStore:
    return InMemoryApiKeyStore({f"secret-{k}": ApiKey(k, plan) for k, plan in plans.items()})


def test_a_key_route_without_a_key_is_403_forbidden_and_not_invoked() -> None:
    invoker = FakeInvoker()
    gateway = app([keyed(rest_route("/a"))], invoker, api_keys=keys(alice=None))
    for headers in ({}, {"x-api-key": "wrong"}):
        (answer,) = send(gateway, "/a", headers=headers)
        assert answer.status_code == 403
        assert answer.content == b'{"message":"Forbidden"}'
        assert answer.headers["x-amzn-errortype"] == "ForbiddenException"
        assert answer.headers["x-amzn-requestid"] == "req-1"
    assert invoker.calls == []


def test_a_key_route_with_no_key_store_refuses_every_request() -> None:
    gateway = app([keyed(rest_route("/a"))], FakeInvoker())
    assert statuses(send(gateway, "/a", headers={"x-api-key": "anything"})) == [403]


def test_a_valid_key_passes_and_open_routes_need_none() -> None:
    gateway = app(
        [keyed(rest_route("/a")), rest_route("/open")], FakeInvoker(), api_keys=keys(alice=None)
    )
    assert statuses(send(gateway, "/a", headers={"x-api-key": "secret-alice"})) == [200]
    assert statuses(send(gateway, "/open")) == [200]


def test_a_key_of_another_plan_is_forbidden() -> None:
    gateway = app(
        [keyed(rest_route("/a"))],
        FakeInvoker(),
        api_specs=(REST_WITH_PLAN, HTTP),
        api_keys=keys(bob="OtherApiUsagePlan", carol="gold", dave="ServerlessRestApiUsagePlan"),
    )
    assert statuses(send(gateway, "/a", headers={"x-api-key": "secret-bob"})) == [403]
    # A plan is named by its UsagePlanName or by SAM's logical ID.
    assert statuses(send(gateway, "/a", headers={"x-api-key": "secret-carol"})) == [200]
    assert statuses(send(gateway, "/a", headers={"x-api-key": "secret-dave"})) == [200]


def test_the_quota_is_per_key_and_answers_limit_exceeded() -> None:
    invoker = FakeInvoker()
    gateway = app(
        [keyed(rest_route("/a"))],
        invoker,
        api_specs=(REST_WITH_PLAN, HTTP),
        api_keys=keys(alice=None, bob=None),
    )
    alice = send(gateway, "/a", 3, headers={"x-api-key": "secret-alice"})
    assert statuses(alice) == [200, 200, 429]
    assert alice[2].content == b'{"message":"Limit Exceeded"}'
    assert alice[2].headers["x-amzn-errortype"] == "LimitExceededException"
    assert statuses(send(gateway, "/a", 2, headers={"x-api-key": "secret-bob"})) == [200, 200]
    assert len(invoker.calls) == 4


def test_the_quota_resets_when_the_period_rolls_over() -> None:
    clock = Clock(1_700_000_000.0)  # 2023-11-14T22:13:20Z
    gateway = app(
        [keyed(rest_route("/a"))],
        FakeInvoker(),
        clock=clock,
        api_specs=(REST_WITH_PLAN, HTTP),
        api_keys=keys(alice=None),
    )
    key = {"x-api-key": "secret-alice"}
    assert statuses(send(gateway, "/a", 3, headers=key)) == [200, 200, 429]
    clock.now += 2 * 3600  # past midnight UTC (and 7 tokens' worth of the plan's rate)
    assert statuses(send(gateway, "/a", 1, headers=key)) == [200]


def test_the_plan_throttle_is_a_bucket_per_key() -> None:
    plan = dataclasses.replace(PLAN, quota=None, throttle=ThrottleSettings(SLOW, 1))
    gateway = app(
        [keyed(rest_route("/a"))],
        FakeInvoker(),
        api_specs=(dataclasses.replace(REST, usage_plan=plan), HTTP),
        api_keys=keys(alice=None, bob=None),
    )
    alice = send(gateway, "/a", 2, headers={"x-api-key": "secret-alice"})
    assert statuses(alice) == [200, 429]
    assert alice[1].content == b'{"message":"Too Many Requests"}'
    assert statuses(send(gateway, "/a", 1, headers={"x-api-key": "secret-bob"})) == [200]


def test_a_shared_ledger_keeps_quotas_across_apps() -> None:
    ledger = UsageLedger()
    store = keys(alice=None)
    for expected in ([200, 200], [429]):
        gateway = app(
            [keyed(rest_route("/a"))],
            FakeInvoker(),
            api_specs=(REST_WITH_PLAN, HTTP),
            api_keys=store,
            usage=ledger,
        )
        answers = send(gateway, "/a", len(expected), headers={"x-api-key": "secret-alice"})
        assert statuses(answers) == expected
    assert ledger.remaining(PLAN, "alice", Clock()()) == 0


def test_a_route_throttle_applies_to_every_key_together() -> None:
    plan = dataclasses.replace(PLAN, quota=None, throttle=None)
    gateway = app(
        [throttled(keyed(rest_route("/a")), burst=2)],
        FakeInvoker(),
        api_specs=(dataclasses.replace(REST, usage_plan=plan), HTTP),
        api_keys=keys(alice=None, bob=None),
    )
    assert statuses(send(gateway, "/a", 1, headers={"x-api-key": "secret-alice"})) == [200]
    assert statuses(send(gateway, "/a", 2, headers={"x-api-key": "secret-bob"})) == [200, 429]


# -- per-client limits ---------------------------------------------------------------------


def test_a_client_over_its_limit_gets_429_and_others_are_served() -> None:
    invoker = FakeInvoker()
    gateway = app(
        [route("/a")], invoker, client_limit=ClientLimit(ThrottleLimit(rate=SLOW, burst=2))
    )
    flood = send(gateway, "/a", 3, client="203.0.113.9")
    assert statuses(flood) == [200, 200, 429]
    assert flood[2].json() == {"message": "Too Many Requests"}
    assert statuses(send(gateway, "/a", 1, client="203.0.113.10")) == [200]
    assert len(invoker.calls) == 3


def test_the_client_limit_counts_requests_no_route_matches() -> None:
    gateway = app(
        [rest_route("/a")],
        FakeInvoker(),
        api_specs=(REST,),
        client_limit=ClientLimit(ThrottleLimit(rate=SLOW, burst=1)),
    )
    answers = send(gateway, "/nope", 2)
    assert statuses(answers) == [403, 429]
    assert answers[1].headers["x-amzn-errortype"] == "TooManyRequestsException"
