"""The session table: random tokens, expiry, a bound on its size, constant-time CSRF checks."""

from __future__ import annotations

from overcast.dashboard import Identity, SessionTable

from .helpers import Clock


def test_table_keeps_at_most_max_sessions_dropping_the_least_recent(clock: Clock) -> None:
    table = SessionTable(max_sessions=2, clock=clock)
    first = table.create(Identity("A"))
    clock.now += 1
    second = table.create(Identity("B"))
    clock.now += 1
    table.get(first.token)  # first is used again: second is now the least recent
    clock.now += 1
    third = table.create(Identity("C"))
    assert len(table) == 2
    assert table.get(second.token) is None
    assert table.get(first.token) is not None
    assert table.get(third.token) is not None


def test_expired_sessions_are_pruned_when_new_ones_start(clock: Clock) -> None:
    table = SessionTable(ttl_s=10, idle_s=10, clock=clock)
    table.create(Identity("A"))
    clock.now += 11
    table.create(Identity("B"))
    assert len(table) == 1


def test_csrf_check_needs_the_exact_token(clock: Clock) -> None:
    session = SessionTable(clock=clock).create(Identity("A"))
    assert session.csrf_matches(session.csrf_token)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(session.csrf_token[:-1])
    assert session.csrf_token != session.token


def test_ending_an_unknown_session_is_harmless(clock: Clock) -> None:
    table = SessionTable(clock=clock)
    table.end("nope")
    table.end(None)
    assert table.get(None) is None


def test_identity_stage_limits_rollback() -> None:
    assert Identity("A").may_rollback("prod")
    assert Identity("A", stages=("dev",)).may_rollback("dev")
    assert not Identity("A", stages=("dev",)).may_rollback("prod")
    assert not Identity("A", can_rollback=False).may_rollback("dev")
