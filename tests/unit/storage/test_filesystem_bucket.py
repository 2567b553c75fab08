"""The filesystem backend: records, checksums on read, listing order, key refusal."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from overcast.storage import (
    Bucket,
    ChecksumMismatchError,
    FilesystemBucket,
    InvalidKeyError,
    NoSuchKeyError,
    StorageError,
)


@pytest.fixture
def bucket(tmp_path: Path) -> FilesystemBucket:
    return FilesystemBucket(tmp_path / "bucket")


def _data_file(bucket: FilesystemBucket, key: str) -> Path:
    return bucket.root / "objects" / key


def _record_file(bucket: FilesystemBucket, key: str) -> Path:
    name = hashlib.sha256(key.encode()).hexdigest()
    return bucket.root / "meta" / name[:2] / f"{name}.json"


def test_filesystem_bucket_implements_the_bucket_interface(bucket: FilesystemBucket) -> None:
    assert isinstance(bucket, Bucket)


def test_put_returns_s3_style_etag_and_sha256(bucket: FilesystemBucket) -> None:
    info = bucket.put("docs/readme.txt", b"hello", metadata={"Owner": "dev"})
    assert info.key == "docs/readme.txt"
    assert info.size == 5
    assert info.etag == hashlib.md5(b"hello").hexdigest()
    assert info.sha256 == hashlib.sha256(b"hello").hexdigest()
    assert info.content_type == "text/plain"
    assert info.metadata == {"owner": "dev"}
    assert info.last_modified.tzinfo is not None


def test_get_returns_the_bytes_and_the_same_record_as_head(bucket: FilesystemBucket) -> None:
    put = bucket.put("a.bin", b"\x00\x01\x02", content_type="application/x-test")
    data, info = bucket.get("a.bin")
    assert data == b"\x00\x01\x02"
    assert info == put == bucket.head("a.bin")


def test_content_type_is_guessed_from_the_extension_when_not_given(
    bucket: FilesystemBucket,
) -> None:
    assert bucket.put("index.html", b"<p>").content_type == "text/html"
    assert bucket.put("blob", b"x").content_type == "application/octet-stream"


def test_put_replaces_the_previous_object(bucket: FilesystemBucket) -> None:
    bucket.put("k", b"old")
    bucket.put("k", b"new, longer")
    assert bucket.get("k")[0] == b"new, longer"
    assert bucket.head("k").size == len(b"new, longer")


def test_missing_key_raises_no_such_key_on_get_and_head(bucket: FilesystemBucket) -> None:
    with pytest.raises(NoSuchKeyError):
        bucket.get("absent")
    with pytest.raises(NoSuchKeyError):
        bucket.head("absent")
    assert not bucket.exists("absent")


def test_delete_removes_the_object_and_is_idempotent(bucket: FilesystemBucket) -> None:
    bucket.put("dir/sub/k", b"x")
    bucket.delete("dir/sub/k")
    bucket.delete("dir/sub/k")
    assert not bucket.exists("dir/sub/k")
    assert list(bucket.list()) == []
    assert not (bucket.root / "objects" / "dir").exists()  # emptied folders are pruned


def test_list_yields_keys_in_order_filtered_by_prefix(bucket: FilesystemBucket) -> None:
    for key in ["b", "a/z", "a/b", "a.txt", "ab", "c/d/e"]:
        bucket.put(key, key.encode())
    assert [info.key for info in bucket.list()] == ["a.txt", "a/b", "a/z", "ab", "b", "c/d/e"]
    assert [info.key for info in bucket.list("a/")] == ["a/b", "a/z"]
    assert [info.key for info in bucket.list("a")] == ["a.txt", "a/b", "a/z", "ab"]
    assert [info.size for info in bucket.list("c/")] == [5]


def test_an_empty_object_round_trips(bucket: FilesystemBucket) -> None:
    bucket.put("empty", b"")
    assert bucket.get("empty")[0] == b""


def test_a_corrupted_data_file_raises_instead_of_returning_wrong_bytes(
    bucket: FilesystemBucket,
) -> None:
    bucket.put("site/index.html", b"<h1>hello</h1>")
    _data_file(bucket, "site/index.html").write_bytes(b"<h1>jello</h1>")
    with pytest.raises(ChecksumMismatchError) as info:
        bucket.get("site/index.html")
    assert info.value.key == "site/index.html"
    assert info.value.expected == hashlib.sha256(b"<h1>hello</h1>").hexdigest()


def test_a_truncated_data_file_raises_checksum_mismatch(bucket: FilesystemBucket) -> None:
    bucket.put("k", b"0123456789")
    _data_file(bucket, "k").write_bytes(b"01234")
    with pytest.raises(ChecksumMismatchError):
        bucket.get("k")


def test_a_record_whose_data_file_vanished_raises_storage_error(
    bucket: FilesystemBucket,
) -> None:
    bucket.put("k", b"x")
    _data_file(bucket, "k").unlink()
    with pytest.raises(StorageError, match="no data file"):
        bucket.get("k")


def test_a_garbled_record_raises_storage_error(bucket: FilesystemBucket) -> None:
    bucket.put("k", b"x")
    _record_file(bucket, "k").write_text("{not json")
    with pytest.raises(StorageError, match="corrupted object record"):
        bucket.head("k")


def test_the_record_is_json_with_checksums_and_metadata(bucket: FilesystemBucket) -> None:
    bucket.put("k.css", b"body{}", metadata={"x": "1"})
    record = json.loads(_record_file(bucket, "k.css").read_text())
    assert record["key"] == "k.css"
    assert record["sha256"] == hashlib.sha256(b"body{}").hexdigest()
    assert record["etag"] == hashlib.md5(b"body{}").hexdigest()
    assert record["content_type"] == "text/css"
    assert record["metadata"] == {"x": "1"}


def test_objects_are_stored_at_the_path_their_key_names(bucket: FilesystemBucket) -> None:
    bucket.put("assets/app.js", b"1")
    assert _data_file(bucket, "assets/app.js").read_bytes() == b"1"


@pytest.mark.parametrize("key", ["../escape", "/etc/passwd", "a/../../b", "a\x00b", "x" * 1025])
def test_escaping_keys_are_refused_by_every_operation(
    bucket: FilesystemBucket, tmp_path: Path, key: str
) -> None:
    with pytest.raises(InvalidKeyError):
        bucket.put(key, b"x")
    for operation in (bucket.get, bucket.head, bucket.delete, bucket.exists):
        with pytest.raises(InvalidKeyError):
            operation(key)
    assert not (tmp_path / "escape").exists()


def test_a_key_below_an_existing_object_is_refused_without_harm(
    bucket: FilesystemBucket,
) -> None:
    bucket.put("a", b"file")
    with pytest.raises(InvalidKeyError, match="cannot hold both"):
        bucket.put("a/b", b"x")
    bucket.put("c/d", b"x")
    with pytest.raises(InvalidKeyError, match="cannot hold both"):
        bucket.put("c", b"x")
    assert bucket.get("a")[0] == b"file"
    assert bucket.get("c/d")[0] == b"x"


def test_a_key_can_reuse_the_folder_a_deleted_key_left(bucket: FilesystemBucket) -> None:
    bucket.put("a/b", b"x")
    bucket.delete("a/b")
    bucket.put("a", b"now a file")
    assert bucket.get("a")[0] == b"now a file"


def test_reserved_metadata_names_are_refused(bucket: FilesystemBucket) -> None:
    with pytest.raises(StorageError, match="reserved"):
        bucket.put("k", b"x", metadata={"overcast-sha256": "0"})


def test_no_temporary_file_is_left_after_writes(bucket: FilesystemBucket) -> None:
    for index in range(5):
        bucket.put(f"d/k{index}", b"x" * index)
    leftovers = [name for _dir, _sub, files in os.walk(bucket.root) for name in files]
    assert not [name for name in leftovers if name.startswith(".tmp-")]


def test_a_failed_write_leaves_the_previous_object_whole(
    bucket: FilesystemBucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket.put("k", b"original")

    def failing_fsync(fd: int) -> None:
        raise OSError(5, "simulated I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(StorageError, match="simulated I/O error"):
        bucket.put("k", b"replacement")
    monkeypatch.undo()
    assert bucket.get("k")[0] == b"original"
    assert not [p for p in (bucket.root / "objects").iterdir() if p.name.startswith(".tmp-")]


def test_a_second_bucket_object_on_the_same_folder_sees_the_same_objects(
    bucket: FilesystemBucket,
) -> None:
    bucket.put("shared", b"v1")
    assert FilesystemBucket(bucket.root).get("shared")[0] == b"v1"


@pytest.mark.parametrize("content_type", ["text/html\r\nSet-Cookie: a=b", "text/é"])
def test_content_types_that_cannot_be_a_header_are_refused(
    bucket: FilesystemBucket, content_type: str
) -> None:
    with pytest.raises(StorageError, match="content type"):
        bucket.put("k", b"x", content_type=content_type)
    assert not bucket.exists("k")


def test_metadata_values_with_control_characters_are_refused(bucket: FilesystemBucket) -> None:
    with pytest.raises(StorageError, match="control characters"):
        bucket.put("k", b"x", metadata={"a": "line\nbreak"})
