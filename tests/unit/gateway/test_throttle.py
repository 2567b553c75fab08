"""API Gateway's token bucket: burst at once, then rate per second."""

from __future__ import annotations

import pytest

from overcast.gateway.throttle import ThrottleConfigError, ThrottleLimit, TokenBucket


def test_a_full_bucket_allows_the_burst_then_refills_at_the_rate() -> None:
    bucket = TokenBucket(ThrottleLimit(rate=2.0, burst=3), now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.25) is False  # half a token
    assert bucket.take(0.5) is True  # one token after 0.5 s at 2/s
    assert bucket.take(0.5) is False
    # a long pause refills no more than the burst
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]


def test_limits_parse_rate_and_optional_burst() -> None:
    assert ThrottleLimit.parse("100:250") == ThrottleLimit(100.0, 250)
    assert ThrottleLimit.parse("5") == ThrottleLimit(5.0, 10)
    assert ThrottleLimit.parse("0.2") == ThrottleLimit(0.2, 1)


@pytest.mark.parametrize("text", ["fast", "10:x", "0", "-1:5", "10:0"])
def test_bad_limits_are_refused_with_an_example(text: str) -> None:
    with pytest.raises(ThrottleConfigError):
        ThrottleLimit.parse(text)
