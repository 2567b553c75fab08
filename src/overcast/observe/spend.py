"""Spend per stage in the current day and month, and hard caps that stop it.

In memory, updated by the recorder as each invocation is priced: the data path asks
:meth:`SpendMeter.admit` before it runs a request on a capped stage and
:meth:`SpendMeter.release` afterwards. Admission *reserves* the request's worst case
(its function's Timeout at its MemorySize, plus the request prices) until it ends,
so even a flood of concurrent requests cannot carry spend past the cap: a request is
let in only if what is spent plus what is reserved plus its own worst case stays
within the limit. A period rolls over by itself (UTC days and calendar months); an
admin may lift a cap until the period ends.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from overcast.observe.budgets import TimeUnit
from overcast.observe.budgets import period_bounds as budget_period_bounds
from overcast.observe.errors import ObserveError

__all__ = ["BudgetCap", "CapPeriod", "CapStatus", "SpendMeter", "parse_cap", "period_bounds"]


class CapPeriod(StrEnum):
    """The span a cap limits spend over."""

    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class BudgetCap:
    """A hard spend limit (US dollars) per day or month."""

    limit: Decimal
    period: CapPeriod

    def __str__(self) -> str:
        return f"${self.limit}/{self.period.value}"


@dataclass(frozen=True, slots=True)
class CapStatus:
    """Where a stage stands against its cap."""

    stage: str
    cap: BudgetCap | None
    spent: Decimal
    reserved: Decimal
    period_start: float
    lifted: bool
    #: the worst case of the last request judged (what one more request would reserve)
    worst_case: Decimal = Decimal(0)

    @property
    def reached(self) -> bool:
        """Whether the cap refuses requests now: too little is left for one more."""
        if self.cap is None or self.lifted:
            return False
        return self.spent + self.worst_case > self.cap.limit


def stack_cap_key(stage: str, stack: str) -> str:
    """The spend meter's key of a stack's own cap (``--budget-cap dev/stack:auth=5/day``)."""
    return f"{stage}/stack:{stack}"


def parse_cap(text: str) -> BudgetCap:
    """``"5/day"``, ``"100/month"`` or ``"100"`` (a month) → a cap."""
    amount, _, period = text.partition("/")
    try:
        limit = Decimal(amount.strip().lstrip("$"))
        kind = CapPeriod((period or "month").strip().lower())
    except (ArithmeticError, ValueError):
        raise ObserveError(
            f"{text!r} is not a budget cap", hint="e.g. 5/day or 100/month (US dollars)"
        ) from None
    if not limit.is_finite() or limit <= 0:
        raise ObserveError(f"budget cap {text!r} must be a positive amount of dollars")
    return BudgetCap(limit, kind)


def period_bounds(period: CapPeriod, now: float) -> tuple[float, float]:
    """Start and end (epoch seconds, UTC) of the day or month holding ``now``."""
    unit = TimeUnit.DAILY if period is CapPeriod.DAY else TimeUnit.MONTHLY
    return budget_period_bounds(unit, now)


class _Ledger:
    __slots__ = (
        "day",
        "day_start",
        "last_worst",
        "lifted_until",
        "month",
        "month_end",
        "month_start",
        "reserved",
    )

    def __init__(self) -> None:
        self.day = Decimal(0)
        self.month = Decimal(0)
        self.day_start = 0.0
        self.month_start = 0.0
        self.month_end = 0.0
        self.reserved = Decimal(0)
        self.lifted_until = 0.0
        self.last_worst = Decimal(0)


class SpendMeter:
    """Each stage's spend this day and month, reservations in flight, and caps."""

    def __init__(self, caps: dict[str, BudgetCap] | None = None) -> None:
        self.caps: dict[str, BudgetCap] = dict(caps or {})
        self._ledgers: dict[str, _Ledger] = {}
        # Threads: the recorder may run off the loop (flushes), the data path on it.
        self._lock = threading.Lock()

    def _ledger(self, stage: str, now: float) -> _Ledger:
        ledger = self._ledgers.get(stage)
        if ledger is None:
            ledger = self._ledgers[stage] = _Ledger()
        if not ledger.day_start <= now < ledger.day_start + 86_400:
            ledger.day, ledger.day_start = Decimal(0), period_bounds(CapPeriod.DAY, now)[0]
        if not ledger.month_start <= now < ledger.month_end:
            ledger.month = Decimal(0)
            ledger.month_start, ledger.month_end = period_bounds(CapPeriod.MONTH, now)
        return ledger

    def add(self, stage: str, cost: Decimal, now: float) -> None:
        """Count spend priced at ``now``."""
        with self._lock:
            ledger = self._ledger(stage, now)
            ledger.day += cost
            ledger.month += cost

    def seed(self, stage: str, day: Decimal, month: Decimal, now: float) -> None:
        """Start from spend already recorded this day and month (after a restart)."""
        with self._lock:
            ledger = self._ledger(stage, now)
            ledger.day, ledger.month = day, month

    def spent(self, stage: str, period: CapPeriod, now: float) -> Decimal:
        with self._lock:
            ledger = self._ledger(stage, now)
            return ledger.day if period is CapPeriod.DAY else ledger.month

    def admit(self, stage: str, worst_case: Decimal, now: float) -> bool:
        """Reserve ``worst_case`` for one request if the stage's cap allows it."""
        cap = self.caps.get(stage)
        if cap is None:
            return True
        with self._lock:
            ledger = self._ledger(stage, now)
            if now < ledger.lifted_until:
                return True
            spent = ledger.day if cap.period is CapPeriod.DAY else ledger.month
            ledger.last_worst = worst_case
            if spent + ledger.reserved + worst_case > cap.limit:
                return False
            ledger.reserved += worst_case
            return True

    def release(self, stage: str, worst_case: Decimal) -> None:
        """The request admitted with ``worst_case`` has ended (its real cost is added)."""
        with self._lock:
            ledger = self._ledgers.get(stage)
            if ledger is not None:
                ledger.reserved = max(Decimal(0), ledger.reserved - worst_case)

    def lift(self, stage: str, now: float) -> float:
        """Let the stage spend past its cap until the current period ends; when that is."""
        cap = self.caps.get(stage)
        if cap is None:
            raise ObserveError(f"stage {stage} has no budget cap to lift")
        with self._lock:
            ledger = self._ledger(stage, now)
            until = period_bounds(cap.period, now)[1]
            ledger.lifted_until = until
            return until

    def status(self, stage: str, now: float) -> CapStatus:
        cap = self.caps.get(stage)
        with self._lock:
            ledger = self._ledger(stage, now)
            period = cap.period if cap is not None else CapPeriod.MONTH
            spent = ledger.day if period is CapPeriod.DAY else ledger.month
            start = ledger.day_start if period is CapPeriod.DAY else ledger.month_start
            lifted = now < ledger.lifted_until
            return CapStatus(stage, cap, spent, ledger.reserved, start, lifted, ledger.last_worst)
