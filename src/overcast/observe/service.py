"""Metrics for one node or platform: the recorder, the store and the flusher between them.

The data path only ever touches :class:`~overcast.observe.recorder.Metrics` (memory).
:meth:`MetricsService.run` is the background task that, every ``flush_every_s``
seconds, drains the aggregator into the SQLite store in a worker thread;
:meth:`MetricsService.aclose` flushes one last time on shutdown. Its owner (the node
or the platform) runs it in its task group and awaits its end.

Two environment variables, read once when the service is built:
``OVERCAST_METRICS=off`` turns recording off altogether (no REPORT cost, no
``/metrics``, no store — the benchmarks' baseline); ``OVERCAST_METRICS_FLUSH_S``
changes the flush period (default 60).
"""

from __future__ import annotations

import asyncio
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from overcast.observe.errors import ObserveError
from overcast.observe.metrics_store import STORE_FILE, MetricsStore
from overcast.observe.price_file import load_price_book
from overcast.observe.pricing import PriceBook
from overcast.observe.recorder import Metrics
from overcast.observe.spend import SpendMeter

__all__ = ["DEFAULT_FLUSH_S", "MetricsService", "metrics_enabled"]

logger = logging.getLogger("overcast.observe")

DEFAULT_FLUSH_S = 60.0
_OFF = frozenset({"off", "0", "false", "no"})


def metrics_enabled(environ: Mapping[str, str]) -> bool:
    """False when ``OVERCAST_METRICS`` says off (``off``, ``0``, ``false``, ``no``)."""
    return environ.get("OVERCAST_METRICS", "on").strip().lower() not in _OFF


def _flush_every(environ: Mapping[str, str]) -> float:
    raw = environ.get("OVERCAST_METRICS_FLUSH_S")
    if raw is None:
        return DEFAULT_FLUSH_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise ObserveError(
            f"OVERCAST_METRICS_FLUSH_S={raw!r} is not a positive number of seconds",
            hint="e.g. OVERCAST_METRICS_FLUSH_S=60, or unset it",
        )
    return value


class MetricsService:
    """Recording in memory plus the background flush into ``<state>/metrics.sqlite3``."""

    def __init__(
        self,
        state_dir: Path,
        *,
        prices: PriceBook | None = None,
        flush_every_s: float = DEFAULT_FLUSH_S,
        clock: Callable[[], float] = time.time,
        spend: SpendMeter | None = None,
    ) -> None:
        self.metrics = Metrics(prices, clock=clock, spend=spend)
        self.store = MetricsStore(state_dir / STORE_FILE)
        self.flush_every_s = flush_every_s
        self._clock = clock
        self._closed = False

    @classmethod
    def from_environ(
        cls,
        state_dir: Path,
        environ: Mapping[str, str],
        *,
        prices: PriceBook | None = None,
        spend: SpendMeter | None = None,
    ) -> MetricsService | None:
        """The service as the environment asks for it, or None when metrics are off."""
        if not metrics_enabled(environ):
            return None
        if prices is None and environ.get("OVERCAST_PRICES"):
            prices = load_price_book(Path(environ["OVERCAST_PRICES"]))
        return cls(state_dir, prices=prices, flush_every_s=_flush_every(environ), spend=spend)

    def flush(self) -> int:
        """Move everything aggregated so far into the store, then prune (blocking I/O).

        The still-open minute goes too: the store adds a period's writes up, so
        ``overcast metrics`` never lags more than one flush period.
        """
        rollups = self.metrics.aggregator.drain(math.inf)
        written = self.store.write(rollups)
        self.store.prune(self._clock())
        return written

    async def run(self) -> None:
        """Flush every ``flush_every_s`` seconds until cancelled (a store error is logged)."""
        while True:
            await asyncio.sleep(self.flush_every_s)
            try:
                await asyncio.to_thread(self.flush)
            except (OSError, sqlite3.Error, ObserveError, ValueError) as exc:
                logger.error("could not store metrics: %s", exc)
            except Exception:  # a bug here must not stop the next flushes
                logger.exception("could not store metrics")

    async def aclose(self) -> None:
        """The last flush (everything recorded until now), then close the store."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.to_thread(self.flush)
        except Exception:  # shutdown goes on; what was lost is said
            logger.exception("could not store the last metrics")
        finally:
            self.store.close()
