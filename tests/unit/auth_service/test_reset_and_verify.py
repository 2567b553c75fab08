"""Password reset and e-mail verification by mailed single-use tokens, and the purge."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from authcore import AuthService, MailJob
from authcore.mail import MalformedJob, compose

from .conftest import Backend, FakeClock, MakeService
from .helpers import PASSWORD, bearer, body, login, register, tokens

NEW_PASSWORD = "a brand new secret"


@pytest.fixture
def outbox(service: AuthService) -> list[MailJob]:
    sent: list[MailJob] = []
    service.outbox = sent.append
    return sent


def _token(job: MailJob) -> str:
    return parse_qs(urlsplit(job.link).query)["token"][0]


def _forgot(service: AuthService, email: str, outbox: list[MailJob]) -> str:
    result = service.forgot_password(body(email=email))
    assert result.status == 202
    [job] = [j for j in outbox if j.kind == "password_reset" and j.to == email]
    outbox.remove(job)
    return _token(job)


def test_registration_queues_a_verification_mail_whose_link_verifies(
    service: AuthService, outbox: list[MailJob]
) -> None:
    register(service, "Ann@Example.com")
    [job] = outbox
    assert (job.kind, job.to, job.expires_in_s) == ("verify_email", "ann@example.com", 48 * 3600)
    assert job.link.startswith("http://127.0.0.1:3000/auth/verify?token=")
    access = tokens(service, "ann@example.com")["access_token"]
    assert service.me(bearer(access)).body["email_verified"] is False  # type: ignore[index]

    verified = service.verify_email(_token(job))
    assert verified.status == 200
    assert verified.body == {"status": "email_verified", "email": "ann@example.com"}
    assert service.me(bearer(access)).body["email_verified"] is True  # type: ignore[index]
    # Opened again (a mail scanner got there first): still fine, nothing changes.
    assert service.verify_email(_token(job)).status == 200


def test_links_use_the_public_url_when_set(make_service: MakeService) -> None:
    service = make_service(PUBLIC_URL="https://auth.example.org/")
    sent: list[MailJob] = []
    service.outbox = sent.append
    register(service, "a@example.com")
    assert sent[0].link.startswith("https://auth.example.org/auth/verify?token=")


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 5000])
def test_bad_verification_tokens_are_refused(
    service: AuthService, outbox: list[MailJob], token: str
) -> None:
    result = service.verify_email(token)
    assert result.status == 400
    assert result.body is not None
    assert result.body["field"] == "token"


def test_an_expired_verification_link_is_refused(
    service: AuthService, outbox: list[MailJob], clock: FakeClock
) -> None:
    register(service, "a@example.com")
    clock.advance(48 * 3600 + 1)
    result = service.verify_email(_token(outbox[0]))
    assert result.status == 400
    assert result.body is not None
    assert result.body["error"] == "invalid_grant"


def test_forgot_answers_alike_for_known_and_unknown_addresses(
    service: AuthService, outbox: list[MailJob]
) -> None:
    register(service, "known@example.com")
    outbox.clear()
    known = service.forgot_password(body(email="known@example.com"))
    unknown = service.forgot_password(body(email="nobody@example.com"))
    assert (known.status, known.body, dict(known.headers)) == (
        unknown.status,
        unknown.body,
        dict(unknown.headers),
    )
    assert known.status == 202
    # Both addresses get a mail: a link, or word that no account uses the address.
    assert [(j.kind, j.to) for j in outbox] == [
        ("password_reset", "known@example.com"),
        ("password_reset_unknown", "nobody@example.com"),
    ]
    assert outbox[1].link == ""


def test_reset_sets_the_password_and_ends_every_login(
    service: AuthService, outbox: list[MailJob]
) -> None:
    register(service, "a@example.com")
    session = tokens(service, "a@example.com")
    token = _forgot(service, "a@example.com", outbox)

    reset = service.reset_password(body(token=token, new_password=NEW_PASSWORD))
    assert reset.status == 200
    assert reset.body == {"status": "password_reset"}
    assert login(service, "a@example.com").status == 401
    assert login(service, "a@example.com", NEW_PASSWORD).status == 200
    refreshed = service.refresh(body(refresh_token=session["refresh_token"]))
    assert refreshed.status == 401
    again = service.reset_password(body(token=token, new_password="yet another secret"))
    assert again.status == 400
    assert again.body is not None
    assert again.body["error"] == "invalid_grant"
    assert login(service, "a@example.com", NEW_PASSWORD).status == 200


def test_reset_applies_the_password_policy_before_spending_the_token(
    service: AuthService, outbox: list[MailJob]
) -> None:
    register(service, "a@example.com")
    token = _forgot(service, "a@example.com", outbox)
    short = service.reset_password(body(token=token, new_password="short"))
    assert short.status == 400
    assert short.body is not None
    assert short.body["field"] == "new_password"
    assert service.reset_password(body(token=token, new_password=NEW_PASSWORD)).status == 200


def test_forgot_mails_one_address_at_most_n_times_an_hour(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(RESET_MAILS_PER_HOUR="2")
    sent: list[MailJob] = []
    service.outbox = sent.append
    register(service, "a@example.com")
    sent.clear()
    answers = {
        (r.status, str(r.body))
        for r in (service.forgot_password(body(email=e)) for e in ["a@example.com"] * 3)
    }
    assert len(answers) == 1  # the third answer is the same 202
    service.forgot_password(body(email="nobody@example.com"))
    assert [j.to for j in sent] == ["a@example.com", "a@example.com", "nobody@example.com"]
    clock.advance(3601)
    service.forgot_password(body(email="a@example.com"))
    assert len(sent) == 4


def test_concurrent_resets_with_one_token_let_exactly_one_through(
    make_service: MakeService,
) -> None:
    first, second = make_service(), make_service()  # two instances, two connections
    sent: list[MailJob] = []
    first.outbox = sent.append
    register(first, "a@example.com")
    token = _forgot(first, "a@example.com", sent)
    barrier = threading.Barrier(2)

    def reset(service: AuthService, password: str) -> int:
        barrier.wait()
        return service.reset_password(body(token=token, new_password=password)).status

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(
            pool.map(reset, [first, second], ["first new secret", "second new secret"])
        )
    assert statuses == [200, 400]


def test_a_reset_token_expires(
    service: AuthService, outbox: list[MailJob], clock: FakeClock
) -> None:
    register(service, "a@example.com")
    token = _forgot(service, "a@example.com", outbox)
    clock.advance(30 * 60 + 1)
    assert service.reset_password(body(token=token, new_password=NEW_PASSWORD)).status == 400
    assert login(service, "a@example.com").status == 200


def test_the_reset_lifetime_is_configurable(make_service: MakeService, clock: FakeClock) -> None:
    service = make_service(RESET_TOKEN_TTL_SECONDS="60")
    sent: list[MailJob] = []
    service.outbox = sent.append
    register(service, "a@example.com")
    token = _forgot(service, "a@example.com", sent)
    clock.advance(61)
    assert service.reset_password(body(token=token, new_password=NEW_PASSWORD)).status == 400


def test_a_reset_spends_the_other_reset_links_and_lifts_the_lockout(
    make_service: MakeService,
) -> None:
    service = make_service(LOGIN_MAX_FAILURES_PER_ACCOUNT="2")
    sent: list[MailJob] = []
    service.outbox = sent.append
    register(service, "a@example.com")
    first = _forgot(service, "a@example.com", sent)
    second = _forgot(service, "a@example.com", sent)
    for _ in range(2):
        login(service, "a@example.com", "wrong guess")
    assert login(service, "a@example.com").status == 429

    assert service.reset_password(body(token=second, new_password=NEW_PASSWORD)).status == 200
    assert service.reset_password(body(token=first, new_password=PASSWORD)).status == 400
    assert login(service, "a@example.com", NEW_PASSWORD).status == 200


def test_a_reset_verifies_the_address(service: AuthService, outbox: list[MailJob]) -> None:
    register(service, "a@example.com")
    token = _forgot(service, "a@example.com", outbox)
    service.reset_password(body(token=token, new_password=NEW_PASSWORD))
    access = tokens(service, "a@example.com", NEW_PASSWORD)["access_token"]
    assert service.me(bearer(access)).body["email_verified"] is True  # type: ignore[index]


def test_a_verification_token_does_not_reset_a_password(
    service: AuthService, outbox: list[MailJob]
) -> None:
    register(service, "a@example.com")
    verify_token = _token(outbox[0])
    result = service.reset_password(body(token=verify_token, new_password=NEW_PASSWORD))
    assert result.status == 400
    assert login(service, "a@example.com").status == 200


def test_tokens_are_stored_hashed(
    service: AuthService, outbox: list[MailJob], backend: Backend
) -> None:
    register(service, "a@example.com")
    token = _token(outbox[0])
    rows = backend.admin_execute("SELECT token_hash FROM one_time_tokens")
    assert len(rows) == 1
    assert token not in str(rows)


def test_a_failing_outbox_does_not_undo_the_registration(service: AuthService) -> None:
    def broken(job: MailJob) -> None:
        raise ConnectionError("queue down")

    service.outbox = broken
    register(service, "a@example.com")
    assert service.forgot_password(body(email="a@example.com")).status == 202
    assert login(service, "a@example.com").status == 200


def test_purge_removes_only_what_expired(
    make_service: MakeService, clock: FakeClock, backend: Backend
) -> None:
    service = make_service(REFRESH_TOKEN_TTL_SECONDS="3600", LOGIN_FAILURE_WINDOW_SECONDS="600")
    sent: list[MailJob] = []
    service.outbox = sent.append
    register(service, "a@example.com")
    old_session = tokens(service, "a@example.com")
    login(service, "b@example.com", "an old failure", ip="203.0.113.9")
    _forgot(service, "a@example.com", sent)
    clock.advance(3601)
    fresh_session = tokens(service, "a@example.com")
    fresh_reset = _forgot(service, "a@example.com", sent)
    login(service, "nobody@example.com", "a fresh failure")

    purged = service.purge()
    assert purged.status == 200
    # the old session; the verification link stays (48 h), the first reset link went
    # (30 min); the old failure (its account and IP rows)
    assert purged.body == {"refresh_tokens": 1, "one_time_tokens": 1, "login_attempts": 2}
    assert service.purge().body == {"refresh_tokens": 0, "one_time_tokens": 0, "login_attempts": 0}
    assert service.refresh(body(refresh_token=old_session["refresh_token"])).status == 401
    assert service.refresh(body(refresh_token=fresh_session["refresh_token"])).status == 200
    assert service.reset_password(body(token=fresh_reset, new_password=NEW_PASSWORD)).status == 200
    # the fresh failure (account and IP) and the last hour's reset mail count stay
    assert backend.admin_execute("SELECT COUNT(*) FROM login_attempts")[0][0] == 3


def test_jobs_round_trip_through_json_and_compose_into_mails() -> None:
    job = MailJob("password_reset", "a@example.com", "http://x/auth/password/reset?token=t", 1800)
    assert MailJob.from_json(job.to_json()) == job
    message = compose(job, "Auth <no-reply@auth.test>")
    assert message["To"] == "a@example.com"
    assert message["Subject"] == "Reset your password"
    assert "http://x/auth/password/reset?token=t" in message.get_content()
    assert "30 minutes" in message.get_content()


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[]",
        '{"kind": "spam", "to": "a@example.com"}',
        '{"kind": "verify_email", "to": "a@example.com, b@example.com"}',
        '{"kind": "verify_email", "to": "a@example.com\\r\\nBcc: b@example.com"}',
    ],
)
def test_malformed_jobs_are_refused(raw: str) -> None:
    with pytest.raises(MalformedJob):
        MailJob.from_json(raw)
