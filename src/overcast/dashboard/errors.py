"""The dashboard's errors, rooted in :class:`overcast.errors.OvercastError`."""

from __future__ import annotations

from overcast.errors import OvercastError


class DashboardError(OvercastError):
    """Something the dashboard or its data source refused."""
