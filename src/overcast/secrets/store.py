"""The embedded KV version 2 store: one sealed file per secret path, Vault's semantics.

Theory of operation: a secret path maps to ``kv/<sha256(path)>.rec``, a sealed JSON record
holding the path, its metadata and every kept version. The file name hides the path and is
the record's associated data, and the path inside is checked on read, so records cannot be
swapped. Every mutation is read-modify-write under one exclusive lock (threads and
processes), then an atomic replace: a crash leaves the old or the new record, never a mix,
and an acknowledged write is on disk.

Semantics follow Vault's KV v2 engine:
https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from overcast.durable_files import atomic_write, ensure_private_dir, exclusive_lock, fsync_dir
from overcast.secrets.crypto import Envelope
from overcast.secrets.errors import (
    CasMismatchError,
    InvalidRequestError,
    SealedRecordError,
    SecretNotFoundError,
    VersionDeletedError,
)

# Vault's mount default when a secret's max_versions is 0.
DEFAULT_MAX_VERSIONS = 10
_SUFFIX = ".rec"

JsonObject = dict[str, Any]


def vault_time(moment: datetime | None = None) -> str:
    """RFC 3339 with nanosecond digits and a ``Z``, as Vault prints times."""
    moment = moment or datetime.now(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}000Z"


def normalize_path(path: str) -> str:
    """A secret path without surrounding slashes; empty or ``..`` segments are refused."""
    clean = path.strip("/")
    if not clean or any(part in ("", ".", "..") for part in clean.split("/")):
        raise InvalidRequestError(f"invalid secret path {path!r}")
    return clean


@dataclass(frozen=True, slots=True)
class SecretVersion:
    """One readable version: its key/value data and Vault's version metadata."""

    path: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any]


class KvStore:
    """Vault KV v2 over sealed files; every method is safe from many threads and processes."""

    def __init__(self, root: Path, envelope: Envelope) -> None:
        self._dir = root / "kv"
        ensure_private_dir(self._dir)
        self._lock_path = root / "kv.lock"
        self._envelope = envelope
        # file name -> (stat signature, path): listing decrypts each record once.
        self._names: dict[str, tuple[tuple[int, int, int], str]] = {}
        self._names_guard = threading.Lock()

    # -- reads -------------------------------------------------------------------------

    def read(self, path: str, version: int | None = None) -> SecretVersion:
        """The data of ``version`` (default: current); 404-style errors when unreadable."""
        path = normalize_path(path)
        record = self._load(path)
        if record is None or record["current_version"] == 0:
            raise SecretNotFoundError(f"no secret at {path!r}")
        number = version or record["current_version"]
        entry = record["versions"].get(str(number))
        if entry is None:
            raise SecretNotFoundError(f"no version {number} of {path!r}")
        metadata = _version_metadata(record, number)
        if entry["destroyed"] or entry["deletion_time"]:
            raise VersionDeletedError(f"version {number} of {path!r} is deleted", metadata)
        return SecretVersion(path, entry["data"], metadata)

    def read_metadata(self, path: str) -> JsonObject:
        """Vault's metadata document for ``path`` (all versions, current and oldest)."""
        path = normalize_path(path)
        record = self._load(path)
        if record is None:
            raise SecretNotFoundError(f"no secret at {path!r}")
        return {
            "cas_required": record["cas_required"],
            "created_time": record["created_time"],
            "current_version": record["current_version"],
            "custom_metadata": record["custom_metadata"],
            "delete_version_after": record["delete_version_after"],
            "max_versions": record["max_versions"],
            "oldest_version": record["oldest_version"],
            "updated_time": record["updated_time"],
            "versions": {
                number: {
                    "created_time": entry["created_time"],
                    "deletion_time": entry["deletion_time"],
                    "destroyed": entry["destroyed"],
                }
                for number, entry in record["versions"].items()
            },
        }

    def list_keys(self, prefix: str = "") -> list[str]:
        """Direct children of ``prefix``: secret names, and folders with a trailing ``/``."""
        base = prefix.strip("/")
        base = f"{base}/" if base else ""
        keys: set[str] = set()
        for path in self._all_paths():
            if not path.startswith(base):
                continue
            rest = path[len(base) :]
            head, slash, _ = rest.partition("/")
            keys.add(head + slash)
        if not keys:
            raise SecretNotFoundError(f"nothing under {prefix!r}")
        return sorted(keys)

    # -- writes ------------------------------------------------------------------------

    def write(self, path: str, data: Mapping[str, Any], cas: int | None = None) -> JsonObject:
        """Store ``data`` as a new version; ``cas`` must name the current version (0: new)."""
        if not isinstance(data, Mapping):
            raise InvalidRequestError("no data provided")
        path = normalize_path(path)
        with self._locked():
            record = self._load(path) or _new_record(path)
            return self._add_version(record, dict(data), cas)

    def patch(self, path: str, patch: Mapping[str, Any], cas: int | None = None) -> JsonObject:
        """Merge ``patch`` (RFC 7396: null removes a key) into the current version."""
        path = normalize_path(path)
        with self._locked():
            record = self._load(path)
            current = record["versions"].get(str(record["current_version"])) if record else None
            if record is None or current is None:
                raise SecretNotFoundError(f"no secret at {path!r} to patch")
            if current["destroyed"] or current["deletion_time"]:
                raise SecretNotFoundError(f"current version of {path!r} is deleted")
            return self._add_version(record, _merge_patch(current["data"], patch), cas)

    def write_metadata(
        self,
        path: str,
        *,
        max_versions: int | None = None,
        cas_required: bool | None = None,
        custom_metadata: Mapping[str, str] | None = None,
        delete_version_after: str | None = None,
    ) -> None:
        """Create or update a secret's metadata without writing a version."""
        path = normalize_path(path)
        with self._locked():
            record = self._load(path) or _new_record(path)
            if max_versions is not None:
                if max_versions < 0:
                    raise InvalidRequestError("max_versions must be zero or positive")
                record["max_versions"] = max_versions
            if cas_required is not None:
                record["cas_required"] = bool(cas_required)
            if custom_metadata is not None:
                record["custom_metadata"] = {str(k): str(v) for k, v in custom_metadata.items()}
            if delete_version_after is not None:
                record["delete_version_after"] = delete_version_after
            record["updated_time"] = vault_time()
            _trim(record)
            self._save(record)

    def delete_latest(self, path: str) -> None:
        """Soft-delete the current version (no error when there is nothing to delete)."""
        path = normalize_path(path)
        with self._locked():
            record = self._load(path)
            if record is None or record["current_version"] == 0:
                return
            self._mark(record, [record["current_version"]], deleted=True)

    def delete_versions(self, path: str, versions: Iterable[int]) -> None:
        """Soft-delete the given versions; their data stays until destroyed."""
        self._mutate_versions(path, versions, deleted=True)

    def undelete_versions(self, path: str, versions: Iterable[int]) -> None:
        """Undo a soft delete; destroyed versions stay destroyed."""
        self._mutate_versions(path, versions, deleted=False)

    def destroy_versions(self, path: str, versions: Iterable[int]) -> None:
        """Erase the data of the given versions for good."""
        path = normalize_path(path)
        numbers = _versions_list(versions)
        with self._locked():
            record = self._load(path)
            if record is None:
                return
            for number in numbers:
                entry = record["versions"].get(str(number))
                if entry is not None:
                    entry["destroyed"] = True
                    entry["data"] = None
            record["updated_time"] = vault_time()
            self._save(record)

    def delete_metadata(self, path: str) -> None:
        """Remove the secret, its metadata and every version."""
        path = normalize_path(path)
        with self._locked():
            file = self._file(path)
            try:
                file.unlink()
            except FileNotFoundError:
                return
            fsync_dir(self._dir)

    # -- internals ---------------------------------------------------------------------

    def _locked(self) -> Any:
        return exclusive_lock(self._lock_path)

    def _file(self, path: str) -> Path:
        return self._dir / (hashlib.sha256(path.encode()).hexdigest() + _SUFFIX)

    def _load(self, path: str) -> JsonObject | None:
        file = self._file(path)
        try:
            blob = file.read_bytes()
        except FileNotFoundError:
            return None
        record: JsonObject = orjson.loads(self._envelope.open(file.name, blob))
        if record.get("path") != path:
            raise SealedRecordError(f"record {file.name} does not belong to {path!r}")
        return record

    def _save(self, record: JsonObject) -> None:
        file = self._file(record["path"])
        atomic_write(file, self._envelope.seal(file.name, orjson.dumps(record)))

    def _add_version(self, record: JsonObject, data: JsonObject, cas: int | None) -> JsonObject:
        current = record["current_version"]
        if cas is None and record["cas_required"]:
            raise InvalidRequestError("check-and-set parameter required for this call")
        if cas is not None and cas != current:
            raise CasMismatchError("check-and-set parameter did not match the current version")
        now = vault_time()
        number = current + 1
        record["versions"][str(number)] = {
            "data": data,
            "created_time": now,
            "deletion_time": "",
            "destroyed": False,
        }
        record["current_version"] = number
        record["updated_time"] = now
        if record["oldest_version"] == 0:
            record["oldest_version"] = number
        _trim(record)
        self._save(record)
        return _version_metadata(record, number)

    def _mutate_versions(self, path: str, versions: Iterable[int], *, deleted: bool) -> None:
        path = normalize_path(path)
        numbers = _versions_list(versions)
        with self._locked():
            record = self._load(path)
            if record is None:
                return
            self._mark(record, numbers, deleted=deleted)

    def _mark(self, record: JsonObject, numbers: list[int], *, deleted: bool) -> None:
        now = vault_time()
        for number in numbers:
            entry = record["versions"].get(str(number))
            if entry is None or entry["destroyed"]:
                continue
            entry["deletion_time"] = now if deleted else ""
        record["updated_time"] = now
        self._save(record)

    def _all_paths(self) -> list[str]:
        paths: list[str] = []
        with self._names_guard:
            seen: set[str] = set()
            for file in self._dir.glob(f"*{_SUFFIX}"):
                try:
                    st = file.stat()
                except FileNotFoundError:
                    continue
                signature = (st.st_ino, st.st_mtime_ns, st.st_size)
                seen.add(file.name)
                cached = self._names.get(file.name)
                if cached is None or cached[0] != signature:
                    try:
                        blob = file.read_bytes()
                    except FileNotFoundError:
                        continue
                    record = orjson.loads(self._envelope.open(file.name, blob))
                    cached = (signature, str(record["path"]))
                    self._names[file.name] = cached
                paths.append(cached[1])
            for stale in set(self._names) - seen:
                del self._names[stale]
        return paths


def _new_record(path: str) -> JsonObject:
    now = vault_time()
    return {
        "path": path,
        "created_time": now,
        "updated_time": now,
        "current_version": 0,
        "oldest_version": 0,
        "max_versions": 0,
        "cas_required": False,
        "custom_metadata": None,
        "delete_version_after": "0s",
        "versions": {},
    }


def _version_metadata(record: JsonObject, number: int) -> JsonObject:
    entry = record["versions"][str(number)]
    return {
        "created_time": entry["created_time"],
        "custom_metadata": record["custom_metadata"],
        "deletion_time": entry["deletion_time"],
        "destroyed": entry["destroyed"],
        "version": number,
    }


def _trim(record: JsonObject) -> None:
    """Drop the oldest versions beyond max_versions, as Vault does on write."""
    keep = record["max_versions"] or DEFAULT_MAX_VERSIONS
    numbers = sorted(int(n) for n in record["versions"])
    for number in numbers[: max(0, len(numbers) - keep)]:
        del record["versions"][str(number)]
    if record["versions"]:
        record["oldest_version"] = min(int(n) for n in record["versions"])


def _versions_list(versions: Iterable[int]) -> list[int]:
    try:
        numbers = [int(v) for v in versions]
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError("versions must be a list of integers") from exc
    if not numbers:
        raise InvalidRequestError("no version number provided")
    return numbers


def _merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge_patch(result.get(key), value)
    return result
