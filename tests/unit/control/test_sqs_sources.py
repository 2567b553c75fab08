"""The mappings a running app polls, from its template's SQS events."""

from __future__ import annotations

from overcast.control.sqs_sources import mapping_targets
from overcast.events.sqs_poller import MappingTarget
from overcast.template import AppModel, load_template

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {QueueName: jobs}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      ReservedConcurrentExecutions: 3
      Events:
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, BatchSize: 5,
                       FunctionResponseTypes: [ReportBatchItemFailures]}
        Scaled:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, ScalingConfig: {MaximumConcurrency: 7},
                       BatchSize: 50, MaximumBatchingWindowInSeconds: 2}
        Off:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn, Enabled: false}
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Events:
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn}
  Stopped:
    Type: AWS::Serverless::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      ReservedConcurrentExecutions: 0
      Events:
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt Jobs.Arn}
"""


def model() -> AppModel:
    return load_template(TEMPLATE, filename="template.yaml", base_dir="/srv/app")


def test_enabled_sqs_events_become_mappings_on_the_queue_their_spec_names() -> None:
    targets = mapping_targets(model(), scope="prod/app", qualifier="prod", default_concurrency=64)
    arn = "arn:aws:sqs:us-east-1:123456789012:jobs"
    common = {"qualifier": "prod", "queue_name": "jobs", "queue_arn": arn, "region": "us-east-1"}
    assert targets == [
        MappingTarget(mapping_id="prod/app/Worker/Work", function="Worker", batch_size=5,
                      report_batch_item_failures=True, maximum_concurrency=3, **common),
        MappingTarget(mapping_id="prod/app/Worker/Scaled", function="Worker", batch_size=50,
                      batching_window_s=2.0, maximum_concurrency=7, **common),
        MappingTarget(mapping_id="prod/app/Plain/Work", function="Plain",
                      maximum_concurrency=64, **common),
    ]  # fmt: skip
