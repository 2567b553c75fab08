"""Month-to-date spend and the month-end forecast (pure: a clock value in, dates out).

The forecast is linear, as AWS Cost Explorer's simplest one is: spend so far this
month divided by the fraction of the month elapsed. Months are calendar months in UTC.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime
from decimal import Decimal

__all__ = ["month_bounds", "month_forecast"]


def month_bounds(now: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the UTC calendar month holding ``now``."""
    moment = datetime.fromtimestamp(now, UTC)
    start = datetime(moment.year, moment.month, 1, tzinfo=UTC)
    days = calendar.monthrange(moment.year, moment.month)[1]
    return start.timestamp(), start.timestamp() + days * 86_400


def month_forecast(spent_this_month: Decimal, now: float) -> Decimal:
    """Month-end spend if the month goes on as it went: spent / elapsed fraction."""
    start, end = month_bounds(now)
    elapsed = Decimal(str(now - start))
    if elapsed <= 0:
        return spent_this_month
    # Multiply before dividing: a third of a month is not exact in decimal, a month is.
    return spent_this_month * Decimal(str(end - start)) / elapsed
