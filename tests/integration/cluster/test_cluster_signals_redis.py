"""Cluster signals over the real Redis: delivery to every node, gaps after a disconnection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import redis.asyncio as aioredis
from redis_helpers import REDIS_HOST, REDIS_PORT, RedisProxy

from overcast.cluster.cluster_signals import (
    DeploySwitch,
    EdgeInvalidation,
    Gap,
    KeyRevocation,
    Received,
    SignalPublisher,
    SignalSubscriber,
)

# The tests wait for a signal to arrive, never assert how fast.
PATIENCE = 20.0


class Inbox:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.gaps: list[Gap] = []
        self.changed = asyncio.Event()

    def signal(self, received: Received) -> None:
        self.received.append(received)
        self.changed.set()

    def gap(self, gap: Gap) -> None:
        self.gaps.append(gap)
        self.changed.set()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(PATIENCE):
            while not done():
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def subscribed(
    url: str, prefix: str, heartbeat: float = 1.0
) -> AsyncIterator[tuple[SignalSubscriber, Inbox]]:
    inbox = Inbox()
    subscriber = SignalSubscriber(
        url,
        on_signal=inbox.signal,
        on_gap=inbox.gap,
        prefix=prefix,
        reconnect_delay=0.05,
        heartbeat=heartbeat,
    )
    task = asyncio.create_task(subscriber.run())
    try:
        async with asyncio.timeout(PATIENCE):
            await subscriber.ready.wait()
        yield subscriber, inbox
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def publisher(prefix: str) -> AsyncIterator[SignalPublisher]:
    client = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        yield SignalPublisher(client, "node-a", prefix)
    finally:
        await client.aclose()


def test_a_published_signal_reaches_every_other_node(prefix: str) -> None:
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}"
    signals = [
        EdgeInvalidation("prod", ("/index.html", "/assets/")),
        DeploySwitch("prod", "d-42"),
        KeyRevocation("AKIAEXAMPLE"),
    ]

    async def scenario() -> tuple[Inbox, Inbox]:
        async with (
            subscribed(url, prefix) as (_, b),
            subscribed(url, prefix) as (_, c),
            publisher(prefix) as pub,
        ):
            for signal in signals:
                await pub.publish(signal)
            await b.until(lambda: len(b.received) == 3)
            await c.until(lambda: len(c.received) == 3)
        return b, c

    b, c = asyncio.run(scenario())
    for inbox in (b, c):
        assert [r.signal for r in inbox.received] == signals
        assert [r.seq for r in inbox.received] == [1, 2, 3]
        assert {r.origin for r in inbox.received} == {"node-a"}
        assert inbox.gaps == []


def test_a_node_that_was_disconnected_learns_it_missed_signals(
    prefix: str, redis_proxy: RedisProxy
) -> None:
    async def scenario() -> tuple[Inbox, list[str]]:
        await redis_proxy.start()
        url = f"redis://127.0.0.1:{redis_proxy.port}"
        health: list[str] = []
        try:
            async with subscribed(url, prefix) as (subscriber, inbox), publisher(prefix) as pub:
                await pub.publish(DeploySwitch("prod", "d-1"))
                await inbox.until(lambda: len(inbox.received) == 1)

                await redis_proxy.stop()
                await pub.publish(DeploySwitch("prod", "d-2"))
                await pub.publish(KeyRevocation("AKIAOLD"))
                async with asyncio.timeout(PATIENCE):
                    while not subscriber.health():
                        await asyncio.sleep(0.01)
                health.append(subscriber.health())

                await redis_proxy.start()
                await inbox.until(lambda: len(inbox.gaps) == 1)
                health.append(subscriber.health())
                await pub.publish(EdgeInvalidation("prod"))
                await inbox.until(lambda: len(inbox.received) == 2)
            return inbox, health
        finally:
            await redis_proxy.stop()

    inbox, health = asyncio.run(scenario())
    assert inbox.gaps == [Gap(1, 3)]
    assert [r.seq for r in inbox.received] == [1, 4]
    assert "Redis unreachable" in health[0]
    assert health[1] == ""


def test_a_signal_this_node_cannot_read_counts_as_missed(prefix: str) -> None:
    url = f"redis://{REDIS_HOST}:{REDIS_PORT}"

    async def scenario() -> Inbox:
        async with subscribed(url, prefix) as (_, inbox), publisher(prefix) as pub:
            raw = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT)
            try:
                seq = await raw.incr(f"{prefix}signals:seq")
                await raw.publish(
                    f"{prefix}signals", f'{seq} {{"origin":"x","signal":{{"type":"new-kind"}}}}'
                )
            finally:
                await raw.aclose()
            await pub.publish(KeyRevocation("AKIA2"))
            await inbox.until(lambda: len(inbox.received) == 1)
        return inbox

    inbox = asyncio.run(scenario())
    assert inbox.gaps == [Gap(0, 1)]
    assert [r.seq for r in inbox.received] == [2]


def test_a_connection_that_goes_silent_is_noticed_and_replaced(
    prefix: str, redis_proxy: RedisProxy
) -> None:
    async def scenario() -> tuple[Inbox, str]:
        await redis_proxy.start()
        url = f"redis://127.0.0.1:{redis_proxy.port}"
        try:
            async with (
                subscribed(url, prefix, heartbeat=0.1) as (subscriber, inbox),
                publisher(prefix) as pub,
            ):
                redis_proxy.frozen = True  # no FIN, no RST: only silence
                await pub.publish(DeploySwitch("prod", "d-2"))
                async with asyncio.timeout(PATIENCE):
                    while not subscriber.health():
                        await asyncio.sleep(0.01)
                problem = subscriber.health()
                redis_proxy.frozen = False
                await inbox.until(lambda: len(inbox.gaps) == 1)
                await pub.publish(KeyRevocation("AKIA3"))
                await inbox.until(lambda: len(inbox.received) == 1)
            return inbox, problem
        finally:
            await redis_proxy.stop()

    inbox, problem = asyncio.run(scenario())
    assert "Redis unreachable" in problem
    assert inbox.gaps == [Gap(0, 1)]
    assert [r.seq for r in inbox.received] == [2]
