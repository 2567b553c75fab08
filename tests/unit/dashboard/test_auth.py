"""Signing in and out, sessions, CSRF on state changes, and the headers every answer carries."""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import pytest

from overcast.dashboard import DashboardApp, DashboardSettings
from overcast.dashboard.sign_in_throttle import Backoff

from .fake_source import FakeSource
from .helpers import ADMIN, DEV_ONLY, VIEWER, Clock, Visitor, authenticate, call, identify


@pytest.mark.parametrize(
    "path", ["/dashboard/", "/dashboard/alarms", "/dashboard/functions/dev/Echo"]
)
def test_page_without_session_redirects_to_login(visitor: Visitor, path: str) -> None:
    answer = visitor.get(path)
    assert answer.status == 303
    assert answer.header("location") == "/dashboard/login?next=" + path


def test_bare_dashboard_path_redirects_to_the_overview(visitor: Visitor) -> None:
    assert visitor.get("/dashboard").header("location") == "/dashboard/"


@pytest.mark.parametrize(
    "path", ["/dashboard/api/overview", "/dashboard/api/alarms", "/dashboard/api/deployments"]
)
def test_api_without_session_answers_401_json(visitor: Visitor, path: str) -> None:
    answer = visitor.get(path)
    assert answer.status == 401
    assert answer.json() == {"message": "Sign in first"}


def test_forged_cookie_is_not_a_session(visitor: Visitor) -> None:
    visitor.cookie = "overcast_dashboard=made-up-token"
    assert visitor.get("/dashboard/").status == 303


def test_login_page_shows_a_form_for_key_id_and_secret(visitor: Visitor) -> None:
    answer = visitor.get("/dashboard/login?next=/dashboard/alarms")
    assert answer.status == 200
    assert 'name="access_key_id"' in answer.text
    assert 'name="secret_access_key" type="password"' in answer.text
    assert 'name="next" value="/dashboard/alarms"' in answer.text


@pytest.mark.parametrize(
    "key", [(ADMIN[0], "wrong"), ("AKIAUNKNOWNUNKNOWN01", ADMIN[1]), ("", ""), (ADMIN[0], "")]
)
def test_bad_key_answers_401_login_page_without_cookie(
    visitor: Visitor, key: tuple[str, str]
) -> None:
    answer = visitor.sign_in(key)
    assert answer.status == 401
    assert "Unknown access key or wrong secret" in answer.text
    assert answer.header("content-type") == "text/html; charset=utf-8"
    assert answer.header("set-cookie") is None


def test_sign_in_sets_a_httponly_strict_cookie_scoped_to_the_dashboard(visitor: Visitor) -> None:
    answer = visitor.sign_in(next_path="/dashboard/alarms")
    assert answer.status == 303
    assert answer.header("location") == "/dashboard/alarms"
    cookie = answer.header("set-cookie") or ""
    attributes = [part.strip() for part in cookie.split(";")]
    name, _, token = attributes[0].partition("=")
    assert name == "overcast_dashboard"
    assert len(token) >= 40
    assert "HttpOnly" in attributes
    assert "SameSite=Strict" in attributes
    assert "Path=/dashboard" in attributes
    assert visitor.get("/dashboard/").status == 200


def test_each_sign_in_gets_its_own_random_token(app: DashboardApp) -> None:
    first, second = Visitor(app), Visitor(app)
    first.sign_in()
    second.sign_in()
    assert first.cookie != second.cookie
    assert len(app.sessions) == 2


@pytest.mark.parametrize(
    "next_path", ["//evil.example/", "https://evil.example/", "/elsewhere", "/dashboard\\..\\x"]
)
def test_next_parameter_cannot_leave_the_dashboard(visitor: Visitor, next_path: str) -> None:
    assert visitor.sign_in(next_path=next_path).header("location") == "/dashboard/"


def test_sign_in_posted_from_another_origin_is_refused(visitor: Visitor) -> None:
    form = urlencode({"access_key_id": ADMIN[0], "secret_access_key": ADMIN[1]})
    answer = visitor.request(
        "POST",
        "/dashboard/login",
        headers={
            "origin": "http://evil.example",
            "content-type": "application/x-www-form-urlencoded",
        },
        body=form.encode(),
    )
    assert answer.status == 403
    assert answer.header("set-cookie") is None


def _guess(visitor: Visitor, key_id: str, times: int) -> list[int]:
    return [visitor.sign_in((key_id, "guess")).status for _ in range(times)]


def test_wrong_secrets_make_that_key_wait_from_that_address(
    app: DashboardApp, clock: Clock
) -> None:
    guesser = Visitor(app, "203.0.113.9")
    assert _guess(guesser, ADMIN[0], 5) == [401] * 5  # Cognito's five free failures
    refused = guesser.sign_in()  # even the right secret: no oracle during the wait
    assert refused.status == 429
    assert refused.header("retry-after") == "1"
    assert "try again in 1 s" in refused.text
    assert refused.header("set-cookie") is None
    clock.now += 1
    assert _guess(guesser, ADMIN[0], 1) == [401]  # the sixth failure: two seconds
    assert guesser.sign_in().header("retry-after") == "2"
    clock.now += 2
    assert guesser.sign_in().status == 303


def test_a_guesser_locks_out_neither_the_owner_elsewhere_nor_other_keys(app: DashboardApp) -> None:
    guesser = Visitor(app, "203.0.113.9")
    _guess(guesser, ADMIN[0], 12)
    assert guesser.sign_in().status == 429
    assert Visitor(app, "198.51.100.7").sign_in().status == 303
    assert guesser.sign_in(VIEWER).status == 303


def test_refused_tries_during_the_wait_do_not_lengthen_it(app: DashboardApp, clock: Clock) -> None:
    guesser = Visitor(app)
    assert _guess(guesser, ADMIN[0], 6) == [401] * 5 + [429]  # waits 1 s
    clock.now += 1
    assert _guess(guesser, ADMIN[0], 1) == [401]  # waits 2 s
    clock.now += 2
    assert _guess(guesser, ADMIN[0], 1) == [401]  # the seventh failure: 2^(7-5) = 4 s
    for _ in range(20):
        assert _guess(guesser, ADMIN[0], 1) == [429]
    assert guesser.sign_in().header("retry-after") == "4"
    clock.now += 4
    assert guesser.sign_in().status == 303


def test_the_backoff_is_a_setting(source: FakeSource, clock: Clock) -> None:
    settings = DashboardSettings(sign_in_backoff=Backoff(free_failures=1, first_wait_s=30))
    app = DashboardApp(source, authenticate, settings, identify=identify, clock=clock)
    guesser = Visitor(app)
    assert _guess(guesser, ADMIN[0], 2) == [401, 429]
    assert guesser.sign_in().header("retry-after") == "30"


def test_logout_ends_the_session_on_the_server(signed_in: Visitor) -> None:
    stolen = signed_in.cookie
    answer = signed_in.request(
        "POST",
        "/dashboard/logout",
        headers={"content-type": "application/x-www-form-urlencoded"},
        body=urlencode({"csrf": signed_in.csrf()}).encode(),
    )
    assert answer.status == 303
    assert answer.header("location") == "/dashboard/login"
    assert "Max-Age=0" in (answer.header("set-cookie") or "")
    signed_in.cookie = stolen  # a copy of the old cookie no longer works
    assert signed_in.get("/dashboard/").status == 303


def test_logout_without_csrf_token_is_refused(signed_in: Visitor) -> None:
    assert signed_in.request("POST", "/dashboard/logout").status == 403
    assert signed_in.get("/dashboard/").status == 200


def test_session_ends_after_its_lifetime(signed_in: Visitor, clock: Clock) -> None:
    settings = DashboardSettings()
    for _ in range(int(settings.session_ttl_s // 3600)):
        clock.now += 3500  # active all along: the idle timer never runs out
        assert signed_in.get("/dashboard/").status == 200
    clock.now += 3600
    assert signed_in.get("/dashboard/").status == 303


def test_session_ends_when_idle(signed_in: Visitor, clock: Clock) -> None:
    clock.now += DashboardSettings().session_idle_s + 1
    assert signed_in.get("/dashboard/api/alarms").status == 401


def test_pages_carry_the_session_csrf_token(signed_in: Visitor, app: DashboardApp) -> None:
    token = signed_in.csrf()
    session = next(iter(app.sessions._sessions.values()))
    assert token == session.csrf_token


# -- rollback: CSRF, origin, permission ---------------------------------------------------


def _rollback(visitor: Visitor, stage: str, headers: dict[str, str]) -> int:
    return visitor.request(
        "POST", f"/dashboard/api/stages/{stage}/rollback", headers=headers
    ).status


def test_rollback_without_csrf_token_is_refused_and_not_done(
    signed_in: Visitor, source: FakeSource
) -> None:
    assert _rollback(signed_in, "dev", {}) == 403
    assert _rollback(signed_in, "dev", {"x-csrf-token": "guess"}) == 403
    assert source.rollbacks == []


def test_csrf_token_of_another_session_does_not_roll_back(
    app: DashboardApp, signed_in: Visitor, source: FakeSource
) -> None:
    other = Visitor(app)
    other.sign_in()
    assert _rollback(signed_in, "dev", {"x-csrf-token": other.csrf()}) == 403
    assert source.rollbacks == []


def test_rollback_from_another_origin_is_refused(signed_in: Visitor, source: FakeSource) -> None:
    headers = {"x-csrf-token": signed_in.csrf(), "origin": "http://evil.example"}
    assert _rollback(signed_in, "dev", headers) == 403
    assert source.rollbacks == []


def test_rollback_with_csrf_token_is_done_as_the_signed_in_key(
    signed_in: Visitor, source: FakeSource
) -> None:
    headers = {"x-csrf-token": signed_in.csrf(), "origin": "http://127.0.0.1:8081"}
    answer = signed_in.request("POST", "/dashboard/api/stages/dev/rollback", headers=headers)
    assert answer.status == 202
    assert source.rollbacks == [("dev", ADMIN[0])]
    deployment = answer.json()["deployment"]
    assert deployment["kind"] == "rollback"
    assert deployment["current"] is True


def test_rollback_refused_by_the_platform_answers_409_with_its_reason(
    signed_in: Visitor, source: FakeSource
) -> None:
    source.refuse_rollback = "a deployment is in progress"
    answer = signed_in.request(
        "POST", "/dashboard/api/stages/dev/rollback", headers={"x-csrf-token": signed_in.csrf()}
    )
    assert answer.status == 409
    assert answer.json() == {"message": "a deployment is in progress"}


def test_rollback_needs_post(signed_in: Visitor) -> None:
    assert signed_in.get("/dashboard/api/stages/dev/rollback").status == 405


def test_viewer_key_may_look_but_not_roll_back(app: DashboardApp, source: FakeSource) -> None:
    viewer = Visitor(app)
    viewer.sign_in(VIEWER)
    assert viewer.get("/dashboard/api/deployments").json()["stages"][0]["can_rollback"] is False
    assert _rollback(viewer, "dev", {"x-csrf-token": viewer.csrf()}) == 403
    assert source.rollbacks == []


def test_stage_limited_key_rolls_back_only_its_stage(app: DashboardApp, source: FakeSource) -> None:
    dev = Visitor(app)
    dev.sign_in(DEV_ONLY)
    token = dev.csrf()
    assert _rollback(dev, "prod", {"x-csrf-token": token}) == 403
    assert _rollback(dev, "dev", {"x-csrf-token": token}) == 202
    assert source.rollbacks == [("dev", DEV_ONLY[0])]


# -- headers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/dashboard/login", "/dashboard/static/dashboard.js", "/dashboard/api/alarms"]
)
def test_every_answer_carries_a_strict_content_security_policy(
    signed_in: Visitor, path: str
) -> None:
    answer = signed_in.get(path)
    policy = answer.header("content-security-policy") or ""
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert answer.header("x-content-type-options") == "nosniff"


def test_pages_and_api_are_not_cached(signed_in: Visitor) -> None:
    assert signed_in.get("/dashboard/").header("cache-control") == "no-store"
    assert signed_in.get("/dashboard/api/alarms").header("cache-control") == "no-store"


def test_paths_outside_the_dashboard_are_not_its_own() -> None:
    assert DashboardApp.handles("/dashboard")
    assert DashboardApp.handles("/dashboard/api/alarms")
    assert not DashboardApp.handles("/dashboards")
    assert not DashboardApp.handles("/2015-03-31/functions")


def test_unknown_page_is_404(signed_in: Visitor) -> None:
    assert signed_in.get("/dashboard/nothing-here").status == 404
    assert signed_in.get("/dashboard/functions/dev/Missing").status == 404
    assert signed_in.get("/dashboard/functions/nostage/Echo").status == 404


def test_lifespan_is_answered(app: DashboardApp) -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_plain_call_helper_reaches_login_without_cookie(app: DashboardApp) -> None:
    assert call(app, "GET", "/dashboard/login").status == 200
