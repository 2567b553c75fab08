"""The JSON API's shapes and numbers, checked against invocations recorded in the fake source."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.dashboard import DashboardError, MetricSeries
from overcast.dashboard.app import pick_step

from .fake_source import FakeSource, Invocation
from .helpers import Clock, Visitor


def test_overview_lists_stages_functions_numbers_and_cost(
    signed_in: Visitor, source: FakeSource, clock: Clock
) -> None:
    for duration in (10.0, 20.0, 30.0, 40.0):
        source.record("dev", "Echo", Invocation(clock.now - 30, duration))
    source.record(
        "dev", "Echo", Invocation(clock.now - 20, 500.0, error=True, cold=True, concurrency=3)
    )
    source.record("dev", "Echo", Invocation(clock.now - 7200, 1.0))  # outside the hour
    overview = signed_in.get("/dashboard/api/overview?window=3600").json()
    assert overview["window_s"] == 3600
    assert [s["name"] for s in overview["stages"]] == ["dev", "prod"]
    dev = overview["stages"][0]
    assert dev["hosts"] == ["dev.localhost"]
    assert dev["current_deployment"] == "d-AAAAAAAA2"
    assert dev["versions"] == {"Echo": 1, "Orders": 1}
    assert dev["cost"] == {
        "currency": "USD",
        "period_start": clock.now - 10 * 86400,
        "to_date": "1.2346",
        "forecast": "3.5000",
        "to_date_exact": "1.23456",
        "forecast_exact": "3.5",
    }
    echo, orders = dev["functions"]
    assert echo == {
        "name": "Echo",
        "stack": "app",
        "invocations": 5,
        "errors": 1,
        "throttles": 0,
        "cold_starts": 1,
        "p50_ms": 30.0,
        "p99_ms": 500.0,
        "peak_concurrency": 3,
    }
    assert orders["invocations"] == 0
    assert orders["p50_ms"] is None


def test_metrics_bucket_invocations_over_the_window(
    signed_in: Visitor, source: FakeSource, clock: Clock
) -> None:
    clock.now = 1_800_000_005.0  # 5 s into a 10 s bucket
    source.record("dev", "Echo", Invocation(clock.now - 1, 8.0))
    source.record("dev", "Echo", Invocation(clock.now - 2, 12.0, error=True))
    source.record("dev", "Echo", Invocation(clock.now - 15, 100.0, cold=True, concurrency=2))
    series = signed_in.get("/dashboard/api/stages/dev/functions/Echo/metrics?window=900").json()
    assert set(series) == {
        "generated", "window_s", "since", "until", "stage", "function", "step_s", "timestamps",
        "invocations", "errors", "p50_ms", "p99_ms", "cold_starts", "concurrency", "totals",
    }  # fmt: skip
    assert (series["stage"], series["function"], series["step_s"]) == ("dev", "Echo", 10)
    assert series["until"] == 1_800_000_010.0  # the bucket holding "now" is the last one
    n = len(series["timestamps"])
    assert n == (series["until"] - series["since"]) / 10
    assert all(
        b - a == 10 for a, b in zip(series["timestamps"], series["timestamps"][1:], strict=False)
    )
    for column in ("invocations", "errors", "p50_ms", "p99_ms", "cold_starts", "concurrency"):
        assert len(series[column]) == n
    assert series["invocations"][-2:] == [1, 2]
    assert series["errors"][-2:] == [0, 1]
    assert series["p50_ms"][-2:] == [100.0, 8.0]
    assert series["p99_ms"][-1] == 12.0
    assert series["cold_starts"][-2:] == [1, 0]
    assert series["concurrency"][-2:] == [2, 1]
    assert series["p50_ms"][0] is None  # an empty bucket is a gap, not zero
    assert sum(series["invocations"]) == series["totals"]["invocations"] == 3


def test_metrics_window_is_clamped_and_defaulted(signed_in: Visitor, source: FakeSource) -> None:
    base = "/dashboard/api/stages/dev/functions/Echo/metrics"
    assert signed_in.get(base + "?window=1").json()["window_s"] == 60
    assert signed_in.get(base + "?window=99999999").json()["window_s"] == 31 * 86400
    assert signed_in.get(base + "?window=lots").json()["window_s"] == 900
    assert signed_in.get(base).json()["window_s"] == 900


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/api/stages/dev/functions/Missing/metrics",
        "/dashboard/api/stages/qa/functions/Echo/metrics",
        "/dashboard/api/stages/dev/functions/Missing/logs",
        "/dashboard/api/stages/qa/deployments",
        "/dashboard/api/nothing",
    ],
)
def test_unknown_names_answer_404_json(signed_in: Visitor, path: str) -> None:
    answer = signed_in.get(path)
    assert answer.status == 404
    assert "message" in answer.json()


def test_api_reads_need_get(signed_in: Visitor) -> None:
    answer = signed_in.request(
        "POST", "/dashboard/api/alarms", headers={"x-csrf-token": signed_in.csrf()}
    )
    assert answer.status == 405


def test_alarms_list_name_state_reason_and_when_it_changed(
    signed_in: Visitor, source: FakeSource, clock: Clock
) -> None:
    source.set_alarm("HighErrors", "OK", "Threshold Crossed: 0 datapoints", stage="dev",
                     description="Errors Sum > 5")  # fmt: skip
    clock.now += 60
    source.set_alarm("SpendCap", "ALARM", "estimated charges 12.3 > 10")
    alarms = signed_in.get("/dashboard/api/alarms").json()["alarms"]
    assert alarms == [
        {
            "name": "HighErrors",
            "state": "OK",
            "reason": "Threshold Crossed: 0 datapoints",
            "updated": clock.now - 60,
            "stage": "dev",
            "description": "Errors Sum > 5",
        },
        {
            "name": "SpendCap",
            "state": "ALARM",
            "reason": "estimated charges 12.3 > 10",
            "updated": clock.now,
            "stage": None,
            "description": "",
        },
    ]


def test_deployments_per_stage_newest_first_with_the_current_one_marked(
    signed_in: Visitor, clock: Clock
) -> None:
    stages = signed_in.get("/dashboard/api/deployments").json()["stages"]
    assert [s["stage"] for s in stages] == ["dev", "prod"]
    dev = stages[0]
    assert dev["current"] == "d-AAAAAAAA2"
    assert dev["can_rollback"] is True
    assert [d["id"] for d in dev["deployments"]] == ["d-AAAAAAAA2", "d-AAAAAAAA1"]
    assert dev["deployments"][0] == {
        "id": "d-AAAAAAAA2",
        "stage": "dev",
        "stack": "",
        "kind": "deploy",
        "status": "Succeeded",
        "created": clock.now - 60,
        "finished": clock.now,
        "versions": {"Echo": 1, "Orders": 1},
        "message": "second",
        "reason": "",
        "current": True,
    }
    one = signed_in.get("/dashboard/api/stages/prod/deployments").json()
    assert [d["id"] for d in one["deployments"]] == ["d-PPPPPPPP1"]


def test_stages_list(signed_in: Visitor) -> None:
    stages = signed_in.get("/dashboard/api/stages").json()["stages"]
    assert stages[1] == {
        "name": "prod",
        "hosts": ["localhost", "www.localhost"],
        "current_deployment": "d-PPPPPPPP1",
        "versions": {"Echo": 1},
    }


def test_metric_series_columns_must_match_the_timestamps() -> None:
    with pytest.raises(DashboardError, match="differ in length"):
        MetricSeries("dev", "Echo", 10, timestamps=(0.0, 10.0), invocations=(1,))


@given(st.integers(min_value=1, max_value=40 * 86400))
def test_step_gives_at_most_about_ninety_points(window: int) -> None:
    step = pick_step(window)
    assert step >= 1
    assert window / step <= 90 or step == 86400


def test_step_for_common_windows() -> None:
    assert [pick_step(w) for w in (300, 900, 3600, 86400)] == [5, 10, 60, 1800]
