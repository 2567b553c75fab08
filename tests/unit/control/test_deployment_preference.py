"""DeploymentPreference parsing, weights over time and schedules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from samtranslator.model.preferences.deployment_preference_collection import (
    CODEDEPLOY_PREDEFINED_CONFIGURATIONS_LIST,
)

from overcast.control.deployment_preference import (
    PREDEFINED_TYPES,
    DeploymentPreferenceError,
    ShiftKind,
    parse_preference,
    parse_type,
    schedule,
    shift_duration,
    weight_at,
)


def test_predefined_types_match_samtranslators_list() -> None:
    assert set(PREDEFINED_TYPES) == set(CODEDEPLOY_PREDEFINED_CONFIGURATIONS_LIST)


def test_canary_ten_percent_five_minutes_shifts_rest_after_five_minutes() -> None:
    pref = parse_preference({"Type": "Canary10Percent5Minutes"})
    assert weight_at(pref, 1000.0, 1000.0) == 0.1
    assert weight_at(pref, 1000.0, 1000.0 + 299.9) == 0.1
    assert weight_at(pref, 1000.0, 1000.0 + 300.0) == 1.0
    assert schedule(pref) == [(0.0, 0.1), (300.0, 1.0)]
    assert shift_duration(pref) == 300.0


def test_linear_ten_percent_every_minute_reaches_all_traffic_at_nine_minutes() -> None:
    pref = parse_preference({"Type": "Linear10PercentEvery1Minute"})
    steps = schedule(pref)
    assert len(steps) == 10
    assert steps[0] == (0.0, 0.1)
    assert steps[4] == (240.0, 0.5)
    assert steps[-1] == (540.0, 1.0)
    assert weight_at(pref, 0.0, 59.0) == 0.1
    assert weight_at(pref, 0.0, 60.0) == 0.2
    assert weight_at(pref, 0.0, 539.0) == 0.9
    assert weight_at(pref, 0.0, 10_000.0) == 1.0


@pytest.mark.parametrize(
    ("name", "interval"),
    [
        ("Canary10Percent10Minutes", 600.0),
        ("Canary10Percent15Minutes", 900.0),
        ("Canary10Percent30Minutes", 1800.0),
        ("Linear10PercentEvery2Minutes", 120.0),
        ("Linear10PercentEvery3Minutes", 180.0),
        ("Linear10PercentEvery10Minutes", 600.0),
    ],
)
def test_predefined_type_intervals_follow_their_names(name: str, interval: float) -> None:
    shift = parse_type(name)
    assert shift.percentage == 10
    assert shift.interval_s == interval


def test_all_at_once_is_done_immediately() -> None:
    pref = parse_preference({"Type": "AllAtOnce"})
    assert weight_at(pref, 5.0, 5.0) == 1.0
    assert schedule(pref) == [(0.0, 1.0)]
    assert shift_duration(pref) == 0.0


def test_overcast_short_canary_type() -> None:
    pref = parse_preference({"Type": "overcast:Canary50PercentSeconds2"})
    assert pref.shift.kind is ShiftKind.CANARY
    assert schedule(pref) == [(0.0, 0.5), (2.0, 1.0)]


def test_overcast_short_linear_type_with_uneven_percentage_caps_at_one() -> None:
    pref = parse_preference({"Type": "overcast:Linear30PercentEverySeconds1"})
    assert schedule(pref) == [(0.0, 0.3), (1.0, 0.6), (2.0, 0.9), (3.0, 1.0)]


def test_overcast_all_at_once_alias() -> None:
    assert parse_type("overcast:AllAtOnce").kind is ShiftKind.ALL_AT_ONCE


@pytest.mark.parametrize(
    "name",
    [
        "Canary20Percent5Minutes",
        "overcast:Canary0PercentSeconds2",
        "overcast:Canary101PercentSeconds2",
        "overcast:Linear10PercentEverySeconds0",
        "overcast:Bogus",
        "allatonce",
    ],
)
def test_unknown_or_out_of_range_types_are_refused(name: str) -> None:
    with pytest.raises(DeploymentPreferenceError):
        parse_type(name)


def test_missing_type_is_refused_with_a_hint() -> None:
    with pytest.raises(DeploymentPreferenceError) as info:
        parse_preference({"Enabled": True})
    assert "Type" in info.value.message
    assert info.value.hint


def test_type_that_is_still_an_intrinsic_is_refused() -> None:
    with pytest.raises(DeploymentPreferenceError):
        parse_preference({"Type": {"Ref": "DeployType"}})


def test_alarms_accept_names_and_refs() -> None:
    pref = parse_preference(
        {"Type": "AllAtOnce", "Alarms": ["ErrorsAlarm", {"Ref": "LatencyAlarm"}]}
    )
    assert pref.alarms == ("ErrorsAlarm", "LatencyAlarm")


def test_alarm_with_other_intrinsic_is_refused() -> None:
    with pytest.raises(DeploymentPreferenceError):
        parse_preference({"Type": "AllAtOnce", "Alarms": [{"Fn::GetAtt": ["A", "Arn"]}]})


def test_hooks_are_ignored_with_a_warning() -> None:
    pref = parse_preference(
        {"Type": "Canary10Percent5Minutes", "Hooks": {"PreTraffic": {"Ref": "PreHook"}}}
    )
    assert any("Hooks" in w.message for w in pref.warnings)
    assert pref.shift.kind is ShiftKind.CANARY


def test_no_warnings_for_a_plain_preference() -> None:
    assert parse_preference({"Type": "Canary10Percent5Minutes"}).warnings == ()


@pytest.mark.parametrize("enabled", [False, "false", "False"])
def test_disabled_preference_shifts_all_at_once(enabled: object) -> None:
    pref = parse_preference({"Type": "Linear10PercentEvery10Minutes", "Enabled": enabled})
    assert pref.enabled is False
    assert weight_at(pref, 0.0, 0.0) == 1.0
    assert pref.type == "Linear10PercentEvery10Minutes"


def test_enabled_must_be_boolean() -> None:
    with pytest.raises(DeploymentPreferenceError):
        parse_preference({"Type": "AllAtOnce", "Enabled": "maybe"})


def test_time_before_start_counts_as_start() -> None:
    pref = parse_preference({"Type": "Canary10Percent5Minutes"})
    assert weight_at(pref, 100.0, 50.0) == 0.1


@given(
    name=st.sampled_from(
        [
            *PREDEFINED_TYPES,
            "overcast:Canary50PercentSeconds2",
            "overcast:Linear7PercentEverySeconds3",
        ]
    ),
    a=st.floats(min_value=0, max_value=10_000),
    b=st.floats(min_value=0, max_value=10_000),
)
def test_weight_never_decreases_and_matches_schedule(name: str, a: float, b: float) -> None:
    pref = parse_preference({"Type": name})
    early, late = sorted((a, b))
    assert 0.0 < weight_at(pref, 0.0, early) <= weight_at(pref, 0.0, late) <= 1.0
    steps = schedule(pref)
    expected = [w for offset, w in steps if offset <= late][-1]
    assert weight_at(pref, 0.0, late) == expected
    assert weight_at(pref, 0.0, shift_duration(pref)) == 1.0
