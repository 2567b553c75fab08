"""Content-addressed artifacts (function code) on any bucket, and deterministic zips.

An artifact lives under ``sha256/<hex digest of its bytes>``: the same bytes always
have the same key, so storing them twice is a no-op, and a read is checked against
the digest in its own name as well as the bucket's record.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from overcast.storage.bucket import Bucket
from overcast.storage.errors import ChecksumMismatchError, InvalidKeyError, StorageError
from overcast.storage.filesystem import FilesystemBucket, StagedObject

ARTIFACT_PREFIX = "sha256/"
ARTIFACT_CONTENT_TYPE = "application/zip"

# The earliest time a zip entry can carry (DOS dates start in 1980).
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o644
_EXECUTABLE_MODE = 0o755
# Fixed so the bytes depend on nothing but the input and the zlib in use.
_COMPRESS_LEVEL = 6

# Left out of code zips by default: caches and state that change without the code
# changing, and would give the same code a new digest.
DEFAULT_EXCLUDED_NAMES = frozenset({"__pycache__", ".git", ".overcast", ".DS_Store"})
DEFAULT_EXCLUDED_SUFFIXES = frozenset({".pyc", ".pyo"})

_HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def artifact_key(digest: str) -> str:
    """The key an artifact with this hex sha256 digest is stored under."""
    if not _HEX_DIGEST.match(digest):
        raise InvalidKeyError(digest, "an artifact digest is 64 lower-case hex characters")
    return f"{ARTIFACT_PREFIX}{digest}"


def put_artifact(bucket: Bucket, data: bytes, *, content_type: str = ARTIFACT_CONTENT_TYPE) -> str:
    """Store ``data`` under its digest unless it is already there; return the hex digest."""
    digest = hashlib.sha256(data).hexdigest()
    key = artifact_key(digest)
    if not bucket.exists(key):
        # Two deployers racing here both upload identical bytes: harmless.
        bucket.put(key, data, content_type=content_type)
    return digest


class ArtifactTooLargeError(StorageError):
    """An upload went past its size cap (S3's ``EntityTooLarge``, HTTP 413)."""

    status = 413


class ArtifactUpload:
    """One artifact's bytes arriving in pieces, hashed as they are written to disk.

    On a :class:`FilesystemBucket` they go to a temporary file beside the artifact's
    final path; on any other bucket to a temporary file in ``spool_dir``, handed to
    the bucket once complete. Nothing is visible under the artifact's key before
    :meth:`commit` has checked the bytes against ``digest``; leaving the ``with`` block
    otherwise drops them.
    """

    def __init__(self, bucket: Bucket, digest: str, *, max_bytes: int, spool_dir: Path) -> None:
        self.digest = digest
        self._key = artifact_key(digest)
        self._bucket = bucket
        self._max = max_bytes
        self._staged: StagedObject | None = None
        self._spool: IO[bytes] | None = None
        self._sha256 = hashlib.sha256()
        self.size = 0
        if isinstance(bucket, FilesystemBucket):
            self._staged = bucket.stage(self._key)
        else:
            try:
                spool_dir.mkdir(parents=True, exist_ok=True)
                self._spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115
            except OSError as error:
                raise StorageError(f"cannot stage artifact {digest[:12]}: {error}") from error

    @property
    def sha256(self) -> str:
        """The hex sha256 of the bytes written so far."""
        return self._sha256.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; :class:`ArtifactTooLargeError` once past the cap."""
        if self.size + len(chunk) > self._max:
            self.abort()
            raise ArtifactTooLargeError(f"artifact is larger than {self._max} bytes")
        if self._staged is not None:
            self._staged.write(chunk)
        elif self._spool is not None:
            try:
                self._spool.write(chunk)
            except OSError as error:
                self.abort()
                raise StorageError(f"cannot stage artifact {self.digest[:12]}: {error}") from error
        self._sha256.update(chunk)
        self.size += len(chunk)

    def commit(self) -> None:
        """Publish the bytes under their digest, unless they are not the digest's."""
        actual = self.sha256
        try:
            if actual != self.digest:
                raise ChecksumMismatchError(self._key, self.digest, actual)
            if self._bucket.exists(self._key):
                return  # identical bytes already stored (a racing deployer)
            if self._staged is not None:
                self._staged.commit(content_type=ARTIFACT_CONTENT_TYPE)
            elif self._spool is not None:
                self._spool.seek(0)
                self._bucket.put(self._key, self._spool.read(), content_type=ARTIFACT_CONTENT_TYPE)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the bytes written so far (idempotent)."""
        if self._staged is not None:
            self._staged.abort()
        if self._spool is not None:
            with contextlib.suppress(OSError):
                self._spool.close()

    def __enter__(self) -> ArtifactUpload:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.abort()


def get_artifact(bucket: Bucket, digest: str) -> bytes:
    """Return the artifact's bytes, refusing any whose sha256 is not ``digest``."""
    data, _info = bucket.get(artifact_key(digest))
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ChecksumMismatchError(artifact_key(digest), digest, actual)
    return data


def zip_directory(
    path: Path,
    *,
    excluded_names: Iterable[str] = DEFAULT_EXCLUDED_NAMES,
    excluded_suffixes: Iterable[str] = DEFAULT_EXCLUDED_SUFFIXES,
) -> bytes:
    """Zip the files under ``path`` so that the same files always give the same bytes.

    Entries are sorted by their '/'-separated relative path, carry a fixed timestamp
    and one of two fixed modes (0644, or 0755 when the owner may execute the file, so a
    custom runtime's ``bootstrap`` stays executable). Symbolic links to files are
    stored as the file's content; links to folders are not followed. Empty folders
    are not stored.
    """
    root = Path(path)
    if not root.is_dir():
        raise StorageError(f"cannot zip {root}: not a folder")
    names = frozenset(excluded_names)
    suffixes = tuple(excluded_suffixes)
    entries: list[tuple[str, Path]] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False, onerror=_raise):
        dirnames[:] = [name for name in dirnames if name not in names]
        for filename in filenames:
            if filename in names or filename.endswith(suffixes):
                continue
            full = Path(folder) / filename
            entries.append((full.relative_to(root).as_posix(), full))
    entries.sort(key=lambda entry: entry[0])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, full in entries:
            try:
                mode = full.stat().st_mode
                data = full.read_bytes()
            except OSError as error:
                raise StorageError(f"cannot read {full} to zip it: {error}") from error
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode bits below are honoured on unzip
            permissions = _EXECUTABLE_MODE if mode & stat.S_IXUSR else _FILE_MODE
            info.external_attr = (stat.S_IFREG | permissions) << 16
            archive.writestr(info, data, compresslevel=_COMPRESS_LEVEL)
    return buffer.getvalue()


def _raise(error: OSError) -> None:
    raise StorageError(f"cannot walk {error.filename}: {error}") from error
