"""The session table: random tokens, expiry, a bound on its size, CSRF checks, key re-checks."""

from __future__ import annotations

import pytest

from overcast.dashboard import DashboardError, Identity, SessionTable

from .helpers import Clock


def test_table_keeps_at_most_max_sessions_dropping_the_least_recent(clock: Clock) -> None:
    table = SessionTable(identify=Identity, max_sessions=2, clock=clock)
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
    table = SessionTable(identify=Identity, ttl_s=10, idle_s=10, clock=clock)
    table.create(Identity("A"))
    clock.now += 11
    table.create(Identity("B"))
    assert len(table) == 1


def test_csrf_check_needs_the_exact_token(clock: Clock) -> None:
    session = SessionTable(identify=Identity, clock=clock).create(Identity("A"))
    assert session.csrf_matches(session.csrf_token)
    assert not session.csrf_matches(None)
    assert not session.csrf_matches("")
    assert not session.csrf_matches(session.csrf_token[:-1])
    assert session.csrf_token != session.token


def test_ending_an_unknown_session_is_harmless(clock: Clock) -> None:
    table = SessionTable(identify=Identity, clock=clock)
    table.end("nope")
    table.end(None)
    assert table.get(None) is None


def test_identity_stage_limits_rollback() -> None:
    assert Identity("A").may_rollback("prod")
    assert Identity("A", stages=("dev",)).may_rollback("dev")
    assert not Identity("A", stages=("dev",)).may_rollback("prod")
    assert not Identity("A", can_rollback=False).may_rollback("dev")


# -- every look-up asks about the key again ----------------------------------------------


class Keys:
    """What each key grants now; a test changes it between look-ups."""

    def __init__(self, *identities: Identity) -> None:
        self.now = {i.access_key_id: i for i in identities}
        self.failing = False

    def __call__(self, key_id: str) -> Identity | None:
        if self.failing:
            raise DashboardError("keys.json is not valid JSON")
        return self.now.get(key_id)


def test_a_revoked_keys_session_is_over_and_forgotten(clock: Clock) -> None:
    keys = Keys(Identity("A"), Identity("B"))
    table = SessionTable(identify=keys, clock=clock)
    mine, other = table.create(Identity("A")), table.create(Identity("B"))
    assert table.get(mine.token) is not None
    del keys.now["A"]
    assert table.get(mine.token) is None
    assert len(table) == 1  # ended, not just hidden
    keys.now["A"] = Identity("A")  # the same id issued again does not bring it back
    assert table.get(mine.token) is None
    assert table.get(other.token) is not None


@pytest.mark.parametrize(
    "now",
    [
        Identity("A", stages=("dev",)),
        Identity("A", stacks=("notes",)),
        Identity("A", can_rollback=False),
        Identity("A", expires=1_900_000_000.0),
    ],
)
def test_a_key_granting_anything_else_ends_its_sessions(clock: Clock, now: Identity) -> None:
    keys = Keys(Identity("A"))
    table = SessionTable(identify=keys, clock=clock)
    session = table.create(Identity("A"))
    keys.now["A"] = now
    assert table.get(session.token) is None


def test_the_same_grant_in_another_order_keeps_the_session(clock: Clock) -> None:
    keys = Keys(Identity("A", stages=("dev", "qa"), stacks=("a", "b")))
    table = SessionTable(identify=keys, clock=clock)
    session = table.create(Identity("A", stages=("qa", "dev"), stacks=("b", "a")))
    assert table.get(session.token) is not None


def test_a_key_store_that_cannot_be_read_ends_the_session(clock: Clock) -> None:
    keys = Keys(Identity("A"))
    table = SessionTable(identify=keys, clock=clock)
    session = table.create(Identity("A"))
    keys.failing = True
    assert table.get(session.token) is None


def test_a_session_ends_when_its_key_expires(clock: Clock) -> None:
    expiring = Identity("A", expires=clock.now + 60)
    table = SessionTable(identify=Keys(expiring), clock=clock)
    session = table.create(expiring)
    assert session.expires == clock.now + 60
    clock.now += 59
    assert table.get(session.token) is not None
    clock.now += 1
    assert table.get(session.token) is None


def test_looking_without_touching_leaves_the_idle_timer(clock: Clock) -> None:
    table = SessionTable(identify=Identity, idle_s=10, clock=clock)
    session = table.create(Identity("A"))
    clock.now += 9
    assert table.get(session.token, touch=False) is not None
    clock.now += 1
    assert table.get(session.token, touch=False) is None


def test_the_key_is_asked_on_every_look_up(clock: Clock) -> None:
    asked: list[str] = []

    def identify(key_id: str) -> Identity:
        asked.append(key_id)
        return Identity(key_id)

    table = SessionTable(identify=identify, clock=clock)
    session = table.create(Identity("A"))
    for _ in range(3):
        table.get(session.token)
    assert asked == ["A", "A", "A"]
