"""Signal numbering: which sequence numbers are new, stale or missing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from overcast.cluster.cluster_signals import Gap, SequenceTracker


def test_the_first_subscription_is_no_gap() -> None:
    tracker = SequenceTracker()
    assert tracker.resync(41) is None
    assert tracker.observe(42) == (True, None)


def test_a_hole_in_the_numbers_is_a_gap() -> None:
    tracker = SequenceTracker()
    tracker.resync(0)
    assert tracker.observe(1) == (True, None)
    assert tracker.observe(4) == (True, Gap(1, 3))


def test_numbers_published_while_disconnected_are_a_gap_on_resync() -> None:
    tracker = SequenceTracker()
    tracker.resync(0)
    tracker.observe(1)
    assert tracker.resync(3) == Gap(1, 3)
    # Messages numbered up to 3 still in flight are covered by the state re-read.
    assert tracker.observe(2) == (False, None)
    assert tracker.observe(4) == (True, None)


def test_a_resync_that_finds_nothing_new_is_no_gap() -> None:
    tracker = SequenceTracker()
    tracker.resync(5)
    tracker.observe(6)
    assert tracker.resync(6) is None


@given(st.lists(st.integers(1, 60), min_size=1))
def test_every_number_is_either_delivered_or_reported_missing(arrivals: list[int]) -> None:
    tracker = SequenceTracker()
    tracker.resync(0)
    covered: set[int] = set()
    for seq in arrivals:
        is_new, gap = tracker.observe(seq)
        if gap is not None:
            covered.update(range(gap.after + 1, gap.upto + 1))
        if is_new:
            covered.add(seq)
    assert covered >= set(range(1, max(arrivals) + 1))
