"""The S3 API in process: routing by credential scope, and notifications only after a
change is durable (driven as ASGI, signed with overcast's own SigV4 signer for s3)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path
from typing import Any

import pytest

from overcast.control.access import AccessControl
from overcast.control.access_keys import KeyStore
from overcast.control.s3_api import S3Api
from overcast.control.s3_buckets import BucketStore
from overcast.control.sigv4 import sign
from overcast.events.s3_event import ObjectChange

HOST = "127.0.0.1:9000"
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def scope_of(headers: dict[str, str], path: str, method: str, query: str = "") -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000),
    }


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        keys = KeyStore(tmp_path)
        self.key = keys.create("admin")
        self.api = S3Api(
            BucketStore.under(tmp_path),
            AccessControl(keys, "123456789012"),
            region="us-east-1",
            account_id="123456789012",
        )
        self.changes: list[ObjectChange] = []

        async def hook(change: ObjectChange) -> None:
            # durable before the hook runs: the object reads back already
            bucket = self.api.buckets.bucket(change.bucket)
            assert change.event_name.startswith("ObjectRemoved") or bucket.exists(change.key)
            self.changes.append(change)

        self.api.on_change = hook

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> tuple[int, bytes]:
        url = f"http://{HOST}{path}" + (f"?{query}" if query else "")
        signed = sign(
            method, url, headers or {}, body,
            access_key_id=self.key.access_key_id, secret=self.key.secret_access_key,
            region="us-east-1", service="s3",
        )  # fmt: skip
        signed["Content-Length"] = str(len(body))
        return asyncio.run(self._call(scope_of(signed, path, method, query), body))

    async def _call(self, scope: dict[str, Any], body: bytes) -> tuple[int, bytes]:
        sent: list[dict[str, Any]] = []
        chunks = [body[:3], body[3:]]

        async def receive() -> dict[str, Any]:
            chunk = chunks.pop(0) if chunks else b""
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        assert S3Api.handles(scope)
        await self.api(scope, receive, send)
        return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


@pytest.fixture
def s3(tmp_path: Path) -> Harness:
    harness = Harness(tmp_path)
    assert harness.request("PUT", "/bkt")[0] == 200
    return harness


def test_a_put_notifies_once_the_object_is_stored(s3: Harness) -> None:
    status, _ = s3.request("PUT", "/bkt/a%20b.txt", b"hello world")
    assert status == 200
    [change] = s3.changes
    assert (change.bucket, change.key, change.event_name) == ("bkt", "a b.txt", "ObjectCreated:Put")
    assert change.size == 11
    assert change.etag == hashlib.md5(b"hello world", usedforsecurity=False).hexdigest()


def test_a_refused_put_stores_nothing_and_notifies_nobody(s3: Harness) -> None:
    wrong = base64.b64encode(hashlib.md5(b"x", usedforsecurity=False).digest()).decode()
    status, body = s3.request("PUT", "/bkt/k", b"hello", {"Content-MD5": wrong})
    assert status == 400
    assert b"<Code>BadDigest</Code>" in body
    assert s3.changes == []
    assert s3.request("GET", "/bkt/k")[0] == 404


def test_deleting_an_absent_key_succeeds_without_a_notification(s3: Harness) -> None:
    assert s3.request("DELETE", "/bkt/never")[0] == 204
    assert s3.changes == []
    s3.request("PUT", "/bkt/there", b"x")
    assert s3.request("DELETE", "/bkt/there")[0] == 204
    assert [c.event_name for c in s3.changes] == ["ObjectCreated:Put", "ObjectRemoved:Delete"]


def test_too_large_a_put_is_entity_too_large_before_any_byte_is_read(
    s3: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("overcast.control.s3_api.MAX_OBJECT_BYTES", 4)
    status, body = s3.request("PUT", "/bkt/big", b"12345")
    assert status == 400
    assert b"<Code>EntityTooLarge</Code>" in body


def test_only_requests_signed_for_s3_are_routed_here() -> None:
    def auth(service: str, extra: str = "") -> dict[str, Any]:
        value = (
            f"AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/{service}/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={'0' * 64}{extra}"
        )
        return scope_of({"Authorization": value}, "/b/k", "GET")

    assert S3Api.handles(auth("s3"))
    assert not S3Api.handles(auth("lambda"))
    assert not S3Api.handles(auth("lambda", ", Junk=/s3/aws4_request"))
    presigned = "X-Amz-Credential=AKIA%2F20240101%2Fus-east-1%2Fs3%2Faws4_request"
    assert S3Api.handles(scope_of({}, "/b/k", "GET", presigned))
    assert not S3Api.handles(scope_of({}, "/b/k", "GET"))


def test_a_declared_checksum_that_does_not_match_is_bad_digest(s3: Harness) -> None:
    right = base64.b64encode(zlib.crc32(b"hello").to_bytes(4, "big")).decode()
    assert s3.request("PUT", "/bkt/ok", b"hello", {"x-amz-checksum-crc32": right})[0] == 200
    wrong = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    status, body = s3.request("PUT", "/bkt/bad", b"hello", {"x-amz-checksum-crc32": wrong})
    assert status == 400
    assert b"<Code>BadDigest</Code>" in body
    assert [c.key for c in s3.changes] == ["ok"]


def test_metadata_the_store_cannot_keep_is_invalid_argument(s3: Harness) -> None:
    status, body = s3.request("PUT", "/bkt/k", b"x", {"x-amz-meta-overcast-sha256": "forged"})
    assert status == 400
    assert b"<Code>InvalidArgument</Code>" in body


def test_a_completed_multipart_upload_notifies_once_with_its_own_event_name(s3: Harness) -> None:
    status, body = s3.request("POST", "/bkt/parts.bin", query="uploads")
    assert status == 200
    upload = ET.fromstring(body).findtext(f"{NS}UploadId")
    assert upload
    status, _ = s3.request("PUT", "/bkt/parts.bin", b"abc", query=f"partNumber=1&uploadId={upload}")
    assert status == 200
    assert s3.changes == []
    md5 = hashlib.md5(b"abc", usedforsecurity=False).hexdigest()
    done = (
        f'<CompleteMultipartUpload xmlns="{NS[1:-1]}"><Part><PartNumber>1</PartNumber>'
        f'<ETag>"{md5}"</ETag></Part></CompleteMultipartUpload>'
    ).encode()
    status, body = s3.request("POST", "/bkt/parts.bin", done, query=f"uploadId={upload}")
    assert status == 200, body
    [change] = s3.changes
    assert change.event_name == "ObjectCreated:CompleteMultipartUpload"
    assert change.size == 3
    assert change.etag is not None
    assert change.etag.endswith("-1")
    # (another body than the first completion's: a byte-identical request is a replay)
    again = done + b" "
    assert s3.request("POST", "/bkt/parts.bin", again, query=f"uploadId={upload}")[0] == 404


def test_a_notification_that_cannot_be_queued_fails_the_write_in_s3s_shape(
    s3: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_change: ObjectChange) -> None:
        raise RuntimeError("the events queue is gone")

    s3.api.on_change = broken
    status, body = s3.request("PUT", "/bkt/k", b"stored anyway")
    assert status == 500
    assert b"<Code>InternalError</Code>" in body
    # the object is durable before notifications are queued: a retry re-puts it
    assert s3.request("GET", "/bkt/k")[1] == b"stored anyway"
    assert "the events queue is gone" in caplog.text
