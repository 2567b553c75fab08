"""One deployment's traffic shift as a pure state machine: no clock, no I/O, no locks.

The caller owns time and alarms: it feeds :func:`tick` with the current time,
:func:`alarm_fired` when an alarm on the new version goes to ALARM, and :func:`abort`
when an operator (or the deploy machinery) gives up. Each returns a new
:class:`Rollout`; the alias's routing is ``rollout.split`` (or ``rollout.weight``).

Theory of operation
-------------------

States::

    PENDING ──tick──▶ SHIFTING ──tick (weight reaches 1)──▶ SUCCEEDED
       │  └─tick (nothing to shift)──────────────────────▶ SUCCEEDED
       │                 │
       │                 ├──alarm_fired──▶ ROLLED_BACK   (weight back to 0)
       │                 └──abort────────▶ ROLLED_BACK   (weight back to 0)
       └──abort──▶ FAILED                                 (never served traffic)

The first tick starts the shift at that tick's time (``started_at``). A tick is
classified before it reaches the table: ``SHIFT_COMPLETE`` when the preference's
weight at that time is 1.0 (always, for all-at-once, a disabled preference, or a first
deployment with no old version), plain ``TICK`` otherwise. CodeDeploy only watches
alarms while a deployment is under way, so an alarm before the shift starts or after
it ends changes nothing; ticks and alarms after the end are ignored so a periodic
driver needs no special case. Aborting a finished deployment is an error: going back
from a finished deployment is a new deployment (``overcast rollback``), not this one.

SUCCEEDED, ROLLED_BACK and FAILED are final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum

from overcast.control.deployment_preference import Preference, weight_at
from overcast.control.traffic_split import TrafficSplit
from overcast.errors import OvercastError

__all__ = [
    "FINAL_STATES",
    "TRANSITIONS",
    "Event",
    "Rollout",
    "RolloutState",
    "RolloutStateError",
    "abort",
    "alarm_fired",
    "start_rollout",
    "tick",
]


class RolloutStateError(OvercastError):
    """An event the rollout's current state does not accept."""


class RolloutState(Enum):
    """Where one deployment's traffic shift is."""

    PENDING = "pending"
    SHIFTING = "shifting"
    SUCCEEDED = "succeeded"
    ROLLED_BACK = "rolled_back"
    FAILED = "failed"


class Event(Enum):
    """What happened to the rollout; ``tick`` is split into TICK and SHIFT_COMPLETE."""

    TICK = "tick"
    SHIFT_COMPLETE = "shift_complete"
    ALARM = "alarm_fired"
    ABORT = "abort"


_P, _S = RolloutState.PENDING, RolloutState.SHIFTING
_OK, _RB, _F = RolloutState.SUCCEEDED, RolloutState.ROLLED_BACK, RolloutState.FAILED

# Every (state, event) pair the machine accepts; a missing pair is an error.
TRANSITIONS: Mapping[tuple[RolloutState, Event], RolloutState] = {
    (_P, Event.TICK): _S,
    (_P, Event.SHIFT_COMPLETE): _OK,
    (_P, Event.ALARM): _P,
    (_P, Event.ABORT): _F,
    (_S, Event.TICK): _S,
    (_S, Event.SHIFT_COMPLETE): _OK,
    (_S, Event.ALARM): _RB,
    (_S, Event.ABORT): _RB,
    (_OK, Event.TICK): _OK,
    (_OK, Event.SHIFT_COMPLETE): _OK,
    (_OK, Event.ALARM): _OK,
    (_RB, Event.TICK): _RB,
    (_RB, Event.SHIFT_COMPLETE): _RB,
    (_RB, Event.ALARM): _RB,
    (_F, Event.TICK): _F,
    (_F, Event.SHIFT_COMPLETE): _F,
    (_F, Event.ALARM): _F,
}

FINAL_STATES = frozenset({_OK, _RB, _F})


@dataclass(frozen=True, slots=True)
class Rollout:
    """One deployment of a function alias from ``old_version`` to ``new_version``.

    ``old_version`` is None for a first deployment (nothing to shift from).
    ``weight`` is the fraction of traffic on the new version; ``reason`` says why a
    rollout ended other than by succeeding.
    """

    preference: Preference
    new_version: str
    old_version: str | None = None
    state: RolloutState = RolloutState.PENDING
    weight: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    reason: str = ""

    @property
    def done(self) -> bool:
        """Whether the rollout reached a final state."""
        return self.state in FINAL_STATES

    @property
    def split(self) -> TrafficSplit:
        """The alias's routing now (all on the new version when there is no old one)."""
        if self.old_version is None:
            return TrafficSplit(self.new_version, self.new_version, 1.0)
        return TrafficSplit(self.old_version, self.new_version, self.weight)


def start_rollout(
    preference: Preference, new_version: str, old_version: str | None = None
) -> Rollout:
    """A pending rollout; nothing moves until the first :func:`tick`."""
    return Rollout(preference=preference, new_version=new_version, old_version=old_version)


def _next(rollout: Rollout, event: Event) -> RolloutState:
    target = TRANSITIONS.get((rollout.state, event))
    if target is None:
        raise RolloutStateError(
            f"cannot {event.value} a rollout that is {rollout.state.value}",
            hint="a finished deployment is undone by rolling back to the previous one",
        )
    return target


def tick(rollout: Rollout, now: float) -> Rollout:
    """Advance the shift to time ``now`` (the first tick starts it)."""
    if rollout.done:
        _next(rollout, Event.TICK)  # final states absorb ticks (see the table)
        return rollout
    started_at = now if rollout.started_at is None else rollout.started_at
    weight = 1.0 if rollout.old_version is None else weight_at(rollout.preference, started_at, now)
    event = Event.SHIFT_COMPLETE if weight >= 1.0 else Event.TICK
    state = _next(rollout, event)
    return replace(
        rollout,
        state=state,
        weight=weight,
        started_at=started_at,
        finished_at=now if state in FINAL_STATES else None,
    )


def alarm_fired(rollout: Rollout, alarm: str, now: float) -> Rollout:
    """An alarm on the new version went to ALARM: roll back if the shift is under way."""
    state = _next(rollout, Event.ALARM)
    if state is not RolloutState.ROLLED_BACK or rollout.state is state:
        return rollout
    return replace(rollout, state=state, weight=0.0, finished_at=now, reason=f"alarm {alarm} fired")


def abort(rollout: Rollout, now: float, reason: str = "aborted") -> Rollout:
    """Stop the deployment: traffic goes back to the old version.

    Raises :class:`RolloutStateError` when the rollout has already finished.
    """
    state = _next(rollout, Event.ABORT)
    return replace(rollout, state=state, weight=0.0, finished_at=now, reason=reason)
