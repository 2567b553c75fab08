"""``AWS::Budgets::Budget`` resources reach the model with their Properties resolved."""

from __future__ import annotations

from .helpers import function, load_resources, messages

BUDGET = """\
  DailyCap:
    Type: AWS::Budgets::Budget
    Properties:
      Budget:
        BudgetName: !Sub "${AWS::StackName}-daily"
        BudgetType: COST
        TimeUnit: DAILY
        BudgetLimit:
          Amount: !Ref CapUsd
          Unit: USD
      NotificationsWithSubscribers:
        - Notification:
            NotificationType: ACTUAL
            ComparisonOperator: GREATER_THAN
            Threshold: 80
          Subscribers:
            - SubscriptionType: EMAIL
              Address: ops@example.com
"""

PARAMS = """\
Parameters:
  CapUsd:
    Type: Number
    Default: 5
"""


def test_budget_properties_are_kept_resolved_by_logical_id() -> None:
    model = load_resources(function() + BUDGET, before=PARAMS, stack_name="shop")

    budget = model.budgets["DailyCap"]["Budget"]
    assert budget["BudgetName"] == "shop-daily"
    assert budget["BudgetLimit"] == {"Amount": "5", "Unit": "USD"}
    notification = model.budgets["DailyCap"]["NotificationsWithSubscribers"][0]
    assert notification["Subscribers"] == [
        {"SubscriptionType": "EMAIL", "Address": "ops@example.com"}
    ]


def test_budget_is_not_reported_as_an_ignored_resource() -> None:
    model = load_resources(function() + BUDGET, before=PARAMS)

    assert not [m for m in messages(model) if "DailyCap" in m]
    assert "DailyCap" not in model.alarms


def test_template_without_budgets_has_an_empty_mapping() -> None:
    assert load_resources(function()).budgets == {}


def test_budget_dropped_by_its_condition_is_left_out() -> None:
    conditional = BUDGET.replace(
        "    Type: AWS::Budgets::Budget\n",
        "    Type: AWS::Budgets::Budget\n    Condition: IsProd\n",
    )
    before = PARAMS + (
        "  Env:\n    Type: String\n    Default: dev\n"
        "Conditions:\n  IsProd: !Equals [!Ref Env, prod]\n"
    )

    assert load_resources(function() + conditional, before=before).budgets == {}
