"""Where the gateway reports each request it answered (per-route metrics).

The gateway only calls :meth:`RouteRecorder.record_request`; what is counted, and
for which stage, is the recorder's business (``overcast.observe`` provides one
bound to a stage). Recording must not block: it runs on the data path.
"""

from __future__ import annotations

from typing import Protocol

#: the route label of requests no route matched (a fixed label: misses must not
#: create one series per path a scanner tries)
UNMATCHED = "$unmatched"


class RouteRecorder(Protocol):
    """Counts requests per route: how many, their status class and latency."""

    def record_request(self, api: str, route: str, status: int, latency_ms: float) -> None:
        """One answered request of ``route`` (a route key) on ``api`` (its logical id)."""
        ...
