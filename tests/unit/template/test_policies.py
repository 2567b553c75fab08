"""A function's Policies → Permissions: the supported subset, and a warning for the rest."""

from __future__ import annotations

import pytest

from overcast.template import InvalidTemplateError, Permission

from .helpers import function, load_resources, messages

ARN = "arn:aws:lambda:us-east-1:123456789012:function"


def _spec(policies: str) -> tuple[tuple[Permission, ...], list[str]]:
    resources = function(props=f"Policies:\n{policies}") + function(
        "Target", props="FunctionName: target-fn"
    )
    model = load_resources(resources)
    return model.functions["Hello"].permissions, messages(model)


def test_lambda_invoke_policy_expands_as_sam_does_with_a_trailing_wildcard() -> None:
    permissions, warnings = _spec("  - LambdaInvokePolicy:\n      FunctionName: !Ref Target\n")
    assert permissions == (
        Permission(
            "Allow", ("lambda:InvokeFunction",), (f"{ARN}:target-fn*",), "LambdaInvokePolicy"
        ),
    )
    assert warnings == []


def test_secrets_and_s3_templates_expand_to_their_actions() -> None:
    permissions, _ = _spec(
        "  - AWSSecretsManagerGetSecretValuePolicy:\n"
        "      SecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:db\n"
        "  - S3ReadPolicy:\n      BucketName: photos\n"
    )
    assert permissions[0].actions == ("secretsmanager:GetSecretValue",)
    assert permissions[0].resources == ("arn:aws:secretsmanager:us-east-1:123456789012:secret:db",)
    assert "s3:GetObject" in permissions[1].actions
    assert permissions[1].resources == ("arn:aws:s3:::photos", "arn:aws:s3:::photos/*")


def test_queue_and_topic_templates_expand_as_sam_does() -> None:
    permissions, warnings = _spec(
        "  - SQSSendMessagePolicy:\n      QueueName: jobs\n"
        "  - SQSPollerPolicy:\n      QueueName: jobs\n"
        "  - SNSPublishMessagePolicy:\n      TopicName: news\n"
        "  - SNSCrudPolicy:\n      TopicName: news\n"
    )
    queue = "arn:aws:sqs:us-east-1:123456789012:jobs"
    send, poll, publish, crud = permissions
    assert (send.actions, send.resources) == (("sqs:SendMessage*",), (queue,))
    assert "sqs:ReceiveMessage" in poll.actions
    assert "sqs:SendMessage" not in poll.actions
    assert poll.resources == (queue,)
    assert publish.actions == ("sns:Publish",)
    assert publish.resources == ("arn:aws:sns:us-east-1:123456789012:news",)
    assert crud.resources == ("arn:aws:sns:us-east-1:123456789012:news*",)
    assert warnings == []


def test_inline_statements_keep_effect_actions_and_resources() -> None:
    permissions, warnings = _spec(
        "  - Statement:\n"
        "      - Effect: Deny\n        Action: lambda:InvokeFunction\n"
        "        Resource: !GetAtt Target.Arn\n"
        "      - Effect: Allow\n        Action: [lambda:*, dynamodb:GetItem]\n"
        "        Resource: '*'\n"
    )
    assert permissions == (
        Permission("Deny", ("lambda:InvokeFunction",), (f"{ARN}:target-fn",)),
        Permission("Allow", ("lambda:*",), ("*",)),
    )
    assert warnings == [
        "Function 'Hello': Policies: action 'dynamodb:GetItem' is not enforced by overcast; "
        "it is ignored"
    ]


def test_managed_policies_and_unknown_templates_warn_once_each_by_name() -> None:
    permissions, warnings = _spec(
        "  - AWSLambdaBasicExecutionRole\n  - DynamoDBCrudPolicy:\n      TableName: t\n"
    )
    assert permissions == ()
    assert len(warnings) == 2
    assert "managed policy 'AWSLambdaBasicExecutionRole'" in warnings[0]
    assert "SAM policy template 'DynamoDBCrudPolicy'" in warnings[1]


def test_a_conditional_allow_is_dropped_and_a_conditional_deny_always_applies() -> None:
    permissions, warnings = _spec(
        "  - Statement:\n"
        "      - Effect: Allow\n        Action: lambda:*\n        Resource: '*'\n"
        "        Condition: {Bool: {aws:SecureTransport: true}}\n"
        "      - Effect: Deny\n        Action: lambda:*\n        Resource: '*'\n"
        "        Condition: {Bool: {aws:SecureTransport: true}}\n"
    )
    assert permissions == (Permission("Deny", ("lambda:*",), ("*",)),)
    assert len(warnings) == 2


def test_a_template_without_its_parameter_is_an_error() -> None:
    with pytest.raises(InvalidTemplateError, match="needs parameter FunctionName"):
        _spec("  - LambdaInvokePolicy: {}\n")


def test_an_effect_other_than_allow_or_deny_is_an_error() -> None:
    with pytest.raises(InvalidTemplateError, match="Effect must be Allow or Deny"):
        _spec(
            "  - Statement:\n      - Effect: Maybe\n        Action: lambda:*\n"
            "        Resource: '*'\n"
        )
