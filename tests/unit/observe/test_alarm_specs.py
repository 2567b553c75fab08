"""Template ``AWS::CloudWatch::Alarm`` Properties -> evaluable alarms, and the pricing alarm."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from overcast.observe.alarm_specs import (
    MetricKey,
    alarm_from_properties,
    alarms_from_model,
    estimated_charges_alarm,
    percentile,
)
from overcast.observe.alarms import (
    AlarmState,
    ComparisonOperator,
    Statistic,
    TreatMissingData,
)
from overcast.observe.errors import InvalidAlarmError
from overcast.template import load_template


def errors_alarm(**overrides: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "AlarmName": "orders-errors",
        "AlarmDescription": "orders function fails",
        "Namespace": "AWS/Lambda",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "FunctionName", "Value": "orders"}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:ops"],
        "OKActions": ["arn:aws:sns:us-east-1:123456789012:ops-ok"],
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


def message_of(props: Mapping[str, Any]) -> str:
    with pytest.raises(InvalidAlarmError) as caught:
        alarm_from_properties("OrdersErrors", props)
    return caught.value.message + " | " + caught.value.hint


# -- good input ------------------------------------------------------------------------


def test_lambda_errors_alarm_keeps_every_property() -> None:
    alarm = alarm_from_properties("OrdersErrors", errors_alarm())

    assert alarm.name == "orders-errors"
    assert alarm.logical_id == "OrdersErrors"
    assert alarm.metric == MetricKey("AWS/Lambda", "Errors", (("FunctionName", "orders"),))
    spec = alarm.spec
    assert (spec.statistic, spec.period_seconds, spec.evaluation_periods, spec.m) == (
        Statistic.SUM,
        60,
        3,
        2,
    )
    assert spec.threshold == 5.0
    assert spec.comparison is ComparisonOperator.GREATER_THAN
    assert spec.treat_missing_data is TreatMissingData.NOT_BREACHING
    assert alarm.description == "orders function fails"
    assert alarm.actions_for(AlarmState.ALARM) == ("arn:aws:sns:us-east-1:123456789012:ops",)
    assert alarm.actions_for(AlarmState.OK) == ("arn:aws:sns:us-east-1:123456789012:ops-ok",)
    assert alarm.actions_for(AlarmState.INSUFFICIENT_DATA) == ()


def test_alarm_name_defaults_to_logical_id_and_defaults_match_cloudwatch() -> None:
    alarm = alarm_from_properties(
        "OrdersErrors",
        errors_alarm(AlarmName=None, Period=None, DatapointsToAlarm=None, TreatMissingData=None),
    )

    assert alarm.name == "OrdersErrors"
    assert alarm.spec.period_seconds == 60
    assert alarm.spec.m == alarm.spec.evaluation_periods
    assert alarm.spec.treat_missing_data is TreatMissingData.MISSING


def test_disabled_actions_trigger_nothing() -> None:
    alarm = alarm_from_properties("OrdersErrors", errors_alarm(ActionsEnabled="false"))

    assert alarm.actions_for(AlarmState.ALARM) == ()


def test_numbers_resolved_from_parameters_as_strings_are_accepted() -> None:
    alarm = alarm_from_properties(
        "OrdersErrors",
        errors_alarm(Period="300", EvaluationPeriods="1", Threshold="2.5", DatapointsToAlarm=None),
    )

    assert (alarm.spec.period_seconds, alarm.spec.evaluation_periods) == (300, 1)
    assert alarm.spec.threshold == 2.5


def test_dimensions_are_sorted_so_equal_series_compare_equal() -> None:
    dims = [{"Name": "Stage", "Value": "prod"}, {"Name": "ApiName", "Value": "shop"}]
    alarm = alarm_from_properties(
        "Api5xx",
        {
            "Namespace": "AWS/ApiGateway",
            "MetricName": "5XXError",
            "Dimensions": dims,
            "Statistic": "Sum",
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )

    assert alarm.metric.dimensions == (("ApiName", "shop"), ("Stage", "prod"))
    assert alarm.metric.dimension("Stage") == "prod"
    assert alarm.metric.dimension("Method") is None
    assert str(alarm.metric) == "AWS/ApiGateway/5XXError{ApiName=shop,Stage=prod}"


def p99_alarm() -> Any:
    return alarm_from_properties(
        "SlowTail",
        errors_alarm(
            MetricName="Duration",
            Statistic=None,
            ExtendedStatistic="p99",
            Threshold=1000,
            EvaluationPeriods=1,
            DatapointsToAlarm=None,
        ),
    )


def test_p99_alarm_fires_on_the_tail_an_average_would_hide() -> None:
    alarm = p99_alarm()
    # 98 fast calls and 2 very slow ones in the period 0..60: mean ~ 110 ms, p99 = 5000 ms.
    samples = {0: [10.0] * 98 + [5000.0, 5000.0]}

    state, transition = alarm.step(samples, now=90, current=AlarmState.INSUFFICIENT_DATA)

    assert alarm.percentile == 99.0
    assert alarm.statistic_label == "p99"
    assert state is AlarmState.ALARM
    assert transition is not None
    assert transition.previous is AlarmState.INSUFFICIENT_DATA


def test_p99_alarm_ignores_one_outlier_in_two_hundred_where_maximum_would_fire() -> None:
    samples = {0: [10.0] * 199 + [5000.0]}

    state, _ = p99_alarm().step(samples, now=90, current=AlarmState.INSUFFICIENT_DATA)

    assert state is AlarmState.OK


def test_fractional_percentile_is_accepted() -> None:
    alarm = alarm_from_properties("Tail", errors_alarm(Statistic=None, ExtendedStatistic="p99.9"))

    assert alarm.percentile == 99.9
    assert alarm.statistic_label == "p99.9"


def test_percentile_is_a_nearest_rank_value_actually_seen() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 100) == 4.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0) == 1.0
    assert percentile([7.0], 99) == 7.0


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=50),
    st.floats(0, 100),
)
def test_percentile_lies_within_the_samples_and_grows_with_p(
    samples: list[float], p: float
) -> None:
    value = percentile(samples, p)

    assert value in samples
    assert percentile(samples, 0) <= value <= percentile(samples, 100)


def test_alarms_from_a_loaded_template_reach_the_same_specs() -> None:
    text = textwrap.dedent(
        """\
        Transform: AWS::Serverless-2016-10-31
        Resources:
          Orders:
            Type: AWS::Serverless::Function
            Properties:
              Handler: app.handler
              Runtime: python3.12
          OrdersErrors:
            Type: AWS::CloudWatch::Alarm
            Properties:
              Namespace: AWS/Lambda
              MetricName: Errors
              Dimensions:
                - Name: FunctionName
                  Value: !Ref Orders
              Statistic: Sum
              Period: 60
              EvaluationPeriods: 1
              Threshold: 0
              ComparisonOperator: GreaterThanThreshold
        """
    )
    model = load_template(text, filename="template.yaml", base_dir="/srv/app")
    names = [f.name for f in model.functions.values()]

    alarms = alarms_from_model(model.alarms, names)

    assert alarms["OrdersErrors"].metric.dimension("FunctionName") == "Orders"


# -- bad input: each error names the alarm and what is wrong ----------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"EvaluationPeriods": None}, "EvaluationPeriods is required"),
        ({"ComparisonOperator": None}, "ComparisonOperator is required"),
        ({"Threshold": None}, "Threshold is required"),
        ({"Threshold": "lots"}, "Threshold must be a number"),
        ({"Period": "1.5"}, "Period must be a whole number"),
        ({"Period": 0}, "Period must be positive"),
        ({"DatapointsToAlarm": 4}, "DatapointsToAlarm 4 must be between 1 and"),
        ({"Statistic": None}, "exactly one of Statistic and ExtendedStatistic"),
        ({"ExtendedStatistic": "p99"}, "exactly one of Statistic and ExtendedStatistic"),
        ({"Statistic": None, "ExtendedStatistic": "tm99"}, "ExtendedStatistic 'tm99'"),
        ({"Statistic": "Median"}, "Statistic 'Median' is not supported"),
        ({"ComparisonOperator": "Above"}, "ComparisonOperator 'Above' is not supported"),
        (
            {"ComparisonOperator": "GreaterThanUpperThreshold"},
            "anomaly detection alarms are not supported",
        ),
        ({"TreatMissingData": "zero"}, "TreatMissingData 'zero' is not supported"),
        ({"Namespace": "AWS/EC2"}, "namespace AWS/EC2 is not measured by overcast"),
        ({"MetricName": "IteratorAge"}, "AWS/Lambda has no metric IteratorAge"),
        ({"MetricName": None}, "MetricName and Namespace are required"),
        (
            {"Dimensions": [{"Name": "InstanceId", "Value": "i-1"}]},
            "AWS/Lambda is not split by InstanceId",
        ),
        ({"Dimensions": [{"Name": "FunctionName"}]}, "each dimension needs a Name and a Value"),
        (
            {"Dimensions": [{"Name": "FunctionName", "Value": "a"}] * 2},
            "dimension FunctionName is given twice",
        ),
        ({"Metrics": [{"Id": "m1"}]}, "metric math (Metrics) is not supported"),
        ({"AlarmActions": "arn:x"}, "AlarmActions must be a list of strings"),
        ({"ActionsEnabled": "maybe"}, "ActionsEnabled must be true or false"),
    ],
)
def test_bad_alarm_properties_are_refused_with_a_clear_message(
    overrides: dict[str, Any], expected: str
) -> None:
    message = message_of(errors_alarm(**overrides))

    assert message.startswith("alarm orders-errors: ")
    assert expected in message


def test_unsupported_namespace_error_hints_at_the_supported_ones() -> None:
    message = message_of(errors_alarm(Namespace="AWS/SQS"))

    assert "AWS/Lambda, AWS/ApiGateway, AWS/Billing" in message


def test_alarm_on_a_function_the_template_lacks_is_refused() -> None:
    with pytest.raises(InvalidAlarmError, match="FunctionName orders is not a function"):
        alarms_from_model({"OrdersErrors": errors_alarm()}, ["payments"])


def test_billing_alarm_in_another_currency_is_refused() -> None:
    props = {
        "Namespace": "AWS/Billing",
        "MetricName": "EstimatedCharges",
        "Dimensions": [{"Name": "Currency", "Value": "EUR"}],
        "Statistic": "Maximum",
        "EvaluationPeriods": 1,
        "Threshold": 10,
        "ComparisonOperator": "GreaterThanThreshold",
    }

    with pytest.raises(InvalidAlarmError, match="kept in USD, not EUR"):
        alarm_from_properties("Bill", props)


# -- the pricing alarm -----------------------------------------------------------------


def test_pricing_alarm_goes_to_alarm_when_month_to_date_spend_passes_threshold() -> None:
    alarm = estimated_charges_alarm("prod", Decimal("10"), period_seconds=3600)
    # month-to-date spend sampled every few minutes; the hour 0..3600 ends at 10.40 USD
    samples = {0: [9.10, 9.80, 10.40]}

    state, transition = alarm.step(samples, now=3600 + 5, current=AlarmState.OK)

    assert alarm.metric == MetricKey(
        "AWS/Billing", "EstimatedCharges", (("Currency", "USD"), ("Stage", "prod"))
    )
    assert alarm.spec.statistic is Statistic.MAXIMUM
    assert state is AlarmState.ALARM
    assert transition is not None
    assert transition.alarm == "prod-estimated-charges"


def test_pricing_alarm_with_no_samples_is_ok_because_nothing_was_spent() -> None:
    alarm = estimated_charges_alarm("dev", 5)

    state, _ = alarm.step({}, now=10 * 86400, current=AlarmState.INSUFFICIENT_DATA)

    assert state is AlarmState.OK


def test_pricing_alarm_refuses_a_negative_threshold() -> None:
    with pytest.raises(InvalidAlarmError, match="threshold must be >= 0 USD"):
        estimated_charges_alarm("dev", -1)


def test_template_billing_alarm_per_stage_is_the_same_machinery() -> None:
    alarm = alarm_from_properties(
        "ProdBill",
        {
            "Namespace": "AWS/Billing",
            "MetricName": "EstimatedCharges",
            "Dimensions": [
                {"Name": "Currency", "Value": "USD"},
                {"Name": "Stage", "Value": "prod"},
            ],
            "Statistic": "Maximum",
            "Period": 21600,
            "EvaluationPeriods": 1,
            "Threshold": 10,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )

    assert alarm.metric == estimated_charges_alarm("prod", 10).metric
