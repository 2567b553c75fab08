"""The root of every exception overcast raises on purpose.

Each package defines its own hierarchy below :class:`OvercastError`; callers that
only need to know "overcast refused this" catch the root.
"""

from __future__ import annotations


class OvercastError(Exception):
    """Base class of all overcast errors; ``hint`` says what the user can do."""

    hint: str = ""

    def __init__(self, message: str, *, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""
