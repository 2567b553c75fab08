"""API Gateway's throttling: a token bucket per limit, refilled at ``rate`` up to ``burst``.

API Gateway limits requests with a token bucket: ``rate`` requests per second on
average, ``burst`` at once; a request that finds the bucket empty gets **429** with
``{"message":"Too Many Requests"}`` (HTTP APIs) or ``{"message":"Too Many Requests"}``
and ``x-amzn-ErrorType: TooManyRequestsException`` (REST APIs)
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html).
Pure: the caller passes the time, so tests need no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from overcast.errors import OvercastError


class ThrottleConfigError(OvercastError):
    """A rate or burst that cannot be enforced."""


@dataclass(frozen=True, slots=True)
class ThrottleLimit:
    """Steady-state ``rate`` (requests per second) and ``burst`` (bucket size)."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ThrottleConfigError(
                f"throttling needs rate > 0 and burst >= 1 (got rate {self.rate}, "
                f"burst {self.burst})",
                hint="e.g. rate 100 and burst 200, as API Gateway's stage settings",
            )

    @classmethod
    def parse(cls, text: str) -> ThrottleLimit:
        """``"RATE"`` or ``"RATE:BURST"`` (burst defaults to twice the rate, at least 1)."""
        rate_text, _, burst_text = text.partition(":")
        try:
            rate = float(rate_text)
            burst = int(burst_text) if burst_text else max(1, int(rate * 2))
        except ValueError:
            raise ThrottleConfigError(
                f"{text!r} is not RATE or RATE:BURST", hint="e.g. 100:200"
            ) from None
        return cls(rate, burst)


class TokenBucket:
    """One limit's bucket; starts full."""

    __slots__ = ("_tokens", "_updated", "limit")

    def __init__(self, limit: ThrottleLimit, now: float) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._updated = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means answer 429."""
        elapsed = now - self._updated
        if elapsed > 0:
            self._tokens = min(float(self.limit.burst), self._tokens + elapsed * self.limit.rate)
            self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
