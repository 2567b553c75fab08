from datetime import UTC, datetime
from decimal import Decimal

from overcast.observe.forecast import month_bounds, month_forecast


def _ts(*parts: int) -> float:
    return datetime(*parts, tzinfo=UTC).timestamp()


def test_month_bounds_are_utc_calendar_months() -> None:
    assert month_bounds(_ts(2026, 2, 14, 12)) == (_ts(2026, 2, 1), _ts(2026, 3, 1))
    assert month_bounds(_ts(2028, 2, 29)) == (_ts(2028, 2, 1), _ts(2028, 3, 1))
    assert month_bounds(_ts(2026, 12, 31, 23, 59)) == (_ts(2026, 12, 1), _ts(2027, 1, 1))


def test_forecast_is_spend_over_the_elapsed_fraction() -> None:
    # 10 days into a 30-day month: a third elapsed, so three times the spend
    assert month_forecast(Decimal("2.50"), _ts(2026, 11, 11)) == Decimal("7.50")
    # half-way through February 2026 (28 days)
    assert month_forecast(Decimal(1), _ts(2026, 2, 15)) == Decimal(2)


def test_at_the_very_start_of_a_month_the_forecast_is_the_spend() -> None:
    assert month_forecast(Decimal(0), _ts(2026, 11, 1)) == Decimal(0)
