"""A platform whose artifacts bucket is an S3 API (moto's server as the real peer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from platform_helpers import set_code

from process_helpers import start_platform

pytestmark = pytest.mark.slow


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def test_artifacts_live_in_the_s3_bucket_and_each_is_uploaded_once(
    endpoint: str, tmp_path: Path, versioned_app: Path
) -> None:
    url = f"s3://overcast-artifacts?endpoint_url={endpoint}&region=us-east-1&create=true"
    running = start_platform(tmp_path / "state", "--artifacts", url)
    try:
        running.deploy(versioned_app, "dev")
        set_code(versioned_app, "v2")
        running.deploy(versioned_app, "dev")
        set_code(versioned_app, "v1")  # the same bytes as the first deploy: no upload
        again = running.cli("deploy", str(versioned_app), "--stage", "prod")
        assert again.returncode == 0, again.stderr.decode()
        assert "0 of 1 artifact(s) to upload" in again.stderr.decode()
        assert running.get("prod", "/whoami").json()["code"] == "v1"
    finally:
        assert running.stop() in (0, 130), running.output()
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="overcast-artifacts")["Contents"]]
    assert len(keys) == 2
    assert all(key.startswith("sha256/") for key in keys)
