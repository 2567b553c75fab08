"""Artifacts received piece by piece: staged beside their final name, published whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from overcast.storage import FilesystemBucket
from overcast.storage.artifacts import ArtifactTooLargeError, ArtifactUpload, get_artifact
from overcast.storage.errors import ChecksumMismatchError


def _upload(bucket: FilesystemBucket, data: bytes, tmp_path: Path, cap: int = 1 << 20) -> str:
    digest = hashlib.sha256(data).hexdigest()
    with ArtifactUpload(bucket, digest, max_bytes=cap, spool_dir=tmp_path / "spool") as upload:
        for start in range(0, len(data), 1000):
            upload.write(data[start : start + 1000])
        upload.commit()
    return digest


def test_an_upload_is_readable_under_its_digest_once_committed(tmp_path: Path) -> None:
    bucket = FilesystemBucket(tmp_path / "b")
    data = b"code" * 5000
    digest = _upload(bucket, data, tmp_path)
    assert get_artifact(bucket, digest) == data
    assert not list((tmp_path / "b" / "objects" / "sha256").glob(".tmp-*"))


def test_the_bytes_are_staged_in_the_folder_of_the_final_name(tmp_path: Path) -> None:
    bucket = FilesystemBucket(tmp_path / "b")
    digest = hashlib.sha256(b"x").hexdigest()
    with ArtifactUpload(bucket, digest, max_bytes=10, spool_dir=tmp_path / "spool") as upload:
        upload.write(b"x")
        staged = list((tmp_path / "b" / "objects" / "sha256").glob(".tmp-*"))
        assert len(staged) == 1
        assert not bucket.exists(f"sha256/{digest}")
    assert not staged[0].exists()


def test_bytes_other_than_the_digest_are_refused_and_dropped(tmp_path: Path) -> None:
    bucket = FilesystemBucket(tmp_path / "b")
    digest = hashlib.sha256(b"expected").hexdigest()
    with ArtifactUpload(bucket, digest, max_bytes=100, spool_dir=tmp_path) as upload:
        upload.write(b"forged")
        with pytest.raises(ChecksumMismatchError):
            upload.commit()
    assert not bucket.exists(f"sha256/{digest}")
    assert not list((tmp_path / "b" / "objects" / "sha256").glob(".tmp-*"))


def test_an_upload_past_its_cap_is_refused_as_it_passes_it(tmp_path: Path) -> None:
    bucket = FilesystemBucket(tmp_path / "b")
    digest = hashlib.sha256(b"").hexdigest()
    with ArtifactUpload(bucket, digest, max_bytes=10, spool_dir=tmp_path) as upload:
        upload.write(b"0123456789")
        with pytest.raises(ArtifactTooLargeError):
            upload.write(b"!")
    assert not list((tmp_path / "b" / "objects" / "sha256").glob(".tmp-*"))


def test_other_buckets_get_the_bytes_spooled_then_put(tmp_path: Path) -> None:
    stored: dict[str, bytes] = {}

    class Bucket:
        def put(self, key: str, data: bytes, content_type: str | None = None) -> None:
            stored[key] = data

        def exists(self, key: str) -> bool:
            return key in stored

    data = b"spooled" * 100
    digest = hashlib.sha256(data).hexdigest()
    with ArtifactUpload(Bucket(), digest, max_bytes=1 << 20, spool_dir=tmp_path) as upload:  # type: ignore[arg-type]
        upload.write(data)
        upload.commit()
    assert stored == {f"sha256/{digest}": data}
    assert list(tmp_path.iterdir()) == []
