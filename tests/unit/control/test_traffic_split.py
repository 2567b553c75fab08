"""Deterministic per-request routing between an alias's old and new versions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.control.traffic_split import TrafficSplit, goes_to_new, request_point


def test_same_request_id_always_routes_the_same_way() -> None:
    split = TrafficSplit("1", "2", 0.5)
    ids = [f"req-{i}" for i in range(200)]
    first = [split.version_for(i) for i in ids]
    assert [split.version_for(i) for i in ids] == first
    assert {"1", "2"} == set(first)


def test_request_point_is_stable_across_runs() -> None:
    # Pinned value: a change of hash would reshuffle requests between versions.
    assert request_point("c0ffee") == 0.8290301209308254
    assert request_point("") == 0.8931675160897388


@given(st.text())
def test_request_point_is_in_unit_interval(request_id: str) -> None:
    assert 0.0 <= request_point(request_id) < 1.0


@given(st.text())
def test_weight_zero_routes_all_to_old_and_one_all_to_new(request_id: str) -> None:
    assert TrafficSplit("old", "new", 0.0).version_for(request_id) == "old"
    assert TrafficSplit("old", "new", 1.0).version_for(request_id) == "new"


def test_weight_outside_unit_interval_is_clamped() -> None:
    assert goes_to_new("x", -0.5) is False
    assert goes_to_new("x", 1.5) is True


def test_request_moving_to_new_stays_there_as_weight_grows() -> None:
    # A request id on the new version at 10% is still on it at 50%: shifting only adds.
    ids = [f"id-{i}" for i in range(1000)]
    at_10 = {i for i in ids if goes_to_new(i, 0.1)}
    at_50 = {i for i in ids if goes_to_new(i, 0.5)}
    assert at_10 <= at_50


@settings(max_examples=30, deadline=None)
@given(
    weight=st.floats(min_value=0.0, max_value=1.0),
    prefix=st.text(min_size=0, max_size=8),
)
def test_share_on_new_version_converges_to_weight(weight: float, prefix: str) -> None:
    n = 4000
    hits = sum(goes_to_new(f"{prefix}{i}", weight) for i in range(n))
    # 4000 draws: the standard deviation is at most 0.008, so 0.04 is five of them.
    assert abs(hits / n - weight) < 0.04
