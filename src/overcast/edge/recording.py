"""What the edge reports per response: to a recorder the owner injects (default: none)."""

from __future__ import annotations

from typing import Protocol


class EdgeRecorder(Protocol):
    """Told of every response the edge sends; must not block or do I/O."""

    def record_edge(self, stage: str, hit: bool, body_bytes: int) -> None:
        """One response of ``stage``: from the cache (``hit``) or the origin, its size."""
        ...
