"""AWS schedule expressions: worked examples from AWS's documentation, and properties.

Examples are from "Cron expressions reference" and "Rate expressions"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html) and
EventBridge Scheduler's "Schedule types"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html), whose
daylight-saving rules are: a time skipped when clocks go forward does not fire; a time
repeated when they go back fires once.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from overcast.schedule_expression import (
    At,
    Cron,
    Rate,
    ScheduleExpressionError,
    fire_times,
    matcher,
    next_fire,
    parse,
)

NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- AWS's worked examples -----------------------------------------------------------


def test_cron_10_15_every_day() -> None:
    """cron(15 10 * * ? *): 10:15 AM (UTC) every day."""
    assert fire_times(parse("cron(15 10 * * ? *)"), utc(2026, 1, 1), count=2) == [
        utc(2026, 1, 1, 10, 15), utc(2026, 1, 2, 10, 15),
    ]  # fmt: skip


def test_cron_6pm_monday_to_friday() -> None:
    """cron(0 18 ? * MON-FRI *): 6:00 PM Monday through Friday (2026-01-02 is a Friday)."""
    assert fire_times(parse("cron(0 18 ? * MON-FRI *)"), utc(2026, 1, 2), count=2) == [
        utc(2026, 1, 2, 18), utc(2026, 1, 5, 18),
    ]  # fmt: skip


def test_cron_8am_first_day_of_month() -> None:
    """cron(0 8 1 * ? *): 8:00 AM on the first day of the month."""
    assert fire_times(parse("cron(0 8 1 * ? *)"), utc(2026, 1, 5), count=2) == [
        utc(2026, 2, 1, 8), utc(2026, 3, 1, 8),
    ]  # fmt: skip


def test_cron_every_10_minutes_on_weekdays() -> None:
    """cron(0/10 * ? * MON-FRI *): every 10 minutes Monday through Friday."""
    times = fire_times(parse("cron(0/10 * ? * MON-FRI *)"), utc(2026, 1, 2, 23, 45), count=3)
    assert times == [utc(2026, 1, 2, 23, 50), utc(2026, 1, 5, 0, 0), utc(2026, 1, 5, 0, 10)]


def test_cron_every_5_minutes_between_8_and_5_on_weekdays() -> None:
    """cron(0/5 8-17 ? * MON-FRI *): every 5 minutes, 8:00 AM to 5:55 PM, weekdays."""
    times = fire_times(parse("cron(0/5 8-17 ? * MON-FRI *)"), utc(2026, 1, 5, 17, 50), count=2)
    assert times == [utc(2026, 1, 5, 17, 55), utc(2026, 1, 6, 8, 0)]


def test_cron_9am_first_monday_of_month() -> None:
    """cron(0 9 ? * 2#1 *): 9:00 AM on the first Monday of each month."""
    assert fire_times(parse("cron(0 9 ? * 2#1 *)"), utc(2026, 1, 1), count=3) == [
        utc(2026, 1, 5, 9), utc(2026, 2, 2, 9), utc(2026, 3, 2, 9),
    ]  # fmt: skip


def test_cron_last_friday_of_month_in_years() -> None:
    """cron(15 10 ? * 6L 2019-2022): 10:15 AM on the last Friday of each month, 2019-2022."""
    expression = parse("cron(15 10 ? * 6L 2019-2022)")
    assert fire_times(expression, utc(2019, 1, 1), count=2) == [
        utc(2019, 1, 25, 10, 15), utc(2019, 2, 22, 10, 15),
    ]  # fmt: skip
    assert next_fire(expression, utc(2022, 12, 30, 10, 15)) is None


def test_minutes_slash_starts_at_the_given_minute() -> None:
    """'1/10 in the Minutes field': the 1st, 11th, 21st ... minute."""
    assert isinstance(cron := parse("cron(1/10 * * * ? *)"), Cron)
    assert cron.minutes == (1, 11, 21, 31, 41, 51)


def test_nearest_weekday_stays_in_the_month() -> None:
    """3W: the weekday closest to the 3rd; 1W on a Saturday is Monday the 3rd, not the 31st."""
    expression = parse("cron(0 0 1W * ? *)")
    # 2022-01-01 is a Saturday: the nearest weekday in January is Monday the 3rd
    assert next_fire(expression, utc(2021, 12, 31)) == utc(2022, 1, 3)
    # 2026-02-15 is a Sunday: 15W is Monday the 16th
    assert next_fire(parse("cron(0 0 15W * ? *)"), utc(2026, 2, 1)) == utc(2026, 2, 16)


def test_last_day_and_last_weekday_of_month() -> None:
    assert next_fire(parse("cron(0 0 L * ? *)"), utc(2024, 2, 1)) == utc(2024, 2, 29)
    # 2026-05-31 is a Sunday: LW is Friday the 29th
    assert next_fire(parse("cron(0 0 LW * ? *)"), utc(2026, 5, 1)) == utc(2026, 5, 29)


def test_month_and_day_names() -> None:
    assert parse("cron(0 0 ? JAN,MAR SUN *)") == parse("cron(0 0 ? 1,3 1 *)")


def test_rate_is_fixed_period_from_anchor() -> None:
    assert parse("rate(1 minute)") == Rate(60)
    assert parse("rate(5 minutes)") == Rate(300)
    assert parse("rate(2 days)") == Rate(172_800)
    anchor = utc(2026, 1, 1, 0, 0, 7)
    assert next_fire(Rate(60), utc(2026, 1, 1, 0, 5), anchor=anchor) == utc(2026, 1, 1, 0, 5, 7)


def test_at_fires_once_in_its_time_zone() -> None:
    expression = parse("at(2026-07-01T09:30:00)")
    assert expression == At(datetime(2026, 7, 1, 9, 30))
    assert next_fire(expression, utc(2026, 1, 1), NEW_YORK) == utc(2026, 7, 1, 13, 30)
    assert next_fire(expression, utc(2026, 7, 1, 13, 30), NEW_YORK) is None


def test_time_skipped_by_spring_forward_does_not_fire() -> None:
    """2026-03-08 02:00 does not exist in New York: Scheduler skips that day's run."""
    times = fire_times(parse("cron(0 2 * * ? *)"), utc(2026, 3, 7), NEW_YORK, count=2)
    assert times == [utc(2026, 3, 7, 7), utc(2026, 3, 9, 6)]


def test_time_repeated_by_fall_back_fires_once() -> None:
    """2026-11-01 01:30 happens twice in New York: it fires at the first (EDT)."""
    times = fire_times(parse("cron(30 1 * * ? *)"), utc(2026, 10, 31, 12), NEW_YORK, count=2)
    assert times == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


@pytest.mark.parametrize(
    "text",
    [
        "rate(1 minutes)",  # value 1: singular unit
        "rate(5 minute)",  # value > 1: plural unit
        "rate(0 minutes)",
        "rate(5 seconds)",
        "rate(-1 minutes)",
        "cron(0 12 * * * *)",  # neither day field is ?
        "cron(0 12 ? * ? *)",  # both are
        "cron(0 12 * * ?)",  # five fields
        "cron(60 12 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 * 13 ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 ? * 0 *)",  # AWS's week is 1-7, not Unix's 0-6
        "cron(0 0 * * ? 1969)",
        "cron(0 0 * * ? 2200)",
        "cron(0 0 ? * 1/2 *)",  # no / in day-of-week
        "cron(0 0 ? * 2#6 *)",
        "cron(5-1 0 * * ? *)",
        "cron(0 0 * FOO ? *)",
        "at(2026-02-30T00:00:00)",
        "at(2026-02-01 00:00:00)",
        "at(0001-01-01T00:00:00)",  # outside 1970-2199, as cron's years
        "at(9999-12-31T23:59:59)",
        "every 5 minutes",
        "",
    ],
)
def test_malformed_expressions_are_refused_with_aws_wording(text: str) -> None:
    with pytest.raises(ScheduleExpressionError, match="Parameter ScheduleExpression is not valid"):
        parse(text)


# -- properties ----------------------------------------------------------------------

_MINUTE = st.sampled_from(["*", "0", "0/15", "5-10", "1,31,59", "7/20"])
_HOUR = st.sampled_from(["*", "0", "1-3", "2", "9-17", "0/6", "23"])
_DOM = st.sampled_from(["*", "1", "15W", "L", "LW", "1-7", "29", "31", "1W"])
_DOW = st.sampled_from(["*", "MON-FRI", "1", "6L", "3#2", "L", "SUN,SAT", "2#5"])
_MONTH = st.sampled_from(["*", "1", "FEB", "3-5", "JAN,JUL", "1/3"])
_ZONE = st.sampled_from(["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"])


@st.composite
def crons(draw: st.DrawFn) -> str:
    minute, hour, month = draw(_MINUTE), draw(_HOUR), draw(_MONTH)
    if draw(st.booleans()):
        return f"cron({minute} {hour} {draw(_DOM)} {month} ? *)"
    return f"cron({minute} {hour} ? {month} {draw(_DOW)} *)"


@settings(max_examples=150, deadline=None)
@given(
    text=crons(),
    zone=_ZONE,
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_cron_fire_times_increase_and_each_matches_the_expression(
    text: str, zone: str, start: datetime
) -> None:
    expression = parse(text)
    assert isinstance(expression, Cron)
    tz = ZoneInfo(zone)
    matches = matcher(expression, tz)
    after = start.replace(tzinfo=UTC)
    times = fire_times(expression, after, tz, count=5)
    previous = after
    for fire in times:
        assert fire > previous
        assert matches(fire), (text, zone, fire.astimezone(tz))
        previous = fire


@settings(max_examples=60, deadline=None)
@given(
    text=crons(),
    zone=_ZONE,
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_cron_skips_no_matching_minute(text: str, zone: str, start: datetime) -> None:
    """Between ``after`` and the next fire time no instant on a whole minute matches."""
    expression = parse(text)
    assert isinstance(expression, Cron)
    tz = ZoneInfo(zone)
    matches = matcher(expression, tz)
    after = start.replace(second=0, microsecond=0, tzinfo=UTC)
    fire = next_fire(expression, after, tz)
    assume(fire is not None)  # cron(* * 31 FEB ? *) never fires
    assert fire is not None
    probe = after + timedelta(minutes=1)
    for _ in range(min(int((fire - after).total_seconds() // 60) - 1, 3000)):
        assert not matches(probe)
        probe += timedelta(minutes=1)


@given(
    value=st.integers(1, 10_000),
    unit=st.sampled_from(["minute", "hour", "day"]),
    start=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2190, 1, 1)),
)
def test_rate_ticks_are_whole_periods_after_the_epoch(
    value: int, unit: str, start: datetime
) -> None:
    expression = parse(f"rate({value} {unit}{'s' if value > 1 else ''})")
    assert isinstance(expression, Rate)
    after = start.replace(tzinfo=UTC)
    fire = next_fire(expression, after)
    if fire is None:  # the next tick would be past 2199
        assert after + timedelta(seconds=expression.seconds) >= datetime(2200, 1, 1, tzinfo=UTC)
        return
    assert after < fire <= after + timedelta(seconds=expression.seconds)
    assert fire.timestamp() % expression.seconds == 0


_PIECES = st.sampled_from(
    ["*", "?", "L", "W", "LW", "#", "/", "-", ",", "0", "1", "5", "7", "31", "60", "2199",
     "MON", "jan", "6L", "15W", "3#2", "0/15", "x", ""]
)  # fmt: skip
_FIELD = st.lists(_PIECES, max_size=4).map("".join)


@given(
    text=st.text(max_size=60)
    | st.lists(_FIELD, min_size=5, max_size=7).map(lambda f: f"cron({' '.join(f)})")
    | st.builds(
        "rate({} {})".format,
        st.integers(-2, 10**30),
        st.sampled_from(["minute", "minutes", "hours", "day", "days"]) | st.text(max_size=8),
    )
    | st.datetimes().map(lambda d: f"at({d:%Y-%m-%dT%H:%M:%S})")
)
def test_any_text_parses_or_is_refused_with_the_documented_error(text: str) -> None:
    with contextlib.suppress(ScheduleExpressionError):
        expression = parse(text)
        # whatever parses has a computable next time (or none)
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York"):
            next_fire(expression, utc(2026, 1, 1), ZoneInfo(zone))


def test_the_repeated_hour_after_its_first_pass_fires_the_next_day() -> None:
    """After 01:30 EDT has fired, the second 01:30 (EST) an hour later does not."""
    expression = parse("cron(30 1 * * ? *)")
    assert next_fire(expression, utc(2026, 11, 1, 5, 30), NEW_YORK) == utc(2026, 11, 2, 6, 30)
    # from inside the repeated hour, second pass (01:10 EST): next is the next day too
    assert next_fire(expression, utc(2026, 11, 1, 6, 10), NEW_YORK) == utc(2026, 11, 2, 6, 30)
