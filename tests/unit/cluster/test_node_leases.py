"""The node side of leases without Redis: a model pool, a hand-driven clock, one pass at a time."""

from __future__ import annotations

import asyncio

from overcast.cluster.lease_ledger import ConcurrencyPool, LeasePolicy, WindowPool
from overcast.cluster.redis_leases import NodeLeases


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ModelPool:
    """The reference pools behind the LeasePool interface; ``down`` makes every call fail."""

    def __init__(self, clock: Clock, concurrency: ConcurrencyPool, window: WindowPool) -> None:
        self.clock = clock
        self.concurrency = concurrency
        self.window = window
        self.down = False
        self.calls = 0

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionRefusedError("connection refused")

    async def sync(
        self, counter: str, node: str, want: int, limit: int, ttl: float
    ) -> tuple[int, float]:
        self._check()
        return self.concurrency.sync(node, want, self.clock.now), self.clock.now

    async def take(
        self, counter: str, want: int, limit: int, window_seconds: int
    ) -> tuple[int, int, float]:
        self._check()
        granted, window = self.window.take(want, self.clock.now)
        return granted, window, self.clock.now

    async def give_back(self, counter: str, window: int, units: int, window_seconds: int) -> float:
        self._check()
        self.window.give_back(window, units, self.clock.now)
        return self.clock.now


RESERVED = LeasePolicy.concurrency(2, max_hold=3.0, chunk=1, admit_window=6.0, idle_after=2.0)
BUDGET = LeasePolicy.consumable(
    100, chunk=10, window_seconds=0, low_water=2, admit_window=6.0, idle_after=2.0
)


def setup() -> tuple[Clock, ModelPool, NodeLeases]:
    clock = Clock()
    pool = ModelPool(clock, ConcurrencyPool(2, RESERVED.ttl), WindowPool(100, 0))
    leases = NodeLeases(pool, "node-0", clock=clock)
    leases.add("fn", RESERVED)
    leases.add("budget", BUDGET)
    return clock, pool, leases


def test_the_concurrency_policy_derives_its_ttl_from_the_longest_hold() -> None:
    assert RESERVED.ttl == 9.0


def test_a_refused_request_makes_the_next_pass_ask_for_units() -> None:
    async def scenario() -> None:
        _, pool, leases = setup()
        assert not leases.admit("fn").admitted
        await leases.refill_once()
        assert leases.admit("fn").admitted
        assert pool.concurrency.leases["node-0"][0] == 1
        assert leases.admit("budget", 7).admitted
        assert pool.window.granted == {0: 10}

    asyncio.run(scenario())


def test_an_idle_node_gives_its_units_back() -> None:
    async def scenario() -> None:
        clock, pool, leases = setup()
        leases.admit("fn")
        leases.admit("budget")
        await leases.refill_once()
        assert leases.admit("fn").admitted
        leases.release("fn")
        clock.now = 3.0
        await leases.refill_once()
        assert pool.concurrency.leases["node-0"][0] == 0
        assert pool.window.granted == {0: 0}

    asyncio.run(scenario())


def test_a_clean_shutdown_returns_every_free_unit() -> None:
    async def scenario() -> None:
        _, pool, leases = setup()
        leases.admit("fn")
        leases.admit("budget")
        await leases.refill_once()
        await leases.give_back_all()
        assert pool.concurrency.leases["node-0"][0] == 0
        assert pool.window.granted == {0: 0}

    asyncio.run(scenario())


def test_losing_the_pool_stops_admits_after_the_admit_window_and_health_says_why() -> None:
    async def scenario() -> None:
        clock, pool, leases = setup()
        leases.admit("fn")
        leases.admit("budget")
        await leases.refill_once()
        pool.down = True
        clock.now = 1.0
        await leases.refill_once()
        assert leases.healthy  # still within the admit window: the lease holds
        clock.now = 6.5
        await leases.refill_once()
        refused = leases.admit("fn")
        assert not refused.admitted
        assert "connection refused" in refused.reason
        assert {h.counter: h.healthy for h in leases.health()} == {"budget": False, "fn": False}
        pool.down = False
        await leases.refill_once()
        assert leases.healthy
        assert leases.admit("fn").admitted

    asyncio.run(scenario())
