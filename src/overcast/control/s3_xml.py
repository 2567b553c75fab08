"""Amazon S3's REST-XML wire shapes, sans I/O: error bodies, listings, copy and delete results.

Shapes as the S3 API reference gives them
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html,
``ListObjectsV2``, ``ListBuckets``, ``CopyObject``, ``DeleteObjects``): an error is
``<Error><Code/><Message/>...<RequestId/></Error>`` with the HTTP status that goes
with the code; botocore's REST-XML parser takes ``Error.Code`` from it and picks the
modeled exception (``client.exceptions.NoSuchKey``) by that code.

Also the request bodies S3 reads (``DeleteObjects``' ``<Delete>``), parsed with the
standard library's expat (entity expansion is refused by expat >= 2.4's limits; the
body is bounded before it is parsed).
"""

from __future__ import annotations

import email.utils
import re
import xml.etree.ElementTree as ET  # bounded body; expat refuses entity amplification
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote
from xml.sax.saxutils import escape as _escape

from overcast.errors import OvercastError
from overcast.storage import ObjectInfo

NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
CONTENT_TYPE = b"application/xml"


#: characters XML 1.0 cannot carry at all, even escaped (a key may hold them)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def escape(text: str) -> str:
    """``text`` as XML character data; what XML cannot carry becomes U+FFFD."""
    return _escape(_NOT_XML.sub("\ufffd", text))


class S3Error(OvercastError):
    """An S3 error answer: ``code`` and ``status`` as S3 pairs them, plus the fields S3
    adds to the body for that code (``Key``, ``BucketName``, ...)."""

    def __init__(
        self, status: int, code: str, message: str, fields: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.fields = dict(fields or {})


def no_such_key(key: str) -> S3Error:
    return S3Error(404, "NoSuchKey", "The specified key does not exist.", {"Key": key})


def no_such_bucket(bucket: str) -> S3Error:
    return S3Error(
        404, "NoSuchBucket", "The specified bucket does not exist", {"BucketName": bucket}
    )


def not_implemented(what: str) -> S3Error:
    return S3Error(
        501,
        "NotImplemented",
        f"A header or query you provided implies functionality that is not implemented: {what}",
    )


def invalid_argument(message: str, name: str = "", value: str = "") -> S3Error:
    fields = {"ArgumentName": name, "ArgumentValue": value} if name else {}
    return S3Error(400, "InvalidArgument", message, fields)


def error_body(error: S3Error, request_id: str, resource: str = "") -> bytes:
    """The XML body of ``error`` (S3 adds the resource the request named)."""
    parts = [f"<Code>{escape(error.code)}</Code>", f"<Message>{escape(error.message)}</Message>"]
    parts.extend(f"<{name}>{escape(value)}</{name}>" for name, value in error.fields.items())
    if resource and "Key" not in error.fields and "BucketName" not in error.fields:
        parts.append(f"<Resource>{escape(resource)}</Resource>")
    parts.append(f"<RequestId>{escape(request_id)}</RequestId>")
    return (XML_DECLARATION + "<Error>" + "".join(parts) + "</Error>").encode()


def timestamp(moment: datetime) -> str:
    """S3's XML timestamp: ``2009-10-12T17:50:30.000Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def http_date(moment: datetime) -> str:
    """``Last-Modified``'s form (RFC 7231 IMF-fixdate)."""
    return email.utils.format_datetime(moment.astimezone(UTC), usegmt=True)


def quoted_etag(etag: str) -> str:
    return f'"{etag}"'


def _document(root: str, body: str) -> bytes:
    return f'{XML_DECLARATION}<{root} xmlns="{NAMESPACE}">{body}</{root}>'.encode()


def _element(name: str, value: object) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    text = value if isinstance(value, str) else str(value)
    return f"<{name}>{escape(text)}</{name}>"


def _owner(owner_id: str) -> str:
    return f"<Owner>{_element('ID', owner_id)}{_element('DisplayName', owner_id)}</Owner>"


def list_buckets(buckets: Iterable[tuple[str, datetime]], owner_id: str) -> bytes:
    """``ListAllMyBucketsResult``."""
    entries = "".join(
        f"<Bucket>{_element('Name', name)}{_element('CreationDate', timestamp(created))}</Bucket>"
        for name, created in buckets
    )
    return _document("ListAllMyBucketsResult", f"{_owner(owner_id)}<Buckets>{entries}</Buckets>")


@dataclass(frozen=True, slots=True)
class ListPage:
    """One page of ListObjectsV2, computed by :func:`overcast.control.s3_listing.list_page`."""

    contents: Sequence[ObjectInfo]
    common_prefixes: Sequence[str]
    is_truncated: bool
    next_token: str | None = None
    #: the last key or common prefix of a truncated page (ListObjects' NextMarker)
    next_marker: str | None = None


@dataclass(frozen=True, slots=True)
class ListRequest:
    """ListObjectsV2's parameters, echoed back in the result."""

    bucket: str
    prefix: str = ""
    delimiter: str = ""
    max_keys: int = 1000
    start_after: str = ""
    continuation_token: str = ""
    #: ListObjects (version 1)'s marker
    marker: str = ""
    encoding_type: str = ""
    fetch_owner: bool = False
    extra: Mapping[str, str] = field(default_factory=dict)


def list_objects_v2(request: ListRequest, page: ListPage, owner_id: str) -> bytes:
    """``ListBucketResult`` of ListObjectsV2 (keys URL-encoded when EncodingType=url)."""
    encode = _url_encode if request.encoding_type == "url" else _identity
    parts = [
        _element("Name", request.bucket),
        _element("Prefix", encode(request.prefix)),
        _element("KeyCount", len(page.contents) + len(page.common_prefixes)),
        _element("MaxKeys", request.max_keys),
    ]
    if request.delimiter:
        parts.append(_element("Delimiter", encode(request.delimiter)))
    parts.append(_element("IsTruncated", page.is_truncated))
    if request.start_after:
        parts.append(_element("StartAfter", encode(request.start_after)))
    if request.continuation_token:
        parts.append(_element("ContinuationToken", request.continuation_token))
    if page.next_token is not None:
        parts.append(_element("NextContinuationToken", page.next_token))
    if request.encoding_type:
        parts.append(_element("EncodingType", request.encoding_type))
    owner = owner_id if request.fetch_owner else None
    parts.extend(_contents(info, owner, encode) for info in page.contents)
    for prefix in page.common_prefixes:
        parts.append(f"<CommonPrefixes>{_element('Prefix', encode(prefix))}</CommonPrefixes>")
    return _document("ListBucketResult", "".join(parts))


def list_objects_v1(request: ListRequest, page: ListPage, owner_id: str) -> bytes:
    """``ListBucketResult`` of ListObjects, version 1 (what boto3's resource
    ``bucket.objects`` collections page with): Marker/NextMarker, owners always."""
    encode = _url_encode if request.encoding_type == "url" else _identity
    parts = [
        _element("Name", request.bucket),
        _element("Prefix", encode(request.prefix)),
        _element("Marker", encode(request.marker)),
        _element("MaxKeys", request.max_keys),
    ]
    if request.delimiter:
        parts.append(_element("Delimiter", encode(request.delimiter)))
    parts.append(_element("IsTruncated", page.is_truncated))
    if request.delimiter and page.next_marker is not None:
        parts.append(_element("NextMarker", encode(page.next_marker)))
    if request.encoding_type:
        parts.append(_element("EncodingType", request.encoding_type))
    parts.extend(_contents(info, owner_id, encode) for info in page.contents)
    for prefix in page.common_prefixes:
        parts.append(f"<CommonPrefixes>{_element('Prefix', encode(prefix))}</CommonPrefixes>")
    return _document("ListBucketResult", "".join(parts))


def _contents(info: ObjectInfo, owner_id: str | None, encode: Callable[[str], str]) -> str:
    return (
        "<Contents>"
        + _element("Key", encode(info.key))
        + _element("LastModified", timestamp(info.last_modified))
        + _element("ETag", quoted_etag(info.etag))
        + _element("Size", info.size)
        + (_owner(owner_id) if owner_id is not None else "")
        + _element("StorageClass", "STANDARD")
        + "</Contents>"
    )


def copy_result(etag: str, last_modified: datetime) -> bytes:
    """``CopyObjectResult``."""
    return _document(
        "CopyObjectResult",
        _element("LastModified", timestamp(last_modified)) + _element("ETag", quoted_etag(etag)),
    )


def location(region: str) -> bytes:
    """``LocationConstraint`` (empty for us-east-1, as S3 answers)."""
    return _document("LocationConstraint", "" if region == "us-east-1" else escape(region))


def delete_result(
    deleted: Iterable[str], errors: Iterable[tuple[str, S3Error]], *, quiet: bool
) -> bytes:
    """``DeleteResult`` of DeleteObjects (quiet mode lists the errors only)."""
    parts = [] if quiet else [f"<Deleted>{_element('Key', key)}</Deleted>" for key in deleted]
    parts.extend(
        f"<Error>{_element('Key', key)}{_element('Code', error.code)}"
        f"{_element('Message', error.message)}</Error>"
        for key, error in errors
    )
    return _document("DeleteResult", "".join(parts))


def parse_delete(body: bytes) -> tuple[list[str], bool]:
    """The keys a ``<Delete>`` body names and its ``Quiet`` flag; MalformedXML otherwise."""
    malformed = S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    if b"<!" in body:  # no DTD, no entities: S3's bodies never need them
        raise malformed
    try:
        root = ET.fromstring(body)  # noqa: S314  (bounded, and no DTD: checked above)
    except ET.ParseError:
        raise malformed from None
    if _local(root.tag) != "Delete":
        raise malformed
    keys: list[str] = []
    quiet = False
    for child in root:
        name = _local(child.tag)
        if name == "Quiet":
            quiet = (child.text or "").strip().lower() == "true"
        elif name == "Object":
            key = next((c.text for c in child if _local(c.tag) == "Key"), None)
            if key is None:
                raise malformed
            keys.append(key)
    if not keys or len(keys) > 1000:
        raise malformed
    return keys, quiet


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _identity(text: str) -> str:
    return text


def _url_encode(text: str) -> str:
    return quote(text, safe="/")


def initiate_multipart_result(bucket: str, key: str, upload_id: str) -> bytes:
    """``InitiateMultipartUploadResult``."""
    return _document(
        "InitiateMultipartUploadResult",
        _element("Bucket", bucket) + _element("Key", key) + _element("UploadId", upload_id),
    )


def complete_multipart_result(location: str, bucket: str, key: str, etag: str) -> bytes:
    """``CompleteMultipartUploadResult``."""
    return _document(
        "CompleteMultipartUploadResult",
        _element("Location", location)
        + _element("Bucket", bucket)
        + _element("Key", key)
        + _element("ETag", quoted_etag(etag)),
    )


def parse_complete_multipart(body: bytes) -> list[tuple[int, str]]:
    """The (PartNumber, ETag) pairs a ``<CompleteMultipartUpload>`` body lists."""
    malformed = S3Error(
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )
    if b"<!" in body:  # no DTD, no entities: S3's bodies never need them
        raise malformed
    try:
        root = ET.fromstring(body)  # noqa: S314  (bounded, and no DTD: checked above)
    except ET.ParseError:
        raise malformed from None
    if _local(root.tag) != "CompleteMultipartUpload":
        raise malformed
    parts: list[tuple[int, str]] = []
    for child in root:
        if _local(child.tag) != "Part":
            continue
        fields = {_local(c.tag): (c.text or "").strip() for c in child}
        number, etag = fields.get("PartNumber", ""), fields.get("ETag")
        if not number.isdigit() or etag is None:
            raise malformed
        parts.append((int(number), etag))
    return parts
