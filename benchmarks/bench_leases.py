"""Benchmark: admitting through a local lease vs one Redis round trip per admit.

The design reason for leased chunks (overcast.cluster.lease_ledger): a cluster-wide
reserved concurrency could be kept exactly with an atomic check-and-increment in
Redis for every request (and a decrement when it ends), but then every request waits
on a network round trip and Redis sees every request. With leases the request path
is a local decision; Redis sees one sync per chunk. Measured in the same run, on the
local Redis at 127.0.0.1:6379 (a real cluster adds the network):

- leased: ``NodeLeases.admit`` + ``release`` with its refill task running;
- per-admit Redis: an INCR-below-limit Lua script per admit and a DECR per release,
  from ``--concurrency`` coroutines sharing one client (its connection pool).

Printed: admits/s for each, the ratio, the Redis path's p50/p99 latency per admit,
and how many Redis calls the leased run made. Keys live under a random prefix and are
deleted afterwards.

Run: .venv/bin/python benchmarks/bench_leases.py [--admits 20000] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import time

import redis.asyncio as aioredis
from harness import emit
from redis.exceptions import RedisError

from overcast.cluster.lease_ledger import Kind, LeasePolicy
from overcast.cluster.redis_leases import NodeLeases, RedisLeasePool

ACQUIRE = """
local n = redis.call('INCR', KEYS[1])
if n > tonumber(ARGV[1]) then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
"""
LIMIT = 1_000


class CountingPool(RedisLeasePool):
    """The real pool, counting the exchanges the leased run makes."""

    calls = 0

    async def sync(
        self, counter: str, node: str, want: int, limit: int, ttl: float
    ) -> tuple[int, float]:
        CountingPool.calls += 1
        return await super().sync(counter, node, want, limit, ttl)


async def leased(client: aioredis.Redis, prefix: str, admits: int, concurrency: int) -> float:
    leases = NodeLeases(CountingPool(client, prefix), "bench-node")
    leases.add("fn", LeasePolicy(Kind.CONCURRENCY, limit=LIMIT, chunk=64, low_water=16))
    per_worker = admits // concurrency

    async def worker() -> None:
        done = 0
        while done < per_worker:
            if leases.admit("fn").admitted:
                done += 1
                await asyncio.sleep(0)  # the request "runs": yield to the others
                leases.release("fn")
            else:
                await asyncio.sleep(0.0005)

    async with asyncio.TaskGroup() as group:
        refill = group.create_task(leases.run())
        while not leases.healthy:
            await asyncio.sleep(0.001)
        start = time.perf_counter()
        async with asyncio.TaskGroup() as workers:
            for _ in range(concurrency):
                workers.create_task(worker())
        elapsed = time.perf_counter() - start
        refill.cancel()
    return elapsed


async def per_admit(
    client: aioredis.Redis, prefix: str, admits: int, concurrency: int
) -> tuple[float, list[float]]:
    acquire = client.register_script(ACQUIRE)
    key = f"{prefix}per-admit"
    per_worker = admits // concurrency
    latencies: list[float] = []

    async def worker() -> None:
        done = 0
        while done < per_worker:
            began = time.perf_counter()
            if await acquire(keys=[key], args=[LIMIT]):
                latencies.append((time.perf_counter() - began) * 1000)
                done += 1
                await asyncio.sleep(0)
                await client.decr(key)

    start = time.perf_counter()
    async with asyncio.TaskGroup() as group:
        for _ in range(concurrency):
            group.create_task(worker())
    return time.perf_counter() - start, latencies


async def main(admits: int, concurrency: int) -> None:
    prefix = f"overcast-bench:{secrets.token_hex(6)}:"
    client = aioredis.Redis(host="127.0.0.1", port=6379, max_connections=concurrency + 4)
    try:
        await client.ping()
    except RedisError as exc:
        await client.aclose()
        print(f"bench_leases: no Redis at 127.0.0.1:6379 ({exc}); nothing measured")
        return
    try:
        leased_s = await leased(client, prefix, admits, concurrency)
        redis_s, latencies = await per_admit(client, prefix, admits, concurrency)
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    done = admits // concurrency * concurrency
    leased_rate, redis_rate = done / leased_s, done / redis_s
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"leased {leased_rate:,.0f} admits/s ({CountingPool.calls} Redis syncs); "
        f"per-admit Redis {redis_rate:,.0f} admits/s (p50 {p50:.3f} ms, p99 {p99:.3f} ms) "
        f"→ ratio {leased_rate / redis_rate:.1f}x"
    )
    emit(
        "leases",
        {
            "admits": done,
            "concurrency": concurrency,
            "leased_per_s": round(leased_rate, 1),
            "leased_redis_syncs": CountingPool.calls,
            "per_admit_redis_per_s": round(redis_rate, 1),
            "per_admit_p50_ms": round(p50, 3),
            "per_admit_p99_ms": round(p99, 3),
            "ratio": round(leased_rate / redis_rate, 2),
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--admits", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.admits, args.concurrency))
