"""The one interface every bucket backend implements, and the record it returns."""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable

from overcast.storage.errors import StorageError

DEFAULT_CONTENT_TYPE = "application/octet-stream"

# Metadata names under this prefix carry overcast's own bookkeeping (the sha256 on S3).
RESERVED_METADATA_PREFIX = "overcast-"


@dataclass(frozen=True)
class ObjectInfo:
    """What a bucket knows about one stored object.

    ``etag`` is the hex MD5 of the bytes, as S3 reports it for a single-part upload
    (without the quotes). ``sha256`` is ``None`` only for an object another S3 client
    wrote without overcast's checksum metadata.
    """

    key: str
    size: int
    etag: str
    sha256: str | None
    content_type: str
    last_modified: datetime
    metadata: Mapping[str, str] = field(default_factory=dict)


@runtime_checkable
class Bucket(Protocol):
    """A flat namespace of immutable-per-write objects addressed by key.

    Every read verifies the recorded sha256, so a caller never receives bytes that
    differ from the ones written: it gets :class:`ChecksumMismatchError` instead.
    """

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key``, replacing any object there, all or nothing."""
        ...

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        """Return the object's bytes (checksum verified) and its record."""
        ...

    def head(self, key: str) -> ObjectInfo:
        """Return the object's record without reading its bytes."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; removing an absent key succeeds, as on S3."""
        ...

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield the records of objects whose key starts with ``prefix``, in key order."""
        ...

    def exists(self, key: str) -> bool:
        """Say whether an object is stored under ``key``."""
        ...


@dataclass(frozen=True)
class Digests:
    """The two checksums recorded for every object."""

    md5: str
    sha256: str


def digests_of(data: bytes) -> Digests:
    """Compute the S3-style etag (hex MD5) and the sha256 of ``data``."""
    return Digests(
        md5=hashlib.md5(data, usedforsecurity=False).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def resolve_content_type(key: str, content_type: str | None) -> str:
    """Use the given type, else guess from the key's extension, so backends agree."""
    if content_type:
        # The type goes back out as a Content-Type header: no CR/LF smuggling.
        if not content_type.isascii() or not content_type.isprintable():
            raise StorageError(f"content type {content_type!r} must be printable ASCII")
        return content_type
    guessed, _encoding = mimetypes.guess_type(key, strict=False)
    return guessed or DEFAULT_CONTENT_TYPE


def normalise_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """Lower-case metadata names (S3 does) and refuse names overcast reserves."""
    if not metadata:
        return {}
    result: dict[str, str] = {}
    for name, value in metadata.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise StorageError(f"metadata must map str to str, got {name!r}: {value!r}")
        lowered = name.lower()
        if not lowered or not lowered.isascii() or not lowered.isprintable():
            raise StorageError(f"metadata name {name!r} must be printable ASCII")
        if lowered.startswith(RESERVED_METADATA_PREFIX):
            raise StorageError(
                f"metadata name {name!r} is reserved",
                hint=f"names starting with {RESERVED_METADATA_PREFIX!r} are overcast's own",
            )
        # Values travel as x-amz-meta-* headers on S3; keep both backends to what fits.
        if not value.isprintable():
            raise StorageError(f"metadata value for {name!r} has control characters")
        result[lowered] = value
    return result
