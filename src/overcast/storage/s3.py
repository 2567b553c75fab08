"""A bucket backend over any S3-compatible API, through boto3.

overcast records each object's sha256 as user metadata (``x-amz-meta-overcast-sha256``)
when it writes, and checks it on every read. An object written by another client has
no such record: its bytes are then checked against the ETag when that is a plain MD5
(a single-part upload), and ``ObjectInfo.sha256`` is computed on ``get`` but ``None``
on ``head`` and ``list``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import boto3  # type: ignore[import-untyped]
import botocore.exceptions  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]

from overcast.storage.bucket import (
    ObjectInfo,
    digests_of,
    normalise_metadata,
    resolve_content_type,
)
from overcast.storage.errors import ChecksumMismatchError, NoSuchKeyError, StorageError
from overcast.storage.keys import validate_key, validate_prefix

# User-defined metadata travels as x-amz-meta-<name> headers, names lower-cased:
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingMetadata.html
SHA256_METADATA = "overcast-sha256"

# https://docs.aws.amazon.com/AmazonS3/latest/API/API_Object.html (ETag): for an object
# uploaded in one PUT without SSE-KMS, the ETag is the hex MD5 of its bytes.
_PLAIN_MD5 = re.compile(r"^[0-9a-f]{32}$")

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")

_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_DEFAULT_REGION = "us-east-1"


class S3Bucket:
    """A :class:`~overcast.storage.bucket.Bucket` over one bucket of an S3 API.

    Credentials come from the arguments when given, else from boto3's usual chain
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` environment, profile, ...).
    With ``create=True`` the bucket is created if it does not exist yet.
    """

    def __init__(
        self,
        name: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        create: bool = False,
        client: Any = None,
    ) -> None:
        if not _BUCKET_NAME.match(name):
            raise StorageError(f"invalid S3 bucket name {name!r}")
        self.name = name
        self.endpoint_url = endpoint_url
        self.region = region
        self._client: Any = client or boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            # Path-style addressing works with every S3 peer (moto, MinIO, Ceph) without
            # wildcard DNS for virtual-hosted bucket names.
            config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
        )
        if create:
            self.create()

    def __repr__(self) -> str:
        return f"S3Bucket({self.name!r}, endpoint_url={self.endpoint_url!r})"

    def create(self) -> None:
        """Create the bucket; one that already exists and is ours is fine."""
        region = self.region or self._client.meta.region_name or _DEFAULT_REGION
        kwargs: dict[str, Any] = {"Bucket": self.name}
        # https://docs.aws.amazon.com/AmazonS3/latest/API/API_CreateBucket.html: us-east-1
        # is the default and must not be named as a LocationConstraint.
        if region != _DEFAULT_REGION:
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self._client.create_bucket(**kwargs)
        except botocore.exceptions.ClientError as error:
            if _error_code(error) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise self._wrap(error, f"create bucket {self.name!r}") from error
        except botocore.exceptions.BotoCoreError as error:
            raise self._wrap(error, f"create bucket {self.name!r}") from error

    # -- the Bucket interface -------------------------------------------------

    def put(
        self,
        key: str,
        data: bytes,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ObjectInfo:
        """Upload ``data`` under ``key`` in one PUT, recording its sha256."""
        validate_key(key)
        if not isinstance(data, bytes | bytearray | memoryview):
            raise StorageError(f"object data must be bytes, got {type(data).__name__}")
        payload = bytes(data)
        digests = digests_of(payload)
        user_metadata = normalise_metadata(metadata)
        resolved_type = resolve_content_type(key, content_type)
        try:
            response = self._client.put_object(
                Bucket=self.name,
                Key=key,
                Body=payload,
                ContentType=resolved_type,
                Metadata={**user_metadata, SHA256_METADATA: digests.sha256},
            )
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._wrap(error, f"put {key!r}") from error
        etag = _unquote(response.get("ETag", "")) or digests.md5
        return ObjectInfo(
            key=key,
            size=len(payload),
            etag=etag,
            sha256=digests.sha256,
            content_type=resolved_type,
            # PutObject does not return the stored time; a head would cost a round trip.
            last_modified=datetime.now(UTC).replace(microsecond=0),
            metadata=user_metadata,
        )

    def get(self, key: str) -> tuple[bytes, ObjectInfo]:
        """Download ``key`` and check its bytes against the recorded sha256."""
        validate_key(key)
        try:
            response = self._client.get_object(Bucket=self.name, Key=key)
            data: bytes = response["Body"].read()
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._wrap(error, f"get {key!r}", key=key) from error
        info = _info_from_response(key, response, size=len(data))
        digests = digests_of(data)
        if info.sha256 is not None:
            if digests.sha256 != info.sha256:
                raise ChecksumMismatchError(key, info.sha256, digests.sha256)
        elif _PLAIN_MD5.match(info.etag) and digests.md5 != info.etag:
            raise ChecksumMismatchError(key, f"md5 {info.etag}", f"md5 {digests.md5}")
        if info.sha256 is None:
            info = _with_sha256(info, digests.sha256)
        return data, info

    def head(self, key: str) -> ObjectInfo:
        """Return ``key``'s record from a HEAD request."""
        validate_key(key)
        try:
            response = self._client.head_object(Bucket=self.name, Key=key)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._wrap(error, f"head {key!r}", key=key) from error
        return _info_from_response(key, response, size=int(response["ContentLength"]))

    def delete(self, key: str) -> None:
        """Delete ``key``; S3 itself treats an absent key as deleted."""
        validate_key(key)
        try:
            self._client.delete_object(Bucket=self.name, Key=key)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._wrap(error, f"delete {key!r}") from error

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Yield records in key order (S3 lists UTF-8 binary order); one HEAD per object.

        ListObjectsV2 carries neither content type nor user metadata, so each entry is
        completed by a HEAD; an object deleted in between is skipped.
        """
        validate_prefix(prefix)
        paginator = self._client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                for entry in page.get("Contents", []):
                    try:
                        yield self.head(entry["Key"])
                    except NoSuchKeyError:
                        continue
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as error:
            raise self._wrap(error, f"list {prefix!r}") from error

    def exists(self, key: str) -> bool:
        """Say whether ``key`` exists (a HEAD request)."""
        try:
            self.head(key)
        except NoSuchKeyError:
            return False
        return True

    # -- internals -------------------------------------------------------------

    def _wrap(self, error: Exception, action: str, *, key: str | None = None) -> StorageError:
        if isinstance(error, botocore.exceptions.ClientError):
            code = _error_code(error)
            if key is not None and code in _MISSING_CODES:
                return NoSuchKeyError(key)
            if code == "NoSuchBucket":
                return StorageError(
                    f"S3 bucket {self.name!r} does not exist",
                    hint="create it, or open it with create=True (s3://name?create=true)",
                )
        return StorageError(
            f"S3 {action} in bucket {self.name!r} failed: {error}",
            hint=f"check the endpoint ({self.endpoint_url or 'AWS'}) and credentials",
        )


def _error_code(error: Any) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _unquote(etag: str) -> str:
    return etag.strip('"')


def _info_from_response(key: str, response: Mapping[str, Any], *, size: int) -> ObjectInfo:
    raw_metadata: Mapping[str, str] = response.get("Metadata", {})
    metadata = {k.lower(): v for k, v in raw_metadata.items()}
    sha256 = metadata.pop(SHA256_METADATA, None)
    last_modified = response.get("LastModified")
    if not isinstance(last_modified, datetime):
        last_modified = datetime.now(UTC)
    return ObjectInfo(
        key=key,
        size=size,
        etag=_unquote(str(response.get("ETag", ""))),
        sha256=sha256,
        content_type=str(response.get("ContentType", "")),
        last_modified=last_modified,
        metadata=metadata,
    )


def _with_sha256(info: ObjectInfo, sha256: str) -> ObjectInfo:
    return dataclasses.replace(info, sha256=sha256)
