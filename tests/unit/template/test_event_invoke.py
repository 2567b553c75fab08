"""EventInvokeConfig and DeadLetterQueue: read, bounded as Lambda bounds them, located."""

from __future__ import annotations

import pytest

from overcast.template import InvalidTemplateError, UnsupportedFeatureError
from overcast.template.model import DeadLetterSpec, DestinationSpec, EventInvokeSpec

from .helpers import function, load_resources, messages

ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def test_no_event_invoke_config_means_lambdas_defaults() -> None:
    model = load_resources(function())
    assert model.functions["Hello"].event_invoke is None
    assert model.functions["Hello"].dead_letter is None


def test_retries_age_and_a_lambda_destination_are_read() -> None:
    props = """
    EventInvokeConfig:
      MaximumRetryAttempts: 1
      MaximumEventAgeInSeconds: 120
      DestinationConfig:
        OnFailure:
          Type: Lambda
          Destination: !GetAtt Target.Arn
    """
    model = load_resources(function(props=props) + function("Target"))
    config = model.functions["Hello"].event_invoke
    assert isinstance(config, EventInvokeSpec)
    assert (config.maximum_retry_attempts, config.maximum_event_age_s) == (1, 120)
    assert config.on_success is None
    assert isinstance(config.on_failure, DestinationSpec)
    assert (config.on_failure.type, config.on_failure.function) == ("Lambda", "Target")
    assert messages(model) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("MaximumRetryAttempts", "3"),
        ("MaximumRetryAttempts", "-1"),
        ("MaximumEventAgeInSeconds", "59"),
        ("MaximumEventAgeInSeconds", "21601"),
        ("MaximumEventAgeInSeconds", "soon"),
    ],
)
def test_values_outside_lambdas_bounds_are_refused_with_their_line(key: str, value: str) -> None:
    props = f"EventInvokeConfig:\n  {key}: {value}\n"
    with pytest.raises(InvalidTemplateError) as info:
        load_resources(function(props=props))
    assert key in info.value.message
    assert info.value.location is not None
    assert info.value.location.line == 9


def test_an_unknown_destination_type_is_refused() -> None:
    props = """
    EventInvokeConfig:
      DestinationConfig:
        OnSuccess: {Type: Kafka, Destination: x}
    """
    with pytest.raises(InvalidTemplateError, match="Type is 'Kafka'"):
        load_resources(function(props=props))


def test_a_lambda_destination_outside_the_template_is_refused() -> None:
    props = f"""
    EventInvokeConfig:
      DestinationConfig:
        OnSuccess: {{Type: Lambda, Destination: "{ARN}Elsewhere"}}
    """
    with pytest.raises(UnsupportedFeatureError, match="'Elsewhere'"):
        load_resources(function(props=props))


def test_queue_destinations_and_dead_letter_topics_are_accepted() -> None:
    props = """
    EventInvokeConfig:
      DestinationConfig:
        OnFailure: {Type: SQS, Destination: "arn:aws:sqs:us-east-1:123456789012:failed"}
    DeadLetterQueue:
      Type: SNS
      TargetArn: arn:aws:sns:us-east-1:123456789012:dead
    """
    model = load_resources(function(props=props))
    spec = model.functions["Hello"]
    assert spec.event_invoke is not None
    assert spec.event_invoke.on_failure is not None
    assert spec.event_invoke.on_failure.type == "SQS"
    assert spec.dead_letter == DeadLetterSpec(
        "SNS", "arn:aws:sns:us-east-1:123456789012:dead", spec.dead_letter.location
    )
    assert messages(model) == []


def test_an_sqs_destination_without_a_queue_is_warned_about() -> None:
    props = "EventInvokeConfig: {DestinationConfig: {OnFailure: {Type: SQS}}}\n"
    [warned] = messages(load_resources(function(props=props)))
    assert "SAM creates a queue for an SQS destination without Destination" in warned


def test_a_dead_letter_queue_of_another_type_is_refused() -> None:
    props = "DeadLetterQueue: {Type: Lambda, TargetArn: x}\n"
    with pytest.raises(InvalidTemplateError, match="must be SQS or SNS"):
        load_resources(function(props=props))
