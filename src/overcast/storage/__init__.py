"""Storage: buckets for static content and artifacts behind one interface.

Owns the :class:`Bucket` interface and its backends (a folder on the local file
system by default, any S3-compatible API by URL), object key validation,
content-addressed artifact storage and deterministic code zips.

May import: overcast.errors, the standard library, and boto3/botocore in
``overcast.storage.s3`` only (imported lazily by :func:`open_bucket`, so file
buckets never need it). Must not import runtime, gateway, edge or control: they
call into storage, never the other way round.
"""

from overcast.storage.artifacts import (
    ARTIFACT_PREFIX,
    artifact_key,
    get_artifact,
    put_artifact,
    zip_directory,
)
from overcast.storage.bucket import Bucket, ObjectInfo
from overcast.storage.errors import (
    ChecksumMismatchError,
    InvalidKeyError,
    NoSuchKeyError,
    StorageError,
)
from overcast.storage.filesystem import FilesystemBucket
from overcast.storage.keys import MAX_KEY_BYTES, key_to_path, validate_key
from overcast.storage.urls import open_bucket

__all__ = [
    "ARTIFACT_PREFIX",
    "MAX_KEY_BYTES",
    "Bucket",
    "ChecksumMismatchError",
    "FilesystemBucket",
    "InvalidKeyError",
    "NoSuchKeyError",
    "ObjectInfo",
    "StorageError",
    "artifact_key",
    "get_artifact",
    "key_to_path",
    "open_bucket",
    "put_artifact",
    "validate_key",
    "zip_directory",
]
