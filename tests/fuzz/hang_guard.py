"""A per-example stopwatch for the fuzz tests: an input that makes a parser hang fails.

A parser of outside input that spins on one small input is a denial of service, so the
fuzz suite treats "still running after HANG_S" as a failure. ``make fuzz`` sets
``OVERCAST_FUZZ=1`` (1 s, as the hardening issue asks); in ``make test`` the limit is ten
times looser, because there the machine also runs the rest of the suite and a stopwatch
must never fail a correct parser.
"""

from __future__ import annotations

import gc
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANG_S = 1.0 if os.environ.get("OVERCAST_FUZZ") else 10.0


class ParserHung(AssertionError):
    """An example ran past HANG_S."""


@contextmanager
def no_hang(what: str, limit_s: float = HANG_S, *, cpu: bool = False) -> Iterator[None]:
    """Fail with ParserHung if the block runs longer than ``limit_s`` (main thread only).

    ``cpu=True`` counts the process's CPU time instead of the clock's, for blocks that
    only compute (a pure parser): a loaded machine then slows the example without
    failing it, while a parser that spins still does. The objects alive before the
    block are frozen out of the garbage collector meanwhile, so a full collection of
    hypothesis' own heap is not charged to the parser.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise ParserHung(f"{what} ran past {limit_s:g} s" + (" of CPU" if cpu else ""))

    timer, signum = (
        (signal.ITIMER_PROF, signal.SIGPROF) if cpu else (signal.ITIMER_REAL, signal.SIGALRM)
    )
    previous = signal.signal(signum, expired)
    if cpu:
        gc.freeze()
    signal.setitimer(timer, limit_s)
    try:
        yield
    finally:
        signal.setitimer(timer, 0)
        signal.signal(signum, previous)
        if cpu:
            gc.unfreeze()
