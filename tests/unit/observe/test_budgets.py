"""Template ``AWS::Budgets::Budget`` Properties -> budgets, and their pure evaluation."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.observe.alarms import AlarmState
from overcast.observe.budgets import (
    BudgetComparison,
    BudgetNotification,
    BudgetSpec,
    BudgetState,
    InvalidBudgetError,
    NotificationType,
    Subscriber,
    SubscriptionType,
    ThresholdType,
    TimeUnit,
    budget_from_properties,
    budget_transitions,
    budgets_from_model,
    evaluate_budget,
    linear_forecast,
    period_bounds,
)
from overcast.template import load_template


def notification(
    kind: str = "ACTUAL",
    threshold: Any = 80,
    *,
    comparison: str = "GREATER_THAN",
    threshold_type: str | None = None,
    subscribers: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "NotificationType": kind,
        "ComparisonOperator": comparison,
        "Threshold": threshold,
    }
    if threshold_type is not None:
        body["ThresholdType"] = threshold_type
    return {
        "Notification": body,
        "Subscribers": subscribers
        if subscribers is not None
        else [{"SubscriptionType": "EMAIL", "Address": "ops@example.com"}],
    }


def budget_props(*notes: dict[str, Any], **budget: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "BudgetName": "shop-daily",
        "BudgetType": "COST",
        "TimeUnit": "DAILY",
        "BudgetLimit": {"Amount": "5", "Unit": "USD"},
    }
    data.update(budget)
    return {
        "Budget": {k: v for k, v in data.items() if v is not None},
        "NotificationsWithSubscribers": list(notes),
    }


def daily(*notes: BudgetNotification, limit: str = "5") -> BudgetSpec:
    return BudgetSpec("Daily", "shop-daily", Decimal(limit), TimeUnit.DAILY, notes)


def note(
    kind: NotificationType = NotificationType.ACTUAL,
    threshold: str = "80",
    comparison: BudgetComparison = BudgetComparison.GREATER_THAN,
    threshold_type: ThresholdType = ThresholdType.PERCENTAGE,
) -> BudgetNotification:
    return BudgetNotification(kind, comparison, Decimal(threshold), threshold_type)


# -- template properties ---------------------------------------------------------------


def test_budget_keeps_limit_period_notifications_and_subscribers() -> None:
    props = budget_props(
        notification(
            "ACTUAL",
            80,
            subscribers=[
                {"SubscriptionType": "EMAIL", "Address": "ops@example.com"},
                {"SubscriptionType": "SNS", "Address": "arn:aws:sns:us-east-1:1:ops"},
            ],
        ),
        notification("FORECASTED", "4.5", threshold_type="ABSOLUTE_VALUE"),
    )

    budget = budget_from_properties("Daily", props)

    assert budget.name == "shop-daily"
    assert budget.limit_usd == Decimal(5)
    assert budget.time_unit is TimeUnit.DAILY
    assert budget.functions == ()
    first, second = budget.notifications
    assert first.kind is NotificationType.ACTUAL
    assert first.threshold_type is ThresholdType.PERCENTAGE  # AWS's default
    assert first.subscribers == (
        Subscriber(SubscriptionType.EMAIL, "ops@example.com"),
        Subscriber(SubscriptionType.SNS, "arn:aws:sns:us-east-1:1:ops"),
    )
    assert first.emails == ("ops@example.com",)
    assert first.threshold_usd(budget.limit_usd) == Decimal(4)
    assert second.threshold_usd(budget.limit_usd) == Decimal("4.5")
    assert (first.key, second.key) == ("ACTUAL>80%", "FORECASTED>4.5USD")


def test_budget_name_defaults_to_logical_id() -> None:
    budget = budget_from_properties("Daily", budget_props(BudgetName=None))

    assert budget.name == "Daily"
    assert budget.notifications == ()


def test_function_budget_uses_overcast_function_name_cost_filter() -> None:
    props = budget_props(CostFilters={"FunctionName": ["orders", "payments"]})

    budget = budget_from_properties("Daily", props)

    assert budget.functions == ("orders", "payments")
    assert budget.covers("orders")
    assert not budget.covers("search")
    assert budget_from_properties("Daily", budget_props()).covers("search")


def test_budgets_from_a_loaded_template() -> None:
    text = textwrap.dedent(
        """\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Orders:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
          OrdersMonthly:
            Type: AWS::Budgets::Budget
            Properties:
              Budget:
                BudgetType: COST
                TimeUnit: MONTHLY
                BudgetLimit: {Amount: 20, Unit: USD}
                CostFilters:
                  FunctionName: [!Ref Orders]
              NotificationsWithSubscribers:
                - Notification:
                    NotificationType: FORECASTED
                    ComparisonOperator: GREATER_THAN
                    Threshold: 100
                  Subscribers:
                    - {SubscriptionType: EMAIL, Address: ops@example.com}
        """
    )
    model = load_template(text, filename="template.yaml", base_dir="/srv/app")

    budgets = budgets_from_model(model.budgets, [f.name for f in model.functions.values()])

    assert budgets["OrdersMonthly"].functions == ("Orders",)
    assert budgets["OrdersMonthly"].time_unit is TimeUnit.MONTHLY
    with pytest.raises(InvalidBudgetError, match="FunctionName Orders is not a function"):
        budgets_from_model(model.budgets, ["payments"])


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        (budget_props(BudgetType="USAGE"), "BudgetType 'USAGE' is not supported"),
        (budget_props(TimeUnit="QUARTERLY"), "TimeUnit 'QUARTERLY' is not supported"),
        (budget_props(TimeUnit=None), "TimeUnit None is not supported"),
        (
            budget_props(BudgetLimit={"Amount": 5, "Unit": "EUR"}),
            "BudgetLimit Unit 'EUR' is not USD",
        ),
        (budget_props(BudgetLimit={"Amount": 0, "Unit": "USD"}), "Amount must be above 0"),
        (budget_props(BudgetLimit={"Amount": "x", "Unit": "USD"}), "Amount must be a number"),
        (budget_props(BudgetLimit=None), "BudgetLimit must be a mapping"),
        (budget_props(PlannedBudgetLimits={}), "PlannedBudgetLimits is not supported"),
        (budget_props(CostFilters={"Service": ["AWS Lambda"]}), "CostFilters Service cannot"),
        (budget_props(notification(subscribers=[])), "at least one of Subscribers"),
        (
            budget_props(
                notification(
                    subscribers=[{"SubscriptionType": "SNS", "Address": f"arn:{i}"} for i in (1, 2)]
                )
            ),
            "one SNS subscriber at most",
        ),
        (
            budget_props(
                notification(subscribers=[{"SubscriptionType": "EMAIL", "Address": "nobody"}])
            ),
            "'nobody' is not an email address",
        ),
        (
            budget_props(
                notification(subscribers=[{"SubscriptionType": "SMS", "Address": "+1555"}])
            ),
            "SubscriptionType 'SMS' is not supported",
        ),
        (budget_props(notification(threshold=-1)), "Threshold must be a finite, non-negative"),
        (budget_props(notification(kind="PLANNED")), "NotificationType 'PLANNED'"),
        (budget_props(notification(comparison=">")), "ComparisonOperator '>'"),
        (budget_props(notification(threshold_type="RATIO")), "ThresholdType 'RATIO'"),
        (budget_props(*[notification(threshold=i) for i in range(11)]), "10 notifications"),
        (budget_props(notification(), notification()), "two notifications have the same"),
        ({"Budget": "cheap"}, "Budget must be a mapping"),
    ],
)
def test_bad_budget_properties_are_refused_with_a_clear_message(
    props: dict[str, Any], expected: str
) -> None:
    with pytest.raises(InvalidBudgetError) as caught:
        budget_from_properties("Daily", props)

    assert caught.value.message.startswith("budget ")
    assert expected in caught.value.message


def test_unsupported_time_unit_hints_at_the_supported_ones() -> None:
    with pytest.raises(InvalidBudgetError) as caught:
        budget_from_properties("Daily", budget_props(TimeUnit="ANNUALLY"))

    assert caught.value.hint == "use DAILY or MONTHLY"


# -- evaluation ------------------------------------------------------------------------


def test_actual_percentage_notification_is_strictly_greater_than() -> None:
    budget = daily(note(threshold="80"))  # 80% of 5 USD = 4 USD

    at_threshold = evaluate_budget(budget, Decimal("4.00"))
    over = evaluate_budget(budget, Decimal("4.0000001"))

    assert at_threshold.statuses[0].state is BudgetState.OK
    assert over.statuses[0].state is BudgetState.ALARM
    assert over.statuses[0].threshold_usd == Decimal(4)
    assert "spend so far 4.0000001 USD is > 4.00 USD" in over.statuses[0].reason


def test_absolute_value_threshold_is_in_usd() -> None:
    budget = daily(note(threshold="1.50", threshold_type=ThresholdType.ABSOLUTE_VALUE))

    assert evaluate_budget(budget, Decimal("1.51")).statuses[0].state is BudgetState.ALARM
    assert evaluate_budget(budget, Decimal("1.49")).statuses[0].state is BudgetState.OK


def test_forecasted_notification_uses_the_forecast_and_waits_for_one() -> None:
    budget = daily(note(NotificationType.FORECASTED, "100"))

    no_forecast = evaluate_budget(budget, Decimal(1), None)
    high = evaluate_budget(budget, Decimal(1), Decimal("5.20"))
    low = evaluate_budget(budget, Decimal(4), Decimal("4.80"))

    assert no_forecast.statuses[0].state is BudgetState.OK
    assert no_forecast.statuses[0].reason == "no forecast yet"
    assert high.statuses[0].state is BudgetState.ALARM
    assert low.statuses[0].state is BudgetState.OK  # actual is irrelevant to FORECASTED


def test_less_than_and_equal_to_comparisons() -> None:
    under = note(threshold="30", comparison=BudgetComparison.LESS_THAN)  # 1.50 USD
    exactly = note(
        threshold="1",
        comparison=BudgetComparison.EQUAL_TO,
        threshold_type=ThresholdType.ABSOLUTE_VALUE,
    )

    result = evaluate_budget(daily(under, exactly), Decimal("1.0"))

    assert [s.state for s in result.statuses] == [BudgetState.ALARM, BudgetState.ALARM]


def test_cap_is_reached_at_the_limit_not_before() -> None:
    budget = daily(limit="5")

    assert not evaluate_budget(budget, Decimal("4.999999")).cap_reached
    assert evaluate_budget(budget, Decimal("5")).cap_reached


@given(
    st.decimals(min_value=0, max_value=1000, places=6),
    st.decimals(min_value=1, max_value=500, places=2),
    st.decimals(min_value="0.01", max_value=100, places=2),
)
def test_percentage_notification_alarms_exactly_above_its_share_of_the_limit(
    actual: Decimal, percent: Decimal, limit: Decimal
) -> None:
    budget = daily(note(threshold=str(percent)), limit=str(limit))

    state = evaluate_budget(budget, actual).statuses[0].state

    assert (state is BudgetState.ALARM) == (actual * 100 > limit * percent)


def test_transitions_only_for_notifications_whose_state_changed() -> None:
    warn, cap = note(threshold="50"), note(threshold="100")
    budget = daily(warn, cap)

    first = budget_transitions(evaluate_budget(budget, Decimal(3)), {}, at=100.0)
    again = budget_transitions(
        evaluate_budget(budget, Decimal("3.5")), {warn.key: BudgetState.ALARM}, at=200.0
    )
    rolled_over = budget_transitions(
        evaluate_budget(budget, Decimal(0)), {warn.key: BudgetState.ALARM}, at=300.0
    )

    assert [(t.alarm, t.previous, t.current) for t in first] == [
        ("shop-daily ACTUAL>50%", AlarmState.OK, AlarmState.ALARM)
    ]
    assert first[0].at == 100.0
    assert again == ()
    assert [(t.previous, t.current) for t in rolled_over] == [(AlarmState.ALARM, AlarmState.OK)]


def test_state_of_finds_a_notification_of_the_budget() -> None:
    warn = note(threshold="50")
    evaluation = evaluate_budget(daily(warn), Decimal(3))

    assert evaluation.state_of(warn) is BudgetState.ALARM
    with pytest.raises(InvalidBudgetError):
        evaluation.state_of(note(threshold="75"))


def test_limit_must_be_positive() -> None:
    with pytest.raises(InvalidBudgetError, match="limit must be above 0 USD"):
        daily(limit="0")


# -- periods and forecast --------------------------------------------------------------


def ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


def test_daily_period_is_the_utc_day() -> None:
    assert period_bounds(TimeUnit.DAILY, ts(2026, 3, 14, 15, 9, 26)) == (
        ts(2026, 3, 14),
        ts(2026, 3, 15),
    )


def test_monthly_period_is_the_calendar_month_including_leap_february() -> None:
    assert period_bounds(TimeUnit.MONTHLY, ts(2028, 2, 29, 23, 59)) == (
        ts(2028, 2, 1),
        ts(2028, 3, 1),
    )
    assert period_bounds(TimeUnit.MONTHLY, ts(2026, 12, 31, 12)) == (
        ts(2026, 12, 1),
        ts(2027, 1, 1),
    )


def test_linear_forecast_extrapolates_the_rate_so_far() -> None:
    noon = ts(2026, 3, 14, 12)

    assert linear_forecast(Decimal("1.25"), TimeUnit.DAILY, noon) == Decimal("2.5")


def test_linear_forecast_waits_for_enough_of_the_period() -> None:
    just_after_midnight = ts(2026, 3, 14, 0, 5)

    assert linear_forecast(Decimal("0.01"), TimeUnit.DAILY, just_after_midnight) is None
    assert linear_forecast(
        Decimal("0.01"), TimeUnit.DAILY, just_after_midnight, min_elapsed=0.001
    ) == Decimal("2.88")
