"""The storage package's error hierarchy; each error carries the HTTP status S3 would use."""

from __future__ import annotations

from overcast.errors import OvercastError


class StorageError(OvercastError):
    """A bucket could not do what was asked (I/O failure, unreachable store, bad URL).

    ``status`` is the HTTP status an S3-style API answers with for this situation.
    """

    status: int = 500


class NoSuchKeyError(StorageError):
    """The bucket holds no object under the key (S3's ``NoSuchKey``, 404)."""

    status = 404

    def __init__(self, key: str) -> None:
        super().__init__(f"no object under key {key!r}")
        self.key = key


class InvalidKeyError(StorageError):
    """The key is refused: it could escape the bucket folder or break a backend's rules."""

    status = 400

    def __init__(self, key: object, reason: str) -> None:
        super().__init__(
            f"invalid object key {key!r}: {reason}",
            hint="keys are '/'-separated names without '..', '.', empty segments, "
            "backslashes or control characters, at most 1024 bytes of UTF-8",
        )
        self.key = key
        self.reason = reason


class ChecksumMismatchError(StorageError):
    """The bytes read back do not match the checksum recorded when they were written."""

    def __init__(self, key: str, expected: str, actual: str) -> None:
        super().__init__(
            f"object {key!r} is corrupted: sha256 {actual} does not match recorded {expected}",
            hint="write the object again; the stored copy cannot be trusted",
        )
        self.key = key
        self.expected = expected
        self.actual = actual
