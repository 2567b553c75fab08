"""The edge in local mode: ``overcast up`` serves the data port through it when asked.

An app opts in with ``Metadata: overcast: edge:`` in its template (docs/edge.md);
without it the node serves the gateway directly, exactly as before. Each configured
stage gets the app's gateway as its API origin and, when the stage names a
``static_dir``, that folder as its static origin.

The folder is read in place (:class:`FolderBucket`) rather than synced into a
:class:`~overcast.storage.FilesystemBucket` at start: local mode is for editing, and a
copy would go stale on the first save (and cost a full copy of the folder per start).
Keys still go through storage's validation (:func:`~overcast.storage.key_to_path`), so
a request path can never name a file outside the folder. :class:`BucketOrigin` is the
one adapter from storage's :class:`~overcast.storage.Bucket` to the edge's
:class:`~overcast.edge.StaticOrigin`, so a deployed stage's real bucket plugs in the
same way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from overcast.edge import EdgeApp, EdgeConfig, StageOrigins, StaticInfo, edge_config_from_template
from overcast.edge.origins import ASGIApp
from overcast.edge.recording import EdgeRecorder
from overcast.storage import (
    InvalidKeyError,
    NoSuchKeyError,
    ObjectInfo,
    StorageError,
    key_to_path,
)
from overcast.storage.bucket import digests_of, resolve_content_type
from overcast.template.yaml_loader import parse_yaml

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class ReadableBucket(Protocol):
    """The one part of :class:`~overcast.storage.Bucket` the edge reads through."""

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        """The object's bytes and record; :class:`NoSuchKeyError` when absent."""
        ...


class BucketOrigin:
    """A storage bucket seen as the edge's static origin.

    A missing key, and a key storage refuses (``..``, NUL, overlong), are both "no
    such object" to a viewer: the edge answers S3's 404 for either.
    """

    def __init__(self, bucket: ReadableBucket) -> None:
        self.bucket = bucket

    def get(self, key: str) -> tuple[bytes, StaticInfo] | None:
        """The object under ``key`` in the edge's info shape, or ``None``."""
        try:
            data, info = self.bucket.get(key)
        except (NoSuchKeyError, InvalidKeyError):
            return None
        return data, StaticInfo(
            etag=info.etag,
            last_modified=info.last_modified.timestamp(),
            content_type=info.content_type,
            size=info.size,
        )


class FolderBucket:
    """A read-only bucket over a plain folder, keys validated as storage validates them."""

    def __init__(self, root: Path) -> None:
        self.root = Path(os.path.realpath(root))

    def __repr__(self) -> str:
        return f"FolderBucket({str(self.root)!r})"

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        """Read ``key``'s file; :class:`NoSuchKeyError` if absent or outside the folder."""
        path = key_to_path(self.root, key)
        # key_to_path rules out '..'; a symlink inside the folder could still point out.
        real = os.path.realpath(path)
        if os.path.commonpath([self.root, real]) != str(self.root):
            raise NoSuchKeyError(key)
        try:
            with open(real, "rb") as handle:
                stat = os.fstat(handle.fileno())
                data = handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NoSuchKeyError(key) from None
        except OSError as error:
            raise StorageError(f"cannot read {path}: {error.strerror}") from error
        digests = digests_of(data)
        return data, ObjectInfo(
            key=key,
            size=len(data),
            etag=digests.md5,
            sha256=digests.sha256,
            content_type=resolve_content_type(key, None),
            last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
        )


def read_edge_config(template_path: Path) -> EdgeConfig | None:
    """The template's edge configuration, or ``None`` when it has no ``edge`` metadata."""
    return edge_config_of(parse_yaml(template_path.read_text(encoding="utf-8"), str(template_path)))


def edge_config_of(raw: object) -> EdgeConfig | None:
    """The edge configuration of a parsed template, or ``None`` without ``edge`` metadata."""
    if not isinstance(raw, Mapping):
        return None
    metadata = raw.get("Metadata")
    overcast = metadata.get("overcast") if isinstance(metadata, Mapping) else None
    if not isinstance(overcast, Mapping) or overcast.get("edge") is None:
        return None
    return edge_config_from_template(raw)


def build_local_edge(
    config: EdgeConfig,
    api: ASGIApp,
    template_dir: Path,
    recorder: EdgeRecorder | None = None,
) -> EdgeApp:
    """An edge serving every configured stage from ``api`` and its ``static_dir``.

    Loopback host names reach :attr:`EdgeConfig.loopback_stage`; every other host is
    matched by the configured domains only (421 otherwise).
    """
    origins: dict[str, StageOrigins] = {}
    for name, stage in config.stages.items():
        static = (
            BucketOrigin(FolderBucket(template_dir / stage.static_dir))
            if stage.static_dir is not None
            else None
        )
        origins[name] = StageOrigins(api=api, static=static)
    local = config.loopback_stage
    extra = dict.fromkeys(LOOPBACK_HOSTS, local) if local is not None else {}
    return EdgeApp(config, origins, extra_hosts=extra, recorder=recorder)
