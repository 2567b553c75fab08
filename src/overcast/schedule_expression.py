"""AWS schedule expressions: ``rate(...)``, six-field ``cron(...)`` and ``at(...)``; pure.

A neutral module (like ``ids``): the template validates expressions with it at load,
the events package computes fire times with it.

Written here rather than taken from a library: croniter and its kin speak Unix's
five-field dialect (day-of-week 0-6 from Sunday, no ``?``/``W``/``#`` rules as AWS
reads them, no year field), and the AWS-specific packages in the registries here only
validate or are unmaintained. The dialect, as documented in "Cron expressions
reference" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-cron-expressions.html)
and EventBridge Scheduler's "Schedule types"
(https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html):

- fields ``minutes hours day-of-month month day-of-week year``; minutes 0-59,
  hours 0-23, day-of-month 1-31, month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT
  (1 is Sunday), year 1970-2199;
- ``, - * /`` everywhere but day-of-week, which takes ``, - * ? L #``; day-of-month
  also takes ``? L W``; exactly one of day-of-month and day-of-week is ``?``;
- ``L`` is the month's last day (day-of-month) or Saturday (day-of-week alone);
  ``5L`` the month's last Thursday; ``15W`` the weekday nearest the 15th, never
  leaving the month; ``LW`` the last weekday; ``3#2`` the second Tuesday;
- ``rate(value unit)``: value a positive whole number, unit ``minute``/``hour``/``day``
  when value is 1, ``minutes``/``hours``/``days`` otherwise;
- ``at(yyyy-mm-ddThh:mm:ss)``: one time, in the schedule's time zone.

Time zones and daylight saving, as EventBridge Scheduler does it: a cron time that
does not exist (clocks go forward) is skipped; one that exists twice (clocks go
back) fires once, at its first occurrence. A rate is a fixed duration (a day is
24 hours), counted from ``anchor`` (the schedule's StartDate, else the Unix epoch:
every node then agrees on the ticks).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Final

from overcast.errors import OvercastError

#: the first and last years AWS's cron accepts
MIN_YEAR, MAX_YEAR = 1970, 2199

_MONTHS: Final = {m: i for i, m in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1
)}  # fmt: skip
_DAYS: Final = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
_RATE_UNITS: Final = {"minute": 60, "hour": 3600, "day": 86_400}
_RATE = re.compile(r"rate\((\d+) ([a-z]+)\)\Z")
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)\Z")
_CRON = re.compile(r"cron\(([^()]*)\)\Z")


class ScheduleExpressionError(OvercastError):
    """A schedule expression AWS would refuse."""


@dataclass(frozen=True, slots=True)
class Rate:
    """``rate(value unit)``: every ``seconds``."""

    seconds: int


@dataclass(frozen=True, slots=True)
class At:
    """``at(...)``: once, at this wall-clock time (naive: in the schedule's time zone)."""

    when: datetime


@dataclass(frozen=True, slots=True)
class DayRule:
    """Which days of a month match: the day-of-month field, or the day-of-week field."""

    #: day-of-month numbers, or day-of-week numbers (1 = Sunday) for a weekday rule
    values: frozenset[int] = frozenset()
    last_day: bool = False  # L (day-of-month)
    last_weekday_of_month: bool = False  # LW
    nearest_weekday: frozenset[int] = frozenset()  # 15W
    last_of: frozenset[int] = frozenset()  # 5L: last Thursday
    nth: frozenset[tuple[int, int]] = frozenset()  # 3#2: (Tuesday, second)
    weekday: bool = False  # a day-of-week rule (values are weekdays)

    def matches(self, day: date) -> bool:
        aws_weekday = _aws_weekday(day)
        if self.weekday:
            if aws_weekday in self.values:
                return True
            if aws_weekday in self.last_of and day.day + 7 > _month_days(day):
                return True
            return (aws_weekday, (day.day - 1) // 7 + 1) in self.nth
        last = _month_days(day)
        if day.day in self.values or (self.last_day and day.day == last):
            return True
        if self.last_weekday_of_month and day.day == _nearest_weekday(day, last):
            return True
        return any(n <= last and day.day == _nearest_weekday(day, n) for n in self.nearest_weekday)


@dataclass(frozen=True, slots=True)
class Cron:
    """``cron(...)``: the fields' allowed values; ``days`` is whichever day field is not ``?``."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: DayRule
    months: frozenset[int]
    years: frozenset[int]


ScheduleExpression = Rate | Cron | At


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday (Python's Monday is 0)."""
    return (day.weekday() + 1) % 7 + 1


def _month_days(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, n: int) -> int:
    """The day of ``day``'s month that is the weekday nearest the ``n``-th (``nW``)."""
    last = _month_days(day)
    weekday = date(day.year, day.month, n).weekday()  # Monday 0 ... Sunday 6
    if weekday == 5:  # Saturday: the Friday before, unless that leaves the month
        return n - 1 if n > 1 else n + 2
    if weekday == 6:  # Sunday: the Monday after, unless that leaves the month
        return n + 1 if n < last else n - 2
    return n


# -- parsing -----------------------------------------------------------------------


def parse(text: str) -> ScheduleExpression:
    """The expression ``text`` means; :class:`ScheduleExpressionError` if AWS would refuse it."""
    stripped = text.strip()
    if stripped.startswith("rate("):
        return _parse_rate(stripped)
    if stripped.startswith("cron("):
        return _parse_cron(stripped)
    if stripped.startswith("at("):
        return _parse_at(stripped)
    raise ScheduleExpressionError(
        f"Parameter ScheduleExpression is not valid: {text!r}",
        hint="write rate(5 minutes), cron(0 12 * * ? *) or at(2030-01-01T09:00:00)",
    )


def _parse_rate(text: str) -> Rate:
    match = _RATE.match(text)
    if match is None:
        raise ScheduleExpressionError(
            f"Parameter ScheduleExpression is not valid: {text!r}",
            hint="a rate is rate(value unit), e.g. rate(1 hour) or rate(5 minutes)",
        )
    value, unit = int(match.group(1)), match.group(2)
    singular = unit[:-1] if unit.endswith("s") else unit
    if value < 1 or singular not in _RATE_UNITS:
        raise ScheduleExpressionError(
            f"Parameter ScheduleExpression is not valid: {text!r}",
            hint="the value is a whole number of at least 1; the unit minute(s), hour(s) or day(s)",
        )
    if (value == 1) != (unit == singular):
        # AWS: "If the value is equal to 1, then the unit must be singular ... if the
        # value is greater than 1, the unit must be plural."
        raise ScheduleExpressionError(
            f"Parameter ScheduleExpression is not valid: {text!r}",
            hint=f"write rate({value} {singular if value == 1 else singular + 's'})",
        )
    return Rate(value * _RATE_UNITS[singular])


def _parse_at(text: str) -> At:
    match = _AT.match(text)
    if match is None:
        raise ScheduleExpressionError(
            f"Parameter ScheduleExpression is not valid: {text!r}",
            hint="a one-time schedule is at(yyyy-mm-ddThh:mm:ss)",
        )
    try:
        y, mo, d, h, mi, sec = (int(g) for g in match.groups())
        if not MIN_YEAR <= y <= MAX_YEAR:
            # cron's own year bounds: also keeps every time zone's UTC in range
            raise ValueError(f"year must be in {MIN_YEAR}..{MAX_YEAR}")
        when = datetime(y, mo, d, h, mi, sec)
    except ValueError as exc:
        raise ScheduleExpressionError(
            f"Parameter ScheduleExpression is not valid: {text!r} ({exc})"
        ) from None
    return At(when)


def _invalid(text: str, why: str) -> ScheduleExpressionError:
    return ScheduleExpressionError(f"Parameter ScheduleExpression is not valid: {text!r}: {why}")


def _number(
    token: str, names: dict[str, int], bounds: tuple[int, int], what: str, text: str
) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not token.isdigit():
        raise _invalid(text, f"{what} value {token!r} is not a number")
    value = int(token)
    low, high = bounds
    if not low <= value <= high:
        raise _invalid(text, f"{what} value {value} is outside {low}-{high}")
    return value


def _field(
    field: str, bounds: tuple[int, int], what: str, text: str, names: dict[str, int] | None = None,
    *, slash: bool = True,
) -> frozenset[int]:  # fmt: skip
    """A field of ``, - * /`` over ``bounds``."""
    names = names or {}
    low, high = bounds
    values: set[int] = set()
    for item in field.split(","):
        step = 1
        part = item
        stepped = "/" in item
        if stepped:
            if not slash:
                raise _invalid(text, f"{what} does not take '/'")
            part, _, step_text = item.partition("/")
            if not step_text.isdigit() or int(step_text) < 1:
                raise _invalid(text, f"{what} increment {step_text!r} is not a positive number")
            step = int(step_text)
        if part == "*":
            start, end = low, high
        elif "-" in part:
            first, _, last = part.partition("-")
            start = _number(first, names, bounds, what, text)
            end = _number(last, names, bounds, what, text)
            if end < start:
                raise _invalid(text, f"{what} range {part!r} runs backwards")
        elif part:
            start = _number(part, names, bounds, what, text)
            # "1/10": from 1, every tenth, to the field's end
            end = high if stepped else start
        else:
            raise _invalid(text, f"{what} has an empty value")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _day_of_month(field: str, text: str) -> DayRule:
    values: set[int] = set()
    nearest: set[int] = set()
    last = last_weekday = False
    plain: list[str] = []
    for part in field.split(","):
        upper = part.upper()
        if upper == "L":
            last = True
        elif upper == "LW":
            last_weekday = True
        elif upper.endswith("W"):
            nearest.add(_number(upper[:-1], {}, (1, 31), "day-of-month", text))
        else:
            plain.append(part)
    if plain:
        values.update(_field(",".join(plain), (1, 31), "day-of-month", text))
    return DayRule(frozenset(values), last, last_weekday, frozenset(nearest))


def _day_of_week(field: str, text: str) -> DayRule:
    values: set[int] = set()
    last_of: set[int] = set()
    nth: set[tuple[int, int]] = set()
    plain: list[str] = []
    for part in field.split(","):
        upper = part.upper()
        if upper == "L":
            values.add(7)  # L alone in day-of-week: the week's last day, Saturday
        elif "#" in upper:
            day_text, _, which = upper.partition("#")
            day = _number(day_text, _DAYS, (1, 7), "day-of-week", text)
            if not which.isdigit() or not 1 <= int(which) <= 5:
                raise _invalid(text, f"day-of-week {part!r}: the week after '#' must be 1-5")
            nth.add((day, int(which)))
        elif upper.endswith("L"):
            last_of.add(_number(upper[:-1], _DAYS, (1, 7), "day-of-week", text))
        else:
            plain.append(part)
    if plain:
        values.update(_field(",".join(plain), (1, 7), "day-of-week", text, _DAYS, slash=False))
    return DayRule(frozenset(values), last_of=frozenset(last_of), nth=frozenset(nth), weekday=True)


def _parse_cron(text: str) -> Cron:
    match = _CRON.match(text)
    fields = match.group(1).split() if match is not None else []
    if len(fields) != 6:
        raise ScheduleExpressionError(
            f"Parameter ScheduleExpression is not valid: {text!r}",
            hint="cron takes six fields: minutes hours day-of-month month day-of-week year",
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise _invalid(text, "exactly one of day-of-month and day-of-week must be '?'")
    days = _day_of_week(dow, text) if dom == "?" else _day_of_month(dom, text)
    return Cron(
        minutes=tuple(sorted(_field(minutes, (0, 59), "minutes", text))),
        hours=tuple(sorted(_field(hours, (0, 23), "hours", text))),
        days=days,
        months=_field(month, (1, 12), "month", text, _MONTHS),
        years=_field(year, (MIN_YEAR, MAX_YEAR), "year", text),
    )


# -- fire times --------------------------------------------------------------------


def _local(wall: datetime, tz: tzinfo) -> datetime | None:
    """``wall`` in ``tz`` (its first occurrence), or None when that wall time never happens."""
    aware = wall.replace(tzinfo=tz, fold=0)
    back = aware.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None) != wall:
        return None  # in the gap when clocks go forward: Scheduler skips it
    return aware


def next_fire(
    expression: ScheduleExpression,
    after: datetime,
    tz: tzinfo = UTC,
    *,
    anchor: datetime | None = None,
    rate_scale: float = 1.0,
) -> datetime | None:
    """The first fire time strictly after ``after`` (aware), in UTC; None if there is none.

    ``rate_scale`` shrinks a rate's period (tests, demos); cron and at are unaffected.
    """
    if isinstance(expression, Rate):
        return _next_rate(expression, after, anchor, rate_scale)
    if isinstance(expression, At):
        fire = _local(expression.when, tz)
        return fire.astimezone(UTC) if fire is not None and fire > after else None
    return _next_cron(expression, after, tz)


#: past the last year a cron may name, nothing fires (and datetimes end soon after)
_END = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC).timestamp()


def _next_rate(
    rate: Rate, after: datetime, anchor: datetime | None, scale: float
) -> datetime | None:
    start = (anchor or datetime(1970, 1, 1, tzinfo=UTC)).timestamp()
    period = rate.seconds * scale
    now = after.timestamp()
    if now < start:
        return datetime.fromtimestamp(start, UTC)
    ticks = int((now - start) // period) + 1
    fire = start + ticks * period
    # float rounding: never answer a time at or before ``after``
    while fire <= now:
        ticks += 1
        fire = start + ticks * period
    if fire >= _END:
        return None  # rate(10000000 days): no tick in any year AWS schedules
    return datetime.fromtimestamp(fire, UTC)


def _next_cron(cron: Cron, after: datetime, tz: tzinfo) -> datetime | None:
    local = after.astimezone(tz)
    day = local.date()
    end = date(MAX_YEAR, 12, 31)
    while day <= end:
        if day.year not in cron.years:
            later = [y for y in cron.years if y > day.year]
            if not later:
                return None
            day = date(min(later), 1, 1)
            continue
        if day.month not in cron.months:
            day = _first_of_next_month(day)
            continue
        if cron.days.matches(day):
            # On the first day, wall times before ``after``'s are earlier instants too
            # (only first occurrences fire): skip them without converting each.
            first = (local.hour, local.minute) if day == local.date() else (-1, -1)
            for hour in cron.hours:
                if hour < first[0]:
                    continue
                for minute in cron.minutes:
                    if (hour, minute) < first:
                        continue
                    wall = datetime(day.year, day.month, day.day, hour, minute)
                    fire = _local(wall, tz)
                    if fire is not None and fire > after:
                        return fire.astimezone(UTC)
        day += timedelta(days=1)
    return None


def _first_of_next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def fire_times(
    expression: ScheduleExpression, after: datetime, tz: tzinfo = UTC, *, count: int,
    anchor: datetime | None = None,
) -> list[datetime]:  # fmt: skip
    """The next ``count`` fire times after ``after`` (fewer if the schedule ends)."""
    times: list[datetime] = []
    at = after
    while len(times) < count:
        fire = next_fire(expression, at, tz, anchor=anchor)
        if fire is None:
            break
        times.append(fire)
        at = fire
    return times


def matcher(expression: Cron, tz: tzinfo) -> Callable[[datetime], bool]:
    """Whether an instant is one of ``expression``'s times (for tests and checks)."""

    def matches(instant: datetime) -> bool:
        local = instant.astimezone(tz)
        return (
            local.second == 0
            and local.microsecond == 0
            and local.fold == 0
            and local.minute in expression.minutes
            and local.hour in expression.hours
            and local.month in expression.months
            and local.year in expression.years
            and expression.days.matches(local.date())
        )

    return matches
