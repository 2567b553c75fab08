"""What an S3 request's headers ask to be checked, sans I/O: the signed payload hash,
``Content-MD5`` and the SDKs' ``x-amz-checksum-*``, byte ranges, conditional headers,
and the access gate's refusals under S3's codes.

Codes and wording as the S3 API reference gives them
(https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html); conditional
requests in RFC 7232's order, as S3 applies them.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import hmac
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime

from overcast.control.access import Denied
from overcast.control.s3_xml import S3Error
from overcast.control.sigv4 import UNSIGNED_PAYLOAD


def check_payload(declared: str, actual: str) -> None:
    """The body's sha256 against the signed ``x-amz-content-sha256`` (unless unsigned)."""
    if declared == UNSIGNED_PAYLOAD:
        return
    if not hmac.compare_digest(declared.lower(), actual):
        raise S3Error(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
            {"ClientComputedContentSHA256": declared, "S3ComputedContentSHA256": actual},
        )


def check_md5(headers: Mapping[str, str], digest: bytes) -> None:
    """The body's MD5 against ``Content-MD5``: InvalidDigest, or BadDigest when it differs."""
    claimed = headers.get("content-md5")
    if claimed is None:
        return
    try:
        expected = base64.b64decode(claimed, validate=True)
    except binascii.Error:
        expected = b""
    if len(expected) != 16:
        raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    if not hmac.compare_digest(expected, digest):
        raise S3Error(
            400,
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            {
                "ExpectedDigest": claimed,
                "CalculatedDigest": base64.b64encode(digest).decode(),
            },
        )


class Checksums:
    """The ``x-amz-checksum-*`` values a PutObject declares (botocore sends CRC32 by
    default), checked as the body streams in; CRC32C and CRC64NVME are not checked."""

    def __init__(self, expected: dict[str, str]) -> None:
        self._expected = expected
        self._crc32 = 0
        self._hashes = {name: hashlib.new(name) for name in expected if name != "crc32"}

    @classmethod
    def asked(cls, headers: Mapping[str, str]) -> Checksums:
        return cls(
            {
                name: headers[f"x-amz-checksum-{name}"]
                for name in ("crc32", "sha1", "sha256")
                if f"x-amz-checksum-{name}" in headers
            }
        )

    def update(self, chunk: bytes) -> None:
        if "crc32" in self._expected:
            self._crc32 = zlib.crc32(chunk, self._crc32)
        for digest in self._hashes.values():
            digest.update(chunk)

    def check(self) -> None:
        for name, claimed in self._expected.items():
            actual = (
                self._crc32.to_bytes(4, "big") if name == "crc32" else self._hashes[name].digest()
            )
            if not hmac.compare_digest(claimed.encode(), base64.b64encode(actual)):
                raise S3Error(
                    400,
                    "BadDigest",
                    f"The {name.upper()} you specified did not match the calculated checksum.",
                )


def not_modified(headers: Mapping[str, str], etag: str, modified: datetime) -> bool:
    """Whether a read's conditions answer 304; PreconditionFailed (412) when they refuse
    it. S3's order (RFC 7232): If-Match, then If-Unmodified-Since only without it;
    If-None-Match, then If-Modified-Since only without it."""
    seconds = modified.replace(microsecond=0)
    if "if-match" in headers:
        if not etag_listed(headers["if-match"], etag):
            raise precondition_failed("If-Match")
    else:
        since = _http_time(headers.get("if-unmodified-since"))
        if since is not None and seconds > since:
            raise precondition_failed("If-Unmodified-Since")
    if "if-none-match" in headers:
        return etag_listed(headers["if-none-match"], etag)
    since = _http_time(headers.get("if-modified-since"))
    return since is not None and seconds <= since


def etag_listed(header: str, etag: str) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` list names ``etag`` (or is ``*``)."""
    tags = [t.strip().removeprefix("W/").strip('"') for t in header.split(",")]
    return "*" in tags or etag in tags


def _http_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # an unparsable date is ignored, as HTTP says
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def precondition_failed(condition: str) -> S3Error:
    """S3's 412 for the condition that did not hold."""
    return S3Error(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        {"Condition": condition},
    )


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The one range ``bytes=a-b`` / ``a-`` / ``-n`` asks for; None to send it all (S3
    ignores a header it cannot parse); InvalidRange when it starts past the end."""
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash or not (first.isdigit() or last.isdigit()):
        return None
    if not first:
        count = int(last)
        if count == 0:
            raise _invalid_range(size)
        return max(size - count, 0), size - 1
    start = int(first)
    end = int(last) if last.isdigit() else size - 1
    if start >= size:
        raise _invalid_range(size)
    if end < start:
        return None
    return start, min(end, size - 1)


def _invalid_range(size: int) -> S3Error:
    return S3Error(
        416,
        "InvalidRange",
        "The requested range is not satisfiable",
        {"ActualObjectSize": str(size)},
    )


#: S3's own codes, which the gate's refusals may carry already
_S3_CODES = frozenset({"AccessDenied", "AuthorizationQueryParametersError"})
_DENIED_CODES = {
    "InvalidSignatureException": "SignatureDoesNotMatch",
    "UnrecognizedClientException": "InvalidAccessKeyId",
    "MissingAuthenticationTokenException": "AccessDenied",
    "IncompleteSignatureException": "AuthorizationHeaderMalformed",
    "ExpiredTokenException": "ExpiredToken",
    "TooManyRequestsException": "SlowDown",
}


def from_denied(denied: Denied) -> S3Error:
    """The access gate's refusal under S3's code for it."""
    if denied.code in _S3_CODES:
        return S3Error(denied.status, denied.code, denied.message)
    code = _DENIED_CODES.get(denied.code, "AccessDenied")
    message = denied.message
    if code == "InvalidAccessKeyId":
        message = "The AWS Access Key Id you provided does not exist in our records."
    elif code == "SignatureDoesNotMatch" and "expired" in message:
        code = "RequestTimeTooSkewed"
    status = 503 if code == "SlowDown" else 400 if code == "AuthorizationHeaderMalformed" else 403
    return S3Error(status, code, message)
