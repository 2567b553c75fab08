"""Leased limits against the real Redis: three simulated nodes, dead nodes, Redis going away."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from redis_helpers import REDIS_HOST, REDIS_PORT, RedisProxy

from overcast.cluster.lease_ledger import Kind, LeasePolicy
from overcast.cluster.redis_leases import NodeLeases, RedisLeasePool

RESERVED = LeasePolicy(
    Kind.CONCURRENCY, limit=2, chunk=1, ttl=1.0, admit_window=0.6, idle_after=0.05
)
# Generous: the tests wait for something to happen, never assert how fast it did.
PATIENCE = 20.0


class Node:
    """One simulated node: its own Redis client, its leases and its refill task."""

    def __init__(self, name: str, prefix: str, port: int = REDIS_PORT) -> None:
        self.name = name
        self.client = aioredis.Redis(
            host=REDIS_HOST,
            port=port,
            client_name=f"{prefix}{name}",
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
        self.pool = RedisLeasePool(self.client, prefix)
        self.leases = NodeLeases(self.pool, name, call_timeout=0.5)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.leases.run())

    async def kill(self) -> None:
        """Drop the node without giving anything back, as a crash would."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.aclose()


@contextlib.asynccontextmanager
async def nodes(prefix: str, count: int, policy: LeasePolicy) -> AsyncIterator[list[Node]]:
    started = [Node(f"node-{i}", prefix) for i in range(count)]
    for node in started:
        node.leases.add("fn", policy)
        node.start()
    try:
        yield started
    finally:
        for node in started:
            await node.kill()


async def eventually(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    async with asyncio.timeout(PATIENCE):
        while True:
            result = check()
            if not isinstance(result, bool):
                result = await result
            if result:
                return
            await asyncio.sleep(0.02)
    raise AssertionError(what)  # pragma: no cover - timeout raises first


def test_three_nodes_never_hold_more_than_the_reserved_concurrency(prefix: str) -> None:
    async def scenario() -> tuple[int, int, dict[str, int]]:
        in_flight = peak = 0
        admitted = dict.fromkeys(("node-0", "node-1", "node-2"), 0)

        async def worker(node: Node, seed: int) -> None:
            nonlocal in_flight, peak
            rng = random.Random(seed)
            for attempt in range(120):
                if node.leases.admit("fn").admitted:
                    in_flight += 1
                    peak = max(peak, in_flight)
                    assert in_flight <= 2
                    admitted[node.name] += 1
                    await asyncio.sleep(rng.random() * 0.004)
                    in_flight -= 1
                    node.leases.release("fn")
                else:
                    await asyncio.sleep(0.002)
                if attempt % 30 == 29:
                    # A pause: the node goes idle and gives its units back to the others.
                    await asyncio.sleep(0.15)

        async with nodes(prefix, 3, RESERVED) as cluster:
            async with asyncio.TaskGroup() as group:
                for i, node in enumerate(cluster):
                    for j in range(4):
                        group.create_task(worker(node, i * 10 + j))
            held = await cluster[0].pool.leases("fn")
            assert sum(held.values()) <= 2
        return peak, sum(admitted.values()), admitted

    peak, total, per_node = asyncio.run(scenario())
    assert peak <= 2
    assert total > 0, per_node


def test_a_killed_nodes_units_come_back_after_the_ttl(prefix: str) -> None:
    policy = LeasePolicy(
        Kind.CONCURRENCY, limit=2, chunk=2, ttl=1.0, admit_window=0.6, idle_after=60
    )

    async def scenario() -> None:
        async with nodes(prefix, 2, policy) as (a, b):

            async def a_holds_both() -> bool:
                return a.leases.admit("fn").admitted and a.leases.admit("fn").admitted

            await eventually(a_holds_both, "node-0 never got both units")
            await a.kill()
            held = await b.pool.leases("fn")
            assert held.get("node-0") == 2
            refused = b.leases.admit("fn")
            assert not refused.admitted
            # No one gives node-0's units back: only their expiry in Redis frees them.
            await eventually(lambda: b.leases.admit("fn").admitted, "units never came back")

    asyncio.run(scenario())


def test_a_node_that_loses_redis_stops_admitting_says_why_and_recovers(
    prefix: str, redis_proxy: RedisProxy
) -> None:
    async def scenario() -> None:
        await redis_proxy.start()
        node = Node("node-0", prefix, port=redis_proxy.port)
        node.leases.add("fn", RESERVED)
        node.start()
        try:
            await eventually(lambda: node.leases.admit("fn").admitted, "never admitted")
            node.leases.release("fn")
            assert node.leases.healthy

            await redis_proxy.stop()
            await eventually(lambda: not node.leases.healthy, "health never noticed")
            refused = node.leases.admit("fn")
            assert not refused.admitted
            assert "lease lapsed" in refused.reason
            assert "Redis unreachable" in refused.reason
            [entry] = node.leases.health()
            assert entry.counter == "fn"
            assert not entry.healthy
            assert "Redis unreachable" in entry.reason

            await redis_proxy.start()  # the same port: Redis is back
            await eventually(lambda: node.leases.admit("fn").admitted, "never recovered")
            node.leases.release("fn")
            assert node.leases.healthy
        finally:
            await node.kill()
            await redis_proxy.stop()

    asyncio.run(scenario())


def test_a_killed_connection_is_replaced_without_losing_the_lease(prefix: str) -> None:
    async def scenario() -> None:
        async with nodes(prefix, 1, RESERVED) as (node,):
            await eventually(lambda: node.leases.admit("fn").admitted, "never admitted")
            node.leases.release("fn")
            admin = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
            try:
                for line in (await admin.execute_command("CLIENT", "LIST")).splitlines():
                    fields = dict(
                        part.split("=", 1) for part in _text(line).split(" ") if "=" in part
                    )
                    if fields.get("name") == f"{prefix}node-0":
                        await admin.execute_command("CLIENT", "KILL", "ID", fields["id"])
            finally:
                await admin.aclose()
            await eventually(lambda: node.leases.admit("fn").admitted, "never admitted again")
            node.leases.release("fn")
            assert node.leases.healthy

    asyncio.run(scenario())


def test_a_budget_spent_by_three_nodes_never_passes_its_limit(prefix: str) -> None:
    budget = LeasePolicy(
        Kind.CONSUMABLE,
        limit=500,
        chunk=20,
        low_water=5,
        ttl=1.0,
        admit_window=0.6,
        idle_after=0.05,
        window_seconds=0,
    )

    async def scenario() -> int:
        spent = 0

        async def spender(node: Node, seed: int) -> None:
            nonlocal spent
            rng = random.Random(seed)
            refused_in_a_row = 0
            while refused_in_a_row < 200:
                cost = rng.randint(1, 7)
                if node.leases.admit("fn", cost).admitted:
                    spent += cost
                    refused_in_a_row = 0
                else:
                    refused_in_a_row += 1
                await asyncio.sleep(0.001)

        async with nodes(prefix, 3, budget) as cluster, asyncio.TaskGroup() as group:
            for i, node in enumerate(cluster):
                group.create_task(spender(node, i))
        return spent

    spent = asyncio.run(scenario())
    assert 0 < spent <= 500


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def test_a_rate_shared_by_three_nodes_never_grants_more_than_the_limit_per_second(
    prefix: str,
) -> None:
    rate = LeasePolicy.consumable(30, chunk=5, window_seconds=1, low_water=1, idle_after=0.05)

    async def scenario() -> tuple[int, int, int]:
        spent = refused = 0

        async def caller(node: Node) -> None:
            nonlocal spent, refused
            for _ in range(1500):
                if node.leases.admit("fn").admitted:
                    spent += 1
                else:
                    refused += 1
                await asyncio.sleep(0.001)

        clock = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        try:
            first, _ = await clock.time()  # before any node could take a grant
        finally:
            await clock.aclose()
        async with nodes(prefix, 3, rate) as cluster:
            async with asyncio.TaskGroup() as group:
                for node in cluster:
                    group.create_task(caller(node))
            last, _ = await cluster[0].client.time()
        # Every spent unit was granted in some second of Redis's clock, at most 30 each.
        return spent, refused, last - first + 1

    spent, refused, seconds = asyncio.run(scenario())
    assert 0 < spent <= 30 * seconds
    assert refused > 0
