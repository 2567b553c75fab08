"""Fuzzing what the dashboard reads from a browser: sign-in forms, cookies, a few headers.

Every input is a browser's (or an attacker's): the sign-in form body and its Origin,
the Cookie header carrying the session token, ``next`` (where sign-in leads),
``Last-Event-ID`` and ``window``. None may crash the app; the sign-in answers are the
documented ones; no cookie but the real token opens a session; a redirect never
leaves the dashboard nor carries bytes a header may not.
"""

from __future__ import annotations

import asyncio
import string
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.dashboard import (
    AlarmInfo,
    CostSummary,
    DashboardApp,
    DeploymentInfo,
    Identity,
    LogLine,
    MetricSeries,
    StageInfo,
)
from overcast.dashboard.app import _resume_from, _safe_next_value, _window
from overcast.dashboard.http import COOKIE_NAME, Request, parse_cookies, parse_form
from overcast.dashboard.sign_in_throttle import client_key

KEY_ID, SECRET = "AKIAFUZZFUZZFUZZFUZ1", "fuzz-secret-0123456789"
HOST = "127.0.0.1:8081"
SIGN_IN_ANSWERS = {303, 401, 403, 413, 429}


class _NothingDeployed:
    """A platform with no stages: sign-in and the pages need nothing more."""

    async def stages(self) -> Sequence[StageInfo]:
        return []

    async def functions(self, stage: str) -> Sequence[str]:
        return []

    async def function_stacks(self, stage: str) -> Mapping[str, str]:
        return {}

    async def metrics(
        self, stage: str, function: str, *, since: float, until: float, step_s: int
    ) -> MetricSeries:
        return MetricSeries(stage, function, step_s)

    async def cost(self, stage: str, *, now: float) -> CostSummary:
        return CostSummary(stage, now, Decimal(0), Decimal(0))

    async def alarms(self) -> Sequence[AlarmInfo]:
        return []

    async def deployments(self, stage: str) -> Sequence[DeploymentInfo]:
        return []

    async def rollback(self, stage: str, *, actor: str) -> DeploymentInfo:
        raise AssertionError("nothing to roll back")

    async def tail_logs(
        self, stage: str, function: str, *, since_ms: int | None = None
    ) -> AsyncIterator[LogLine]:
        return
        yield


def _authenticate(key_id: str, secret: str) -> Identity | None:
    return Identity(key_id) if (key_id, secret) == (KEY_ID, SECRET) else None


def _identify(key_id: str) -> Identity | None:
    return Identity(key_id) if key_id == KEY_ID else None


def _app() -> DashboardApp:
    return DashboardApp(_NothingDeployed(), _authenticate, identify=_identify)


def _call(
    app: DashboardApp, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", HOST.encode()), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8081),
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[0]["headers"]


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    return next((v for k, v in headers if k == name), None)


def _valid_header_value(value: bytes) -> bool:
    """What h11 lets a server send: visible ASCII and spaces (no CR, LF or NUL)."""
    return all(0x20 <= b < 0x7F or b == 0x09 for b in value)


#: bytes a client may put in a header value (h11 refuses CR, LF and NUL before the app)
header_bytes = st.binary(max_size=300).map(
    lambda b: b.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
)
form_text = st.text(max_size=120)


# -- the Cookie header ---------------------------------------------------------------------


@given(st.text(max_size=400))
@example('overcast_dashboard="\\')
@example("a=b; =; ;;; overcast_dashboard=x=y")
def test_any_cookie_header_parses_to_names_and_values(header: str) -> None:
    with no_hang("parse_cookies"):
        jar = parse_cookies(header)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in jar.items())


@given(prefix=header_bytes, token=st.text(string.ascii_letters + string.digits + "-_", max_size=60))
@example(prefix=b"", token="")
def test_no_cookie_but_the_real_token_opens_a_session(prefix: bytes, token: str) -> None:
    app = _app()
    session = app.sessions.create(Identity(KEY_ID))
    forged = prefix + f"; {COOKIE_NAME}={token}".encode()
    with no_hang("dashboard cookie"):
        status, headers = _call(app, "GET", "/dashboard/", [(b"cookie", forged)], b"")
    if token == session.token:
        return  # a fuzzer guessing 256 random bits: not going to happen
    assert status == 303
    assert _header(headers, b"location") == b"/dashboard/login?next=/dashboard/"


@given(header_bytes)
def test_any_cookie_header_beside_the_real_token(junk: bytes) -> None:
    app = _app()
    session = app.sessions.create(Identity(KEY_ID))
    cookie = junk + f"; {COOKIE_NAME}={session.token}".encode()
    with no_hang("dashboard cookie"):
        status, _ = _call(app, "GET", "/dashboard/", [(b"cookie", cookie)], b"")
    # A malformed header counts as no cookie at all: signed in or sent to sign-in.
    assert status in (200, 303)


# -- the sign-in form ----------------------------------------------------------------------


sign_in_forms = st.fixed_dictionaries(
    {},
    optional={
        "access_key_id": st.one_of(st.just(KEY_ID), form_text),
        "secret_access_key": st.one_of(st.just(SECRET), form_text),
        "next": st.one_of(st.just("/dashboard/alarms"), st.just("/dashboard/"), form_text),
        "csrf": form_text,
    },
).map(lambda fields: urlencode(fields).encode())


@given(
    body=st.one_of(sign_in_forms, st.binary(max_size=600)),
    origin=st.one_of(st.none(), st.just(f"http://{HOST}"), header_bytes.map(bytes)),
    content_type=st.one_of(st.none(), st.just(b"application/x-www-form-urlencoded")),
)
@example(
    body=urlencode(
        {"access_key_id": KEY_ID, "secret_access_key": SECRET, "next": "/dashboard/\r\nX: y"}
    ).encode(),
    origin=None,
    content_type=None,
)
@example(body=b"next=/dashboard/%C3%A9&access_key_id=x", origin=None, content_type=None)
def test_any_sign_in_post_gets_a_documented_answer(
    body: bytes, origin: str | bytes | None, content_type: bytes | None
) -> None:
    headers: list[tuple[bytes, bytes]] = []
    if origin is not None:
        headers.append((b"origin", origin.encode() if isinstance(origin, str) else origin))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    with no_hang("dashboard sign-in"):
        status, answer = _call(_app(), "POST", "/dashboard/login", headers, body)
    assert status in SIGN_IN_ANSWERS
    cookie = _header(answer, b"set-cookie")
    assert (cookie is not None) == (status == 303)
    for _, value in answer:
        assert _valid_header_value(value), value
    if status == 303:
        location = _header(answer, b"location") or b""
        assert location.startswith(b"/dashboard/")
        assert cookie is not None
        assert b"HttpOnly" in cookie
        assert b"SameSite=Strict" in cookie


@given(st.binary(max_size=2000))
def test_any_form_body_parses_to_fields(body: bytes) -> None:
    with no_hang("parse_form"):
        fields = parse_form(body)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())


@given(st.dictionaries(form_text, form_text, max_size=6))
def test_an_encoded_form_reads_back_as_sent(fields: dict[str, str]) -> None:
    with no_hang("parse_form"):
        parsed = parse_form(urlencode(fields).encode())
    assert parsed == fields


@given(st.text(max_size=300))
@example("/dashboard/\r\nSet-Cookie: x=y")
@example("/dashboard/\u00e9")
@example("/dashboard//evil.example")
def test_where_sign_in_leads_is_always_a_dashboard_path(value: str) -> None:
    with no_hang("next"):
        target = _safe_next_value(value)
    assert target.startswith("/dashboard/")
    assert "\\" not in target
    assert not target.startswith("//")
    assert target == value or target == "/dashboard/"
    assert _valid_header_value(target.encode("utf-8"))


# -- the other headers the dashboard reads ------------------------------------------------


def _request(headers: dict[str, str], query: dict[str, str] | None = None) -> Request:
    return Request("GET", "/dashboard/", query or {}, headers, {})


@given(st.text(max_size=5000))
@example("\u00b2")
@example("9" * 5000)
@example("١٢٣")
def test_any_last_event_id_resumes_at_a_sane_time_or_not_at_all(value: str) -> None:
    with no_hang("Last-Event-ID"):
        resume = _resume_from(_request({"last-event-id": value}))
    assert resume is None or 1 <= resume < 2**63


@given(st.text(max_size=5000))
@example("9" * 5000)
def test_any_window_is_clamped(value: str) -> None:
    with no_hang("window"):
        window = _window(_request({}, {"window": value}))
    assert 60 <= window <= 31 * 86400


@given(st.text(max_size=100))
@example("fe80::1%eth0")
def test_any_client_address_has_a_throttle_key(address: str) -> None:
    with no_hang("client address"):
        key = client_key(address)
    assert isinstance(key, str)
    assert len(key) <= 64
