"""``AWS::SQS::Queue`` resources: names, Ref (the URL), GetAtt and SQS attributes."""

from __future__ import annotations

from overcast.template.sqs_queues import generated_name

from .helpers import function, load_resources, messages

QUEUES = """\
  Dead:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-dead"
  Jobs:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dead.Arn
        maxReceiveCount: 3
      ReceiveMessageWaitTime: 5
"""

ENV = """\
Environment:
  Variables:
    JOBS_URL: !Ref Jobs
    JOBS_ARN: !GetAtt Jobs.Arn
    DEAD_NAME: !GetAtt Dead.QueueName
"""


def test_queues_reach_the_model_with_their_attributes() -> None:
    model = load_resources(function(props=ENV) + QUEUES, stack_name="shop")
    jobs_name = generated_name("shop", "Jobs")
    assert jobs_name.startswith("shop-Jobs-")
    assert model.queues["Dead"].name == "shop-dead"
    jobs = model.queues["Jobs"]
    assert jobs.name == jobs_name
    assert jobs.attributes["VisibilityTimeout"] == "60"
    assert jobs.attributes["RedrivePolicy"] == (
        '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:shop-dead","maxReceiveCount":3}'
    )


def test_ref_is_the_url_and_get_att_the_arn() -> None:
    model = load_resources(function(props=ENV) + QUEUES, stack_name="shop")
    variables = model.functions["Hello"].environment
    name = generated_name("shop", "Jobs")
    assert variables["JOBS_URL"] == f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"
    assert variables["JOBS_ARN"] == f"arn:aws:sqs:us-east-1:123456789012:{name}"
    assert variables["DEAD_NAME"] == "shop-dead"


def test_unsupported_properties_are_warned_about() -> None:
    model = load_resources(function() + QUEUES, stack_name="shop")
    assert any("ReceiveMessageWaitTime " in m for m in messages(model))


def test_generated_names_are_stable_and_valid() -> None:
    name = generated_name("a.very-long-stack" * 5, "Queue")
    assert name == generated_name("a.very-long-stack" * 5, "Queue")
    assert len(name) <= 80
    assert all(c.isalnum() or c in "-_" for c in name)
