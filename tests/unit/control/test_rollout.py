"""The rollout state machine on canary and linear timelines with a fake clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.control.deployment_preference import parse_preference
from overcast.control.rollout import (
    FINAL_STATES,
    TRANSITIONS,
    Event,
    Rollout,
    RolloutState,
    RolloutStateError,
    abort,
    alarm_fired,
    start_rollout,
    tick,
)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def _rollout(type_name: str, old: str | None = "1") -> Rollout:
    return start_rollout(parse_preference({"Type": type_name}), new_version="2", old_version=old)


def test_new_rollout_is_pending_with_no_traffic_on_new_version() -> None:
    r = _rollout("Canary10Percent5Minutes")
    assert r.state is RolloutState.PENDING
    assert r.weight == 0.0
    assert r.split.version_for("any") == "1"


def test_canary_timeline() -> None:
    clock = FakeClock()
    r = tick(_rollout("Canary10Percent5Minutes"), clock.now)
    assert (r.state, r.weight, r.started_at) == (RolloutState.SHIFTING, 0.1, 1000.0)
    r = tick(r, clock.advance(299.0))
    assert (r.state, r.weight) == (RolloutState.SHIFTING, 0.1)
    r = tick(r, clock.advance(1.0))
    assert (r.state, r.weight) == (RolloutState.SUCCEEDED, 1.0)
    assert r.finished_at == 1300.0
    assert r.split.version_for("any") == "2"


def test_linear_timeline() -> None:
    clock = FakeClock(0.0)
    r = tick(_rollout("Linear10PercentEvery1Minute"), clock.now)
    seen = [r.weight]
    while not r.done:
        r = tick(r, clock.advance(60.0))
        seen.append(r.weight)
    assert seen == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert r.state is RolloutState.SUCCEEDED
    assert r.finished_at == 540.0


def test_short_overcast_canary_timeline() -> None:
    clock = FakeClock(0.0)
    r = tick(_rollout("overcast:Canary50PercentSeconds2"), clock.now)
    assert r.weight == 0.5
    r = tick(r, clock.advance(2.0))
    assert r.state is RolloutState.SUCCEEDED


def test_all_at_once_succeeds_on_first_tick() -> None:
    r = tick(_rollout("AllAtOnce"), 5.0)
    assert (r.state, r.weight, r.finished_at) == (RolloutState.SUCCEEDED, 1.0, 5.0)


def test_first_deployment_without_old_version_succeeds_on_first_tick() -> None:
    r = tick(_rollout("Linear10PercentEvery10Minutes", old=None), 5.0)
    assert r.state is RolloutState.SUCCEEDED
    assert r.split.version_for("any") == "2"


def test_alarm_during_shift_rolls_back_to_old_version() -> None:
    clock = FakeClock()
    r = tick(_rollout("Linear10PercentEvery1Minute"), clock.now)
    r = tick(r, clock.advance(180.0))
    assert r.weight == 0.4
    r = alarm_fired(r, "ErrorRateAlarm", clock.advance(1.0))
    assert r.state is RolloutState.ROLLED_BACK
    assert r.weight == 0.0
    assert "ErrorRateAlarm" in r.reason
    assert r.finished_at == clock.now
    assert r.split.version_for("any") == "1"
    # Later ticks do not resume the shift.
    r2 = tick(r, clock.advance(10_000.0))
    assert r2 == r


def test_alarm_before_start_is_ignored() -> None:
    r = _rollout("Canary10Percent5Minutes")
    assert alarm_fired(r, "A", 0.0) == r


def test_alarm_after_success_is_ignored() -> None:
    r = tick(_rollout("AllAtOnce"), 0.0)
    assert alarm_fired(r, "A", 1.0) == r


def test_abort_during_shift_rolls_back() -> None:
    r = tick(_rollout("Canary10Percent5Minutes"), 0.0)
    r = abort(r, 10.0, "operator stopped it")
    assert (r.state, r.weight, r.reason) == (RolloutState.ROLLED_BACK, 0.0, "operator stopped it")


def test_abort_before_start_fails_the_deployment() -> None:
    r = abort(_rollout("Canary10Percent5Minutes"), 0.0)
    assert r.state is RolloutState.FAILED
    assert r.weight == 0.0


@pytest.mark.parametrize("state", sorted(FINAL_STATES, key=str))
def test_abort_after_finish_is_an_error(state: RolloutState) -> None:
    r = Rollout(preference=parse_preference({"Type": "AllAtOnce"}), new_version="2", state=state)
    with pytest.raises(RolloutStateError):
        abort(r, 0.0)


def test_transition_table_covers_every_non_abort_event_and_final_states_absorb() -> None:
    for state in RolloutState:
        for event in (Event.TICK, Event.SHIFT_COMPLETE, Event.ALARM):
            assert (state, event) in TRANSITIONS
    for (state, _event), target in TRANSITIONS.items():
        if state in FINAL_STATES:
            assert target is state


@given(
    type_name=st.sampled_from(
        [
            "Canary10Percent5Minutes",
            "Linear10PercentEvery1Minute",
            "overcast:Canary50PercentSeconds2",
        ]
    ),
    steps=st.lists(
        st.one_of(
            st.tuples(st.just("tick"), st.floats(min_value=0, max_value=600)),
            st.tuples(st.just("alarm"), st.floats(min_value=0, max_value=600)),
        ),
        max_size=20,
    ),
)
def test_weight_is_zero_or_rising_and_final_states_never_change(
    type_name: str, steps: list[tuple[str, float]]
) -> None:
    clock = FakeClock(0.0)
    r = _rollout(type_name)
    for kind, dt in steps:
        before = r
        now = clock.advance(dt)
        r = tick(r, now) if kind == "tick" else alarm_fired(r, "A", now)
        if before.done:
            assert r == before
        elif r.state is RolloutState.ROLLED_BACK:
            assert r.weight == 0.0
        else:
            assert r.weight >= before.weight
