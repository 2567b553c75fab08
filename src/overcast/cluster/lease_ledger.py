"""A node's local view of capacity leased from a cluster-wide limit (pure, sans-I/O).

Theory of operation
-------------------
A cluster-wide counter has a global limit ``L``: a function's reserved concurrency, a
stage's concurrency, a throttle's requests per second, a budget in micro-dollars. No
request may wait on Redis, so each node holds a *lease* of some units and admits
locally while the lease has room; a background task (``redis_leases``) asks for more
when the free units fall below ``low_water`` (topping up to ``chunk``), gives units
back when the node is idle, and renews the lease. This module holds only the
arithmetic and the decisions; the adapter performs the exchanges and reports their
results back (:meth:`Ledger.synced`, :meth:`Ledger.took`).

Two kinds of counters:

* ``CONCURRENCY`` — units are *held* and *released*. The pool (Redis, modelled here
  by :class:`ConcurrencyPool`) keeps each node's lease as an absolute number with an
  expiry; a sync sets the node's lease to ``min(wanted, L - sum(other live leases))``,
  so the sum of live leases never exceeds ``L``. A node admits only while
  ``in_use < lease``, hence **in-flight units across the cluster never exceed L —
  exactly, no overshoot** — under two conditions, both documented where they are set:

  1. a node stops admitting ``admit_window`` seconds after the *send* time of its
     last successful sync, while the pool keeps its lease ``ttl`` seconds after it
     *processed* that sync; with ``admit_window + max_hold <= ttl`` (``max_hold``:
     the longest a unit can be held, i.e. the function timeout) a node cut off from
     Redis has finished its in-flight work before its units are handed to another.
     A node that dies holds nothing, so its units come back after ``ttl`` safely.
  2. Redis keeps its data. Redis runs without persistence: if it restarts, the
     leases are forgotten and the bound degrades, once, by the units in flight at
     that moment (the nodes re-sync their absolute leases on the next tick).

* ``CONSUMABLE`` — units are *spent* (a throttle's tokens, a budget's micro-dollars)
  within a window of ``window_seconds`` of Redis's clock (``0``: one window for ever,
  as for a budget without a period). A grant counts the whole chunk as spent in the
  window it is granted in (``granted_w <= L``); unused units go back only to that
  same window. A chunk may still be spent during the *next* window (it is discarded
  after), and a node holds at most ``chunk`` units at once, so for every window w::

      spent(w) <= granted(w) + carried(w - 1) <= L + N * chunk      (N nodes)

  With ``window_seconds == 0`` there is no carry and spend never exceeds ``L``.
  A node that dies loses its unspent units for the window (safe: undershoot).

Clocks: times given to the ledger are the node's monotonic clock; the pool's
windows are Redis's clock, whose offset the ledger learns from each exchange.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from overcast.errors import OvercastError


class LeaseError(OvercastError):
    """A lease policy that cannot hold its bound."""


class Kind(enum.Enum):
    """Whether units come back after use (concurrency) or are used up (rates, budgets)."""

    CONCURRENCY = "concurrency"
    CONSUMABLE = "consumable"


@dataclass(frozen=True, slots=True)
class LeasePolicy:
    """How one counter is leased: its global limit, chunk size and timings (seconds)."""

    kind: Kind
    limit: int
    chunk: int
    low_water: int = 0
    ttl: float = 10.0
    admit_window: float = 8.0
    idle_after: float = 5.0
    window_seconds: int = 1

    def __post_init__(self) -> None:
        if self.limit < 0 or self.chunk < 1:
            raise LeaseError(f"limit {self.limit} and chunk {self.chunk}: need limit>=0, chunk>=1")
        if not 0 <= self.low_water < self.chunk:
            raise LeaseError(f"low_water {self.low_water} must be in [0, chunk)")
        if not 0 < self.admit_window <= self.ttl:
            raise LeaseError("admit_window must be positive and no longer than ttl")
        if self.window_seconds < 0:
            raise LeaseError("window_seconds must be >= 0")

    @classmethod
    def concurrency(
        cls,
        limit: int,
        *,
        max_hold: float,
        chunk: int = 1,
        low_water: int = 0,
        admit_window: float = 8.0,
        idle_after: float = 5.0,
    ) -> LeasePolicy:
        """A concurrency lease that stays exact: ``ttl = admit_window + max_hold``.

        ``max_hold`` is the longest a unit can be held (the function's timeout); it is
        also how long a dead node's units take to come back, less ``admit_window``.
        """
        return cls(
            Kind.CONCURRENCY,
            limit=limit,
            chunk=chunk,
            low_water=low_water,
            ttl=admit_window + max_hold,
            admit_window=admit_window,
            idle_after=idle_after,
        )

    @classmethod
    def consumable(
        cls,
        limit: int,
        *,
        chunk: int,
        window_seconds: int,
        low_water: int = 0,
        admit_window: float = 8.0,
        idle_after: float = 5.0,
    ) -> LeasePolicy:
        """A rate (``window_seconds`` 1) or budget (its period, or 0 for none) lease."""
        return cls(
            Kind.CONSUMABLE,
            limit=limit,
            chunk=chunk,
            low_water=low_water,
            ttl=admit_window,
            admit_window=admit_window,
            idle_after=idle_after,
            window_seconds=window_seconds,
        )

    def overshoot_bound(self, nodes: int) -> int:
        """The most units past ``limit`` the cluster can admit (per window for consumables)."""
        if self.kind is Kind.CONCURRENCY or self.window_seconds == 0:
            return 0
        return nodes * self.chunk


@dataclass(frozen=True, slots=True)
class Decision:
    """An admission answer; ``reason`` says why not when ``admitted`` is False."""

    admitted: bool
    reason: str = ""


ADMITTED = Decision(True)


def window_of(server_time: float, window_seconds: int) -> int:
    """The window a Redis time falls in (always 0 when windows are off)."""
    return 0 if window_seconds == 0 else math.floor(server_time / window_seconds)


@dataclass(slots=True)
class Ledger:
    """One node's lease of one counter. Not thread-safe: one event loop owns it."""

    policy: LeasePolicy
    lease: int = 0
    in_use: int = 0
    spendable: dict[int, int] = field(default_factory=dict)
    confirmed_at: float | None = None
    clock_offset: float = 0.0
    last_demand: float = -math.inf
    lapsed_reason: str = "no lease yet: not synced with Redis"

    # -- the request path ----------------------------------------------------

    def admit(self, now: float, units: int = 1) -> Decision:
        """Admit ``units`` if the lease has room and is still confirmed; never blocks."""
        # A refused request is demand too: it keeps the node from counting as idle.
        self.last_demand = now
        problem = self.health(now)
        if problem:
            return Decision(False, problem)
        if self.policy.kind is Kind.CONCURRENCY:
            if self.in_use + units > self.lease:
                return Decision(False, f"concurrency lease full ({self.in_use}/{self.lease})")
            self.in_use += units
        else:
            current = self.current_window(now)
            self._drop_stale(current)
            if sum(self.spendable.values()) < units:
                return Decision(False, "rate or budget lease used up")
            # Oldest window first: those units expire soonest.
            for window in sorted(self.spendable):
                take = min(units, self.spendable[window])
                self.spendable[window] -= take
                units -= take
        return ADMITTED

    def release(self, units: int = 1) -> None:
        """Give back concurrency units held by finished work."""
        if self.policy.kind is not Kind.CONCURRENCY or units > self.in_use:
            raise LeaseError(f"release of {units} with {self.in_use} in use")
        self.in_use -= units

    def health(self, now: float) -> str:
        """Empty when the lease can be trusted; otherwise why the node refuses."""
        if self.confirmed_at is None:
            return self.lapsed_reason
        silent = now - self.confirmed_at
        if silent > self.policy.admit_window:
            return (
                f"lease lapsed: no successful Redis exchange for {silent:.1f} s "
                f"(admit window {self.policy.admit_window:g} s); {self.lapsed_reason}"
            )
        return ""

    def free(self, now: float) -> int:
        """Units this node could admit right now, ignoring health."""
        if self.policy.kind is Kind.CONCURRENCY:
            return self.lease - self.in_use
        current = self.current_window(now)
        return sum(u for w, u in self.spendable.items() if w >= current - 1)

    def current_window(self, now: float) -> int:
        """The pool's window at local time ``now``, from the learnt clock offset."""
        return window_of(now + self.clock_offset, self.policy.window_seconds)

    # -- what the refill task should do next ---------------------------------

    def concurrency_target(self, now: float) -> int | None:
        """The absolute lease to sync to, or None when nothing needs saying yet.

        Tops up to ``in_use + chunk`` below the low-water mark, gives back all free
        units when idle, keeps at most one chunk free, and renews otherwise once a
        third of the admit window has passed.
        """
        free = self.lease - self.in_use
        idle = now - self.last_demand >= self.policy.idle_after
        if idle and free > 0:
            return self.in_use
        if not idle and free <= self.policy.low_water:
            return self.in_use + self.policy.chunk
        if free > self.policy.chunk:
            return self.in_use + self.policy.chunk
        if self.confirmed_at is None or now - self.confirmed_at >= self.policy.admit_window / 3:
            return self.lease
        return None

    def consumable_want(self, now: float) -> int:
        """Units to take from the pool: a top-up to ``chunk`` below the low-water mark."""
        free = self.free(now)
        return self.policy.chunk - free if free <= self.policy.low_water else 0

    def consumable_surplus(self, now: float, *, force: bool = False) -> tuple[int, int]:
        """(window, units) to give back when idle (or ``force``d, at shutdown).

        The units leave the local lease first: a failed give-back loses them (safe).
        """
        if not force and now - self.last_demand < self.policy.idle_after:
            return (0, 0)
        current = self.current_window(now)
        units = self.spendable.pop(current, 0)
        return (current, units)

    # -- results of exchanges --------------------------------------------------

    def syncing(self, target: int) -> None:
        """Before a concurrency sync is sent: never admit on units being given back."""
        self.lease = min(self.lease, max(target, self.in_use))

    def synced(self, granted: int, sent_at: float, server_time: float, received_at: float) -> None:
        """A concurrency sync came back: the pool now holds ``granted`` for this node."""
        # A lower grant than in_use happens only if Redis lost its data; admit nothing
        # more until enough work finishes.
        self.lease = granted
        self._confirm(sent_at, server_time, received_at)

    def took(
        self, granted: int, window: int, sent_at: float, server_time: float, received_at: float
    ) -> None:
        """A consumable grant came back: ``granted`` units spendable from ``window`` on."""
        self._confirm(sent_at, server_time, received_at)
        self._drop_stale(self.current_window(received_at))
        if granted:
            self.spendable[window] = self.spendable.get(window, 0) + granted

    def confirmed(self, sent_at: float, server_time: float, received_at: float) -> None:
        """Any other successful exchange (a give-back) also proves Redis is there."""
        self._confirm(sent_at, server_time, received_at)

    def failed(self, reason: str) -> None:
        """An exchange failed; remember why for :meth:`health` once the lease lapses."""
        self.lapsed_reason = reason

    def _confirm(self, sent_at: float, server_time: float, received_at: float) -> None:
        if self.confirmed_at is None or sent_at > self.confirmed_at:
            self.confirmed_at = sent_at
        self.clock_offset = server_time - received_at
        self.lapsed_reason = "Redis unreachable"

    def _drop_stale(self, current: int) -> None:
        for window in [w for w in self.spendable if w < current - 1]:
            del self.spendable[window]


# -- reference models of the pool (what the Lua scripts in redis_leases do) ----


@dataclass(slots=True)
class ConcurrencyPool:
    """The pool side of concurrency leases: absolute leases with an expiry per node."""

    limit: int
    ttl: float
    leases: dict[str, tuple[int, float]] = field(default_factory=dict)

    def sync(self, node: str, want: int, now: float) -> int:
        """Set ``node``'s lease to at most ``want`` within the limit; renew its expiry."""
        for other, (_, expires) in list(self.leases.items()):
            if expires <= now:
                del self.leases[other]
        others = sum(units for name, (units, _) in self.leases.items() if name != node)
        granted = max(0, min(want, self.limit - others))
        self.leases[node] = (granted, now + self.ttl)
        return granted


@dataclass(slots=True)
class WindowPool:
    """The pool side of consumable leases: units granted per window, never past the limit."""

    limit: int
    window_seconds: int
    granted: dict[int, int] = field(default_factory=dict)

    def take(self, want: int, now: float) -> tuple[int, int]:
        """Grant up to ``want`` units in the window of ``now``: (units, window)."""
        window = window_of(now, self.window_seconds)
        used = self.granted.get(window, 0)
        units = max(0, min(want, self.limit - used))
        self.granted[window] = used + units
        return units, window

    def give_back(self, window: int, units: int, now: float) -> None:
        """Return unused units, counted only if their window is still the current one."""
        if window == window_of(now, self.window_seconds):
            self.granted[window] = max(0, self.granted.get(window, 0) - units)
