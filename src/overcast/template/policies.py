"""A function's ``Policies`` (already resolved) → the :class:`Permission` s overcast enforces.

The documented subset (docs/policies.md):

- SAM policy templates ``LambdaInvokePolicy``, ``AWSSecretsManagerGetSecretValuePolicy``,
  ``S3ReadPolicy``, ``S3WritePolicy``, ``S3CrudPolicy``, ``SQSSendMessagePolicy``,
  ``SQSPollerPolicy``, ``SNSPublishMessagePolicy`` and ``SNSCrudPolicy``, expanded as
  SAM expands them. Their definitions
  are SAM's own, from samtranslator's
  ``policy_templates_data/policy_templates.json`` (aws-sam-translator), also listed at
  https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-policy-template-list.html
- Inline policy documents (``Statement`` lists) with ``Effect``, ``Action`` and
  ``Resource``, for the ``lambda:``, ``secretsmanager:``, ``s3:``, ``sqs:`` and ``sns:``
  services.

Everything else (managed policies by name or ARN, other templates, other services,
conditions) is reported as one warning naming it, never silently dropped. Where a part
cannot be honoured, the result errs on the side of less access: an ``Allow`` that
cannot be applied as written is dropped, a ``Deny`` is applied without its condition.

Policy document grammar: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import Location, Permission, PolicyEffect

__all__ = ["SUPPORTED_SERVICES", "ArnContext", "parse_policies"]

# Services whose actions overcast maps onto its own resources (s3 is kept for buckets).
SUPPORTED_SERVICES: Final = ("lambda", "secretsmanager", "s3", "sqs", "sns")

# SAM's statement parts that overcast does not evaluate.
_UNSUPPORTED_STATEMENT_KEYS: Final = ("Condition", "NotAction", "NotResource", "Principal")

# From samtranslator/policy_templates_data/policy_templates.json ("Templates").
_S3_READ_ACTIONS: Final = (
    "s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion",
    "s3:GetLifecycleConfiguration",
)  # fmt: skip
_S3_CRUD_ACTIONS: Final = (
    "s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:GetObjectVersion",
    "s3:PutObject", "s3:PutObjectAcl", "s3:GetLifecycleConfiguration",
    "s3:PutLifecycleConfiguration", "s3:DeleteObject",
)  # fmt: skip
_S3_WRITE_ACTIONS: Final = ("s3:PutObject", "s3:PutObjectAcl", "s3:PutLifecycleConfiguration")
_SQS_POLLER_ACTIONS: Final = (
    "sqs:ChangeMessageVisibility", "sqs:ChangeMessageVisibilityBatch", "sqs:DeleteMessage",
    "sqs:DeleteMessageBatch", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
)  # fmt: skip
_SNS_CRUD_ACTIONS: Final = (
    "sns:ListSubscriptionsByTopic", "sns:CreateTopic", "sns:SetTopicAttributes",
    "sns:Subscribe", "sns:Publish",
)  # fmt: skip
_S3_TEMPLATE_ACTIONS: Final = {
    "S3ReadPolicy": _S3_READ_ACTIONS,
    "S3WritePolicy": _S3_WRITE_ACTIONS,
    "S3CrudPolicy": _S3_CRUD_ACTIONS,
}


@dataclass(frozen=True, slots=True)
class ArnContext:
    """The pseudo parameters SAM's templates substitute into ARNs."""

    partition: str = "aws"
    region: str = "us-east-1"
    account_id: str = "123456789012"


def _template_permission(
    name: str, params: Mapping[str, str], arn: ArnContext
) -> Permission | None:
    """One SAM policy template, expanded; None for a template overcast does not know."""
    if name == "LambdaInvokePolicy":
        # "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*"
        resource = (
            f"arn:{arn.partition}:lambda:{arn.region}:{arn.account_id}:function:"
            f"{params['FunctionName']}*"
        )
        return Permission("Allow", ("lambda:InvokeFunction",), (resource,), name)
    if name == "AWSSecretsManagerGetSecretValuePolicy":
        # "${secretArn}"
        return Permission("Allow", ("secretsmanager:GetSecretValue",), (params["SecretArn"],), name)
    if name in _S3_TEMPLATE_ACTIONS:
        bucket = params["BucketName"]
        resources = (f"arn:{arn.partition}:s3:::{bucket}", f"arn:{arn.partition}:s3:::{bucket}/*")
        return Permission("Allow", _S3_TEMPLATE_ACTIONS[name], resources, name)
    if name in ("SQSSendMessagePolicy", "SQSPollerPolicy"):
        # "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${queueName}"
        queue = f"arn:{arn.partition}:sqs:{arn.region}:{arn.account_id}:{params['QueueName']}"
        send = name == "SQSSendMessagePolicy"
        return Permission(
            "Allow", ("sqs:SendMessage*",) if send else _SQS_POLLER_ACTIONS, (queue,), name
        )
    if name in ("SNSPublishMessagePolicy", "SNSCrudPolicy"):
        # SNSCrudPolicy's resource ends in "*": topics whose names start with TopicName
        topic = f"arn:{arn.partition}:sns:{arn.region}:{arn.account_id}:{params['TopicName']}"
        if name == "SNSPublishMessagePolicy":
            return Permission("Allow", ("sns:Publish",), (topic,), name)
        return Permission("Allow", _SNS_CRUD_ACTIONS, (topic + "*",), name)
    return None


_TEMPLATE_PARAMETERS: Final = {
    "LambdaInvokePolicy": ("FunctionName",),
    "AWSSecretsManagerGetSecretValuePolicy": ("SecretArn",),
    "S3ReadPolicy": ("BucketName",),
    "S3WritePolicy": ("BucketName",),
    "S3CrudPolicy": ("BucketName",),
    "SQSSendMessagePolicy": ("QueueName",),
    "SQSPollerPolicy": ("QueueName",),
    "SNSPublishMessagePolicy": ("TopicName",),
    "SNSCrudPolicy": ("TopicName",),
}


class _Parser:
    def __init__(self, owner: str, arn: ArnContext, log: WarningLog, loc: Location | None) -> None:
        self.owner = owner
        self.arn = arn
        self.log = log
        self.loc = loc
        self.out: list[Permission] = []

    def warn(self, message: str) -> None:
        self.log.warn(f"{self.owner}: Policies: {message}", self.loc)

    def item(self, value: Any) -> None:
        if isinstance(value, list):
            for entry in value:
                self.item(entry)
            return
        text = scalar_text(value) if not isinstance(value, dict) else None
        if text is not None:
            self.warn(
                f"managed policy '{text}' is not applied by overcast; it is ignored "
                "(use a SAM policy template or a Statement overcast supports, see docs/policies.md)"
            )
            return
        if not isinstance(value, dict):
            raise InvalidTemplateError(
                f"{self.owner} Policies entries must be policy names, SAM policy templates "
                "or policy documents",
                location=self.loc,
            )
        if "Statement" in value:
            self.document(value)
            return
        for name, params in value.items():
            self.template(str(name), params)

    def template(self, name: str, params: Any) -> None:
        wanted = _TEMPLATE_PARAMETERS.get(name)
        if wanted is None:
            self.warn(f"SAM policy template '{name}' is not supported by overcast; it is ignored")
            return
        if not isinstance(params, dict):
            raise InvalidTemplateError(
                f"{self.owner} policy template {name} needs a mapping of parameters "
                f"({', '.join(wanted)})",
                location=self.loc,
            )
        values: dict[str, str] = {}
        for key in wanted:
            text = scalar_text(params.get(key))
            if not text:
                raise InvalidTemplateError(
                    f"{self.owner} policy template {name} needs parameter {key}",
                    location=key_loc(params, self.loc),
                )
            values[key] = text
        permission = _template_permission(name, values, self.arn)
        if permission is not None:
            self.out.append(permission)

    def document(self, document: Mapping[str, Any]) -> None:
        statements = document["Statement"]
        if isinstance(statements, dict):
            statements = [statements]
        if not isinstance(statements, list):
            raise InvalidTemplateError(
                f"{self.owner} policy Statement must be a statement or a list of them",
                location=self.loc,
            )
        for statement in statements:
            self.statement(statement)

    def statement(self, statement: Any) -> None:
        if not isinstance(statement, dict):
            raise InvalidTemplateError(
                f"{self.owner} policy statements must be mappings", location=self.loc
            )
        effect = scalar_text(statement.get("Effect"))
        if effect not in ("Allow", "Deny"):
            raise InvalidTemplateError(
                f"{self.owner} policy statement Effect must be Allow or Deny, got {effect!r}",
                location=key_loc(statement, self.loc),
            )
        chosen: PolicyEffect = "Allow" if effect == "Allow" else "Deny"
        sid = scalar_text(statement.get("Sid")) or "Statement"
        unsupported = [key for key in _UNSUPPORTED_STATEMENT_KEYS if key in statement]
        if unsupported:
            names = ", ".join(unsupported)
            if chosen == "Allow":
                self.warn(f"{sid} uses {names}, which overcast does not evaluate; it is ignored")
                return
            self.warn(f"{sid} uses {names}, which overcast does not evaluate; it denies always")
        actions = self.strings(statement.get("Action"), f"{sid} Action")
        resources = self.strings(statement.get("Resource"), f"{sid} Resource")
        if not actions or not resources:
            self.warn(f"{sid} has no Action or no Resource; it is ignored")
            return
        kept = []
        for action in actions:
            service = action.partition(":")[0].lower()
            if action == "*" or service in SUPPORTED_SERVICES:
                kept.append(action)
            else:
                self.warn(f"action '{action}' is not enforced by overcast; it is ignored")
        if kept:
            self.out.append(Permission(chosen, tuple(kept), tuple(resources), sid))

    def strings(self, value: Any, what: str) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            text = scalar_text(item)
            if not text:
                raise InvalidTemplateError(
                    f"{self.owner} policy {what} must be strings", location=self.loc
                )
            out.append(text)
        return out


def key_loc(mapping: Any, default: Location | None) -> Location | None:
    """Where a located mapping starts, else ``default``."""
    location = getattr(mapping, "location", None)
    return location if isinstance(location, Location) else default


def parse_policies(
    owner: str, value: Any, arn: ArnContext, log: WarningLog, location: Location | None
) -> tuple[Permission, ...]:
    """The permissions a resolved ``Policies`` value grants or denies (see module doc)."""
    if value is None:
        return ()
    parser = _Parser(owner, arn, log, location)
    parser.item(value)
    return tuple(parser.out)
