"""What the edge needs from its origins: a stage's API (an ASGI app) and a static bucket.

The storage package owns buckets; the edge depends only on this small protocol, so
any bucket with ``get(key) -> (bytes, info)`` serves static content. A missing key is
``None`` or a ``LookupError`` (``KeyError`` included).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from overcast.asgi import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send"]


class ObjectInfo(Protocol):
    """Metadata of a stored object, as the edge reads it."""

    @property
    def etag(self) -> str:
        """The object's entity tag, quoted or not (S3 quotes it)."""
        ...

    @property
    def last_modified(self) -> float:
        """Modification time, seconds since the epoch."""
        ...

    @property
    def content_type(self) -> str:
        """The media type to send."""
        ...

    @property
    def size(self) -> int:
        """Length of the object in bytes."""
        ...


class StaticOrigin(Protocol):
    """A bucket the edge reads static objects from."""

    def get(self, key: str) -> tuple[bytes, ObjectInfo] | None:
        """The object's bytes and metadata, ``None`` (or ``LookupError``) if missing."""
        ...


@dataclass(frozen=True, slots=True)
class StaticInfo:
    """A plain :class:`ObjectInfo`, for :class:`DictBucket` and tests."""

    etag: str
    last_modified: float
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class StageOrigins:
    """The two origins a stage's behaviors may route to."""

    api: ASGIApp | None = None
    static: StaticOrigin | None = None


@dataclass
class DictBucket:
    """An in-memory static origin: key → (bytes, content type). For tests and demos."""

    objects: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    last_modified: float = 1_700_000_000.0
    reads: int = 0

    def put(self, key: str, body: bytes, content_type: str = "application/octet-stream") -> None:
        """Store ``body`` under ``key``."""
        self.objects[key] = (body, content_type)

    def get(self, key: str) -> tuple[bytes, ObjectInfo] | None:
        """The object under ``key`` with an MD5 ETag (as S3 gives), or ``None``."""
        self.reads += 1
        found = self.objects.get(key)
        if found is None:
            return None
        body, content_type = found
        etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
        return body, StaticInfo(etag, self.last_modified, content_type, len(body))


def as_mapping(origins: Mapping[str, StageOrigins]) -> dict[str, StageOrigins]:
    """A private copy so later changes by the caller do not reach a running edge."""
    return dict(origins)
