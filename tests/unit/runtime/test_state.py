import pytest

from overcast.runtime.errors import InvalidTransitionError
from overcast.runtime.state import LIVE_STATES, TRANSITIONS, Event, State, next_state


def test_a_cold_start_goes_starting_busy_idle() -> None:
    state = next_state(State.STARTING, Event.CLAIM)
    assert state is State.BUSY
    assert next_state(state, Event.RELEASE) is State.IDLE


def test_retiring_a_busy_instance_lets_it_finish_then_die() -> None:
    state = next_state(State.BUSY, Event.RETIRE)
    assert state is State.DRAINING
    assert next_state(state, Event.RELEASE) is State.DEAD


def test_retiring_an_idle_instance_kills_it_at_once() -> None:
    assert next_state(State.IDLE, Event.RETIRE) is State.DEAD


def test_every_state_dies_on_die() -> None:
    for state in State:
        assert next_state(state, Event.DIE) is State.DEAD


def test_dead_absorbs_every_event() -> None:
    for event in Event:
        if event is not Event.ACQUIRE:
            assert next_state(State.DEAD, event) is State.DEAD


def test_an_edge_not_in_the_table_raises() -> None:
    with pytest.raises(InvalidTransitionError):
        next_state(State.BUSY, Event.ACQUIRE)
    with pytest.raises(InvalidTransitionError):
        next_state(State.IDLE, Event.RELEASE)


def test_only_dead_is_not_live() -> None:
    assert set(State) - LIVE_STATES == {State.DEAD}
    assert all(isinstance(k[0], State) and isinstance(v, State) for k, v in TRANSITIONS.items())
