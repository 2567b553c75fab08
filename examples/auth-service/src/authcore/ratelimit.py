"""Brute-force protection: failed logins counted per account and per client IP.

Failures are rows in the database, so every instance (and every node) sees the same
counts. A key is blocked while it has at least ``limit`` failures inside the sliding
window; it unblocks when the oldest of them leaves the window, which is the
``Retry-After`` the caller gets. Unknown emails are counted like known ones, so the
limit reveals nothing about which accounts exist.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from authcore.config import RateLimits
from authcore.store import Store


def account_key(email: str) -> str:
    return f"account:{email.lower()}"


def ip_key(ip: str) -> str:
    return f"ip:{ip}"


class LoginLimiter:
    """Decides whether a login may be tried, and records the outcome."""

    def __init__(self, store: Store, limits: RateLimits, clock: Callable[[], float]) -> None:
        self.store = store
        self.limits = limits
        self.clock = clock

    def _retry_after(self, key: str, limit: int, now: float) -> int | None:
        window = self.limits.window_s
        count, oldest = self.store.failures_since(key, now - window)
        if count < limit or oldest is None:
            return None
        return max(1, math.ceil(oldest + window - now))

    def blocked_for(self, email: str, ip: str | None) -> int | None:
        """Seconds until a login for ``email`` from ``ip`` may be tried, or None if now."""
        now = self.clock()
        waits = [self._retry_after(account_key(email), self.limits.per_account, now)]
        if ip:
            waits.append(self._retry_after(ip_key(ip), self.limits.per_ip, now))
        present = [wait for wait in waits if wait is not None]
        return max(present) if present else None

    def record_failure(self, email: str, ip: str | None) -> None:
        """Count one failed login against the account and the IP."""
        now = self.clock()
        keys = [account_key(email)] + ([ip_key(ip)] if ip else [])
        self.store.add_failure(keys, now, now - self.limits.window_s)

    def record_success(self, email: str) -> None:
        """A correct password clears the account's failures (the IP's stay)."""
        self.store.clear_failures(account_key(email))
