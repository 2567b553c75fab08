"""Usage plan quotas: calendar periods in UTC, the first period's offset, rollover."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.gateway import QuotaCounter, period_bounds
from overcast.template.model import QuotaPeriod, QuotaSettings


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_a_day_runs_from_midnight_to_midnight_utc() -> None:
    assert period_bounds("DAY", at("2024-03-05T17:42:10")) == (
        at("2024-03-05T00:00:00"),
        at("2024-03-06T00:00:00"),
    )


def test_a_week_starts_on_sunday() -> None:
    # 2024-03-05 is a Tuesday; its week began on Sunday 2024-03-03.
    assert period_bounds("WEEK", at("2024-03-05T08:00:00")) == (
        at("2024-03-03T00:00:00"),
        at("2024-03-10T00:00:00"),
    )
    # A Sunday is the first day of its own week.
    assert period_bounds("WEEK", at("2024-03-10T00:00:00"))[0] == at("2024-03-10T00:00:00")


def test_a_month_is_a_calendar_month_including_february_of_a_leap_year() -> None:
    assert period_bounds("MONTH", at("2024-02-29T23:59:59")) == (
        at("2024-02-01T00:00:00"),
        at("2024-03-01T00:00:00"),
    )
    assert period_bounds("MONTH", at("2023-12-31T12:00:00")) == (
        at("2023-12-01T00:00:00"),
        at("2024-01-01T00:00:00"),
    )


@given(
    st.sampled_from(["DAY", "WEEK", "MONTH"]),
    st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False),
)
def test_every_moment_lies_inside_its_period(period: QuotaPeriod, now: float) -> None:
    start, end = period_bounds(period, now)
    assert start <= now < end
    assert datetime.fromtimestamp(start, UTC).time().isoformat() == "00:00:00"


def test_the_quota_refuses_past_its_limit_and_resets_next_period() -> None:
    counter = QuotaCounter(QuotaSettings(limit=3, period="DAY"), at("2024-03-05T10:00:00"))
    now = at("2024-03-05T23:59:59")
    assert [counter.take(now) for _ in range(4)] == [True, True, True, False]
    assert counter.remaining(now) == 0
    tomorrow = at("2024-03-06T00:00:00")
    assert counter.remaining(tomorrow) == 3
    assert counter.take(tomorrow) is True
    assert counter.used == 1


def test_the_offset_is_taken_off_the_first_period_only() -> None:
    counter = QuotaCounter(QuotaSettings(limit=3, period="MONTH", offset=2), at("2024-03-05"))
    assert [counter.take(at("2024-03-20")) for _ in range(2)] == [True, False]
    april = at("2024-04-01T00:00:01")
    assert [counter.take(april) for _ in range(4)] == [True, True, True, False]


@pytest.mark.parametrize("limit", [0])
def test_a_zero_quota_refuses_everything(limit: int) -> None:
    counter = QuotaCounter(QuotaSettings(limit=limit, period="WEEK"), 0.0)
    assert counter.take(1.0) is False
