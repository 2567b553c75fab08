"""When an asynchronous event is tried again, or given up on: pure, no clock, no I/O.

As Lambda documents it
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html):

- a *function error* (the handler raised, timed out, ran out of memory) is retried
  up to ``MaximumRetryAttempts`` times (0-2, default 2), "with a one-minute wait
  between the first two attempts, and two minutes between the second and third";
- a *throttle* (429) or *system error* (500-series) returns the event to the queue;
  "the retry interval increases exponentially from 1 second after the first attempt
  to a maximum of 5 minutes", for as long as the event is younger than
  ``MaximumEventAgeInSeconds`` (60-21600, default 6 hours). Throttles do not use up
  retry attempts.

An event older than its maximum age is discarded (``EventAgeExceeded``) instead of
run; one whose function errors outnumber its retries is ``RetriesExhausted``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: MaximumRetryAttempts bounds and default (AWS::Lambda::EventInvokeConfig)
MIN_RETRY_ATTEMPTS, MAX_RETRY_ATTEMPTS, DEFAULT_RETRY_ATTEMPTS = 0, 2, 2
#: MaximumEventAgeInSeconds bounds and default
MIN_EVENT_AGE_S, MAX_EVENT_AGE_S, DEFAULT_EVENT_AGE_S = 60, 21_600, 21_600
#: seconds between function-error attempts: after the first failure, after the second
FUNCTION_ERROR_WAITS_S = (60.0, 120.0)
#: throttle/system-error backoff: 1 s, doubling, capped at 5 minutes
THROTTLE_FIRST_WAIT_S, THROTTLE_MAX_WAIT_S = 1.0, 300.0

Outcome = Literal["function_error", "throttled"]
Condition = Literal["RetriesExhausted", "EventAgeExceeded"]


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """A function's ``EventInvokeConfig`` retry settings (validated by the template)."""

    maximum_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_EVENT_AGE_S


@dataclass(frozen=True, slots=True)
class Retry:
    """Run the event again at ``at`` (the same clock as the event's ``enqueued_at``)."""

    at: float


@dataclass(frozen=True, slots=True)
class GiveUp:
    """Stop: the event goes to its OnFailure destination (or dead-letter queue)."""

    condition: Condition


def expired(enqueued_at: float, now: float, config: RetryConfig) -> bool:
    """Whether the event is past its maximum age and must not run any more."""
    return now - enqueued_at > config.maximum_event_age_s


def throttle_wait(throttles: int) -> float:
    """The wait after the ``throttles``-th throttled (or system-failed) attempt."""
    if throttles <= 1:
        return THROTTLE_FIRST_WAIT_S
    # 2**9 already passes the cap: no need to compute huge powers for long-lived events.
    return min(THROTTLE_MAX_WAIT_S, THROTTLE_FIRST_WAIT_S * 2.0 ** min(throttles - 1, 9))


def function_error_wait(function_errors: int) -> float:
    """The wait after the ``function_errors``-th failed attempt (1 min, then 2 min)."""
    index = min(max(function_errors, 1), len(FUNCTION_ERROR_WAITS_S)) - 1
    return FUNCTION_ERROR_WAITS_S[index]


def next_attempt(
    outcome: Outcome,
    *,
    function_errors: int,
    throttles: int,
    enqueued_at: float,
    now: float,
    config: RetryConfig,
) -> Retry | GiveUp:
    """What follows an attempt that did not succeed.

    ``function_errors`` and ``throttles`` count the attempts of each kind so far,
    including the one that just ended with ``outcome``.
    """
    if outcome == "function_error":
        if function_errors > config.maximum_retry_attempts:
            return GiveUp("RetriesExhausted")
        at = now + function_error_wait(function_errors)
    else:
        at = now + throttle_wait(throttles)
    if expired(enqueued_at, at, config):
        return GiveUp("EventAgeExceeded")
    return Retry(at)
