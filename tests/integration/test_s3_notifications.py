"""S3 events through ``overcast up``: a change made through the S3 API invokes the
functions whose ``Events: Type: S3`` want it, once each, with S3's event record
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow

WAIT_S = 60.0
APP = Path(__file__).resolve().parent / "apps" / "s3_notifications"


def _events(app: Any) -> list[dict[str, Any]]:
    return [
        json.loads(event.message.split("event ", 1)[1])
        for event in LogStore(str(app.state_dir)).read("OnUpload")
        if event.message.startswith("event ")
    ]


def _wait_for(check: Callable[[], bool], what: str, app: Any) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} never happened\n" + app.output())
        time.sleep(0.1)


def _s3(app: Any) -> Any:
    creds = app.admin_credentials()
    return boto3.client(
        "s3",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )


def _bucket(s3: Any) -> str:
    [name] = [b["Name"] for b in s3.list_buckets()["Buckets"] if "uploads" in b["Name"]]
    return str(name)


def test_a_matching_put_and_delete_invoke_the_function_once_each_with_s3s_record(
    running_app: Any,
) -> None:
    app = running_app(APP)
    s3 = _s3(app)
    bucket = _bucket(s3)
    assert "s3-notifications-archive" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    body = b"hello"
    s3.put_object(Bucket=bucket, Key="incoming/skip.csv", Body=b"wrong suffix")
    s3.put_object(Bucket=bucket, Key="elsewhere/skip.txt", Body=b"wrong prefix")
    s3.put_object(Bucket=bucket, Key="incoming/a b.txt", Body=body)
    _wait_for(lambda: len(_events(app)) >= 1, "the put's event", app)
    s3.delete_object(Bucket=bucket, Key="incoming/a b.txt")
    _wait_for(lambda: len(_events(app)) >= 2, "the delete's event", app)

    put, delete = _events(app)
    [record] = put["Records"]
    assert list(record) == [
        "eventVersion", "eventSource", "awsRegion", "eventTime", "eventName",
        "userIdentity", "requestParameters", "responseElements", "s3",
    ]  # fmt: skip
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["eventTime"].endswith("Z")
    assert len(record["eventTime"]) == 24
    assert record["userIdentity"]["principalId"] == f"AWS:{app.admin_credentials().access_key_id}"
    assert record["requestParameters"] == {"sourceIPAddress": "127.0.0.1"}
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}
    assert record["s3"]["s3SchemaVersion"] == "1.0"
    assert record["s3"]["configurationId"] == "OnUpload-Incoming"
    assert record["s3"]["bucket"] == {
        "name": bucket,
        "ownerIdentity": {"principalId": "123456789012"},
        "arn": f"arn:aws:s3:::{bucket}",
    }
    obj = record["s3"]["object"]
    assert obj["key"] == "incoming/a+b.txt"  # URL-encoded as S3 does
    assert obj["size"] == len(body)
    assert obj["eTag"] == hashlib.md5(body, usedforsecurity=False).hexdigest()
    [removed] = delete["Records"]
    assert removed["eventName"] == "ObjectRemoved:Delete"
    assert removed["s3"]["object"]["key"] == "incoming/a+b.txt"
    assert "size" not in removed["s3"]["object"]
    assert removed["s3"]["object"]["sequencer"] > obj["sequencer"]


def test_a_copy_and_a_multi_object_delete_notify_as_s3_does(running_app: Any) -> None:
    app = running_app(APP)
    s3 = _s3(app)
    bucket = _bucket(s3)
    s3.put_object(Bucket=bucket, Key="incoming/source.csv", Body=b"x,y")
    s3.copy_object(
        Bucket=bucket,
        Key="incoming/copied.txt",
        CopySource={"Bucket": bucket, "Key": "incoming/source.csv"},
    )
    _wait_for(lambda: len(_events(app)) >= 1, "the copy's event", app)
    s3.delete_objects(
        Bucket=bucket,
        Delete={"Objects": [{"Key": "incoming/copied.txt"}, {"Key": "incoming/source.csv"}]},
    )
    _wait_for(lambda: len(_events(app)) >= 2, "the multi-object delete's event", app)
    names = [(e["Records"][0]["eventName"], e["Records"][0]["s3"]["object"]["key"])
             for e in _events(app)]  # fmt: skip
    assert names == [
        ("ObjectCreated:Copy", "incoming/copied.txt"),
        ("ObjectRemoved:Delete", "incoming/copied.txt"),
    ]


def test_a_function_writes_the_bucket_its_policy_grants_and_is_refused_another(
    running_app: Any,
) -> None:
    app = running_app(APP)
    response = app.lambda_client().invoke(
        FunctionName="Writer", Payload=json.dumps({"key": "incoming/by-function.txt"})
    )
    assert "FunctionError" not in response, response["Payload"].read()
    result = json.loads(response["Payload"].read())
    assert result["uploads"]["etag"].startswith('"')
    assert result["archive"] == {"error": "AccessDenied"}
    _wait_for(lambda: len(_events(app)) >= 1, "the function's put's event", app)
    [record] = _events(app)[0]["Records"]
    assert record["s3"]["object"]["key"] == "incoming/by-function.txt"
    assert record["userIdentity"]["principalId"].startswith("AWS:ASIA")
