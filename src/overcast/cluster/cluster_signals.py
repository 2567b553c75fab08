"""Cluster events over Redis pub/sub, numbered so that a node knows when it missed some.

Signals are small msgspec structs: an edge invalidation, a deploy switch, a key
revocation. Redis pub/sub delivers at most once and forgets what it could not
deliver (a subscriber that was disconnected never sees those messages), so every
message carries a sequence number taken from one counter, in the same Lua script
that publishes it — the numbers go out in order, with no holes unless a message
was missed. A subscriber that sees a hole, or that finds the counter ahead of the
last number it saw when it reconnects, reports a :class:`Gap`: the node must then
re-read the state those signals describe (its ``on_gap`` callback).

On the wire a message is ``b"<seq> <JSON body>"``; :class:`SequenceTracker` is the
pure part (which numbers are new, old or missing), :class:`SignalPublisher` and
:class:`SignalSubscriber` the I/O around it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

logger = logging.getLogger("overcast.cluster")


class EdgeInvalidation(msgspec.Struct, frozen=True, tag="edge-invalidation"):
    """Drop the edge cache entries of ``stage`` under these paths (all when empty)."""

    stage: str
    paths: tuple[str, ...] = ()


class DeploySwitch(msgspec.Struct, frozen=True, tag="deploy-switch"):
    """``stage`` now serves ``deployment``."""

    stage: str
    deployment: str


class KeyRevocation(msgspec.Struct, frozen=True, tag="key-revocation"):
    """An access key (or API key) no longer authenticates anything."""

    key_id: str


Signal = EdgeInvalidation | DeploySwitch | KeyRevocation


class _Body(msgspec.Struct, frozen=True):
    origin: str
    signal: Signal


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Body)

_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], seq .. ' ' .. ARGV[2])
return seq
"""


@dataclass(frozen=True, slots=True)
class Gap:
    """Signals numbered ``after + 1`` to ``upto`` (inclusive) were missed."""

    after: int
    upto: int


@dataclass(frozen=True, slots=True)
class Received:
    """One signal as a subscriber got it."""

    seq: int
    origin: str
    signal: Signal


class SequenceTracker:
    """Which sequence numbers are new, stale or missing (pure)."""

    def __init__(self) -> None:
        self.last: int | None = None

    def resync(self, current: int) -> Gap | None:
        """After (re)subscribing, the counter reads ``current``: anything missed meanwhile?"""
        previous = self.last
        if previous is None or current > previous:
            self.last = current
        if previous is not None and current > previous:
            return Gap(previous, current)
        return None

    def observe(self, seq: int) -> tuple[bool, Gap | None]:
        """A message numbered ``seq`` arrived: (is it new, the gap before it if any)."""
        if self.last is not None and seq <= self.last:
            # Already covered: seen, or included in the state re-read after a resync.
            return False, None
        gap = Gap(self.last, seq - 1) if self.last is not None and seq > self.last + 1 else None
        self.last = seq
        return True, gap


def _keys(prefix: str) -> tuple[str, str]:
    return f"{prefix}signals", f"{prefix}signals:seq"


class SignalPublisher:
    """Publishes signals on the cluster's channel, numbering each one."""

    def __init__(self, client: aioredis.Redis, origin: str, prefix: str = "overcast:") -> None:
        self._origin = origin
        self._channel, self._counter = _keys(prefix)
        self._script = client.register_script(_PUBLISH)

    async def publish(self, signal: Signal) -> int:
        """Send ``signal`` to every subscribed node; returns its sequence number."""
        body = _ENCODER.encode(_Body(self._origin, signal))
        seq = await self._script(keys=[self._counter], args=[self._channel, body])
        return int(seq)


class SignalSubscriber:
    """Receives the cluster's signals and reports gaps; reconnects by itself.

    ``on_signal`` gets each new signal once; ``on_gap`` is told when some were
    missed and the node must re-read state. Both are called on the event loop and
    should return quickly (schedule slow work elsewhere). :attr:`ready` is set once
    subscribed; :meth:`health` is empty while connected, otherwise says why not. A
    PING every ``heartbeat`` seconds of silence finds connections that died quietly.
    """

    def __init__(
        self,
        url: str,
        *,
        on_signal: Callable[[Received], None],
        on_gap: Callable[[Gap], None],
        prefix: str = "overcast:",
        reconnect_delay: float = 0.2,
        heartbeat: float = 1.0,
    ) -> None:
        self._url = url
        self._on_signal = on_signal
        self._on_gap = on_gap
        self._channel, self._counter = _keys(prefix)
        self._reconnect_delay = reconnect_delay
        self._heartbeat = heartbeat
        self.tracker = SequenceTracker()
        self.ready = asyncio.Event()
        self._problem = "not subscribed yet"

    def health(self) -> str:
        """Empty while subscribed; otherwise why signals may not be arriving."""
        return self._problem

    async def run(self) -> None:
        """Subscribe, deliver, and after any connection loss reconnect and resync."""
        while True:
            try:
                await self._session()
            except (RedisError, OSError) as exc:
                self._problem = (
                    f"Redis unreachable ({exc or type(exc).__name__}); signals may be missed"
                )
                self.ready.clear()
                logger.warning("cluster signals: %s", self._problem)
            await asyncio.sleep(self._reconnect_delay)

    async def _session(self) -> None:
        # No silent reconnects inside redis-py: this loop must know of every one, to resync.
        client = aioredis.Redis.from_url(
            self._url,
            retry=Retry(NoBackoff(), 0),
            socket_timeout=3 * self._heartbeat,
            socket_connect_timeout=3 * self._heartbeat,
        )
        loop = asyncio.get_running_loop()
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(self._channel)
                # Subscribed first, counter read second: nothing falls between them.
                current = int(await client.get(self._counter) or 0)
                gap = self.tracker.resync(current)
                self._problem = ""
                self.ready.set()
                if gap is not None:
                    self._on_gap(gap)
                heard = loop.time()
                while True:
                    message = await pubsub.get_message(
                        ignore_subscribe_messages=True, timeout=self._heartbeat
                    )
                    if message is not None:
                        heard = loop.time()
                        if message["type"] == "message":
                            self._deliver(message["data"])
                        continue
                    # A connection can die without a word (a partition): ask, and give
                    # up on it when three heartbeats went unanswered.
                    if loop.time() - heard > 3 * self._heartbeat:
                        raise ConnectionError(f"no answer to PING for {3 * self._heartbeat:g} s")
                    await pubsub.ping()
        finally:
            await client.aclose()

    def _deliver(self, data: bytes) -> None:
        head, _, body = data.partition(b" ")
        try:
            seq = int(head)
        except ValueError:
            logger.warning("cluster signals: a message without a sequence number: %r", data[:80])
            return
        is_new, gap = self.tracker.observe(seq)
        if gap is not None:
            self._on_gap(gap)
        if not is_new:
            return
        try:
            decoded = _DECODER.decode(body)
        except msgspec.DecodeError:  # ValidationError included
            # Unknown to this node (a newer version's signal): treat it as missed.
            self._on_gap(Gap(seq - 1, seq))
            return
        self._on_signal(Received(seq, decoded.origin, decoded.signal))
