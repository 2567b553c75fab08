"""The observe package's exceptions, rooted in :class:`overcast.errors.OvercastError`."""

from __future__ import annotations

from overcast.errors import OvercastError


class ObserveError(OvercastError):
    """Base of errors raised by overcast.observe."""


class InvalidAlarmError(ObserveError):
    """An alarm definition breaks CloudWatch's own constraints."""


class InvalidPriceError(ObserveError):
    """A price or an invocation to price has an impossible value."""
