"""Content-addressed artifacts and deterministic code zips."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from overcast.storage import (
    ChecksumMismatchError,
    FilesystemBucket,
    InvalidKeyError,
    ObjectInfo,
    artifact_key,
    get_artifact,
    put_artifact,
    zip_directory,
)


class CountingBucket:
    """A filesystem bucket that counts the uploads it receives."""

    def __init__(self, root: Path) -> None:
        self.inner = FilesystemBucket(root)
        self.puts: list[str] = []

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        self.puts.append(key)
        return self.inner.put(key, data, content_type, metadata)

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        return self.inner.get(key)

    def head(self, key: str) -> ObjectInfo:
        return self.inner.head(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)


@pytest.fixture
def bucket(tmp_path: Path) -> CountingBucket:
    return CountingBucket(tmp_path / "artifacts")


def test_put_artifact_stores_under_the_sha256_of_the_bytes(bucket: CountingBucket) -> None:
    digest = put_artifact(bucket, b"code v1")
    assert digest == hashlib.sha256(b"code v1").hexdigest()
    assert bucket.puts == [f"sha256/{digest}"]
    assert bucket.head(f"sha256/{digest}").content_type == "application/zip"


def test_identical_code_is_not_uploaded_twice(bucket: CountingBucket) -> None:
    first = put_artifact(bucket, b"same code")
    second = put_artifact(bucket, b"same code")
    third = put_artifact(bucket, b"other code")
    assert first == second != third
    assert len(bucket.puts) == 2


def test_get_artifact_returns_the_stored_bytes(bucket: CountingBucket) -> None:
    digest = put_artifact(bucket, b"payload")
    assert get_artifact(bucket, digest) == b"payload"


def test_get_artifact_refuses_bytes_that_do_not_match_their_digest(
    bucket: CountingBucket,
) -> None:
    digest = hashlib.sha256(b"expected").hexdigest()
    # A consistent record for the wrong bytes: the bucket's own check passes, the
    # artifact's name does not.
    bucket.put(artifact_key(digest), b"substituted")
    with pytest.raises(ChecksumMismatchError):
        get_artifact(bucket, digest)


@pytest.mark.parametrize("digest", ["", "abc", "A" * 64, "g" * 64, "../" + "a" * 61])
def test_malformed_digests_are_refused(bucket: CountingBucket, digest: str) -> None:
    with pytest.raises(InvalidKeyError):
        get_artifact(bucket, digest)


def _make_tree(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "app.py").write_text("def handler(event, context):\n    return 1\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "data.json").write_text('{"a": 1}')
    (root / "bootstrap").write_text("#!/bin/sh\n")
    (root / "bootstrap").chmod(0o755)


def test_zip_directory_gives_the_same_bytes_for_the_same_files(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _make_tree(first)
    _make_tree(second)
    # Different times, umask-like modes and creation order must not matter.
    os.utime(second / "app.py", (1_000_000_000, 1_000_000_000))
    (second / "pkg" / "sub" / "data.json").chmod(0o600)
    assert zip_directory(first) == zip_directory(second)


def test_zip_directory_changes_when_a_file_changes(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    before = zip_directory(tmp_path)
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return 2\n")
    assert zip_directory(tmp_path) != before


def test_zip_directory_sorts_entries_and_fixes_times_and_modes(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    with zipfile.ZipFile(io.BytesIO(zip_directory(tmp_path))) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        assert names == sorted(names)
        assert names == ["app.py", "bootstrap", "pkg/__init__.py", "pkg/sub/data.json"]
        assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
        modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in infos}
        assert modes == {
            "app.py": 0o644,
            "bootstrap": 0o755,
            "pkg/__init__.py": 0o644,
            "pkg/sub/data.json": 0o644,
        }
        assert archive.read("pkg/sub/data.json") == b'{"a": 1}'


def test_zip_directory_leaves_out_bytecode_caches(tmp_path: Path) -> None:
    _make_tree(tmp_path)
    before = zip_directory(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    (tmp_path / "stray.pyc").write_bytes(b"\x00")
    assert zip_directory(tmp_path) == before


def test_zipped_code_stored_twice_is_uploaded_once(tmp_path: Path, bucket: CountingBucket) -> None:
    _make_tree(tmp_path / "code")
    first = put_artifact(bucket, zip_directory(tmp_path / "code"))
    second = put_artifact(bucket, zip_directory(tmp_path / "code"))
    assert first == second
    assert len(bucket.puts) == 1
