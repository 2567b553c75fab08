"""Usage plan quotas: requests per calendar day, week or month (UTC), per API key.

API Gateway counts a key's requests against its plan's ``Quota`` and answers 429
``Limit Exceeded`` once the period's limit is spent; the count starts again when
the next period begins. Weeks begin on Sunday (QuotaSettings' old ``offset``
doc: "with a time period of WEEK, an offset of 0 starts on Sunday"), days and
months at 00:00 UTC. ``offset`` requests are taken off the limit in the first
period only.
https://docs.aws.amazon.com/apigateway/latest/api/API_QuotaSettings.html

Pure: the caller passes the time (epoch seconds), so tests need no clock. The hot
path is one float comparison and an increment; dates are computed only when a
period rolls over.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from overcast.template.model import QuotaPeriod, QuotaSettings

__all__ = ["QuotaCounter", "period_bounds"]


def period_bounds(period: QuotaPeriod, now: float) -> tuple[float, float]:
    """Start and end (epoch seconds) of the ``period`` holding ``now``, in UTC."""
    moment = datetime.fromtimestamp(now, UTC)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "DAY":
        start, end = day, day + timedelta(days=1)
    elif period == "WEEK":
        # isoweekday: Monday 1 … Sunday 7; the week starts on the latest Sunday.
        start = day - timedelta(days=day.isoweekday() % 7)
        end = start + timedelta(days=7)
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1)
    return start.timestamp(), end.timestamp()


class QuotaCounter:
    """One key's quota under one plan."""

    __slots__ = ("_allowed", "_end", "settings", "start", "used")

    def __init__(self, settings: QuotaSettings, now: float) -> None:
        self.settings = settings
        self.start, self._end = period_bounds(settings.period, now)
        self.used = 0
        self._allowed = settings.limit - settings.offset

    def take(self, now: float) -> bool:
        """Count one request if the period has room; False means 429 Limit Exceeded."""
        if now >= self._end:
            self.start, self._end = period_bounds(self.settings.period, now)
            self.used = 0
            self._allowed = self.settings.limit
        if self.used >= self._allowed:
            return False
        self.used += 1
        return True

    def remaining(self, now: float) -> int:
        """Requests left in the period holding ``now``."""
        if now >= self._end:
            return self.settings.limit
        return max(0, self._allowed - self.used)
