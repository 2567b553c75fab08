"""Leased limits over Redis: atomic Lua scripts on the pool side, a refill task on the node side.

The pool side (:class:`RedisLeasePool`) implements, one Lua script each, what the
reference models in :mod:`overcast.cluster.lease_ledger` do:

* concurrency — per counter a hash ``node -> units`` and a sorted set ``node ->
  expiry`` (Redis's own clock, ms). Each sync first forgets the nodes whose lease
  expired (a dead node's units come back after the TTL), then sets the caller's
  lease to ``min(wanted, limit - sum(other leases))`` and renews its expiry. One
  script covers grant, give-back and renewal, and it is idempotent: a lost reply
  is repaired by the next sync, since the node always states its absolute lease.
* consumables — per counter a hash ``window -> units granted``; a take grants up
  to ``limit - granted`` in Redis's current window, a give-back subtracts only
  within that same window. Older windows are deleted as the windows move on.

The node side (:class:`NodeLeases`) owns one :class:`~overcast.cluster.lease_ledger.Ledger`
per counter and one refill task (:meth:`NodeLeases.run`, to be started in the
caller's task group): requests call :meth:`NodeLeases.admit` and never touch Redis.
When Redis cannot be reached for longer than a counter's admit window, its admits
are refused with the reason, and :meth:`NodeLeases.health` says so; the next
successful exchange restores it, without a restart.

Scripts address only the keys they are given; a single Redis (not Redis Cluster).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from overcast.cluster.lease_ledger import Decision, Kind, LeasePolicy, Ledger

_SYNC_CONCURRENCY = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local node = ARGV[1]
local want = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, gone in ipairs(expired) do redis.call('HDEL', KEYS[1], gone) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end
local others = 0
local leases = redis.call('HGETALL', KEYS[1])
for i = 1, #leases, 2 do
  if leases[i] ~= node then others = others + tonumber(leases[i + 1]) end
end
local granted = math.max(0, math.min(want, limit - others))
if granted > 0 then
  redis.call('HSET', KEYS[1], node, granted)
  redis.call('ZADD', KEYS[2], now + ttl, node)
else
  redis.call('HDEL', KEYS[1], node)
  redis.call('ZREM', KEYS[2], node)
end
-- Both keys outlive the longest lease in them, and no longer once every node is gone.
for _, key in ipairs(KEYS) do
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
return {granted, t[1], t[2]}
"""

_TAKE = """
local t = redis.call('TIME')
local want = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local width = tonumber(ARGV[3])
local window = 0
if width > 0 then window = math.floor(tonumber(t[1]) / width) end
for _, old in ipairs(redis.call('HKEYS', KEYS[1])) do
  if tonumber(old) < window - 1 then redis.call('HDEL', KEYS[1], old) end
end
local used = tonumber(redis.call('HGET', KEYS[1], window) or '0')
local granted = math.max(0, math.min(want, limit - used))
if granted > 0 then redis.call('HINCRBY', KEYS[1], window, granted) end
if width > 0 then redis.call('EXPIRE', KEYS[1], 3 * width) end
return {granted, window, t[1], t[2]}
"""

_GIVE_BACK = """
local t = redis.call('TIME')
local window = tonumber(ARGV[1])
local units = tonumber(ARGV[2])
local width = tonumber(ARGV[3])
local current = 0
if width > 0 then current = math.floor(tonumber(t[1]) / width) end
if window == current then
  local used = tonumber(redis.call('HGET', KEYS[1], window) or '0')
  redis.call('HSET', KEYS[1], window, math.max(0, used - units))
end
return {t[1], t[2]}
"""


class LeasePool(Protocol):
    """What a node needs of the cluster-wide side; :class:`RedisLeasePool` is the real one."""

    async def sync(
        self, counter: str, node: str, want: int, limit: int, ttl: float
    ) -> tuple[int, float]:
        """Set ``node``'s concurrency lease to at most ``want``: (granted, pool time)."""
        ...

    async def take(
        self, counter: str, want: int, limit: int, window_seconds: int
    ) -> tuple[int, int, float]:
        """Take up to ``want`` consumable units: (granted, window, pool time)."""
        ...

    async def give_back(self, counter: str, window: int, units: int, window_seconds: int) -> float:
        """Return unused consumable units of ``window``; returns the pool's time."""
        ...


def _server_time(seconds: Any, micros: Any) -> float:
    return int(seconds) + int(micros) / 1_000_000


class RedisLeasePool:
    """The cluster-wide side of leased counters, in one Redis under ``prefix``."""

    def __init__(self, client: aioredis.Redis, prefix: str = "overcast:") -> None:
        self._client = client
        self._prefix = prefix
        self._sync = client.register_script(_SYNC_CONCURRENCY)
        self._take = client.register_script(_TAKE)
        self._give_back = client.register_script(_GIVE_BACK)

    def _keys(self, counter: str) -> list[str]:
        base = f"{self._prefix}lease:{counter}"
        return [f"{base}:units", f"{base}:expiry"]

    async def sync(
        self, counter: str, node: str, want: int, limit: int, ttl: float
    ) -> tuple[int, float]:
        """Set ``node``'s concurrency lease to at most ``want``: (granted, Redis time)."""
        granted, secs, micros = await self._sync(
            keys=self._keys(counter), args=[node, want, limit, round(ttl * 1000)]
        )
        return int(granted), _server_time(secs, micros)

    async def take(
        self, counter: str, want: int, limit: int, window_seconds: int
    ) -> tuple[int, int, float]:
        """Take up to ``want`` consumable units: (granted, window, Redis time)."""
        granted, window, secs, micros = await self._take(
            keys=[f"{self._prefix}spend:{counter}"], args=[want, limit, window_seconds]
        )
        return int(granted), int(window), _server_time(secs, micros)

    async def give_back(self, counter: str, window: int, units: int, window_seconds: int) -> float:
        """Return unused consumable units of ``window``; returns Redis time."""
        secs, micros = await self._give_back(
            keys=[f"{self._prefix}spend:{counter}"], args=[window, units, window_seconds]
        )
        return _server_time(secs, micros)

    async def leases(self, counter: str) -> dict[str, int]:
        """The concurrency leases Redis holds for ``counter`` (expired ones included)."""
        raw = await self._client.hgetall(self._keys(counter)[0])
        return {_text(node): int(units) for node, units in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class CounterHealth:
    """One counter's state as the node's health reports it."""

    counter: str
    healthy: bool
    reason: str
    free: int


class NodeLeases:
    """This node's leases of cluster-wide counters, kept topped up by :meth:`run`."""

    def __init__(
        self,
        pool: LeasePool,
        node: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        tick: float = 0.05,
        call_timeout: float = 1.0,
        max_backoff: float = 1.0,
    ) -> None:
        self._pool = pool
        self._node = node
        self._clock = clock
        self._tick = tick
        self._call_timeout = call_timeout
        self._max_backoff = max_backoff
        self._backoff = 0.0
        self._failures = 0
        self._ledgers: dict[str, Ledger] = {}
        self._wake = asyncio.Event()

    def add(self, counter: str, policy: LeasePolicy) -> None:
        """Start leasing ``counter``; the refill task asks for units on its next tick."""
        self._ledgers[counter] = Ledger(policy)
        self._wake.set()

    def admit(self, counter: str, units: int = 1) -> Decision:
        """Admit from the local lease (no Redis); a refusal wakes the refill task."""
        ledger = self._ledgers[counter]
        now = self._clock()
        decision = ledger.admit(now, units)
        if not decision.admitted or ledger.free(now) <= ledger.policy.low_water:
            self._wake.set()
        return decision

    def release(self, counter: str, units: int = 1) -> None:
        """Give back concurrency units once the work holding them ends."""
        self._ledgers[counter].release(units)

    def health(self) -> list[CounterHealth]:
        """Each counter: whether it can still admit within its bound, and if not why."""
        now = self._clock()
        report = []
        for counter, ledger in sorted(self._ledgers.items()):
            reason = ledger.health(now)
            report.append(CounterHealth(counter, not reason, reason, max(0, ledger.free(now))))
        return report

    @property
    def healthy(self) -> bool:
        """True while every counter's lease is confirmed by Redis."""
        return all(entry.healthy for entry in self.health())

    async def run(self) -> None:
        """The refill task: run it in the caller's task group; cancel it to stop."""
        while True:
            # Cleared before the pass: a refusal during it wakes the next one at once.
            self._wake.clear()
            self._failures = 0
            await self.refill_once()
            if self._failures:
                # Redis is away: retry at a growing interval, not at every refused request.
                self._backoff = min(self._max_backoff, max(self._tick, 2 * self._backoff))
                await asyncio.sleep(self._backoff)
                continue
            self._backoff = 0.0
            try:
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def refill_once(self) -> None:
        """One pass over every counter: top up, give back or renew as its ledger says."""
        await asyncio.gather(*(self._exchange(c, ledger) for c, ledger in self._ledgers.items()))

    async def give_back_all(self) -> None:
        """On a clean shutdown, after :meth:`run` ended: return every free unit now."""
        for counter, ledger in self._ledgers.items():
            if ledger.policy.kind is Kind.CONCURRENCY:
                ledger.syncing(ledger.in_use)
                await self._call(ledger, self._sync(counter, ledger, ledger.in_use))
            else:
                await self._give_back(counter, ledger, self._clock(), force=True)

    async def _exchange(self, counter: str, ledger: Ledger) -> None:
        now = self._clock()
        if ledger.policy.kind is Kind.CONCURRENCY:
            target = ledger.concurrency_target(now)
            if target is not None:
                ledger.syncing(target)
                await self._call(ledger, self._sync(counter, ledger, target))
            return
        want = ledger.consumable_want(now)
        if want:
            await self._call(ledger, self._take_units(counter, ledger, want))
        else:
            await self._give_back(counter, ledger, now)
        if (
            ledger.confirmed_at is None
            or now - ledger.confirmed_at >= ledger.policy.admit_window / 3
        ):
            # Nothing to take or give: a zero take still proves Redis is there.
            await self._call(ledger, self._take_units(counter, ledger, 0))

    async def _give_back(
        self, counter: str, ledger: Ledger, now: float, *, force: bool = False
    ) -> None:
        window, units = ledger.consumable_surplus(now, force=force)
        if units:
            await self._call(ledger, self._give_units(counter, ledger, window, units))

    async def _call(self, ledger: Ledger, exchange: Awaitable[None]) -> None:
        try:
            async with asyncio.timeout(self._call_timeout):
                await exchange
        except (RedisError, OSError, TimeoutError) as exc:
            detail = str(exc) or type(exc).__name__
            ledger.failed(f"Redis unreachable ({detail})")
            self._failures += 1

    async def _sync(self, counter: str, ledger: Ledger, target: int) -> None:
        sent = self._clock()
        policy = ledger.policy
        granted, server = await self._pool.sync(
            counter, self._node, target, policy.limit, policy.ttl
        )
        ledger.synced(granted, sent, server, self._clock())

    async def _take_units(self, counter: str, ledger: Ledger, want: int) -> None:
        sent = self._clock()
        policy = ledger.policy
        granted, window, server = await self._pool.take(
            counter, want, policy.limit, policy.window_seconds
        )
        ledger.took(granted, window, sent, server, self._clock())

    async def _give_units(self, counter: str, ledger: Ledger, window: int, units: int) -> None:
        sent = self._clock()
        server = await self._pool.give_back(counter, window, units, ledger.policy.window_seconds)
        ledger.confirmed(sent, server, self._clock())
