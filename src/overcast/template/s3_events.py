"""``AWS::S3::Bucket`` names and a function's ``S3`` events, validated at load; pure.

SAM's ``S3`` event
(https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-property-function-s3.html):
``Bucket`` (required; SAM only accepts a bucket of the same template, as ``!Ref``),
``Events`` (one S3 event type or a list) and ``Filter`` (S3's
``NotificationFilter``: ``S3Key: Rules: [{Name: prefix|suffix, Value: ...}]``, at most
one rule of each name).

A bucket's name is its ``BucketName``; without one CloudFormation generates
``<stack>-<logical id>-<random>`` in lower case. overcast derives the suffix from the
stack and the logical ID, so the name (and the bucket's objects) survive restarts.
CloudFormation's ``Ref`` is the name; ``Fn::GetAtt`` gives ``Arn``, ``DomainName``,
``RegionalDomainName``, ``DualStackDomainName`` and ``WebsiteURL``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Final

from overcast.template.diagnostics import WarningLog
from overcast.template.errors import InvalidTemplateError
from overcast.template.intrinsics import scalar_text
from overcast.template.model import Location, S3EventSpec
from overcast.template.yaml_loader import LocatedDict, key_location

S3_EVENT_TYPE: Final = "S3"
_PROPERTIES: Final = frozenset({"Bucket", "Events", "Filter"})
#: the event types overcast's S3 API emits
EMITTED: Final = (
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
)
#: S3's other event types: accepted, never emitted by overcast (a warning says so)
_NEVER_EMITTED: Final = frozenset(
    {
        "s3:ObjectCreated:Post",
        "s3:ObjectRemoved:DeleteMarkerCreated", "s3:ObjectRestore:*",
        "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed", "s3:ObjectRestore:Delete",
        "s3:ReducedRedundancyLostObject", "s3:Replication:*",
        "s3:Replication:OperationFailedReplication",
        "s3:Replication:OperationMissedThreshold",
        "s3:Replication:OperationReplicatedAfterThreshold",
        "s3:Replication:OperationNotTracked", "s3:LifecycleExpiration:*",
        "s3:LifecycleExpiration:Delete", "s3:LifecycleExpiration:DeleteMarkerCreated",
        "s3:LifecycleTransition", "s3:IntelligentTiering", "s3:ObjectTagging:*",
        "s3:ObjectTagging:Put", "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put",
        "s3:TestEvent",
    }
)  # fmt: skip
_SUFFIX_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz0123456789"
#: bucket Properties overcast reads, or may ignore without changing what a client sees
_BUCKET_PROPERTIES: Final = frozenset(
    {"BucketName", "Tags", "BucketEncryption", "OwnershipControls",
     "PublicAccessBlockConfiguration", "AccessControl"}
)  # fmt: skip


def warn_bucket_properties(log: WarningLog, logical_id: str, properties: LocatedDict) -> None:
    """One warning per bucket property overcast's buckets do not apply."""
    for name in properties:
        if name in _BUCKET_PROPERTIES:
            continue
        hint = (
            " (subscribe functions with Events: Type: S3 instead)"
            if name == "NotificationConfiguration"
            else ""
        )
        log.warn(
            f"Bucket '{logical_id}' {name} is not applied by overcast's buckets; "
            f"it is ignored{hint}",
            properties.key_location(name),
        )


def generated_bucket_name(stack_name: str, logical_id: str) -> str:
    """``<stack>-<logicalid>-<suffix>``, lower case, within S3's 63 characters; stable."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    suffix = "".join(_SUFFIX_ALPHABET[b % len(_SUFFIX_ALPHABET)] for b in digest[:12])
    stem = "".join(c if c.isalnum() and c.isascii() else "-" for c in f"{stack_name}-{logical_id}")
    stem = "-".join(part for part in stem.lower().split("-") if part)[: 63 - len(suffix) - 1]
    return f"{stem.rstrip('-')}-{suffix}" if stem else suffix


def bucket_attributes(name: str, partition: str, region: str, url_suffix: str) -> dict[str, str]:
    """``Fn::GetAtt`` values of a bucket named ``name``."""
    return {
        "Arn": f"arn:{partition}:s3:::{name}",
        "DomainName": f"{name}.s3.{url_suffix}",
        "RegionalDomainName": f"{name}.s3.{region}.{url_suffix}",
        "DualStackDomainName": f"{name}.s3.dualstack.{region}.{url_suffix}",
        "WebsiteURL": f"http://{name}.s3-website-{region}.{url_suffix}",
    }


def bucket_reference(owner: str, event: str, props: LocatedDict, loc: Location | None) -> str:
    """The logical ID ``Bucket: !Ref B`` names (read before intrinsics resolve it)."""
    value = props.get("Bucket")
    at = key_location(props, "Bucket", loc)
    if isinstance(value, dict) and set(value) == {"Ref"} and isinstance(value["Ref"], str):
        return str(value["Ref"])
    raise InvalidTemplateError(
        f"{owner} event '{event}' Bucket must be !Ref to an AWS::S3::Bucket of this template "
        "(SAM accepts no other bucket)",
        location=at,
        hint="write Bucket: !Ref MyBucket",
    )


def parse_s3_event(
    owner: str,
    event: str,
    props: LocatedDict,
    *,
    bucket: str,
    bucket_name: str,
    location: Location | None,
    log: WarningLog,
) -> S3EventSpec:
    """One ``S3`` event's resolved Properties (its Bucket already looked up)."""
    what = f"{owner} event '{event}'"
    for name in props:
        if name not in _PROPERTIES:
            log.warn(f"{what} {name} is not supported by overcast; it is ignored",
                     key_location(props, name, location))  # fmt: skip
    events = _events(what, props.get("Events"), key_location(props, "Events", location), log)
    prefix, suffix = _filter(what, props.get("Filter"), key_location(props, "Filter", location))
    return S3EventSpec(
        event_name=event,
        bucket=bucket,
        bucket_name=bucket_name,
        events=events,
        prefix=prefix,
        suffix=suffix,
        location=location,
    )


def _events(what: str, raw: Any, at: Location | None, log: WarningLog) -> tuple[str, ...]:
    if raw is None:
        raise InvalidTemplateError(f"{what} needs Events", location=at,
                                   hint="write Events: s3:ObjectCreated:*")  # fmt: skip
    values = raw if isinstance(raw, list) else [raw]
    found: list[str] = []
    for value in values:
        text = scalar_text(value)
        if text is None or isinstance(value, bool):
            raise InvalidTemplateError(f"{what} Events must be S3 event types", location=at)
        if text not in EMITTED and text not in _NEVER_EMITTED:
            raise InvalidTemplateError(
                f"{what} Events: '{text}' is not an S3 event type",
                location=at,
                hint="for example " + ", ".join(EMITTED),
            )
        if text in _NEVER_EMITTED:
            log.warn(f"{what} Events: overcast never emits '{text}'", at)
        found.append(text)
    if not found:
        raise InvalidTemplateError(f"{what} Events is empty", location=at)
    return tuple(dict.fromkeys(found))


def _filter(what: str, raw: Any, at: Location | None) -> tuple[str | None, str | None]:
    if raw is None:
        return None, None
    key = raw.get("S3Key") if isinstance(raw, dict) else None
    rules = key.get("Rules") if isinstance(key, dict) else None
    if not isinstance(rules, list):
        raise InvalidTemplateError(
            f"{what} Filter must be S3Key: Rules: [a list of {{Name, Value}}]",
            location=at,
            hint="write Filter: {S3Key: {Rules: [{Name: prefix, Value: uploads/}]}}",
        )
    chosen: dict[str, str] = {}
    for rule in rules:
        name = scalar_text(rule.get("Name")) if isinstance(rule, dict) else None
        value = scalar_text(rule.get("Value")) if isinstance(rule, dict) else None
        if name is None or value is None or name.lower() not in ("prefix", "suffix"):
            raise InvalidTemplateError(
                f"{what} Filter rules need Name (prefix or suffix) and Value", location=at
            )
        if name.lower() in chosen:
            # S3 refuses overlapping rules of one name in a configuration.
            raise InvalidTemplateError(
                f"{what} Filter has two {name.lower()} rules; S3 allows one", location=at
            )
        chosen[name.lower()] = value
    return chosen.get("prefix"), chosen.get("suffix")


def _types_overlap(a: str, b: str) -> bool:
    def covers(pattern: str, name: str) -> bool:
        return pattern == name or (pattern.endswith("*") and name.startswith(pattern[:-1]))

    return covers(a, b) or covers(b, a)


def _affixes_overlap(a: str | None, b: str | None, *, suffix: bool) -> bool:
    if not a or not b:
        return True
    if suffix:
        return a.endswith(b) or b.endswith(a)
    return a.startswith(b) or b.startswith(a)


def check_overlaps(specs: Sequence[tuple[str, S3EventSpec]]) -> None:
    """Refuse two S3 events of one bucket that could both take a change, as S3 refuses
    such a notification configuration ("Configurations overlap"): their event types
    overlap, and so do their prefixes and their suffixes. ``specs``: (owner, event)."""
    for i, (owner, spec) in enumerate(specs):
        for other_owner, other in specs[:i]:
            if other.bucket != spec.bucket:
                continue
            if (
                any(_types_overlap(a, b) for a in spec.events for b in other.events)
                and _affixes_overlap(spec.prefix, other.prefix, suffix=False)
                and _affixes_overlap(spec.suffix, other.suffix, suffix=True)
            ):
                raise InvalidTemplateError(
                    f"{owner} event '{spec.event_name}' overlaps {other_owner} event "
                    f"'{other.event_name}' on bucket '{spec.bucket}': S3 refuses two "
                    "notifications that could take the same change",
                    location=spec.location,
                    hint="give them event types, prefixes or suffixes that cannot both match",
                )
