"""Lambda's asynchronous-invocation metrics, counted in memory by the dispatcher.

CloudWatch's names (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html):
``AsyncEventsReceived`` (events queued), ``AsyncEventAge`` (from queueing to an
attempt's start), ``AsyncEventsDropped`` (events discarded without a successful run),
``DestinationDeliveryFailures`` and ``DeadLetterErrors``. Keyed by (function,
qualifier); ``overcast.observe`` exposes them, this package does not know how.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AsyncCounts:
    """One function's (and qualifier's) counts since the process started."""

    received: int = 0
    dropped: int = 0
    delivery_failures: int = 0
    dead_letter_errors: int = 0
    #: attempts started, and the sum of their events' ages (seconds)
    attempts: int = 0
    age_s_total: float = 0.0


class AsyncCounters:
    """Counts added to from the event loop, read (copied) by a scrape in another thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # (function, qualifier) → [received, dropped, delivery failures, dead-letter errors,
        # attempts, age total]
        self._counts: dict[tuple[str, str], list[float]] = {}

    def _add(self, key: tuple[str, str], *amounts: tuple[int, float]) -> None:
        """Add each (index, amount) to ``key``'s counts, under one lock."""
        with self._lock:
            counts = self._counts.get(key)
            if counts is None:
                counts = self._counts[key] = [0, 0, 0, 0, 0, 0.0]
            for index, amount in amounts:
                counts[index] += amount

    def received(self, key: tuple[str, str]) -> None:
        self._add(key, (0, 1))

    def dropped(self, key: tuple[str, str]) -> None:
        self._add(key, (1, 1))

    def delivery_failed(self, key: tuple[str, str], dead_letter: bool) -> None:
        self._add(key, (3 if dead_letter else 2, 1))

    def attempt_started(self, key: tuple[str, str], age_s: float) -> None:
        self._add(key, (4, 1), (5, max(0.0, age_s)))

    def snapshot(self) -> dict[tuple[str, str], AsyncCounts]:
        with self._lock:
            return {
                key: AsyncCounts(int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]), c[5])
                for key, c in self._counts.items()
            }
