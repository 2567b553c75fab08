"""Conditional and range requests (RFC 9110 §13 and §14). Pure.

If-None-Match takes precedence over If-Modified-Since and uses the weak comparison
(§13.1.2, §13.2.2). Ranges: one byte range per request is served as 206 with
Content-Range; several ranges are answered with the whole object (a server may ignore
Range, §14.2), an unsatisfiable one with 416 and ``Content-Range: bytes */size``.
``If-Range`` with a validator that does not match strongly sends the whole object.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime


def http_date(timestamp: float) -> bytes:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return formatdate(timestamp, usegmt=True).encode("ascii")


def _parse_date(value: bytes) -> float | None:
    try:
        return parsedate_to_datetime(value.decode("latin-1")).timestamp()
    except (TypeError, ValueError):
        return None


def _opaque(tag: bytes) -> bytes:
    return tag[2:] if tag.startswith(b"W/") else tag


def not_modified(
    method: str,
    *,
    if_none_match: bytes | None,
    if_modified_since: bytes | None,
    etag: bytes | None,
    last_modified: bytes | None,
) -> bool:
    """Whether a GET/HEAD with these validators should be answered 304."""
    if method not in ("GET", "HEAD"):
        return False
    if if_none_match is not None:
        if etag is None:
            return False
        candidates = [t.strip() for t in if_none_match.split(b",")]
        if b"*" in candidates:
            return True
        mine = _opaque(etag.strip())
        return any(_opaque(t) == mine for t in candidates)
    if if_modified_since is not None and last_modified is not None:
        since = _parse_date(if_modified_since)
        modified = _parse_date(last_modified)
        return since is not None and modified is not None and modified <= since
    return False


@dataclass(frozen=True, slots=True)
class ByteRange:
    """An inclusive byte range ``start``-``end`` satisfiable in an object of ``size``."""

    start: int
    end: int
    size: int

    @property
    def content_range(self) -> bytes:
        """The ``Content-Range`` header value for a 206."""
        return f"bytes {self.start}-{self.end}/{self.size}".encode("ascii")


class Unsatisfiable:
    """The Range cannot be served from an object of this size: answer 416."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size

    @property
    def content_range(self) -> bytes:
        """The ``Content-Range`` header value for a 416."""
        return f"bytes */{self.size}".encode("ascii")


def parse_range(
    range_header: bytes | None,
    size: int,
    *,
    if_range: bytes | None = None,
    etag: bytes | None = None,
    last_modified: bytes | None = None,
) -> ByteRange | Unsatisfiable | None:
    """The single range to serve, ``Unsatisfiable``, or ``None`` to send the whole object."""
    if range_header is None:
        return None
    if if_range is not None and not _if_range_matches(if_range, etag, last_modified):
        return None
    unit, _, spec = range_header.decode("latin-1").partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                return Unsatisfiable(size)
            start, end = max(size - suffix, 0), size - 1
        else:
            start = int(first)
            if start >= size:
                return Unsatisfiable(size)
            end = int(last) if last else size - 1
            if start < 0 or end < start:
                return None  # syntactically invalid: ignore the header
            end = min(end, size - 1)
    except ValueError:
        return None
    if start >= size or size == 0:
        return Unsatisfiable(size)
    return ByteRange(start, end, size)


def _if_range_matches(if_range: bytes, etag: bytes | None, last_modified: bytes | None) -> bool:
    value = if_range.strip()
    if value.startswith((b'"', b"W/")):
        # If-Range uses the strong comparison: weak tags never match.
        return etag is not None and not etag.startswith(b"W/") and value == etag
    return last_modified is not None and value == last_modified
