"""Opening buckets by URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.storage import FilesystemBucket, StorageError, open_bucket
from overcast.storage.s3 import S3Bucket


def test_a_bare_name_is_a_folder_under_the_root(tmp_path: Path) -> None:
    bucket = open_bucket("static", tmp_path)
    assert isinstance(bucket, FilesystemBucket)
    assert bucket.root == tmp_path / "static"


def test_a_file_url_with_a_name_is_a_folder_under_the_root(tmp_path: Path) -> None:
    bucket = open_bucket("file://artifacts", tmp_path)
    assert isinstance(bucket, FilesystemBucket)
    assert bucket.root == tmp_path / "artifacts"


def test_a_file_url_with_an_absolute_path_is_that_folder(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "b"
    bucket = open_bucket(f"file://{target}", tmp_path / "root")
    assert isinstance(bucket, FilesystemBucket)
    assert bucket.root == target
    bucket.put("k", b"v")
    assert (target / "objects" / "k").read_bytes() == b"v"


@pytest.mark.parametrize("url", ["..", "a/b", "../up", "ftp://host/x", "file://host/path"])
def test_bad_bucket_urls_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(StorageError):
        open_bucket(url, tmp_path)


def test_an_s3_url_opens_an_s3_bucket_with_its_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    bucket = open_bucket(
        "s3://my-bucket?endpoint_url=http://127.0.0.1:9/&region=eu-west-1", tmp_path
    )
    assert isinstance(bucket, S3Bucket)
    assert bucket.name == "my-bucket"
    assert bucket.endpoint_url == "http://127.0.0.1:9/"
    assert bucket.region == "eu-west-1"


@pytest.mark.parametrize(
    "url", ["s3://", "s3://b/with/path", "s3://ok-name?colour=blue", "s3://Bad_Name"]
)
def test_bad_s3_urls_are_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(StorageError):
        open_bucket(url, tmp_path)
