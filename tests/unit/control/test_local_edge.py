"""The local-mode edge: folder bucket, bucket → static origin adapter, edge config reading."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from overcast.control.access import Denied
from overcast.control.access_keys import role_allows
from overcast.control.edge_admin import ACTION, parse_batch
from overcast.control.local_edge import BucketOrigin, FolderBucket, read_edge_config
from overcast.storage import FilesystemBucket, NoSuchKeyError


def test_folder_bucket_reads_files_with_type_etag_and_mtime(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_bytes(b"console.log(1)")
    os.utime(tmp_path / "assets" / "app.js", (1_700_000_000, 1_700_000_000))
    data, info = FolderBucket(tmp_path).get("assets/app.js")
    assert data == b"console.log(1)"
    assert info.content_type in ("text/javascript", "application/javascript")
    assert info.etag == hashlib.md5(data, usedforsecurity=False).hexdigest()
    assert info.last_modified == datetime.fromtimestamp(1_700_000_000, UTC)


@pytest.mark.parametrize("key", ["missing.html", "assets", "assets/app.js/x"])
def test_folder_bucket_missing_key_is_no_such_key(tmp_path: Path, key: str) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_bytes(b"x")
    with pytest.raises(NoSuchKeyError):
        FolderBucket(tmp_path).get(key)


def test_folder_bucket_refuses_a_symlink_out_of_the_folder(tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    (public / "leak.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(NoSuchKeyError):
        FolderBucket(public).get("leak.txt")


@pytest.mark.parametrize("key", ["../secret.txt", "a/../../secret.txt", "/etc/passwd", "a\0b"])
def test_origin_answers_none_for_keys_storage_refuses(tmp_path: Path, key: str) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    assert BucketOrigin(FolderBucket(public)).get(key) is None


def test_origin_maps_a_filesystem_bucket_to_the_edge_info_shape(tmp_path: Path) -> None:
    bucket = FilesystemBucket(tmp_path / "bucket")
    stored = bucket.put("index.html", b"<p>hi</p>")
    found = BucketOrigin(bucket).get("index.html")
    assert found is not None
    body, info = found
    assert body == b"<p>hi</p>"
    assert info.etag == stored.etag
    assert info.size == 9
    assert info.content_type == "text/html"
    assert info.last_modified == stored.last_modified.timestamp()
    assert BucketOrigin(bucket).get("nope.html") is None


def test_template_without_edge_metadata_has_no_edge(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Metadata:\n  overcast:\n    other: 1\nResources: {}\n")
    assert read_edge_config(template) is None


def test_template_with_edge_metadata_is_parsed(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        "Metadata:\n  overcast:\n    edge:\n      static_dir: public\n"
        "      stages: {dev: {}}\nResources:\n  X: !Ref Y\n"
    )
    config = read_edge_config(template)
    assert config is not None
    assert config.stages["dev"].static_dir == "public"


def test_invalidation_batch_accepts_boto3_shape_and_a_plain_list() -> None:
    assert parse_batch(b'{"Paths": {"Quantity": 1, "Items": ["/a"]}, "CallerReference": "r"}') == (
        ("/a",),
        "r",
    )
    parsed = parse_batch(b'{"InvalidationBatch": {"Paths": ["/a", "/b/*"]}}')
    assert not isinstance(parsed, Denied)
    assert parsed[0] == ("/a", "/b/*")


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[]", b'{"Paths": []}', b'{"Paths": [1]}', b'{"Paths": "/a"}']
)
def test_invalidation_batch_refuses_malformed_bodies(body: bytes) -> None:
    parsed = parse_batch(body)
    assert isinstance(parsed, Denied)
    assert parsed.status == 400


@pytest.mark.parametrize(
    ("role", "allowed"), [("admin", True), ("deployer", True), ("viewer", False)]
)
def test_invalidation_is_for_admin_and_deployer_keys(role: str, allowed: bool) -> None:
    assert role_allows(role, ACTION) is allowed  # type: ignore[arg-type]
