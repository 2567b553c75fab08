"""The Lua scripts grant exactly what the reference pools of lease_ledger grant."""

from __future__ import annotations

import asyncio
import secrets

import redis.asyncio as aioredis
from hypothesis import given, settings
from hypothesis import strategies as st
from redis_helpers import REDIS_HOST, REDIS_PORT

from overcast.cluster.lease_ledger import ConcurrencyPool, WindowPool
from overcast.cluster.redis_leases import RedisLeasePool

# A TTL no example outlives, and a budget with no windows: no clock differs between the two.
TTL = 3600.0


async def replay(
    limit: int, ops: list[tuple[int, int, int]]
) -> tuple[list[int], list[int], list[int], list[int]]:
    prefix = f"overcast-test:{secrets.token_hex(6)}:"
    client = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    pool = RedisLeasePool(client, prefix)
    concurrency, window = ConcurrencyPool(limit, TTL), WindowPool(limit, 0)
    redis_got: list[int] = []
    model_got: list[int] = []
    taken: list[int] = []
    model_taken: list[int] = []
    try:
        for kind, node, amount in ops:
            if kind == 0:
                granted, _ = await pool.sync("fn", f"n{node}", amount, limit, TTL)
                redis_got.append(granted)
                model_got.append(concurrency.sync(f"n{node}", amount, 0.0))
            elif kind == 1:
                granted, _, _ = await pool.take("budget", amount, limit, 0)
                taken.append(granted)
                model_taken.append(window.take(amount, 0.0)[0])
            else:
                await pool.give_back("budget", 0, amount, 0)
                window.give_back(0, amount, 0.0)
        leases = await pool.leases("fn")
        assert sum(leases.values()) <= limit
        assert leases == {n: u for n, (u, _) in concurrency.leases.items() if u}
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    return redis_got, model_got, taken, model_taken


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 8),
    st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3), st.integers(0, 6)), max_size=40),
)
def test_the_scripts_agree_with_the_reference_pools(
    redis_available: None, limit: int, ops: list[tuple[int, int, int]]
) -> None:
    redis_got, model_got, taken, model_taken = asyncio.run(replay(limit, ops))
    assert redis_got == model_got
    assert taken == model_taken
