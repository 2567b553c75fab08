"""Schedule and ScheduleV2 events: read into the function model, refused with their line."""

from __future__ import annotations

import pytest

from overcast.template import InvalidTemplateError
from overcast.template.model import ScheduleSpec

from .helpers import function, load_resources, messages


def schedules(events: str) -> tuple[ScheduleSpec, ...]:
    model = load_resources(function(events=events))
    assert messages(model) == []
    return model.functions["Hello"].schedules


def test_a_schedule_event_is_read_not_warned_about() -> None:
    (spec,) = schedules(
        """
        Tick:
          Type: Schedule
          Properties:
            Schedule: rate(5 minutes)
            Input: '{"job": "purge"}'
            Name: purge-rule
            Description: nightly purge
        """
    )
    assert spec == ScheduleSpec(
        event_name="Tick", kind="Schedule", expression="rate(5 minutes)",
        input='{"job": "purge"}', name="purge-rule", description="nightly purge",
        location=spec.location,
    )  # fmt: skip
    assert spec.location is not None
    assert spec.location.line == 9


def test_enabled_false_and_state_disabled_turn_a_schedule_off() -> None:
    off = schedules(
        """
        A:
          Type: Schedule
          Properties: {Schedule: rate(1 hour), Enabled: false}
        B:
          Type: Schedule
          Properties: {Schedule: rate(1 hour), State: DISABLED}
        C:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour), State: DISABLED}
        D:
          Type: ScheduleV2
          Properties: {ScheduleExpression: rate(1 hour)}
        """
    )
    assert [s.enabled for s in off] == [False, False, False, True]


def test_a_schedule_v2_event_reads_time_zone_window_dates_and_retry_policy() -> None:
    (spec,) = schedules(
        """
        Report:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: cron(0 9 ? * MON-FRI *)
            ScheduleExpressionTimezone: Europe/Paris
            FlexibleTimeWindow: {Mode: FLEXIBLE, MaximumWindowInMinutes: 15}
            StartDate: "2030-01-01T00:00:00Z"
            EndDate: "2031-01-01T00:00:00+01:00"
            RetryPolicy: {MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3}
        """
    )
    assert spec.kind == "ScheduleV2"
    assert spec.timezone == "Europe/Paris"
    assert spec.flexible_window_minutes == 15
    assert spec.start_at == 1_893_456_000.0
    assert spec.end_at == 1_924_988_400.0
    assert (spec.maximum_event_age_s, spec.maximum_retry_attempts) == (3600, 3)


def test_a_one_time_schedule_v2_is_accepted() -> None:
    (spec,) = schedules(
        "Once:\n  Type: ScheduleV2\n  Properties: {ScheduleExpression: at(2030-05-01T10:00:00)}\n"
    )
    assert spec.expression == "at(2030-05-01T10:00:00)"


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ("Type: Schedule\n  Properties: {Schedule: rate(1 minutes)}", "ScheduleExpression is not"),
        ("Type: Schedule\n  Properties: {Schedule: cron(0 12 * * * *)}", "exactly one"),
        ("Type: ScheduleV2\n  Properties: {ScheduleExpression: rate(5 minute)}", "not valid"),
        ("Type: Schedule\n  Properties: {Schedule: at(2030-01-01T00:00:00)}", "not at()"),
        ("Type: Schedule\n  Properties: {Input: '{}'}", "needs a Schedule"),
        ("Type: Schedule\n  Properties: {Schedule: rate(1 hour), Input: 'not json'}", "JSON"),
        ("Type: Schedule\n  Properties: {Schedule: rate(1 hour), Enabled: maybe}", "true or"),
        ("Type: Schedule\n  Properties: {Schedule: rate(1 hour), State: OFF}", "State"),
        (
            "Type: Schedule\n  Properties: {Schedule: rate(1 hour), Enabled: true, State: ENABLED}",
            "both",
        ),
        (
            "Type: ScheduleV2\n  Properties: {ScheduleExpression: rate(1 hour), "
            "ScheduleExpressionTimezone: Mars/Olympus}",
            "not a time zone",
        ),
        (
            "Type: ScheduleV2\n  Properties: {ScheduleExpression: rate(1 hour), "
            "RetryPolicy: {MaximumEventAgeInSeconds: 59}}",
            "between 60 and 86400",
        ),
        (
            "Type: ScheduleV2\n  Properties: {ScheduleExpression: rate(1 hour), "
            "FlexibleTimeWindow: {Mode: FLEXIBLE}}",
            "MaximumWindowInMinutes",
        ),
        (
            "Type: ScheduleV2\n  Properties: {ScheduleExpression: rate(1 hour), "
            "StartDate: '2031-01-01T00:00:00Z', EndDate: '2030-01-01T00:00:00Z'}",
            "EndDate",
        ),
    ],
)
def test_malformed_schedules_are_refused_at_load_with_their_line(props: str, match: str) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_resources(function(events=f"E:\n  {props}\n"))
    assert info.value.location is not None
    assert info.value.location.file == "template.yaml"
    # the offending key's line (all on the Properties line), else the event's
    assert info.value.location.line == (9 if match.startswith("needs") else 11)


def test_unused_schedule_properties_warn() -> None:
    model = load_resources(
        function(
            events="E:\n  Type: ScheduleV2\n  Properties:\n    ScheduleExpression: rate(1 hour)\n"
            "    KmsKeyArn: arn:aws:kms:us-east-1:1:key/x\n"
        )
    )
    assert messages(model) == [
        "Function 'Hello' event 'E' property 'KmsKeyArn' is not used by overcast; it is ignored"
    ]


RESOURCES = """
  Rule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: cron(0 3 * * ? *)
      State: ENABLED
      Targets:
        - Id: purge
          Arn: !GetAtt Hello.Arn
          Input: '{"job": "purge"}'
        - Id: elsewhere
          Arn: arn:aws:sqs:us-east-1:123456789012:queue
  Later:
    Type: AWS::Scheduler::Schedule
    Properties:
      ScheduleExpression: at(2030-01-01T09:00:00)
      ScheduleExpressionTimezone: Europe/Paris
      FlexibleTimeWindow:
        Mode: "OFF"
      State: DISABLED
      Target:
        Arn: !GetAtt Hello.Arn
        RoleArn: arn:aws:iam::123456789012:role/scheduler
        RetryPolicy:
          MaximumEventAgeInSeconds: 300
  Pattern:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: {source: [my.app]}
      Targets:
        - Id: x
          Arn: !GetAtt Hello.Arn
"""


def test_scheduled_rule_and_scheduler_resources_targeting_a_function_become_its_schedules() -> None:
    model = load_resources(function() + RESOURCES)
    rule, later = model.functions["Hello"].schedules
    assert (rule.kind, rule.event_name, rule.expression) == (
        "Schedule", "Rule.purge", "cron(0 3 * * ? *)",
    )  # fmt: skip
    assert (rule.input, rule.enabled, rule.name) == ('{"job": "purge"}', True, "overcast-Rule")
    assert (later.kind, later.timezone, later.enabled) == ("ScheduleV2", "Europe/Paris", False)
    assert later.maximum_event_age_s == 300
    assert messages(model) == [
        "Resource 'Rule' (AWS::Events::Rule) target 'arn:aws:sqs:us-east-1:123456789012:queue' "
        "is not a function of this template; overcast does not deliver to it",
        "Resource 'Pattern' (AWS::Events::Rule) has no ScheduleExpression; event-pattern rules "
        "are not run by overcast",
    ]


def test_a_malformed_rule_expression_is_refused_with_its_line() -> None:
    text = function() + (
        "  Rule:\n    Type: AWS::Events::Rule\n    Properties:\n"
        "      ScheduleExpression: rate(2 hour)\n"
        "      Targets: [{Id: a, Arn: !GetAtt Hello.Arn}]\n"
    )
    with pytest.raises(InvalidTemplateError, match="ScheduleExpression is not valid") as info:
        load_resources(text)
    assert info.value.location is not None
    assert info.value.location.line == 11
