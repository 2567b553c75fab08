"""Opening the embedded control-plane databases: SQLite in WAL mode, shared by threads.

Neutral (standard library only), so every package with a store of its own — the
deploy history, the metrics rollups — opens it the same way.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def open_wal(path: Path, schema: str) -> sqlite3.Connection:
    """A connection to ``path`` (created with its folder), in WAL mode, ``schema`` applied.

    Autocommit (``isolation_level=None``): callers open their own transactions. Usable
    from several threads; callers serialise access with a lock of their own.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    # Another process (the CLI reading history) may hold the write lock briefly.
    db.execute("PRAGMA busy_timeout=5000")
    db.execute("PRAGMA journal_mode=WAL")
    # WAL with FULL survives a power cut without losing a committed transaction.
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db


@contextmanager
def immediate_transaction(
    db: sqlite3.Connection, lock: threading.Lock
) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken at once (BEGIN IMMEDIATE), rolled back on any error."""
    with lock:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
