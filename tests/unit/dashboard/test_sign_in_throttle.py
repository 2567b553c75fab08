"""The sign-in throttle on its own: Cognito's backoff per (client, key id), a bounded table."""

from __future__ import annotations

import pytest

from overcast.dashboard.sign_in_throttle import Backoff, SignInThrottle, client_key

from .helpers import Clock

GUESSER, OWNER = "203.0.113.9", "198.51.100.7"
KEY, OTHER_KEY = "AKIATARGETTARGETTAR1", "AKIAOTHEROTHEROTHER1"


def test_five_failures_are_free_then_the_wait_doubles_up_to_fifteen_minutes() -> None:
    backoff = Backoff()
    waits = [backoff.wait_after(n) for n in range(1, 17)]
    assert waits[:4] == [0.0] * 4
    assert waits[4:12] == [1, 2, 4, 8, 16, 32, 64, 128]
    assert waits[12:] == [256, 512, 900, 900]
    assert backoff.wait_after(10_000) == 900


def test_a_pair_waits_after_its_fifth_failure(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock)
    assert [throttle.failed(GUESSER, KEY) for _ in range(5)] == [0, 0, 0, 0, 1]
    assert throttle.attempt(GUESSER, KEY) == 1
    clock.now += 0.25
    assert throttle.attempt(GUESSER, KEY) == 0.75
    clock.now += 0.75
    assert throttle.attempt(GUESSER, KEY) == 0


def test_other_addresses_and_other_keys_do_not_wait(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock)
    for _ in range(20):
        throttle.failed(GUESSER, KEY)
    assert throttle.attempt(GUESSER, KEY) > 0
    assert throttle.attempt(OWNER, KEY) == 0
    assert throttle.attempt(GUESSER, OTHER_KEY) == 0


def test_success_starts_the_pair_afresh(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock)
    for _ in range(6):
        throttle.failed(GUESSER, KEY)
    throttle.succeeded(GUESSER, KEY)
    assert throttle.attempt(GUESSER, KEY) == 0
    assert throttle.failed(GUESSER, KEY) == 0  # five free failures again
    assert len(throttle) == 1


def test_fifteen_quiet_minutes_forget_the_pair_but_attempts_keep_it(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock)
    for _ in range(5):
        throttle.failed(GUESSER, KEY)
    clock.now += 899
    throttle.attempt(GUESSER, KEY)  # an attempt (even unchecked) is not quiet
    clock.now += 899
    assert throttle.failed(GUESSER, KEY) == 2  # still counting: the sixth failure
    clock.now += 2 + 900
    assert throttle.attempt(GUESSER, KEY) == 0
    assert throttle.failed(GUESSER, KEY) == 0
    assert len(throttle) == 1


def test_the_table_is_bounded_and_keeps_the_hardest_guessed_pairs(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock, max_pairs=100)
    for _ in range(8):
        throttle.failed(GUESSER, KEY)
    for n in range(1000):  # a spray of made-up key ids
        throttle.failed(GUESSER, f"AKIA{n:016d}")
    assert len(throttle) <= 100
    assert throttle.attempt(GUESSER, KEY) == 8


def test_a_long_key_id_is_cut_to_a_bounded_size(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock, backoff=Backoff(free_failures=1))
    throttle.failed(GUESSER, "A" * 200 + "x")
    assert throttle.attempt(GUESSER, "A" * 200 + "y") > 0


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unknown", "unknown"),
        ("", ""),
    ],
)
def test_clients_are_counted_by_address_and_ipv6_by_its_64(address: str, key: str) -> None:
    assert client_key(address) == key


def test_a_guesser_cannot_start_afresh_by_moving_within_its_ipv6_64(clock: Clock) -> None:
    throttle = SignInThrottle(clock=clock)
    for n in range(6):
        throttle.failed(f"2001:db8:1:2::{n + 1:x}", KEY)
    assert throttle.attempt("2001:db8:1:2::ffff", KEY) > 0
    assert throttle.attempt("2001:db8:1:3::1", KEY) == 0
