"""Group commit: moves asked for by many tasks at once share one committed transaction.

While one transaction commits (in a worker thread: it fsyncs), every move asked for
meanwhile waits in a list; the next transaction takes them all. A lone caller pays one
transaction, as before; N callers at once pay about two, not N. Each move keeps its own
outcome: one that fails (its savepoint rolled back) raises for its caller only.
"""

from __future__ import annotations

import asyncio
import sqlite3

from overcast.events.async_queue import AsyncQueue, Move


class GroupCommit:
    """Writes :class:`AsyncQueue` moves, gathering those asked for at the same time."""

    def __init__(self, queue: AsyncQueue) -> None:
        self._queue = queue
        self._pending: list[tuple[Move, asyncio.Future[object]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def write(self, move: Move) -> object:
        """Run ``move`` in the next transaction; its result once that has committed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._pending.append((move, future))
        if self._writer is None:
            self._writer = loop.create_task(self._write_pending())
        result = await future
        if isinstance(result, sqlite3.Error):
            raise result
        return result

    async def _write_pending(self) -> None:
        batch: list[tuple[Move, asyncio.Future[object]]] = []
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    results = await asyncio.to_thread(self._queue.apply, [m for m, _ in batch])
                except sqlite3.Error as exc:
                    # The transaction as a whole failed (a full disk, a lock held too long):
                    # every move in it is refused, and its caller decides.
                    results = [exc] * len(batch)
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
                batch = []
        except BaseException:
            # Cancelled with the loop: nobody may wait forever on a move that is not
            # known to be written.
            for _, future in (*batch, *self._pending):
                future.cancel()
            self._pending = []
            raise
        finally:
            self._writer = None
