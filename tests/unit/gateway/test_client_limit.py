"""Per-client limits: a bucket per address, and a bounded number of addresses."""

from __future__ import annotations

import pytest

from overcast.gateway import ClientLimit, ClientLimiter
from overcast.gateway.throttle import ThrottleConfigError, ThrottleLimit


def test_each_client_has_its_own_bucket() -> None:
    limiter = ClientLimiter(ClientLimit(ThrottleLimit(rate=0.001, burst=2)))
    assert [limiter.take("198.51.100.1", 0.0) for _ in range(3)] == [True, True, False]
    assert [limiter.take("198.51.100.2", 0.0) for _ in range(2)] == [True, True]


def test_a_flood_of_unique_clients_keeps_memory_bounded() -> None:
    limiter = ClientLimiter(ClientLimit(ThrottleLimit(rate=0.001, burst=1), max_clients=100))
    for n in range(100_000):
        assert limiter.take(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", 0.0) is True
    assert len(limiter) == 100


def test_the_least_recently_seen_client_is_forgotten_first() -> None:
    limiter = ClientLimiter(ClientLimit(ThrottleLimit(rate=0.001, burst=1), max_clients=2))
    assert limiter.take("a", 0.0) is True
    assert limiter.take("b", 0.0) is True
    assert limiter.take("a", 0.0) is False  # "a" is now the most recent; its bucket is empty
    assert limiter.take("c", 0.0) is True  # evicts "b", the least recently seen
    assert limiter.take("a", 0.0) is False  # "a" was kept, still empty
    assert limiter.take("b", 0.0) is True  # "b" was forgotten: back with a full bucket


def test_client_limits_parse_like_stage_limits() -> None:
    assert ClientLimit.parse("5:10").limit == ThrottleLimit(5.0, 10)
    with pytest.raises(ThrottleConfigError):
        ClientLimit.parse("fast")
    with pytest.raises(ThrottleConfigError):
        ClientLimit(ThrottleLimit(1.0, 1), max_clients=0)
