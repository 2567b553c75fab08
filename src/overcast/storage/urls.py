"""Open a bucket from a URL: ``file://``, a bare name, or ``s3://``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from overcast.storage.bucket import Bucket
from overcast.storage.errors import StorageError
from overcast.storage.filesystem import FilesystemBucket
from overcast.storage.keys import validate_key

_TRUE = frozenset({"1", "true", "yes", "on"})
_S3_OPTIONS = frozenset({"endpoint_url", "region", "create"})


def open_bucket(url: str, root: Path) -> Bucket:
    """Open the bucket ``url`` names; relative names live under the folder ``root``.

    - ``static`` or ``file://static``: the folder ``root/static``;
    - ``file:///srv/buckets/static``: that absolute folder;
    - ``s3://name?endpoint_url=http://host:9000&region=eu-west-1&create=true``: an
      S3-API bucket (credentials from boto3's usual chain).
    """
    if "://" not in url:
        return FilesystemBucket(root / _bucket_name(url, url))
    parts = urlsplit(url)
    if parts.scheme == "file":
        if parts.query or parts.fragment:
            raise StorageError(f"file bucket URL {url!r} takes no query or fragment")
        if parts.netloc and parts.path not in {"", "/"}:
            raise StorageError(
                f"file bucket URL {url!r} names a host",
                hint="use file:///absolute/path or file://name (a folder under the root)",
            )
        if parts.netloc:
            return FilesystemBucket(root / _bucket_name(unquote(parts.netloc), url))
        return FilesystemBucket(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        return _open_s3(url)
    raise StorageError(
        f"unsupported bucket URL {url!r}",
        hint="use a name, file:///path or s3://bucket?endpoint_url=...",
    )


def _open_s3(url: str) -> Bucket:
    # Imported here so file buckets work without boto3 being importable.
    from overcast.storage.s3 import S3Bucket  # noqa: PLC0415

    parts = urlsplit(url)
    if not parts.netloc or parts.path not in {"", "/"}:
        raise StorageError(f"S3 bucket URL {url!r} must be s3://bucket-name[?options]")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = set(query) - _S3_OPTIONS
    if unknown:
        raise StorageError(
            f"unknown S3 bucket URL options {sorted(unknown)} in {url!r}",
            hint=f"known options: {sorted(_S3_OPTIONS)}",
        )

    def option(name: str) -> str | None:
        values = query.get(name)
        return values[-1] if values else None

    return S3Bucket(
        parts.netloc,
        endpoint_url=option("endpoint_url"),
        region=option("region"),
        create=(option("create") or "").lower() in _TRUE,
    )


def _bucket_name(name: str, url: str) -> str:
    """A bucket name under the root is one plain folder name."""
    if "/" in name:
        raise StorageError(f"bucket name in {url!r} must be a single folder name")
    validate_key(name)
    return name
