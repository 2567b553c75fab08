"""Slowing down secret guessing at the sign-in form, without locking the key's owner out.

Failures are counted per (client address, access key id) pair, never per address alone
(behind a proxy every person shares one address) nor per key alone (a stranger could
then lock its owner out). The wait is Amazon Cognito's lockout for failed sign-ins
(https://docs.aws.amazon.com/cognito/latest/developerguide/authentication.html#authentication-flow-lockout-behavior):
five failures are free, then the n-th failure shuts the pair out for 2^(n-5) seconds,
up to about fifteen minutes; attempts during a wait are refused unchecked (so the
answer never tells whether a secret was right) and do not lengthen it; a successful
sign-in, or fifteen minutes without attempts, starts the pair afresh.

Pure, with an injected clock; the app turns a wait into 429 and ``Retry-After``.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable
from dataclasses import dataclass

#: key ids longer than this are no key of ours; the table keeps only this much of one
_MAX_KEY_ID = 128


@dataclass(frozen=True, slots=True)
class Backoff:
    """How failures turn into waits (defaults: Cognito's)."""

    free_failures: int = 5
    first_wait_s: float = 1.0
    max_wait_s: float = 900.0
    #: a pair with no attempt for this long is forgotten (its count starts again)
    forget_after_s: float = 900.0

    def wait_after(self, failures: int) -> float:
        """The wait imposed right after the ``failures``-th failure in a row."""
        if failures < self.free_failures:
            return 0.0
        doublings = min(failures - self.free_failures, 64)  # 2**64 s is past any cap
        return float(min(self.max_wait_s, self.first_wait_s * 2.0**doublings))


@dataclass(slots=True)
class _Pair:
    failures: int
    blocked_until: float
    last_attempt: float


def client_key(address: str) -> str:
    """The part of a client address one person controls: an IPv4 address, an IPv6 /64.

    An IPv6 host is usually given a whole /64 and may pick any address in it, so
    counting single IPv6 addresses would let a guesser start afresh at will.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class SignInThrottle:
    """Failed sign-ins per (client, key id), and how long each pair must wait now."""

    def __init__(
        self,
        backoff: Backoff | None = None,
        *,
        clock: Callable[[], float],
        max_pairs: int = 10_000,
    ) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._max_pairs = max_pairs
        self._pairs: dict[tuple[str, str], _Pair] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._pairs)

    def attempt(self, address: str, access_key_id: str) -> float:
        """An attempt begins: the seconds it must still wait (0: look at the secret)."""
        now = self._clock()
        with self._lock:
            pair = self._live(_key(address, access_key_id), now)
            if pair is None:
                return 0.0
            pair.last_attempt = now
            return max(0.0, pair.blocked_until - now)

    def failed(self, address: str, access_key_id: str) -> float:
        """A wrong secret (or unknown key): count it; the wait it imposes from now."""
        now = self._clock()
        key = _key(address, access_key_id)
        with self._lock:
            pair = self._live(key, now)
            if pair is None:
                self._make_room(now)
                pair = self._pairs[key] = _Pair(0, now, now)
            pair.failures += 1
            pair.last_attempt = now
            wait = self.backoff.wait_after(pair.failures)
            pair.blocked_until = now + wait
            return wait

    def succeeded(self, address: str, access_key_id: str) -> None:
        """The right secret: the pair starts afresh."""
        with self._lock:
            self._pairs.pop(_key(address, access_key_id), None)

    def _live(self, key: tuple[str, str], now: float) -> _Pair | None:
        pair = self._pairs.get(key)
        if pair is not None and self._forgotten(pair, now):
            del self._pairs[key]
            return None
        return pair

    def _forgotten(self, pair: _Pair, now: float) -> bool:
        return now >= pair.blocked_until and now - pair.last_attempt >= self.backoff.forget_after_s

    def _make_room(self, now: float) -> None:
        if len(self._pairs) < self._max_pairs:
            return
        for key in [k for k, p in self._pairs.items() if self._forgotten(p, now)]:
            del self._pairs[key]
        if len(self._pairs) < self._max_pairs:
            return
        # Still full (someone is spraying key ids): forget the half with the fewest
        # failures, so the pairs being guessed hardest keep their waits.
        ranked = sorted(self._pairs.items(), key=lambda kv: (kv[1].failures, kv[1].last_attempt))
        for key, _ in ranked[: len(ranked) // 2 + 1]:
            del self._pairs[key]


def _key(address: str, access_key_id: str) -> tuple[str, str]:
    return client_key(address), access_key_id[:_MAX_KEY_ID]
