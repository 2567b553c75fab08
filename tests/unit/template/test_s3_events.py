"""AWS::S3::Bucket names and attributes, and a function's S3 events, read at load."""

from __future__ import annotations

import pytest

from overcast.control.s3_buckets import valid_bucket_name
from overcast.template import InvalidTemplateError
from overcast.template.model import S3EventSpec
from overcast.template.s3_events import generated_bucket_name

from .helpers import function, load_resources, messages

BUCKET = """\
  Uploads:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: my-uploads
"""


def s3_events(events: str, buckets: str = BUCKET) -> tuple[S3EventSpec, ...]:
    model = load_resources(buckets + function(events=events))
    assert messages(model) == []
    return model.functions["Hello"].s3_events


def test_an_s3_event_with_a_list_of_events_and_a_prefix_and_suffix_filter() -> None:
    (spec,) = s3_events(
        """
        Upload:
          Type: S3
          Properties:
            Bucket: !Ref Uploads
            Events: [s3:ObjectCreated:*, s3:ObjectRemoved:Delete]
            Filter:
              S3Key:
                Rules:
                  - {Name: prefix, Value: incoming/}
                  - {Name: suffix, Value: .csv}
        """
    )
    assert spec == S3EventSpec(
        event_name="Upload", bucket="Uploads", bucket_name="my-uploads",
        events=("s3:ObjectCreated:*", "s3:ObjectRemoved:Delete"),
        prefix="incoming/", suffix=".csv", location=spec.location,
    )  # fmt: skip


def test_one_event_type_as_a_string_and_no_filter() -> None:
    (spec,) = s3_events(
        """
        Upload:
          Type: S3
          Properties: {Bucket: !Ref Uploads, Events: s3:ObjectCreated:Put}
        """
    )
    assert spec.events == ("s3:ObjectCreated:Put",)
    assert (spec.prefix, spec.suffix) == (None, None)


def test_a_bucket_not_of_the_template_is_refused_with_its_line() -> None:
    with pytest.raises(InvalidTemplateError) as info:
        load_resources(
            function(events="E:\n  Type: S3\n  Properties: {Bucket: some-bucket, Events: s3:*}")
        )
    assert "must be !Ref to an AWS::S3::Bucket" in str(info.value)
    assert info.value.location is not None


def test_a_ref_to_another_resource_type_is_refused() -> None:
    with pytest.raises(InvalidTemplateError) as info:
        load_resources(
            function("Other")
            + function(
                events="E:\n  Type: S3\n  Properties: {Bucket: !Ref Other, Events: s3:ObjectCreated:*}"  # noqa: E501
            )
        )
    assert "'Other' is not an AWS::S3::Bucket" in str(info.value)


def test_an_unknown_event_type_is_refused_and_a_never_emitted_one_warned() -> None:
    with pytest.raises(InvalidTemplateError, match="not an S3 event type"):
        s3_events("E:\n  Type: S3\n  Properties: {Bucket: !Ref Uploads, Events: s3:Whatever}")
    model = load_resources(
        BUCKET
        + function(
            events="E:\n  Type: S3\n"
            "  Properties: {Bucket: !Ref Uploads, Events: s3:ObjectTagging:*}"
        )
    )
    assert any("never emits 's3:ObjectTagging:*'" in m for m in messages(model))


def test_two_prefix_rules_are_refused() -> None:
    with pytest.raises(InvalidTemplateError, match="two prefix rules"):
        s3_events(
            """
            E:
              Type: S3
              Properties:
                Bucket: !Ref Uploads
                Events: s3:ObjectCreated:*
                Filter: {S3Key: {Rules: [{Name: prefix, Value: a}, {Name: Prefix, Value: b}]}}
            """
        )


def test_a_bucket_ref_is_its_name_and_getatt_gives_arn_and_domain_names() -> None:
    model = load_resources(
        BUCKET
        + """\
  Plain:
    Type: AWS::S3::Bucket
"""
        + function(
            props="""
            Environment:
              Variables:
                NAME: !Ref Uploads
                ARN: !GetAtt Uploads.Arn
                DOMAIN: !GetAtt Uploads.RegionalDomainName
                GENERATED: !Ref Plain
            """
        )
    )
    assert messages(model) == []
    env = model.functions["Hello"].environment
    assert env["NAME"] == "my-uploads"
    assert env["ARN"] == "arn:aws:s3:::my-uploads"
    assert env["DOMAIN"] == "my-uploads.s3.us-east-1.amazonaws.com"
    assert env["GENERATED"] == model.bucket_names["Plain"]
    assert model.bucket_names["Uploads"] == "my-uploads"


def test_generated_bucket_names_are_stable_lower_case_and_within_63_characters() -> None:
    name = generated_bucket_name("My_Stack", "PhotosBucket")
    assert name == generated_bucket_name("My_Stack", "PhotosBucket")
    assert name.startswith("my-stack-photosbucket-")
    assert name == name.lower()
    long = generated_bucket_name("s" * 80, "L" * 80)
    assert len(long) <= 63
    assert valid_bucket_name(long)
    assert valid_bucket_name(name)


def test_bucket_properties_overcast_does_not_apply_are_warned_about() -> None:
    model = load_resources(
        """\
  Data:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: data-bucket
      Tags: [{Key: team, Value: a}]
      VersioningConfiguration: {Status: Enabled}
      NotificationConfiguration: {}
"""
    )
    assert messages(model) == [
        "Bucket 'Data' VersioningConfiguration is not applied by overcast's buckets; it is ignored",
        "Bucket 'Data' NotificationConfiguration is not applied by overcast's buckets; "
        "it is ignored (subscribe functions with Events: Type: S3 instead)",
    ]


def test_overlapping_notifications_on_one_bucket_are_refused_as_s3_refuses_them() -> None:
    def event(name: str, events: str, prefix: str) -> str:
        return (
            f"{name}:\n  Type: S3\n  Properties:\n    Bucket: !Ref Uploads\n"
            f"    Events: {events}\n"
            f"    Filter: {{S3Key: {{Rules: [{{Name: prefix, Value: {prefix}}}]}}}}\n"
        )

    with pytest.raises(InvalidTemplateError, match="overlaps Function 'Hello' event 'A'"):
        load_resources(
            BUCKET
            + function(events=event("A", "s3:ObjectCreated:*", "in/"))
            + function("Other", events=event("B", "s3:ObjectCreated:Put", "in/sub/"))
        )
    model = load_resources(
        BUCKET
        + function(events=event("A", "s3:ObjectCreated:*", "in/"))
        + function("Other", events=event("B", "s3:ObjectRemoved:*", "in/"))
        + function("Third", events=event("C", "s3:ObjectCreated:*", "out/"))
    )
    assert messages(model) == []


def test_generated_bucket_names_follow_the_physical_stack_so_each_stage_has_its_own() -> None:
    plain = "  Files:\n    Type: AWS::S3::Bucket\n"
    dev = load_resources(plain, stack_name="app", physical_stack="app-dev").bucket_names
    prod = load_resources(plain, stack_name="app", physical_stack="app-prod").bucket_names
    assert dev["Files"].startswith("app-dev-files-")
    assert prod["Files"].startswith("app-prod-files-")
