"""Collects :class:`TemplateWarning` s, each reported once, in the order found."""

from __future__ import annotations

from overcast.template.model import Location, TemplateWarning

__all__ = ["WarningLog"]


class WarningLog:
    """An ordered set of warnings: the same message at the same place is kept once."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, Location | None], TemplateWarning] = {}

    def warn(self, message: str, location: Location | None = None) -> None:
        """Record ``message`` unless it was already recorded at ``location``."""
        self._seen.setdefault((message, location), TemplateWarning(message, location))

    def extend(self, warnings: list[TemplateWarning]) -> None:
        """Record several warnings."""
        for warning in warnings:
            self.warn(warning.message, warning.location)

    def as_tuple(self) -> tuple[TemplateWarning, ...]:
        """Every warning recorded, in order."""
        return tuple(self._seen.values())
