"""Brute-force limits: per account and per client IP, shared through the database."""

from __future__ import annotations

from authcore import AuthService

from .conftest import FakeClock, MakeService
from .helpers import body, login, register


def _fail(service: AuthService, email: str, times: int, ip: str = "198.51.100.7") -> None:
    for _ in range(times):
        assert login(service, email, "wrong password!", ip).status == 401


def test_account_is_locked_after_too_many_failures(service: AuthService, clock: FakeClock) -> None:
    register(service, "a@example.com")
    _fail(service, "a@example.com", 5)
    locked = login(service, "a@example.com")  # even the right password waits
    assert locked.status == 429
    assert locked.headers["Retry-After"] == "900"
    assert locked.body is not None
    assert locked.body["retry_after"] == 900
    assert locked.body["error"] == "too_many_attempts"

    clock.advance(600)
    assert login(service, "a@example.com").headers["Retry-After"] == "300"
    clock.advance(301)
    assert login(service, "a@example.com").status == 200


def test_account_lock_applies_from_every_ip(service: AuthService) -> None:
    register(service, "a@example.com")
    for number in range(5):
        _fail(service, "a@example.com", 1, ip=f"203.0.113.{number}")
    assert login(service, "a@example.com", ip="192.0.2.99").status == 429


def test_ip_is_limited_across_accounts(make_service: MakeService) -> None:
    service = make_service(LOGIN_MAX_FAILURES_PER_IP="3")
    register(service, "victim@example.com")
    for number in range(3):
        _fail(service, f"guess{number}@example.com", 1, ip="203.0.113.9")
    blocked = login(service, "victim@example.com", ip="203.0.113.9")
    assert blocked.status == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert login(service, "victim@example.com", ip="192.0.2.1").status == 200


def test_unknown_emails_lock_like_known_ones(service: AuthService) -> None:
    register(service, "known@example.com")
    _fail(service, "known@example.com", 5, ip="198.51.100.1")
    _fail(service, "unknown@example.com", 5, ip="198.51.100.2")
    known = login(service, "known@example.com", "wrong password!", "198.51.100.3")
    unknown = login(service, "unknown@example.com", "wrong password!", "198.51.100.4")
    assert (known.status, known.body) == (unknown.status, unknown.body)


def test_success_resets_the_account_counter(service: AuthService) -> None:
    register(service, "a@example.com")
    _fail(service, "a@example.com", 4)
    assert login(service, "a@example.com").status == 200
    _fail(service, "a@example.com", 4)
    assert login(service, "a@example.com").status == 200


def test_limits_are_shared_by_every_instance(make_service: MakeService) -> None:
    one, two = make_service(), make_service()
    register(one, "a@example.com")
    _fail(one, "a@example.com", 3)
    _fail(two, "a@example.com", 2)
    assert login(one, "a@example.com").status == 429


def test_wrong_current_password_counts_toward_the_lock(service: AuthService) -> None:
    register(service, "a@example.com")
    access = login(service, "a@example.com").body
    assert access is not None
    for _ in range(5):
        result = service.change_password(
            f"Bearer {access['access_token']}",
            body(current_password="wrong password!", new_password="another secret"),
        )
        assert result.status == 403
    assert login(service, "a@example.com").status == 429
