"""The default bucket backend: one folder on the local file system.

Layout under the bucket folder::

    objects/<key>                    the bytes, at the path the key names
    meta/<hh>/<sha256 of key>.json   the sidecar record: size, etag, sha256, type, metadata
    locks/<hh>.lock                  flock stripes, ``hh`` = first byte of sha256 of key

Theory of operation: every file is written to a temporary name in its final folder,
fsynced, moved into place with ``os.replace`` and the folder fsynced, so a reader (or a
crash) sees the old file or the new one, never a prefix. The data file and its record
are two files, so a writer holds the key's stripe lock exclusively while replacing
both, and a reader holds it shared while reading both: a read never pairs new bytes
with an old record. The lock is ``flock`` on a file opened per use, which excludes
other threads and other processes alike. The record is the object's existence: it is
written last on put and removed first on delete, and listings read records only.
If a crash lands between the two replaces, the pair disagrees and the next read
raises :class:`ChecksumMismatchError` rather than returning the wrong bytes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from overcast.storage.bucket import (
    ObjectInfo,
    digests_of,
    normalise_metadata,
    resolve_content_type,
)
from overcast.storage.errors import (
    ChecksumMismatchError,
    InvalidKeyError,
    NoSuchKeyError,
    StorageError,
)
from overcast.storage.keys import key_to_path, validate_prefix

_RECORD_VERSION = 1
_TEMP_PREFIX = ".tmp-"
# A writer racing a delete that prunes empty folders may find its folder gone once.
_WRITE_ATTEMPTS = 3


class FilesystemBucket:
    """A :class:`~overcast.storage.bucket.Bucket` stored in the folder ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._objects = self.root / "objects"
        self._meta = self.root / "meta"
        self._locks = self.root / "locks"
        try:
            for folder in (self._objects, self._meta, self._locks):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StorageError(f"cannot create bucket folder {self.root}: {error}") from error

    def __repr__(self) -> str:
        return f"FilesystemBucket({str(self.root)!r})"

    # -- the Bucket interface -------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Store ``data`` under ``key`` atomically, with its sidecar record."""
        data_path = key_to_path(self._objects, key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StorageError(f"object data must be bytes, got {type(data).__name__}")
        payload = bytes(data)
        digests = digests_of(payload)
        info = ObjectInfo(
            key=key,
            size=len(payload),
            etag=digests.md5,
            sha256=digests.sha256,
            content_type=resolve_content_type(key, content_type),
            last_modified=datetime.now(UTC),
            metadata=normalise_metadata(metadata),
        )
        record = json.dumps(_record_of(info), sort_keys=True).encode("utf-8")
        meta_path = self._meta_path(key)
        with self._lock(key, exclusive=True):
            self._clear_empty_folder(key, data_path)
            _write_atomically(data_path, payload, key=key)
            _write_atomically(meta_path, record, key=key)
        return info

    def stage(self, key: str) -> StagedObject:
        """Start writing ``key`` piece by piece (for bodies too large to hold in memory).

        The bytes go to a temporary file in the folder of the key's final path, so that
        :meth:`StagedObject.commit` publishes them with one rename on one file system.
        """
        data_path = key_to_path(self._objects, key)
        temp, fd = _open_temp(data_path, key=key)
        return StagedObject(self, key, data_path, temp, fd)

    def _publish(self, staged: StagedObject, info: ObjectInfo) -> None:
        record = json.dumps(_record_of(info), sort_keys=True).encode("utf-8")
        with self._lock(staged.key, exclusive=True):
            self._clear_empty_folder(staged.key, staged.data_path)
            try:
                os.replace(staged.temp, staged.data_path)
                _fsync_folder(staged.data_path.parent)
            except OSError as error:
                raise _os_error(staged.key, error) from error
            _write_atomically(self._meta_path(staged.key), record, key=staged.key)

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        """Return the bytes under ``key`` after checking them against the record."""
        data_path = key_to_path(self._objects, key)
        with self._lock(key, exclusive=False):
            info = self._read_record(key)
            try:
                data = data_path.read_bytes()
            except FileNotFoundError:
                raise StorageError(
                    f"object {key!r} has a record but no data file",
                    hint="write the object again",
                ) from None
            except OSError as error:
                raise StorageError(f"cannot read object {key!r}: {error}") from error
        actual = hashlib.sha256(data).hexdigest()
        if info.sha256 is None or actual != info.sha256 or len(data) != info.size:
            raise ChecksumMismatchError(key, info.sha256 or "", actual)
        return data, info

    def head(self, key: str) -> ObjectInfo:
        """Return the record of ``key`` (a single atomically replaced file: no lock)."""
        key_to_path(self._objects, key)
        return self._read_record(key)

    def delete(self, key: str) -> None:
        """Remove ``key``'s record, then its bytes; an absent key is not an error."""
        data_path = key_to_path(self._objects, key)
        with self._lock(key, exclusive=True):
            _unlink_if_present(self._meta_path(key))
            _unlink_if_present(data_path)
        _prune_empty_folders(data_path.parent, stop_at=self._objects)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield records whose key starts with ``prefix``, sorted by key."""
        validate_prefix(prefix)
        found: list[ObjectInfo] = []
        for record_path in self._meta.glob("*/*.json"):
            try:
                raw = record_path.read_bytes()
            except FileNotFoundError:
                continue  # deleted since the folder was read
            except OSError as error:
                raise StorageError(f"cannot read record {record_path}: {error}") from error
            info = _info_from_record(raw, where=str(record_path))
            if info.key.startswith(prefix):
                found.append(info)
        found.sort(key=lambda item: item.key)
        yield from found

    def exists(self, key: str) -> bool:
        """Say whether a record exists for ``key``."""
        key_to_path(self._objects, key)
        return self._meta_path(key).is_file()

    # -- internals -------------------------------------------------------------

    def _meta_path(self, key: str) -> Path:
        name = hashlib.sha256(key.encode("utf-8")).hexdigest()
        return self._meta / name[:2] / f"{name}.json"

    @contextlib.contextmanager
    def _lock(self, key: str, *, exclusive: bool) -> Iterator[None]:
        stripe = hashlib.sha256(key.encode("utf-8")).hexdigest()[:2]
        path = self._locks / f"{stripe}.lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as error:
            raise StorageError(f"cannot open lock {path}: {error}") from error
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _read_record(self, key: str) -> ObjectInfo:
        path = self._meta_path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise NoSuchKeyError(key) from None
        except OSError as error:
            raise StorageError(f"cannot read record of {key!r}: {error}") from error
        info = _info_from_record(raw, where=str(path))
        if info.key != key:
            raise StorageError(f"record {path} belongs to {info.key!r}, not {key!r}")
        return info

    def _clear_empty_folder(self, key: str, data_path: Path) -> None:
        """Let ``a`` be written where only an empty folder left by deleting ``a/b`` stands."""
        if not data_path.is_dir():
            return
        try:
            data_path.rmdir()
        except OSError:
            raise InvalidKeyError(
                key, "other keys are stored below it; this backend cannot hold both"
            ) from None


def _record_of(info: ObjectInfo) -> dict[str, Any]:
    return {
        "version": _RECORD_VERSION,
        "key": info.key,
        "size": info.size,
        "etag": info.etag,
        "sha256": info.sha256,
        "content_type": info.content_type,
        "last_modified": info.last_modified.isoformat(),
        "metadata": dict(info.metadata),
    }


def _info_from_record(raw: bytes, *, where: str) -> ObjectInfo:
    try:
        record = json.loads(raw)
        if record.get("version") != _RECORD_VERSION:
            raise ValueError(f"unknown record version {record.get('version')!r}")
        return ObjectInfo(
            key=str(record["key"]),
            size=int(record["size"]),
            etag=str(record["etag"]),
            sha256=str(record["sha256"]),
            content_type=str(record["content_type"]),
            last_modified=datetime.fromisoformat(record["last_modified"]),
            metadata={str(k): str(v) for k, v in record["metadata"].items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise StorageError(f"corrupted object record {where}: {error}") from error


class StagedObject:
    """An object of a :class:`FilesystemBucket` being written piece by piece.

    Nothing is visible under the key until :meth:`commit`; leaving the ``with`` block
    without committing (an error, a refused upload) removes the temporary file.
    """

    def __init__(
        self, bucket: FilesystemBucket, key: str, data_path: Path, temp: Path, fd: int
    ) -> None:
        self.key = key
        self.data_path = data_path
        self.temp = temp
        self._bucket = bucket
        self._fd = fd
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0
        self._done = False

    @property
    def sha256(self) -> str:
        """The hex sha256 of the bytes written so far."""
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        """The hex MD5 of the bytes written so far (the object's etag once committed)."""
        return self._md5.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; a full or read-only disk raises :class:`StorageError`."""
        try:
            # Unbuffered: the pieces are large already (a server's reads).
            view = memoryview(chunk)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as error:
            self.abort()
            raise _os_error(self.key, error) from error
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def commit(
        self,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        *,
        etag: str | None = None,
    ) -> ObjectInfo:
        """Make the bytes durable and publish them under the key, all or nothing.

        ``etag`` replaces the MD5 of the bytes as the object's ETag (S3 gives an object
        assembled from parts the MD5 of its parts' MD5s, suffixed with their count).
        """
        info = ObjectInfo(
            key=self.key,
            size=self.size,
            etag=etag or self._md5.hexdigest(),
            sha256=self.sha256,
            content_type=resolve_content_type(self.key, content_type),
            last_modified=datetime.now(UTC),
            metadata=normalise_metadata(metadata),
        )
        try:
            os.fsync(self._fd)
            self._bucket._publish(self, info)
        except OSError as error:
            raise _os_error(self.key, error) from error
        finally:
            self.abort()  # removes the temporary file unless it was moved into place
        return info

    def abort(self) -> None:
        """Drop what was written; nothing was published (idempotent)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            os.close(self._fd)
        _unlink_if_present(self.temp)

    def __enter__(self) -> StagedObject:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.abort()


def _open_temp(path: Path, *, key: str) -> tuple[Path, int]:
    """A new temporary file in ``path``'s folder (created), opened for writing."""
    for attempt in range(_WRITE_ATTEMPTS):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.parent / f"{_TEMP_PREFIX}{secrets.token_hex(16)}"
            return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:
            if attempt + 1 < _WRITE_ATTEMPTS:
                continue  # a delete pruned the folder between mkdir and open
            raise StorageError(f"cannot create folder for {key!r}") from None
        except (FileExistsError, NotADirectoryError):
            raise InvalidKeyError(
                key, "a parent segment is an existing object; this backend cannot hold both"
            ) from None
        except OSError as error:
            raise _os_error(key, error) from error
    raise StorageError(f"cannot create folder for {key!r}")  # pragma: no cover


def _write_atomically(path: Path, data: bytes, *, key: str) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one."""
    temp, fd = _open_temp(path, key=key)
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            _unlink_if_present(temp)
            raise
        _fsync_folder(path.parent)
    except IsADirectoryError:
        raise InvalidKeyError(
            key, "other keys are stored below it; this backend cannot hold both"
        ) from None
    except OSError as error:
        raise _os_error(key, error) from error


def _os_error(key: str, error: OSError) -> StorageError:
    if error.errno == errno.ENAMETOOLONG:
        return InvalidKeyError(key, "the path is too long for this file system")
    return StorageError(f"cannot write object {key!r}: {error}")


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable: the new directory entry lives in the folder's data."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_if_present(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _prune_empty_folders(folder: Path, *, stop_at: Path) -> None:
    """Remove folders a delete left empty, up to (not including) ``stop_at``."""
    while folder != stop_at and stop_at in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return  # not empty (or already gone): keep the rest
        folder = folder.parent
