"""Lambda's documented async retry schedule, decided without I/O.

https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from overcast.events.retry_policy import (
    GiveUp,
    Retry,
    RetryConfig,
    expired,
    next_attempt,
    throttle_wait,
)

DEFAULT = RetryConfig()


def test_function_errors_wait_one_minute_then_two_then_give_up() -> None:
    first = next_attempt(
        "function_error", function_errors=1, throttles=0, enqueued_at=0, now=10, config=DEFAULT
    )
    second = next_attempt(
        "function_error", function_errors=2, throttles=0, enqueued_at=0, now=100, config=DEFAULT
    )
    third = next_attempt(
        "function_error", function_errors=3, throttles=0, enqueued_at=0, now=300, config=DEFAULT
    )
    assert first == Retry(70.0)
    assert second == Retry(220.0)
    assert third == GiveUp("RetriesExhausted")


def test_zero_retry_attempts_gives_up_after_the_first_error() -> None:
    config = RetryConfig(maximum_retry_attempts=0)
    decision = next_attempt(
        "function_error", function_errors=1, throttles=0, enqueued_at=0, now=1, config=config
    )
    assert decision == GiveUp("RetriesExhausted")


def test_throttle_backoff_doubles_from_one_second_up_to_five_minutes() -> None:
    waits = [throttle_wait(n) for n in range(1, 13)]
    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert waits[-1] == 300.0
    assert max(waits) == 300.0


def test_a_retry_past_the_maximum_age_is_event_age_exceeded() -> None:
    config = RetryConfig(maximum_event_age_s=60)
    decision = next_attempt(
        "throttled", function_errors=0, throttles=1, enqueued_at=0, now=59.5, config=config
    )
    assert decision == GiveUp("EventAgeExceeded")


@given(
    throttles=st.integers(min_value=1, max_value=10_000),
    age=st.integers(min_value=60, max_value=21_600),
    now=st.floats(min_value=0, max_value=30_000),
)
def test_throttles_never_exhaust_retries_only_age(throttles: int, age: int, now: float) -> None:
    config = RetryConfig(maximum_retry_attempts=0, maximum_event_age_s=age)
    decision = next_attempt(
        "throttled", function_errors=0, throttles=throttles, enqueued_at=0, now=now, config=config
    )
    if isinstance(decision, Retry):
        assert now + 1.0 <= decision.at <= now + 300.0
        assert not expired(0, decision.at, config)
    else:
        assert decision == GiveUp("EventAgeExceeded")
        assert decision.condition == "EventAgeExceeded"


@given(
    errors=st.integers(min_value=1, max_value=5),
    retries=st.integers(min_value=0, max_value=2),
    now=st.integers(min_value=0, max_value=20_000),
)
def test_function_errors_never_run_more_than_one_plus_retries(
    errors: int, retries: int, now: int
) -> None:
    config = RetryConfig(maximum_retry_attempts=retries)
    decision = next_attempt(
        "function_error", function_errors=errors, throttles=0, enqueued_at=0, now=now, config=config
    )
    if errors > retries:
        assert decision == GiveUp("RetriesExhausted")
    else:
        assert isinstance(decision, Retry | GiveUp)
        if isinstance(decision, Retry):
            assert decision.at - now in (60.0, 120.0)
