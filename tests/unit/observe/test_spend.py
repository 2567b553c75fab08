"""Budget caps: reservations keep a flood under the cap; periods roll over; lifts end."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from overcast.observe.errors import ObserveError
from overcast.observe.spend import BudgetCap, CapPeriod, SpendMeter, parse_cap

NOON = datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()
D = Decimal


def test_admission_reserves_the_worst_case_so_concurrent_requests_stay_under_the_cap() -> None:
    meter = SpendMeter({"prod": BudgetCap(D("1.00"), CapPeriod.DAY)})
    admitted = 0
    while meter.admit("prod", D("0.30"), NOON):
        admitted += 1
    assert admitted == 3  # 0.90 reserved; a fourth could reach 1.20
    for _ in range(3):
        meter.add("prod", D("0.25"), NOON)
        meter.release("prod", D("0.30"))
    assert meter.spent("prod", CapPeriod.DAY, NOON) == D("0.75")
    assert meter.admit("prod", D("0.25"), NOON) is True
    meter.add("prod", D("0.25"), NOON)
    meter.release("prod", D("0.25"))
    status = meter.status("prod", NOON)
    assert status.reached
    assert status.spent == D("1.00")
    assert meter.admit("prod", D("0.01"), NOON) is False


def test_a_new_day_starts_from_zero_and_other_stages_are_not_capped() -> None:
    meter = SpendMeter({"prod": BudgetCap(D("1"), CapPeriod.DAY)})
    meter.add("prod", D("1"), NOON)
    assert meter.admit("prod", D("0.1"), NOON) is False
    assert meter.admit("prod", D("0.1"), NOON + 86_400) is True
    assert meter.spent("prod", CapPeriod.MONTH, NOON + 86_400) == D("1")
    assert meter.admit("dev", D("1000"), NOON) is True


def test_a_monthly_cap_rolls_over_with_the_calendar_month() -> None:
    meter = SpendMeter({"prod": BudgetCap(D("5"), CapPeriod.MONTH)})
    meter.add("prod", D("5"), NOON)
    assert meter.admit("prod", D("0.01"), NOON + 2 * 86_400) is False  # Nov 29
    december = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    assert meter.admit("prod", D("0.01"), december) is True


def test_a_lift_lasts_until_the_period_ends() -> None:
    meter = SpendMeter({"prod": BudgetCap(D("1"), CapPeriod.DAY)})
    meter.add("prod", D("2"), NOON)
    until = meter.lift("prod", NOON)
    assert until == datetime(2026, 11, 28, tzinfo=UTC).timestamp()
    assert meter.admit("prod", D("1"), NOON + 60) is True
    assert not meter.status("prod", NOON + 60).reached
    meter.add("prod", D("2"), until + 1)
    assert meter.admit("prod", D("0.5"), until + 1) is False
    with pytest.raises(ObserveError):
        meter.lift("dev", NOON)


@pytest.mark.parametrize(
    ("text", "cap"),
    [
        ("5/day", BudgetCap(D("5"), CapPeriod.DAY)),
        ("$100/month", BudgetCap(D("100"), CapPeriod.MONTH)),
        ("2.5", BudgetCap(D("2.5"), CapPeriod.MONTH)),
    ],
)
def test_caps_parse(text: str, cap: BudgetCap) -> None:
    assert parse_cap(text) == cap


@pytest.mark.parametrize("text", ["", "five/day", "5/week", "0/day", "-1", "nan"])
def test_bad_caps_are_refused(text: str) -> None:
    with pytest.raises(ObserveError):
        parse_cap(text)
