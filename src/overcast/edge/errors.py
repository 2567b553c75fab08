"""The edge's exception hierarchy."""

from __future__ import annotations

from overcast.errors import OvercastError


class EdgeError(OvercastError):
    """Base class of everything the edge package refuses."""


class EdgeConfigError(EdgeError):
    """The template's ``Metadata: overcast: edge:`` mapping is malformed.

    ``where`` is a dotted path into the mapping (``stages.dev.behaviors[1].cache``)
    so the message points at the line to fix.
    """

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(
            f"Metadata.overcast.edge.{where}: {problem}"
            if where
            else f"Metadata.overcast.edge: {problem}",
            hint="see docs/edge.md for the shape of the edge configuration",
        )
        self.where = where
        self.problem = problem


class InvalidationPathError(EdgeError):
    """An invalidation path is not one CloudFront would accept."""
