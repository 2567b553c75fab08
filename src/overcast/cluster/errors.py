"""Errors of cluster mode, rooted in :class:`overcast.errors.OvercastError`."""

from __future__ import annotations

from overcast.errors import OvercastError


class ClusterError(OvercastError):
    """Cluster mode cannot go on as asked."""


class SchemaVersionError(ClusterError):
    """The cluster database's schema is not the one this overcast was built for."""


class NodeNameTakenError(ClusterError):
    """Another live node already runs under this name."""


class NodeLostError(ClusterError):
    """This node's registration was taken over (its heartbeat had stopped for too long)."""
