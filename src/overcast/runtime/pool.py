"""Per-function instance pool: a LIFO stack of idle instances plus every live one."""

from __future__ import annotations

import time

from overcast.runtime.config import FunctionConfig
from overcast.runtime.instance import Instance
from overcast.runtime.state import Event, State


class Pool:
    """Which instances of one function exist, and which are free.

    LIFO reuse keeps the most recently used (hottest) instance busy and lets the
    others age past the keep-alive, which is how the fleet scales back to zero.
    """

    def __init__(self, config: FunctionConfig) -> None:
        self.config = config
        self.idle: list[Instance] = []
        self.instances: set[Instance] = set()

    @property
    def size(self) -> int:
        """Live instances (starting, idle, busy, draining): what concurrency counts."""
        return len(self.instances)

    def can_grow(self) -> bool:
        reserved = self.config.reserved_concurrency
        return reserved is None or self.size < reserved

    def add(self, instance: Instance) -> None:
        self.instances.add(instance)

    def take_idle(self) -> Instance | None:
        while self.idle:
            instance = self.idle.pop()
            if instance.state is State.IDLE:
                instance.apply(Event.ACQUIRE)
                return instance
        return None

    def park(self, instance: Instance) -> None:
        """Put a now-idle instance on top of the stack."""
        instance.last_used = time.monotonic()
        self.idle.append(instance)

    def remove(self, instance: Instance) -> None:
        self.instances.discard(instance)
        if instance in self.idle:
            self.idle.remove(instance)

    def expired(self, now: float, keepalive_s: float) -> list[Instance]:
        """Idle instances past the keep-alive, beyond the provisioned ones (oldest first)."""
        keep = self.config.provisioned_concurrency
        idle = sorted(self.idle, key=lambda instance: instance.last_used)
        spare = max(0, len(self.instances) - keep)
        victims = [i for i in idle if now - i.last_used >= keepalive_s]
        return victims[:spare]

    def oldest_idle(self) -> Instance | None:
        return min(self.idle, key=lambda instance: instance.last_used, default=None)
