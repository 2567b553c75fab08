"""The S3 backend against moto's server, a real S3 API peer over HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from overcast.storage import (
    Bucket,
    ChecksumMismatchError,
    InvalidKeyError,
    NoSuchKeyError,
    StorageError,
    get_artifact,
    open_bucket,
    put_artifact,
)
from overcast.storage.s3 import S3Bucket

REGION = "eu-west-1"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def raw(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION)


_counter = iter(range(1_000_000))


@pytest.fixture
def bucket(endpoint: str, tmp_path: Any) -> S3Bucket:
    name = f"overcast-test-{next(_counter)}"
    opened = open_bucket(
        f"s3://{name}?endpoint_url={endpoint}&region={REGION}&create=true", tmp_path
    )
    assert isinstance(opened, S3Bucket)
    return opened


def test_s3_bucket_implements_the_bucket_interface(bucket: S3Bucket) -> None:
    assert isinstance(bucket, Bucket)


def test_put_then_get_round_trips_bytes_type_and_metadata(bucket: S3Bucket) -> None:
    put = bucket.put("web/index.html", b"<h1>hi</h1>", metadata={"Stage": "dev"})
    assert put.etag == hashlib.md5(b"<h1>hi</h1>").hexdigest()
    assert put.sha256 == hashlib.sha256(b"<h1>hi</h1>").hexdigest()
    data, info = bucket.get("web/index.html")
    assert data == b"<h1>hi</h1>"
    assert info.content_type == "text/html"
    assert info.etag == put.etag
    assert info.sha256 == put.sha256
    assert info.metadata == {"stage": "dev"}
    assert info.size == len(data)


def test_head_reports_the_recorded_sha256_without_reading_the_bytes(
    bucket: S3Bucket,
) -> None:
    bucket.put("k.bin", b"\x00" * 100, content_type="application/x-test")
    info = bucket.head("k.bin")
    assert info.sha256 == hashlib.sha256(b"\x00" * 100).hexdigest()
    assert info.size == 100
    assert info.content_type == "application/x-test"
    assert bucket.exists("k.bin")


def test_missing_keys_raise_no_such_key(bucket: S3Bucket) -> None:
    with pytest.raises(NoSuchKeyError):
        bucket.get("absent")
    with pytest.raises(NoSuchKeyError):
        bucket.head("absent")
    assert not bucket.exists("absent")


def test_delete_removes_and_is_idempotent(bucket: S3Bucket) -> None:
    bucket.put("k", b"x")
    bucket.delete("k")
    bucket.delete("k")
    assert not bucket.exists("k")


def test_list_yields_keys_in_order_with_prefix(bucket: S3Bucket) -> None:
    for key in ["b", "a/z", "a/b", "a.txt", "ab"]:
        bucket.put(key, key.encode())
    assert [info.key for info in bucket.list()] == ["a.txt", "a/b", "a/z", "ab", "b"]
    listed = list(bucket.list("a/"))
    assert [info.key for info in listed] == ["a/b", "a/z"]
    assert listed[0].sha256 == hashlib.sha256(b"a/b").hexdigest()


def test_list_pages_through_more_than_one_response(bucket: S3Bucket, raw: Any) -> None:
    for index in range(12):
        bucket.put(f"p/{index:02d}", b"x")
    # A page size of 5 forces the paginator through three responses.
    bucket._client = _PagedClient(bucket._client, page_size=5)
    assert [info.key for info in bucket.list("p/")] == [f"p/{i:02d}" for i in range(12)]


class _PagedClient:
    def __init__(self, client: Any, page_size: int) -> None:
        self._client = client
        self._page_size = page_size

    def get_paginator(self, name: str) -> Any:
        inner = self._client.get_paginator(name)
        page_size = self._page_size

        class Paginator:
            def paginate(self, **kwargs: Any) -> Any:
                return inner.paginate(**kwargs, PaginationConfig={"PageSize": page_size})

        return Paginator()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def test_bytes_that_do_not_match_the_recorded_sha256_are_refused(
    bucket: S3Bucket, raw: Any
) -> None:
    bucket.put("k", b"genuine")
    # Another client overwrites the bytes but keeps overcast's old checksum record.
    raw.put_object(
        Bucket=bucket.name,
        Key="k",
        Body=b"tampered",
        Metadata={"overcast-sha256": hashlib.sha256(b"genuine").hexdigest()},
    )
    with pytest.raises(ChecksumMismatchError):
        bucket.get("k")


def test_an_object_written_by_another_client_is_checked_by_its_md5_etag(
    bucket: S3Bucket, raw: Any
) -> None:
    raw.put_object(Bucket=bucket.name, Key="foreign", Body=b"from elsewhere")
    assert bucket.head("foreign").sha256 is None
    data, info = bucket.get("foreign")
    assert data == b"from elsewhere"
    assert info.sha256 == hashlib.sha256(b"from elsewhere").hexdigest()


def test_escaping_keys_are_refused_before_any_request(bucket: S3Bucket) -> None:
    with pytest.raises(InvalidKeyError):
        bucket.put("../x", b"x")
    with pytest.raises(InvalidKeyError):
        bucket.get("a//b")


def test_opening_a_missing_bucket_without_create_fails_on_first_use(
    endpoint: str, tmp_path: Any
) -> None:
    bucket = open_bucket(f"s3://never-created?endpoint_url={endpoint}&region={REGION}", tmp_path)
    with pytest.raises(StorageError, match="does not exist"):
        bucket.put("k", b"x")


def test_creating_an_existing_bucket_is_fine(endpoint: str, bucket: S3Bucket) -> None:
    again = S3Bucket(bucket.name, endpoint_url=endpoint, region=REGION, create=True)
    again.put("k", b"x")
    assert bucket.get("k")[0] == b"x"


def test_an_unreachable_endpoint_raises_storage_error_naming_it() -> None:
    bucket = S3Bucket("unreachable", endpoint_url="http://127.0.0.1:9", region=REGION)
    with pytest.raises(StorageError, match="failed") as info:
        bucket.head("k")
    assert "http://127.0.0.1:9" in info.value.hint


def test_identical_artifacts_are_uploaded_once_to_s3(bucket: S3Bucket, raw: Any) -> None:
    first = put_artifact(bucket, b"zip bytes")
    second = put_artifact(bucket, b"zip bytes")
    assert first == second
    versions = raw.list_objects_v2(Bucket=bucket.name, Prefix="sha256/")["Contents"]
    assert [item["Key"] for item in versions] == [f"sha256/{first}"]
    assert get_artifact(bucket, first) == b"zip bytes"


def test_explicit_credentials_are_used_over_the_environment(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    bucket = S3Bucket(
        "explicit-creds",
        endpoint_url=endpoint,
        region=REGION,
        access_key_id="AKIDEXAMPLE",
        secret_access_key="secret",
        create=True,
    )
    bucket.put("k", b"x")
    assert bucket.get("k")[0] == b"x"
