"""Leased capacity: the node-local ledger against the reference pools, under any interleaving."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.cluster.lease_ledger import (
    ConcurrencyPool,
    Kind,
    LeaseError,
    LeasePolicy,
    Ledger,
    WindowPool,
)


def concurrency(limit: int = 2, chunk: int = 1, **kw: float) -> LeasePolicy:
    return LeasePolicy(Kind.CONCURRENCY, limit=limit, chunk=chunk, ttl=10, admit_window=6, **kw)


def sync(ledger: Ledger, pool: ConcurrencyPool, node: str, now: float, want: int) -> None:
    ledger.syncing(want)
    ledger.synced(pool.sync(node, want, now), now, now, now)


def test_a_node_without_a_lease_refuses_and_says_why() -> None:
    decision = Ledger(concurrency()).admit(0.0)
    assert not decision.admitted
    assert "not synced" in decision.reason


def test_a_node_admits_within_its_lease_and_refuses_past_it() -> None:
    ledger, pool = Ledger(concurrency(limit=5, chunk=2)), ConcurrencyPool(5, ttl=10)
    sync(ledger, pool, "a", 0.0, 2)
    assert [ledger.admit(1.0).admitted for _ in range(3)] == [True, True, False]
    assert "lease full (2/2)" in ledger.admit(1.0).reason
    ledger.release()
    assert ledger.admit(1.0).admitted


def test_the_lease_lapses_after_the_admit_window_without_a_sync() -> None:
    ledger, pool = Ledger(concurrency()), ConcurrencyPool(2, ttl=10)
    sync(ledger, pool, "a", 0.0, 1)
    ledger.failed("connection refused")
    assert ledger.health(5.0) == ""
    decision = ledger.admit(7.0)
    assert not decision.admitted
    assert "lease lapsed" in decision.reason
    assert "connection refused" in decision.reason
    sync(ledger, pool, "a", 8.0, 1)
    assert ledger.admit(8.0).admitted


def test_the_refill_asks_for_a_chunk_below_low_water_and_gives_back_when_idle() -> None:
    ledger = Ledger(concurrency(limit=10, chunk=4, low_water=1, idle_after=5))
    assert ledger.concurrency_target(0.0) == 0  # never asked: nothing to hold
    ledger.admit(0.0)  # refused, but it is demand
    assert ledger.concurrency_target(0.0) == 4
    ledger.synced(4, 0.0, 0.0, 0.0)
    for _ in range(3):
        assert ledger.admit(1.0).admitted
    assert ledger.concurrency_target(1.0) == 7  # 3 in use + a chunk
    ledger.release(3)
    assert ledger.concurrency_target(7.0) == 0  # idle: everything free goes back


def test_another_node_gets_the_units_of_a_dead_one_after_the_ttl() -> None:
    pool = ConcurrencyPool(2, ttl=10)
    assert pool.sync("a", 2, 0.0) == 2
    assert pool.sync("b", 2, 5.0) == 0
    assert pool.sync("b", 2, 10.0) == 2


def test_a_partitioned_nodes_last_admitted_work_ends_before_its_units_are_regranted() -> None:
    # The exactness condition on a timeline: admit_window 6 + max_hold 4 = ttl 10.
    policy = LeasePolicy.concurrency(1, max_hold=4.0, admit_window=6.0)
    pool = ConcurrencyPool(1, policy.ttl)
    a, b = Ledger(policy), Ledger(policy)
    sync(a, pool, "a", 0.0, 1)
    a.failed("partitioned")  # a never reaches the pool again
    assert a.admit(5.9).admitted  # the last moment a may admit ...
    assert not a.admit(6.1).admitted
    sync(b, pool, "b", 9.8, 1)
    assert b.lease == 0  # ... and its work, ending by 9.9, still owns the unit
    a.release()
    sync(b, pool, "b", 10.0, 1)
    assert b.admit(10.0).admitted


def test_a_policy_that_cannot_hold_its_bound_is_refused() -> None:
    with pytest.raises(LeaseError):
        LeasePolicy(Kind.CONCURRENCY, limit=2, chunk=1, ttl=5, admit_window=6)
    with pytest.raises(LeaseError):
        LeasePolicy(Kind.CONSUMABLE, limit=2, chunk=2, low_water=2)


def test_the_documented_overshoot_bound() -> None:
    assert concurrency().overshoot_bound(3) == 0
    rate = LeasePolicy(Kind.CONSUMABLE, limit=100, chunk=10, window_seconds=1)
    assert rate.overshoot_bound(3) == 30
    budget = LeasePolicy(Kind.CONSUMABLE, limit=100, chunk=10, window_seconds=0)
    assert budget.overshoot_bound(3) == 0


# An operation: (node, action, argument); actions are interpreted per kind below.
OPS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(0, 6)), max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 3),
    OPS,
)
def test_concurrency_never_exceeds_the_limit_under_any_interleaving(
    limit: int, nodes: int, chunk: int, low: int, ops: list[tuple[int, int, int]]
) -> None:
    ttl, admit_window = 10.0, 6.0
    max_hold = ttl - admit_window  # the condition in the docstring: admit_window + max_hold <= ttl
    policy = LeasePolicy(
        Kind.CONCURRENCY,
        limit=limit,
        chunk=chunk,
        low_water=min(low, chunk - 1),
        ttl=ttl,
        admit_window=admit_window,
        idle_after=3,
    )
    pool = ConcurrencyPool(limit, ttl)
    ledgers = [Ledger(policy) for _ in range(nodes)]
    held: list[list[float]] = [[] for _ in range(nodes)]  # admit time of each unit in flight
    now = 0.0
    for node_index, action, arg in ops:
        node = node_index % nodes
        ledger = ledgers[node]
        if action == 0:
            now += arg * 0.5
            # Work ends by its timeout: nothing is held longer than max_hold.
            for i, units in enumerate(held):
                done = [t for t in units if t + max_hold <= now]
                for t in done:
                    units.remove(t)
                    ledgers[i].release()
        elif action == 1 and ledger.admit(now).admitted:
            held[node].append(now)
        elif action == 2 and held[node]:
            held[node].pop(0)
            ledger.release()
        elif action == 3:
            target = ledger.concurrency_target(now)
            if target is not None:
                sync(ledger, pool, str(node), now, target)
        else:
            # An arbitrary sync (asking for anything), or a failed one (a partition).
            if arg % 2:
                sync(ledger, pool, str(node), now, arg)
            else:
                ledger.failed("partitioned")
        assert sum(len(units) for units in held) <= limit


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 50),
    st.integers(1, 4),
    st.integers(1, 10),
    st.sampled_from([0, 1, 3]),
    OPS,
)
def test_consumable_spend_per_window_never_exceeds_limit_plus_nodes_times_chunk(
    limit: int, nodes: int, chunk: int, window_seconds: int, ops: list[tuple[int, int, int]]
) -> None:
    policy = LeasePolicy(
        Kind.CONSUMABLE,
        limit=limit,
        chunk=chunk,
        low_water=chunk // 2,
        ttl=10,
        admit_window=6,
        idle_after=2,
        window_seconds=window_seconds,
    )
    pool = WindowPool(limit, window_seconds)
    ledgers = [Ledger(policy) for _ in range(nodes)]
    spent: dict[int, int] = {}
    now = 0.0
    for node_index, action, arg in ops:
        ledger = ledgers[node_index % nodes]
        if action == 0:
            now += arg * 0.25
        elif action in (1, 2):
            units = 1 + arg % 3
            if ledger.admit(now, units).admitted:
                window = ledger.current_window(now)
                spent[window] = spent.get(window, 0) + units
        elif action == 3:
            want = ledger.consumable_want(now)
            if want:
                granted, window = pool.take(want, now)
                ledger.took(granted, window, now, now, now)
        else:
            window, units = ledger.consumable_surplus(now)
            if units:
                pool.give_back(window, units, now)
                ledger.confirmed(now, now, now)
        bound = limit + policy.overshoot_bound(nodes)
        assert all(total <= bound for total in spent.values()), spent
