"""`overcast serve`: the admin port speaks S3 too; a deployment's template buckets exist
once it is live, and its S3 events invoke its stage's functions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from overcast.control.access_keys import KeyStore, read_credentials_file
from overcast.events import EVENTS_FILE, AsyncQueue
from process_helpers import RunningPlatform

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[1] / "apps" / "s3_notifications"


def _s3(platform: RunningPlatform) -> Any:
    key_id, secret = read_credentials_file(KeyStore(platform.state_dir).admin_credentials_path)
    return boto3.client(
        "s3",
        endpoint_url=platform.admin_url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0}),
    )


def _delivered(platform: RunningPlatform, function: str, stage: str) -> int:
    queue = AsyncQueue(platform.state_dir / EVENTS_FILE, recover=False)
    try:
        return queue.counts(function, stage).delivered
    finally:
        queue.close()


def test_a_deployed_templates_bucket_notifies_its_stages_function(
    overcast_platform: RunningPlatform,
) -> None:
    overcast_platform.deploy(APP, "dev")
    s3 = _s3(overcast_platform)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert "s3-notifications-archive" in names
    [uploads] = [name for name in names if "uploads" in name]
    s3.put_object(Bucket=uploads, Key="incoming/skip.csv", Body=b"no")
    s3.put_object(Bucket=uploads, Key="incoming/yes.txt", Body=b"yes")
    deadline = time.monotonic() + 60
    while _delivered(overcast_platform, "OnUpload", "dev") < 1:
        assert time.monotonic() < deadline, overcast_platform.output()
        time.sleep(0.1)
    assert s3.get_object(Bucket=uploads, Key="incoming/yes.txt")["Body"].read() == b"yes"
    assert _delivered(overcast_platform, "OnUpload", "dev") == 1
    # another stage: its generated bucket is its own, its literal BucketName is taken
    done = overcast_platform.cli("deploy", str(APP), "--stage", "prod")
    assert done.returncode != 0
    error = " ".join(done.stderr.decode().split())
    assert "s3-notifications-archive already exists in stack" in error
    assert "of stage dev" in error
