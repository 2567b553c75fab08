"""The instance lifecycle as data.

Theory of operation
-------------------
An instance is one worker process serving one invocation at a time.

* ``STARTING``: forked, importing the handler (Init). It already counts against
  concurrency. ``CLAIM`` hands it, once ready, to the invocation that caused the cold
  start; ``READY`` parks it idle (provisioned or pre-warmed instances).
* ``IDLE``: waiting on the pool's LIFO stack. ``ACQUIRE`` -> ``BUSY``. ``RETIRE``
  (keep-alive expired, code changed, shutdown) kills it at once -> ``DEAD``.
* ``BUSY``: one invocation in flight. ``RELEASE`` -> ``IDLE``; ``RETIRE`` marks it
  ``DRAINING`` so that it dies after this invocation instead.
* ``DRAINING``: finishing its last invocation (or its Init) and then dying:
  ``RELEASE``/``READY`` -> ``DEAD``; a claim still serves the waiting invocation.
* ``DEAD``: the process is gone or being killed; every further event is absorbed.

``DIE`` (the process exited, was killed, or failed Init) leads to ``DEAD`` from
anywhere. Any pair not in the table is a bug and raises.
"""

from __future__ import annotations

import enum

from overcast.runtime.errors import InvalidTransitionError


class State(enum.Enum):
    # Members are singletons compared by identity; hashing them by identity (in C)
    # keeps the per-invocation transition lookups off Enum's Python-level __hash__.
    __hash__ = object.__hash__

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DRAINING = "draining"
    DEAD = "dead"


class Event(enum.Enum):
    __hash__ = object.__hash__

    READY = "ready"
    CLAIM = "claim"
    ACQUIRE = "acquire"
    RELEASE = "release"
    RETIRE = "retire"
    DIE = "die"


S, E = State, Event

TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.STARTING, E.READY): S.IDLE,
    (S.STARTING, E.CLAIM): S.BUSY,
    (S.STARTING, E.RETIRE): S.DRAINING,
    (S.STARTING, E.DIE): S.DEAD,
    (S.IDLE, E.ACQUIRE): S.BUSY,
    (S.IDLE, E.RETIRE): S.DEAD,
    (S.IDLE, E.DIE): S.DEAD,
    (S.BUSY, E.RELEASE): S.IDLE,
    (S.BUSY, E.RETIRE): S.DRAINING,
    (S.BUSY, E.DIE): S.DEAD,
    (S.DRAINING, E.CLAIM): S.DRAINING,
    (S.DRAINING, E.READY): S.DEAD,
    (S.DRAINING, E.RELEASE): S.DEAD,
    (S.DRAINING, E.RETIRE): S.DRAINING,
    (S.DRAINING, E.DIE): S.DEAD,
    (S.DEAD, E.READY): S.DEAD,
    (S.DEAD, E.CLAIM): S.DEAD,
    (S.DEAD, E.RELEASE): S.DEAD,
    (S.DEAD, E.RETIRE): S.DEAD,
    (S.DEAD, E.DIE): S.DEAD,
}

#: States that hold a process and so count against reserved and node concurrency.
LIVE_STATES = frozenset({S.STARTING, S.IDLE, S.BUSY, S.DRAINING})


def next_state(state: State, event: Event) -> State:
    """Where ``event`` takes an instance in ``state``; raises on an edge not in the table."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransitionError(f"no transition from {state.value} on {event.value}") from None
