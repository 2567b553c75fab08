from collections.abc import Sequence

import pytest

from overcast.observe.alarms import (
    AlarmSpec,
    AlarmState,
    ComparisonOperator,
    Statistic,
    TreatMissingData,
    evaluate,
    reduce_samples,
    step,
)
from overcast.observe.errors import InvalidAlarmError

NOW = 10 * 60 + 30  # half-way through period 600..660, which is still open


def alarm(
    treat: TreatMissingData = TreatMissingData.MISSING,
    m: int = 3,
    n: int = 3,
    statistic: Statistic = Statistic.SUM,
) -> AlarmSpec:
    return AlarmSpec(
        name="errors",
        metric="Errors",
        statistic=statistic,
        period_seconds=60,
        evaluation_periods=n,
        threshold=5,
        comparison=ComparisonOperator.GREATER_THAN,
        datapoints_to_alarm=m,
        treat_missing_data=treat,
    )


def points(*values: float | None) -> dict[int, Sequence[float]]:
    """Newest complete period first: 540, 480, 420, ...; None is a missing period."""
    return {540 - 60 * i: [v] for i, v in enumerate(values) if v is not None}


@pytest.mark.parametrize(
    ("stat", "expected"),
    [
        (Statistic.SUM, 6.0),
        (Statistic.AVERAGE, 2.0),
        (Statistic.MAXIMUM, 3.0),
        (Statistic.MINIMUM, 1.0),
        (Statistic.SAMPLE_COUNT, 3.0),
    ],
)
def test_each_statistic_reduces_a_period(stat: Statistic, expected: float) -> None:
    assert reduce_samples(stat, [1, 2, 3]) == expected


def test_empty_period_is_missing_not_zero() -> None:
    assert reduce_samples(Statistic.SUM, []) is None


def test_all_breaching_goes_to_alarm() -> None:
    assert evaluate(alarm(), points(9, 9, 9), NOW) is AlarmState.ALARM


def test_fewer_than_m_breaching_is_ok() -> None:
    assert evaluate(alarm(m=2), points(9, 1, 1), NOW) is AlarmState.OK


def test_m_of_n_breaching_is_alarm() -> None:
    assert evaluate(alarm(m=2), points(9, 1, 9), NOW) is AlarmState.ALARM


def test_open_period_is_not_evaluated() -> None:
    data = {600: [100.0], **points(1, 1, 1)}
    assert evaluate(alarm(m=1), data, NOW) is AlarmState.OK


def test_threshold_equal_does_not_breach_greater_than() -> None:
    assert evaluate(alarm(m=1), points(5, 5, 5), NOW) is AlarmState.OK


def test_missing_with_no_data_is_insufficient_data() -> None:
    assert evaluate(alarm(), {}, NOW, AlarmState.ALARM) is AlarmState.INSUFFICIENT_DATA


def test_ignore_with_no_data_keeps_the_current_state() -> None:
    spec = alarm(TreatMissingData.IGNORE)
    assert evaluate(spec, {}, NOW, AlarmState.ALARM) is AlarmState.ALARM
    assert evaluate(spec, {}, NOW, AlarmState.OK) is AlarmState.OK


def test_breaching_treats_a_gap_as_bad() -> None:
    assert evaluate(alarm(TreatMissingData.BREACHING), points(9, None, 9), NOW) is (
        AlarmState.ALARM
    )


def test_not_breaching_treats_a_gap_as_good() -> None:
    spec = alarm(TreatMissingData.NOT_BREACHING)
    assert evaluate(spec, points(9, None, 9), NOW) is AlarmState.OK
    assert evaluate(spec, {}, NOW) is AlarmState.OK


def test_missing_looks_back_past_a_gap_for_n_datapoints() -> None:
    # Range is N + 2 = 5 periods; the 3 present datapoints all breach.
    assert evaluate(alarm(), points(9, None, 9, None, 9), NOW) is AlarmState.ALARM


def test_missing_does_not_look_beyond_the_evaluation_range() -> None:
    assert evaluate(alarm(), points(None, None, None, None, None, 9), NOW) is (
        AlarmState.INSUFFICIENT_DATA
    )


def test_step_reports_a_transition_only_on_change() -> None:
    state, transition = step(alarm(), points(9, 9, 9), NOW, AlarmState.OK)
    assert state is AlarmState.ALARM
    assert transition is not None
    assert (transition.previous, transition.current, transition.at) == (
        AlarmState.OK,
        AlarmState.ALARM,
        NOW,
    )
    assert step(alarm(), points(9, 9, 9), NOW, AlarmState.ALARM) == (AlarmState.ALARM, None)


def test_datapoints_to_alarm_above_evaluation_periods_is_refused() -> None:
    with pytest.raises(InvalidAlarmError):
        alarm(m=4, n=3)
