"""Which schedules an app fires, keyed how, with what catch-up window and ARN."""

from __future__ import annotations

from overcast.control.schedule_targets import schedule_targets
from overcast.template import load_template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Purge:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      EventInvokeConfig: {MaximumEventAgeInSeconds: 600}
      Events:
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 3 * * ? *)
        Named:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Name: my-rule
            RetryPolicy: {MaximumEventAgeInSeconds: 120}
        Report:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 day)
            ScheduleExpressionTimezone: Asia/Tokyo
            Input: '{"a": 1}'
        Off:
          Type: Schedule
          Properties: {Schedule: rate(1 hour), Enabled: false}
"""


def test_enabled_schedules_become_targets_keyed_by_scope_function_and_event() -> None:
    model = load_template(TEMPLATE, filename="template.yaml", base_dir="/srv/app")
    targets = {t.schedule_id: t for t in schedule_targets(model, scope="dev/app", qualifier="dev")}
    assert set(targets) == {"dev/app/Purge/Nightly", "dev/app/Purge/Named", "dev/app/Purge/Report"}
    nightly, named, report = (targets[f"dev/app/Purge/{n}"] for n in ("Nightly", "Named", "Report"))
    assert nightly.qualifier == "dev"
    assert nightly.resource_arn.startswith(
        f"arn:aws:events:{model.region}:{model.account_id}:rule/"
    )
    assert nightly.resource_arn.endswith("-PurgeNightly")
    assert named.resource_arn.endswith(":rule/my-rule")
    assert report.resource_arn.endswith(":schedule/default/" + report.resource_arn.rsplit("/")[-1])
    # the RetryPolicy's age, else the function's (a rule), else Scheduler's 24 h
    assert (nightly.catch_up_s, named.catch_up_s, report.catch_up_s) == (600, 120, 86_400)
    assert (report.kind, report.timezone, report.input_json) == (
        "ScheduleV2", "Asia/Tokyo", '{"a": 1}',
    )  # fmt: skip
