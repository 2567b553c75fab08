"""SQS events: read into the function model as event source mappings, refused with their line."""

from __future__ import annotations

import pytest

from overcast.template import InvalidTemplateError
from overcast.template.model import AppModel, SqsSourceSpec

from .helpers import function, load_resources, messages

QUEUES = """
  Jobs:
    Type: AWS::SQS::Queue
    Properties: {QueueName: jobs}
  Orders:
    Type: AWS::SQS::Queue
    Properties: {QueueName: orders.fifo, FifoQueue: true}
  Anonymous:
    Type: AWS::SQS::Queue
"""


def load_with(events: str) -> AppModel:
    return load_resources(QUEUES + function(events=events))


def sources(events: str) -> tuple[SqsSourceSpec, ...]:
    model = load_with(events)
    assert messages(model) == []
    return model.functions["Hello"].sqs_sources


def test_an_sqs_event_becomes_a_mapping_with_lambdas_defaults() -> None:
    (spec,) = sources(
        """
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
        """
    )
    assert spec == SqsSourceSpec(
        event_name="Work", queue_logical_id="Jobs", queue_name="jobs",
        queue_arn="arn:aws:sqs:us-east-1:123456789012:jobs", location=spec.location,
    )  # fmt: skip
    assert spec.location is not None
    assert spec.location.line == 18


def test_every_setting_is_read() -> None:
    (spec,) = sources(
        """
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt Anonymous.Arn
            BatchSize: 500
            MaximumBatchingWindowInSeconds: 2
            FunctionResponseTypes: [ReportBatchItemFailures]
            ScalingConfig: {MaximumConcurrency: 5}
            Enabled: false
        """
    )
    assert spec.queue_logical_id == "Anonymous"
    assert "-Anonymous-" in spec.queue_name
    assert (spec.batch_size, spec.maximum_batching_window_s) == (500, 2)
    assert spec.report_batch_item_failures
    assert spec.maximum_concurrency == 5
    assert not spec.enabled


def test_a_fifo_queue_takes_batches_of_up_to_ten() -> None:
    (spec,) = sources("O:\n  Type: SQS\n  Properties: {Queue: !GetAtt Orders.Arn, BatchSize: 10}\n")
    assert spec.queue_name == "orders.fifo"


def test_the_sqs_event_no_longer_warns_as_unsupported() -> None:
    model = load_with("Q:\n  Type: SQS\n  Properties: {Queue: !GetAtt Jobs.Arn}\n")
    assert not any("is not run by overcast" in m for m in messages(model))


def test_filter_criteria_patterns_are_kept_as_their_json() -> None:
    (spec,) = sources(
        """
        Q:
          Type: SQS
          Properties:
            Queue: !GetAtt Jobs.Arn
            FilterCriteria:
              Filters:
                - Pattern: '{"body": {"kind": ["order"]}}'
                - Pattern: '{"body": [{"prefix": "urgent"}]}'
        """
    )
    assert spec.filter_patterns == (
        '{"body": {"kind": ["order"]}}',
        '{"body": [{"prefix": "urgent"}]}',
    )


@pytest.mark.parametrize(
    ("props", "match"),
    [
        ("{}", "needs a Queue"),
        ("{Queue: 'arn:aws:sqs:us-east-1:123456789012:nope'}", "does not exist"),
        ("{Queue: !GetAtt Jobs.Arn, BatchSize: 0}", "between 1 and 10000"),
        ("{Queue: !GetAtt Jobs.Arn, BatchSize: 10001, MaximumBatchingWindowInSeconds: 1}",
         "between 1 and 10000"),
        ("{Queue: !GetAtt Jobs.Arn, BatchSize: 11}",
         "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
         "greater than 10"),
        ("{Queue: !GetAtt Orders.Arn, BatchSize: 11}", "between 1 and 10"),
        ("{Queue: !GetAtt Orders.Arn, MaximumBatchingWindowInSeconds: 1}",
         "not supported for FIFO"),
        ("{Queue: !GetAtt Jobs.Arn, MaximumBatchingWindowInSeconds: 301}", "between 0 and 300"),
        ("{Queue: !GetAtt Jobs.Arn, FunctionResponseTypes: [Everything]}",
         "enum value set: \\[ReportBatchItemFailures\\]"),
        ("{Queue: !GetAtt Jobs.Arn, ScalingConfig: {MaximumConcurrency: 1}}",
         "between 2 and 1000"),
        ("{Queue: !GetAtt Jobs.Arn, Enabled: maybe}", "true or false"),
        ("{Queue: !GetAtt Jobs.Arn, FilterCriteria: {Filters: [{Pattern: 'not json'}]}}",
         "Invalid filter pattern"),
        ("{Queue: !GetAtt Jobs.Arn, FilterCriteria: {Filters: [{Pattern: '{\"body\": 1}'}]}}",
         "must be an object or a list"),
        ("{Queue: !GetAtt Jobs.Arn, FilterCriteria: "
         "{Filters: [{Pattern: '{\"a\": [{\"like\": 1}]}'}]}}",
         "unknown operator"),
        ("{Queue: !GetAtt Jobs.Arn, FilterCriteria: {Filters: "
         "[{Pattern: '{\"a\": [1]}'}, {Pattern: '{\"a\": [1]}'}, {Pattern: '{\"a\": [1]}'}, "
         "{Pattern: '{\"a\": [1]}'}, {Pattern: '{\"a\": [1]}'}, {Pattern: '{\"a\": [1]}'}]}}",
         "maximum number of filters"),
        ("{Queue: !GetAtt Jobs.Arn, FilterCriteria: {Filters: [{}]}}", "needs a Pattern"),
    ],
)  # fmt: skip
def test_invalid_sqs_events_are_refused_at_their_line(props: str, match: str) -> None:
    with pytest.raises(InvalidTemplateError, match=match) as info:
        load_with(f"Q:\n  Type: SQS\n  Properties: {props}\n")
    assert info.value.location is not None
    assert info.value.location.line >= 12
