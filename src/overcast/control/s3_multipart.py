"""The S3 API's multipart uploads: parts kept on disk until the upload is completed.

What boto3's ``upload_file``/``upload_fileobj`` use above 8 MiB (s3transfer):
CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload.
S3's rules (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html):
part numbers 1-10,000; every part but the last at least 5 MiB (``EntityTooSmall``);
the completion lists parts in ascending order (``InvalidPartOrder``) with the ETags
UploadPart returned (``InvalidPart``); the object's ETag is the MD5 of the parts'
binary MD5s, a dash and the part count.

Layout: ``<buckets>/.uploads/<upload id>/`` holds ``upload.json`` (bucket, key,
type, metadata) and each part as ``<n>.part`` with ``<n>.json`` (its MD5 and size),
each written to a temporary name and renamed. The folder's name starts with a dot, so
no bucket can be called that. An upload neither completed nor aborted stays until
aborted (s3transfer aborts the uploads it fails).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from overcast.control.s3_xml import S3Error
from overcast.durable_files import atomic_write, fsync_dir

UPLOADS_FOLDER = ".uploads"
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000


def no_such_upload(upload_id: str) -> S3Error:
    return S3Error(
        404,
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload "
        "may have been aborted or completed.",
        {"UploadId": upload_id},
    )


@dataclass(frozen=True, slots=True)
class Upload:
    """A multipart upload in progress."""

    upload_id: str
    bucket: str
    key: str
    content_type: str
    metadata: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Part:
    number: int
    etag: str
    size: int


def multipart_etag(md5_hexes: Sequence[str]) -> str:
    """S3's ETag of an object assembled from parts with these MD5s."""
    joined = b"".join(bytes.fromhex(h) for h in md5_hexes)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(md5_hexes)}"


def part_number(raw: str) -> int:
    """``partNumber`` as S3 accepts it (1-10,000)."""
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PARTS:
        raise S3Error(
            400,
            "InvalidArgument",
            "Part number must be an integer between 1 and 10000, inclusive",
            {"ArgumentName": "partNumber", "ArgumentValue": raw},
        )
    return int(raw)


class UploadStore:
    """Creates, fills, lists the parts of, and removes multipart uploads."""

    def __init__(self, buckets_root: Path) -> None:
        self.root = buckets_root / UPLOADS_FOLDER

    def create(self, bucket: str, key: str, content_type: str, metadata: Mapping[str, str]) -> str:
        """Start an upload; its id."""
        upload_id = secrets.token_urlsafe(32)
        folder = self.root / upload_id
        folder.mkdir(parents=True)
        record = {"bucket": bucket, "key": key, "type": content_type, "metadata": dict(metadata)}
        atomic_write(folder / "upload.json", json.dumps(record).encode())
        return upload_id

    def get(self, upload_id: str, bucket: str, key: str) -> Upload:
        """The upload ``upload_id`` of ``bucket``/``key``; NoSuchUpload otherwise."""
        if not upload_id or not all(c.isalnum() or c in "-_" for c in upload_id):
            raise no_such_upload(upload_id)
        try:
            record = json.loads((self.root / upload_id / "upload.json").read_bytes())
        except (OSError, ValueError):
            raise no_such_upload(upload_id) from None
        if (record.get("bucket"), record.get("key")) != (bucket, key):
            raise no_such_upload(upload_id)
        return Upload(upload_id, bucket, key, str(record["type"]), dict(record["metadata"]))

    def stage_part(self, upload: Upload, number: int) -> PartWriter:
        """Start writing part ``number`` (replacing any earlier one of that number)."""
        return PartWriter(self.root / upload.upload_id, number)

    def parts(self, upload: Upload) -> dict[int, Part]:
        """The parts uploaded so far, by number."""
        found: dict[int, Part] = {}
        for record in (self.root / upload.upload_id).glob("*.json"):
            if not record.stem.isdigit():
                continue
            with contextlib.suppress(OSError, ValueError, KeyError):
                data = json.loads(record.read_bytes())
                found[int(record.stem)] = Part(int(record.stem), data["md5"], int(data["size"]))
        return found

    def chosen(self, upload: Upload, wanted: Sequence[tuple[int, str]]) -> list[Part]:
        """The parts a completion lists (number, ETag), checked as S3 checks them."""
        if not wanted:
            raise S3Error(400, "MalformedXML", "You must specify at least one part")
        numbers = [number for number, _ in wanted]
        if numbers != sorted(numbers) or len(set(numbers)) != len(numbers):
            raise S3Error(
                400, "InvalidPartOrder", "The list of parts was not in ascending order. "
                "The parts list must be specified in order by part number.",
            )  # fmt: skip
        stored = self.parts(upload)
        chosen: list[Part] = []
        for number, etag in wanted:
            part = stored.get(number)
            if part is None or part.etag != etag.strip().strip('"'):
                raise S3Error(
                    400, "InvalidPart", "One or more of the specified parts could not be found. "
                    "The part may not have been uploaded, or the specified entity tag may not "
                    "match the part's entity tag.", {"PartNumber": str(number), "ETag": etag},
                )  # fmt: skip
            chosen.append(part)
        for part in chosen[:-1]:
            if part.size < MIN_PART_BYTES:
                raise S3Error(
                    400, "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed object size.",
                    {"ProposedSize": str(part.size), "MinSizeAllowed": str(MIN_PART_BYTES),
                     "PartNumber": str(part.number)},
                )  # fmt: skip
        return chosen

    def read_parts(self, upload: Upload, parts: Sequence[Part]) -> Iterator[bytes]:
        """The bytes of ``parts``, in pieces."""
        for part in parts:
            with (self.root / upload.upload_id / f"{part.number}.part").open("rb") as handle:
                while piece := handle.read(1024 * 1024):
                    yield piece

    def remove(self, upload: Upload) -> None:
        """Forget the upload and its parts (completed or aborted)."""
        shutil.rmtree(self.root / upload.upload_id, ignore_errors=True)


class PartWriter:
    """One part being written; nothing counts until :meth:`commit`."""

    def __init__(self, folder: Path, number: int) -> None:
        self._folder = folder
        self.number = number
        self._temp = folder / f".{number}.{secrets.token_hex(8)}.tmp"
        self._fd = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256()
        self.size = 0
        self._done = False

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self._md5.update(chunk)
        self._sha256.update(chunk)
        self.size += len(chunk)

    def commit(self) -> Part:
        """Make the part durable and visible (its data first, then its record)."""
        os.fsync(self._fd)
        os.close(self._fd)
        self._done = True
        os.replace(self._temp, self._folder / f"{self.number}.part")
        fsync_dir(self._folder)
        record = {"md5": self.md5, "size": self.size}
        atomic_write(self._folder / f"{self.number}.json", json.dumps(record).encode())
        return Part(self.number, self.md5, self.size)

    def abort(self) -> None:
        if not self._done:
            self._done = True
            with contextlib.suppress(OSError):
                os.close(self._fd)
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.abort()
