"""Multipart uploads' rules, on a folder: part numbers, order, ETags, minimum sizes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from overcast.control.s3_multipart import MIN_PART_BYTES, UploadStore, multipart_etag, part_number
from overcast.control.s3_xml import S3Error


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def test_the_multipart_etag_is_the_md5_of_the_parts_md5s_and_their_count() -> None:
    parts = [md5(b"a"), md5(b"b")]
    joined = bytes.fromhex(parts[0]) + bytes.fromhex(parts[1])
    assert multipart_etag(parts) == f"{md5(joined)}-2"


@pytest.mark.parametrize("raw", ["0", "10001", "-1", "x", ""])
def test_part_numbers_outside_1_to_10000_are_invalid(raw: str) -> None:
    with pytest.raises(S3Error) as info:
        part_number(raw)
    assert info.value.code == "InvalidArgument"


def test_a_completion_checks_order_etags_and_minimum_sizes(tmp_path: Path) -> None:
    store = UploadStore(tmp_path)
    upload = store.get(store.create("b", "k", "text/plain", {}), "b", "k")
    for number, data in ((1, b"x" * MIN_PART_BYTES), (2, b"small"), (3, b"tail")):
        with store.stage_part(upload, number) as writer:
            writer.write(data)
            writer.commit()
    parts = store.parts(upload)
    with pytest.raises(S3Error, match="ascending"):
        store.chosen(upload, [(2, parts[2].etag), (1, parts[1].etag)])
    with pytest.raises(S3Error) as info:
        store.chosen(upload, [(1, parts[2].etag)])
    assert info.value.code == "InvalidPart"
    with pytest.raises(S3Error) as info:
        store.chosen(upload, [(2, parts[2].etag), (3, parts[3].etag)])
    assert info.value.code == "EntityTooSmall"
    chosen = store.chosen(upload, [(1, f'"{parts[1].etag}"'), (3, parts[3].etag)])
    assert b"".join(store.read_parts(upload, chosen)) == b"x" * MIN_PART_BYTES + b"tail"
    with pytest.raises(S3Error) as info:
        store.get(upload.upload_id, "b", "other-key")
    assert info.value.code == "NoSuchUpload"
    store.remove(upload)
    with pytest.raises(S3Error):
        store.get(upload.upload_id, "b", "k")
