"""The S3 API's buckets: one :class:`FilesystemBucket` folder each under the state folder.

Layout: ``<state>/s3/<bucket>/`` holds the bucket (objects, records, locks: see
``overcast.storage.filesystem``) and ``bucket.json`` its creation time, written
atomically before the bucket is listed. Objects inherit that backend's durability
(temp file + fsync + rename, record last) and its one limit: a key cannot be both an
object and a folder of others (``a`` and ``a/b``); such a put is refused with
``InvalidArgument`` rather than stored wrongly.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

from overcast.control.s3_xml import S3Error, no_such_bucket
from overcast.durable_files import atomic_write
from overcast.storage import FilesystemBucket

BUCKETS_FOLDER = "s3"
_CREATED_FILE = "bucket.json"
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+$")


def valid_bucket_name(name: str) -> bool:
    """S3's general-purpose bucket naming rules."""
    return (
        _NAME.match(name) is not None
        and ".." not in name
        and not _IP.match(name)
        and not name.startswith(("xn--", "sthree-"))
        and not name.endswith(("-s3alias", "--ol-s3"))
    )


class BucketStore:
    """Creates, finds, lists and removes buckets; hands out their object stores."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._open: dict[str, FilesystemBucket] = {}
        self._lock = threading.Lock()

    @classmethod
    def under(cls, state_dir: Path) -> BucketStore:
        return cls(state_dir / BUCKETS_FOLDER)

    def create(self, name: str) -> bool:
        """Create bucket ``name``; False when it exists already."""
        if not valid_bucket_name(name):
            raise S3Error(
                400, "InvalidBucketName", "The specified bucket is not valid.", {"BucketName": name}
            )
        with self._lock:
            folder = self.root / name
            if (folder / _CREATED_FILE).is_file():
                return False
            bucket = FilesystemBucket(folder)
            created = {"created": datetime.now(UTC).isoformat()}
            atomic_write(folder / _CREATED_FILE, json.dumps(created).encode())
            self._open[name] = bucket
            return True

    def exists(self, name: str) -> bool:
        return valid_bucket_name(name) and (self.root / name / _CREATED_FILE).is_file()

    def bucket(self, name: str) -> FilesystemBucket:
        """The object store of bucket ``name``; NoSuchBucket when there is none."""
        with self._lock:
            found = self._open.get(name)
            if found is not None and self.exists(name):
                return found
            if not self.exists(name):
                self._open.pop(name, None)
                raise no_such_bucket(name)
            found = self._open[name] = FilesystemBucket(self.root / name)
            return found

    def list(self) -> list[tuple[str, datetime]]:
        """Every bucket and its creation time, by name."""
        if not self.root.is_dir():
            return []
        found: list[tuple[str, datetime]] = []
        for folder in sorted(self.root.iterdir()):
            try:
                record = json.loads((folder / _CREATED_FILE).read_bytes())
                found.append((folder.name, datetime.fromisoformat(record["created"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # not a bucket (or one half made)
        return found

    def delete(self, name: str) -> None:
        """Remove an empty bucket; BucketNotEmpty while it holds objects."""
        bucket = self.bucket(name)
        if next(iter(bucket.list()), None) is not None:
            raise S3Error(
                409,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
                {"BucketName": name},
            )
        with self._lock:
            # The creation record goes first: a crash mid-way leaves no half bucket listed.
            (self.root / name / _CREATED_FILE).unlink(missing_ok=True)
            self._open.pop(name, None)
            shutil.rmtree(self.root / name, ignore_errors=True)
