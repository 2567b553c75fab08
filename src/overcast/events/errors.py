"""The root of the events package's errors."""

from __future__ import annotations

from overcast.errors import OvercastError


class EventsError(OvercastError):
    """The event queue refused or could not do something."""


class DeliveryError(EventsError):
    """A record or dead letter could not be delivered to its queue or topic."""
