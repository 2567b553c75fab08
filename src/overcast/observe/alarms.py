"""CloudWatch-style metric alarms, evaluated purely from datapoints and a clock.

Theory of operation
-------------------
An alarm looks at the last ``evaluation_periods`` (N) *complete* periods before
``now``; each period's samples are reduced by the alarm's statistic to one datapoint,
which is breaching or not by the comparison against the threshold. The alarm goes to
ALARM when at least ``datapoints_to_alarm`` (M) of the N are breaching ("M out of N"),
else OK. Periods with no samples are *missing* and handled by ``treat_missing_data``,
following https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html
(read 2026-11-27):

- ``notBreaching``: a missing datapoint counts as good.
- ``breaching``: a missing datapoint counts as bad.
- ``missing`` (the default): missing datapoints are left out; CloudWatch then takes
  the most recent N *present* datapoints from a wider evaluation range. If every
  datapoint in the range is missing the alarm goes to INSUFFICIENT_DATA.
- ``ignore``: as ``missing``, except that an all-missing range keeps the current state.

Evaluation yields one :class:`Outcome`; the next state is a lookup in ``_NEXT`` below,
so the whole state machine is the table, not the branches.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from overcast.observe.errors import InvalidAlarmError

__all__ = [
    "AlarmSpec",
    "AlarmState",
    "ComparisonOperator",
    "Outcome",
    "Statistic",
    "Transition",
    "TreatMissingData",
    "evaluate",
    "reduce_samples",
    "step",
]


class AlarmState(StrEnum):
    """CloudWatch's three alarm states (StateValue)."""

    OK = "OK"
    ALARM = "ALARM"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class Statistic(StrEnum):
    """The statistics CloudWatch reduces one period's samples with."""

    SUM = "Sum"
    AVERAGE = "Average"
    MAXIMUM = "Maximum"
    MINIMUM = "Minimum"
    SAMPLE_COUNT = "SampleCount"


class ComparisonOperator(StrEnum):
    """CloudWatch's static-threshold ComparisonOperator values."""

    GREATER_THAN_OR_EQUAL = "GreaterThanOrEqualToThreshold"
    GREATER_THAN = "GreaterThanThreshold"
    LESS_THAN = "LessThanThreshold"
    LESS_THAN_OR_EQUAL = "LessThanOrEqualToThreshold"

    def breaches(self, value: float, threshold: float) -> bool:
        """Whether ``value`` is on the alarming side of ``threshold``."""
        if self is ComparisonOperator.GREATER_THAN_OR_EQUAL:
            return value >= threshold
        if self is ComparisonOperator.GREATER_THAN:
            return value > threshold
        if self is ComparisonOperator.LESS_THAN:
            return value < threshold
        return value <= threshold


class TreatMissingData(StrEnum):
    """CloudWatch's TreatMissingData values."""

    MISSING = "missing"
    NOT_BREACHING = "notBreaching"
    BREACHING = "breaching"
    IGNORE = "ignore"


class Outcome(StrEnum):
    """What one evaluation concluded, before the current state is consulted."""

    BREACHING = "breaching"
    NOT_BREACHING = "not_breaching"
    NO_DATA = "no_data"
    NO_DATA_KEEP = "no_data_keep"


# (current state, outcome) -> next state. NO_DATA_KEEP is ``ignore`` on an empty range.
_NEXT: Mapping[tuple[AlarmState, Outcome], AlarmState] = {
    (state, outcome): nxt
    for state in AlarmState
    for outcome, nxt in (
        (Outcome.BREACHING, AlarmState.ALARM),
        (Outcome.NOT_BREACHING, AlarmState.OK),
        (Outcome.NO_DATA, AlarmState.INSUFFICIENT_DATA),
        (Outcome.NO_DATA_KEEP, state),
    )
}


@dataclass(frozen=True, slots=True)
class AlarmSpec:
    """One alarm on one metric series, shaped like ``AWS::CloudWatch::Alarm``.

    ``evaluation_range`` is how many periods back ``missing``/``ignore`` may look for
    N present datapoints; CloudWatch picks it itself, so it defaults to N + 2 here.
    """

    name: str
    metric: str
    statistic: Statistic
    period_seconds: int
    evaluation_periods: int
    threshold: float
    comparison: ComparisonOperator
    datapoints_to_alarm: int | None = None
    treat_missing_data: TreatMissingData = TreatMissingData.MISSING
    evaluation_range: int | None = None

    def __post_init__(self) -> None:
        if self.period_seconds <= 0:
            raise InvalidAlarmError(f"alarm {self.name}: Period must be positive")
        if self.evaluation_periods < 1:
            raise InvalidAlarmError(f"alarm {self.name}: EvaluationPeriods must be >= 1")
        if not 1 <= self.m <= self.evaluation_periods:
            raise InvalidAlarmError(
                f"alarm {self.name}: DatapointsToAlarm {self.m} must be between 1 and "
                f"EvaluationPeriods {self.evaluation_periods}"
            )
        if self.range_periods < self.evaluation_periods:
            raise InvalidAlarmError(f"alarm {self.name}: evaluation_range is shorter than N")

    @property
    def m(self) -> int:
        """DatapointsToAlarm, which defaults to EvaluationPeriods in CloudWatch."""
        return (
            self.evaluation_periods
            if self.datapoints_to_alarm is None
            else (self.datapoints_to_alarm)
        )

    @property
    def range_periods(self) -> int:
        """How many complete periods the evaluation may look back over."""
        if self.evaluation_range is None:
            return self.evaluation_periods + 2
        return self.evaluation_range


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change, ready for a notifier: from, to, when and why."""

    alarm: str
    previous: AlarmState
    current: AlarmState
    at: float
    reason: str


def reduce_samples(statistic: Statistic, samples: Sequence[float]) -> float | None:
    """One period's datapoint, or None when the period has no samples (missing)."""
    if not samples:
        return None
    if statistic is Statistic.SUM:
        return math.fsum(samples)
    if statistic is Statistic.AVERAGE:
        return statistics.fmean(samples)
    if statistic is Statistic.MAXIMUM:
        return max(samples)
    if statistic is Statistic.MINIMUM:
        return min(samples)
    return float(len(samples))


def _period_starts(alarm: AlarmSpec, now: float, count: int) -> list[int]:
    """Starts of the ``count`` most recent complete periods, newest first."""
    period = alarm.period_seconds
    current = int(now // period) * period  # still open, never evaluated
    return [current - period * k for k in range(1, count + 1)]


def _outcome(
    alarm: AlarmSpec, datapoints_by_period: Mapping[int, Sequence[float]], now: float
) -> tuple[Outcome, str]:
    values = [
        reduce_samples(alarm.statistic, datapoints_by_period.get(start, ()))
        for start in _period_starts(alarm, now, alarm.range_periods)
    ]
    treat = alarm.treat_missing_data
    if treat in (TreatMissingData.BREACHING, TreatMissingData.NOT_BREACHING):
        window = values[: alarm.evaluation_periods]
        breaches = sum(
            (treat is TreatMissingData.BREACHING)
            if v is None
            else alarm.comparison.breaches(v, alarm.threshold)
            for v in window
        )
    else:
        present = [v for v in values if v is not None][: alarm.evaluation_periods]
        if not present:
            if treat is TreatMissingData.IGNORE:
                return Outcome.NO_DATA_KEEP, "no datapoints; state kept (ignore)"
            return Outcome.NO_DATA, f"no datapoints in the last {alarm.range_periods} periods"
        breaches = sum(alarm.comparison.breaches(v, alarm.threshold) for v in present)
    what = f"{breaches} of {alarm.m} datapoints needed were {alarm.comparison} {alarm.threshold}"
    if breaches >= alarm.m:
        return Outcome.BREACHING, what
    return Outcome.NOT_BREACHING, what


def evaluate(
    alarm: AlarmSpec,
    datapoints_by_period: Mapping[int, Sequence[float]],
    now: float,
    current: AlarmState = AlarmState.INSUFFICIENT_DATA,
) -> AlarmState:
    """The alarm's state at ``now``.

    ``datapoints_by_period`` maps a period's start (epoch seconds, a multiple of the
    period) to that period's raw samples. ``current`` matters only for ``ignore``.
    """
    outcome, _ = _outcome(alarm, datapoints_by_period, now)
    return _NEXT[current, outcome]


def step(
    alarm: AlarmSpec,
    datapoints_by_period: Mapping[int, Sequence[float]],
    now: float,
    current: AlarmState,
) -> tuple[AlarmState, Transition | None]:
    """Evaluate and also return a :class:`Transition` when the state changes."""
    outcome, reason = _outcome(alarm, datapoints_by_period, now)
    nxt = _NEXT[current, outcome]
    if nxt is current:
        return nxt, None
    return nxt, Transition(alarm.name, current, nxt, now, reason)
