"""The web dashboard on the admin port (``/dashboard/``): what a person looks at instead of logs.

Owns: the ASGI app (:class:`DashboardApp`: sign-in with an admin key, server-side
sessions, the pages, a small JSON API under ``/dashboard/api/``, a live log tail as
server-sent events, static files including Plotly's bundle from the ``plotly``
package), and the one typed Protocol it reads everything through
(:class:`DashboardSource`, with the frozen dataclasses it returns).

May import: ``overcast.asgi``, ``overcast.errors``, the standard library, ``orjson``,
and ``plotly``'s packaged ``plotly.min.js`` (as a file, via importlib.resources).
Not ``overcast.runtime``, ``overcast.gateway`` or ``overcast.control``: the control
plane implements :class:`DashboardSource` from its own pieces and mounts the app.
"""

from __future__ import annotations

from overcast.dashboard.app import Authenticate, DashboardApp, DashboardSettings
from overcast.dashboard.errors import DashboardError
from overcast.dashboard.sessions import Identity, Session, SessionTable
from overcast.dashboard.source import (
    AlarmInfo,
    AlarmStateName,
    CostSummary,
    DashboardSource,
    DeploymentInfo,
    LogLine,
    MetricSeries,
    MetricTotals,
    RollbackRefused,
    StageInfo,
    UnknownFunction,
    UnknownStage,
)

__all__ = [
    "AlarmInfo",
    "AlarmStateName",
    "Authenticate",
    "CostSummary",
    "DashboardApp",
    "DashboardError",
    "DashboardSettings",
    "DashboardSource",
    "DeploymentInfo",
    "Identity",
    "LogLine",
    "MetricSeries",
    "MetricTotals",
    "RollbackRefused",
    "Session",
    "SessionTable",
    "StageInfo",
    "UnknownFunction",
    "UnknownStage",
]
