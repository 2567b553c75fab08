"""The admin port's S3 API: a subset of Amazon S3's REST-XML protocol over local buckets.

Path-style addressing only (``/<bucket>/<key>``; a client sets
``Config(s3={"addressing_style": "path"})``, and botocore uses it by itself for an
endpoint that is an IP address). Requests are told apart by their SigV4 credential
scope (service ``s3``), so they never reach another API of the admin port.

Operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
ListObjectsV2, PutObject, CopyObject, GetObject (one byte range at most), HeadObject,
DeleteObject and DeleteObjects; everything else is S3's ``NotImplemented`` (501).
Every request is signed for ``s3`` (an Authorization header, or a presigned URL's
query), by a key whose role (or, for a function, its template Policies) allows the
operation's IAM action on ``arn:aws:s3:::<bucket>[/<key>]``.

A PutObject body is streamed to a temporary file next to its final place, checked
against the signed ``x-amz-content-sha256`` (or taken as is when ``UNSIGNED-PAYLOAD``)
and ``Content-MD5``, then published (fsync + rename): nothing is stored under the key
until it is whole and verified. Bodies are bounded by :data:`MAX_OBJECT_BYTES`
(``EntityTooLarge``); AWS's bound for one PUT is 5 GiB.

Notifications: after a change is durable, :attr:`S3Api.on_change` is awaited with it
before the response goes out, so a 200 means the matching functions' invocations are
queued (durably). A node that dies between the two has the object but not the
invocations: S3 also promises at-least-once delivery only, never exactly-once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import parse_qsl, unquote

from overcast.control.access import AccessControl, Denied
from overcast.control.access_keys import AccessKey
from overcast.control.asgi_types import Message, Receive, Scope, Send
from overcast.control.s3_buckets import BucketStore
from overcast.control.s3_checks import (
    Checksums,
    byte_range,
    check_md5,
    check_payload,
    etag_listed,
    from_denied,
    not_modified,
    precondition_failed,
)
from overcast.control.s3_listing import list_page
from overcast.control.s3_multipart import (
    UploadStore,
    multipart_etag,
    no_such_upload,
    part_number,
)
from overcast.control.s3_xml import (
    CONTENT_TYPE,
    ListRequest,
    S3Error,
    complete_multipart_result,
    copy_result,
    delete_result,
    error_body,
    http_date,
    initiate_multipart_result,
    invalid_argument,
    list_buckets,
    list_objects_v1,
    list_objects_v2,
    location,
    no_such_key,
    not_implemented,
    parse_complete_multipart,
    parse_delete,
    quoted_etag,
)
from overcast.control.sigv4 import credential_service
from overcast.events.s3_event import ObjectChange, sequencer
from overcast.storage import FilesystemBucket, InvalidKeyError, NoSuchKeyError, ObjectInfo
from overcast.storage.bucket import normalise_metadata, resolve_content_type
from overcast.storage.errors import StorageError

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

#: the largest object one PutObject stores (AWS: 5 GiB; overcast keeps it to what a
#: local disk and one request comfortably hold)
MAX_OBJECT_BYTES = 100 * 1024 * 1024
#: the largest body of any other request (DeleteObjects' XML of 1000 keys)
MAX_REQUEST_BYTES = 1024 * 1024
_META_PREFIX = "x-amz-meta-"
#: query parameters that name a sub-resource overcast does not serve
_BUCKET_SUBRESOURCES = frozenset(
    {
        "acl", "cors", "encryption", "lifecycle", "logging", "notification", "policy",
        "replication", "tagging", "uploads", "versioning", "versions", "website",
        "accelerate", "analytics", "inventory", "metrics", "ownershipControls",
        "publicAccessBlock", "requestPayment", "object-lock", "intelligent-tiering",
    }
)  # fmt: skip
_OBJECT_SUBRESOURCES = frozenset(
    {"acl", "tagging", "retention", "legal-hold", "torrent", "restore", "select",
     "attributes"}
)  # fmt: skip

#: what a notification hook does with a change (queue the invocations it asks for)
ChangeHook = Callable[[ObjectChange], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Call:
    """One request, decoded: who signed it, what it names, what it asks."""

    who: AccessKey
    method: str
    bucket: str
    key: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    payload_hash: str
    request_id: str
    source_ip: str


class S3Api:
    """Serves the S3 operations above; its refusals are S3's XML errors."""

    def __init__(
        self,
        buckets: BucketStore,
        access: AccessControl,
        *,
        region: str,
        account_id: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.buckets = buckets
        self.uploads = UploadStore(buckets.root)
        self._access = access
        self.region = region
        self.account_id = account_id
        self._clock = clock
        self._counter = itertools.count()
        #: awaited with each change once it is durable (None: no notifications)
        self.on_change: ChangeHook | None = None

    @staticmethod
    def handles(scope: Scope) -> bool:
        """Whether the request is signed for S3 (its Authorization header's credential
        scope, or a presigned URL's ``X-Amz-Credential``)."""
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if header is not None:
            # Parsed as the verifier parses it: the scope that routes a request here is
            # the one its signature is checked against, so no other service's
            # signature can pass for an S3 request.
            return credential_service(header) == "s3"
        query: bytes = scope.get("query_string", b"")
        if b"X-Amz-Credential=" in query:
            return b"%2Fs3%2Faws4_request" in query
        # A Signature Version 2 presigned URL (boto3's default presigner in us-east-1),
        # answered with S3's refusal rather than the admin port's 404.
        return b"AWSAccessKeyId=" in query and b"Signature=" in query

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = secrets.token_hex(8).upper()
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        read_all = False

        async def reading() -> Message:
            nonlocal read_all
            message = await receive()
            read_all = read_all or not message.get("more_body", False)
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            call = self._decode(scope, path, request_id)
            await self._serve(call, reading, tracked)
        except Exception as exc:
            if started:
                raise  # too late to answer: the server closes the connection
            error = exc if isinstance(exc, S3Error) else None
            if error is None and isinstance(exc, StorageError | OSError):
                # A disk that is full, read-only or failing: S3's InternalError, in XML.
                logger.error("%s %s failed (request %s): %s", method, path, request_id, exc)
                error = S3Error(500, "InternalError", f"We encountered an internal error: {exc}")
            elif error is None:
                # A bug, or the events queue failing after a write was stored: the
                # client is told it failed (and may retry: S3 events are at least once).
                logger.exception("%s %s failed (request %s)", method, path, request_id)
                error = S3Error(
                    500, "InternalError", "We encountered an internal error. Please try again."
                )
            # A body left unread (a refusal before it, or a client waiting on
            # "Expect: 100-continue" that will never send it) must not be taken for
            # the next request on the connection: close it instead.
            close = not read_all and _announces_body(scope)
            await _send_error(
                send, error, request_id, unquote(path), head=method == "HEAD", close=close
            )

    def _decode(self, scope: Scope, path: str, request_id: str) -> _Call:
        if any(k == b"authorization" for k, _ in scope["headers"]):
            signed = self._access.authenticate_head(scope)
        elif b"X-Amz-Credential=" in scope.get("query_string", b""):
            signed = self._access.authenticate_presigned(scope)
        elif b"AWSAccessKeyId=" in scope.get("query_string", b""):
            raise S3Error(
                400,
                "InvalidRequest",
                "The authorization mechanism you have provided is not supported. "
                "Please use AWS4-HMAC-SHA256 (presign with "
                "botocore.config.Config(signature_version='s3v4')).",
            )
        else:
            raise S3Error(403, "AccessDenied", "Access Denied")
        if isinstance(signed, Denied):
            raise from_denied(signed)
        who, payload_hash = signed
        bucket, _, key = path.lstrip("/").partition("/")
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            lowered = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            headers[lowered] = f"{headers[lowered]},{text}" if lowered in headers else text
        query = dict(
            parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        )
        client = scope.get("client")
        try:
            key = unquote(key, errors="strict")
        except UnicodeDecodeError:
            raise invalid_argument("The key is not valid UTF-8.") from None
        return _Call(
            who=who,
            method=scope["method"],
            bucket=unquote(bucket),
            key=key,
            query=query,
            headers=headers,
            payload_hash=payload_hash,
            request_id=request_id,
            source_ip=client[0] if client else "127.0.0.1",
        )

    async def _serve(self, call: _Call, receive: Receive, send: Send) -> None:
        if not call.bucket:
            if call.method != "GET":
                raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed")
            self._authorize(call, "s3:ListAllMyBuckets", "*")
            await self._reply(send, call, 200, list_buckets(self.buckets.list(), self._owner))
            return
        if not call.key:
            await self._bucket_operation(call, receive, send)
            return
        await self._object_operation(call, receive, send)

    @property
    def _owner(self) -> str:
        return self.account_id

    def _authorize(self, call: _Call, action: str, resource: str) -> None:
        denied = self._access.authorize(call.who, action, resource)
        if denied is None and call.who.role != "function" and (call.who.stages or call.who.stacks):
            # Buckets belong to no stage yet: a stage's key would reach every stage's.
            raise S3Error(
                403,
                "AccessDenied",
                "Access Denied (the key is limited to stages or stacks; buckets belong to none)",
            )
        if denied is not None:
            raise S3Error(403, "AccessDenied", denied.message)

    # -- buckets --------------------------------------------------------------

    async def _bucket_operation(self, call: _Call, receive: Receive, send: Send) -> None:
        arn = f"arn:aws:s3:::{call.bucket}"
        unsupported = _BUCKET_SUBRESOURCES.intersection(call.query)
        if unsupported:
            raise not_implemented(f"?{sorted(unsupported)[0]}")
        method = call.method
        if method == "GET" and "location" in call.query:
            self._authorize(call, "s3:GetBucketLocation", arn)
            await self._body(call, receive)
            self.buckets.bucket(call.bucket)
            await self._reply(send, call, 200, location(self.region))
        elif method == "GET":
            self._authorize(call, "s3:ListBucket", arn)
            await self._body(call, receive)
            await self._list_objects(call, send)
        elif method == "HEAD":
            self._authorize(call, "s3:ListBucket", arn)
            self.buckets.bucket(call.bucket)
            await self._reply(send, call, 200, b"", {"x-amz-bucket-region": self.region})
        elif method == "PUT":
            self._authorize(call, "s3:CreateBucket", arn)
            await self._body(call, receive)
            if not await asyncio.to_thread(self.buckets.create, call.bucket):
                raise S3Error(
                    409,
                    "BucketAlreadyOwnedByYou",
                    "Your previous request to create the named bucket succeeded and you "
                    "already own it.",
                    {"BucketName": call.bucket},
                )
            await self._reply(send, call, 200, b"", {"location": "/" + call.bucket})
        elif method == "DELETE":
            self._authorize(call, "s3:DeleteBucket", arn)
            await asyncio.to_thread(self.buckets.delete, call.bucket)
            await self._reply(send, call, 204, b"")
        elif method == "POST" and "delete" in call.query:
            await self._delete_objects(call, receive, send)
        else:
            raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed")

    async def _list_objects(self, call: _Call, send: Send) -> None:
        version = call.query.get("list-type", "1")
        if version not in ("1", "2"):
            raise invalid_argument("Invalid List Type specified", "list-type", version)
        raw_max = call.query.get("max-keys", "1000")
        if not raw_max.isdigit():
            raise invalid_argument(
                "Provided max-keys not an integer or within integer range", "max-keys", raw_max
            )
        encoding = call.query.get("encoding-type", "")
        if encoding not in ("", "url"):
            raise invalid_argument(
                "Invalid Encoding Method specified in Request", "encoding-type", encoding
            )
        request = ListRequest(
            bucket=call.bucket,
            prefix=call.query.get("prefix", ""),
            delimiter=call.query.get("delimiter", ""),
            max_keys=min(int(raw_max), 1000),
            start_after=call.query.get("start-after", ""),
            continuation_token=call.query.get("continuation-token", ""),
            marker=call.query.get("marker", "") if version == "1" else "",
            encoding_type=encoding,
            fetch_owner=call.query.get("fetch-owner") == "true",
        )
        bucket = self.buckets.bucket(call.bucket)
        objects = await asyncio.to_thread(lambda: list(bucket.list(request.prefix)))
        page = list_page(
            objects,
            prefix=request.prefix,
            delimiter=request.delimiter,
            max_keys=request.max_keys,
            start_after=request.start_after,
            token=request.continuation_token,
            marker=request.marker,
        )
        render = list_objects_v2 if version == "2" else list_objects_v1
        await self._reply(send, call, 200, render(request, page, self._owner))

    async def _delete_objects(self, call: _Call, receive: Receive, send: Send) -> None:
        body = await self._body(call, receive)
        check_md5(call.headers, hashlib.md5(body, usedforsecurity=False).digest())
        keys, quiet = parse_delete(body)
        bucket = self.buckets.bucket(call.bucket)
        deleted: list[str] = []
        errors: list[tuple[str, S3Error]] = []
        for key in keys:
            try:
                self._authorize(call, "s3:DeleteObject", f"arn:aws:s3:::{call.bucket}/{key}")
                await self._delete(call, bucket, key)
            except S3Error as exc:
                errors.append((key, exc))
                continue
            deleted.append(key)
        await self._reply(send, call, 200, delete_result(deleted, errors, quiet=quiet))

    # -- objects --------------------------------------------------------------

    async def _object_operation(self, call: _Call, receive: Receive, send: Send) -> None:
        arn = f"arn:aws:s3:::{call.bucket}/{call.key}"
        unsupported = _OBJECT_SUBRESOURCES.intersection(call.query)
        if unsupported:
            raise not_implemented(f"?{sorted(unsupported)[0]}")
        method = call.method
        if "uploads" in call.query or "uploadId" in call.query:
            await self._multipart_operation(call, arn, receive, send)
        elif method == "PUT" and "x-amz-copy-source" in call.headers:
            self._authorize(call, "s3:PutObject", arn)
            await self._copy(call, receive, send)
        elif method == "PUT":
            self._authorize(call, "s3:PutObject", arn)
            await self._put(call, receive, send)
        elif method in ("GET", "HEAD"):
            self._authorize(call, "s3:GetObject", arn)
            await self._get(call, send)
        elif method == "DELETE":
            self._authorize(call, "s3:DeleteObject", arn)
            bucket = self.buckets.bucket(call.bucket)
            await self._delete(call, bucket, call.key)
            await self._reply(send, call, 204, b"")
        else:
            raise S3Error(405, "MethodNotAllowed", "The specified method is not allowed")

    async def _multipart_operation(
        self, call: _Call, arn: str, receive: Receive, send: Send
    ) -> None:
        method = call.method
        if method == "POST" and "uploads" in call.query:
            self._authorize(call, "s3:PutObject", arn)
            await self._create_upload(call, receive, send)
        elif (
            method == "PUT" and "uploadId" in call.query and "x-amz-copy-source" not in call.headers
        ):
            self._authorize(call, "s3:PutObject", arn)
            await self._upload_part(call, receive, send)
        elif method == "POST" and "uploadId" in call.query:
            self._authorize(call, "s3:PutObject", arn)
            await self._complete_upload(call, receive, send)
        elif method == "DELETE" and "uploadId" in call.query:
            self._authorize(call, "s3:AbortMultipartUpload", arn)
            await self._abort_upload(call, send)
        else:
            raise not_implemented("this multipart upload operation (ListParts, UploadPartCopy)")

    async def _put(self, call: _Call, receive: Receive, send: Send) -> None:
        length = _announced_length(call)
        bucket = self.buckets.bucket(call.bucket)
        content_type, metadata = _object_headers(call)
        await self._check_write_conditions(call, bucket)
        staged = _storage_call(call.key, lambda: bucket.stage(call.key))
        with staged:
            if not await _receive_into(call, receive, staged, length):
                return
            await self._check_write_conditions(call, bucket)
            info = await asyncio.to_thread(
                _storage_call, call.key, lambda: staged.commit(content_type, metadata)
            )
        await self._changed(call, call.key, "ObjectCreated:Put", info)
        await self._reply(send, call, 200, b"", {"etag": quoted_etag(info.etag)})

    # -- multipart uploads ----------------------------------------------------

    async def _create_upload(self, call: _Call, receive: Receive, send: Send) -> None:
        await self._body(call, receive)
        self.buckets.bucket(call.bucket)
        content_type, metadata = _object_headers(call)
        upload_id = await asyncio.to_thread(
            self.uploads.create, call.bucket, call.key, content_type, metadata
        )
        body = initiate_multipart_result(call.bucket, call.key, upload_id)
        await self._reply(send, call, 200, body)

    async def _upload_part(self, call: _Call, receive: Receive, send: Send) -> None:
        length = _announced_length(call)
        number = part_number(call.query.get("partNumber", ""))
        upload = self.uploads.get(call.query["uploadId"], call.bucket, call.key)
        try:
            writer = self.uploads.stage_part(upload, number)
        except FileNotFoundError:  # aborted meanwhile
            raise no_such_upload(upload.upload_id) from None
        with writer:
            if not await _receive_into(call, receive, writer, length):
                return
            try:
                part = await asyncio.to_thread(writer.commit)
            except FileNotFoundError:
                raise no_such_upload(upload.upload_id) from None
        await self._reply(send, call, 200, b"", {"etag": quoted_etag(part.etag)})

    async def _complete_upload(self, call: _Call, receive: Receive, send: Send) -> None:
        body = await self._body(call, receive)
        upload = self.uploads.get(call.query["uploadId"], call.bucket, call.key)
        parts = await asyncio.to_thread(self.uploads.chosen, upload, parse_complete_multipart(body))
        total = sum(part.size for part in parts)
        if total > MAX_OBJECT_BYTES:
            raise _too_large(total)
        bucket = self.buckets.bucket(call.bucket)
        etag = multipart_etag([part.etag for part in parts])

        def assemble() -> ObjectInfo:
            with bucket.stage(call.key) as staged:
                for piece in self.uploads.read_parts(upload, parts):
                    staged.write(piece)
                return staged.commit(upload.content_type, upload.metadata, etag=etag)

        info = await asyncio.to_thread(_storage_call, call.key, assemble)
        await asyncio.to_thread(self.uploads.remove, upload)
        await self._changed(call, call.key, "ObjectCreated:CompleteMultipartUpload", info)
        location = f"/{call.bucket}/{call.key}"
        result = complete_multipart_result(location, call.bucket, call.key, info.etag)
        await self._reply(send, call, 200, result)

    async def _abort_upload(self, call: _Call, send: Send) -> None:
        upload = self.uploads.get(call.query["uploadId"], call.bucket, call.key)
        await asyncio.to_thread(self.uploads.remove, upload)
        await self._reply(send, call, 204, b"")

    async def _check_write_conditions(self, call: _Call, bucket: FilesystemBucket) -> None:
        """S3's conditional writes: ``If-None-Match: *`` (only if absent) and ``If-Match``
        (only over that ETag). Checked before the body is read and again before it is
        published; a writer racing in between is not excluded."""
        if "if-none-match" not in call.headers and "if-match" not in call.headers:
            return
        try:
            current: ObjectInfo | None = await asyncio.to_thread(bucket.head, call.key)
        except NoSuchKeyError:
            current = None
        if call.headers.get("if-none-match", "").strip() == "*" and current is not None:
            raise precondition_failed("If-None-Match")
        if "if-match" in call.headers:
            if current is None:
                raise no_such_key(call.key)
            if not etag_listed(call.headers["if-match"], current.etag):
                raise precondition_failed("If-Match")

    async def _copy(self, call: _Call, receive: Receive, send: Send) -> None:
        await self._body(call, receive)
        source = unquote(call.headers["x-amz-copy-source"].split("?", 1)[0]).lstrip("/")
        source_bucket, _, source_key = source.partition("/")
        if not source_bucket or not source_key:
            raise invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
                "x-amz-copy-source",
                source,
            )
        self._authorize(call, "s3:GetObject", f"arn:aws:s3:::{source_bucket}/{source_key}")
        target = self.buckets.bucket(call.bucket)
        origin = self.buckets.bucket(source_bucket)
        data, found = await asyncio.to_thread(
            _storage_call, source_key, lambda: origin.get(source_key)
        )
        directive = call.headers.get("x-amz-metadata-directive", "COPY")
        if directive == "REPLACE":
            content_type, metadata = _object_headers(call)
        elif directive == "COPY":
            if (source_bucket, source_key) == (call.bucket, call.key):
                raise S3Error(
                    400,
                    "InvalidRequest",
                    "This copy request is illegal because it is trying to copy an object to "
                    "itself without changing the object's metadata, storage class, website "
                    "redirect location or encryption attributes.",
                )
            content_type, metadata = found.content_type, dict(found.metadata)
        else:
            raise invalid_argument(
                "Unknown metadata directive.", "x-amz-metadata-directive", directive
            )
        info = await asyncio.to_thread(
            _storage_call, call.key, lambda: target.put(call.key, data, content_type, metadata)
        )
        await self._changed(call, call.key, "ObjectCreated:Copy", info)
        await self._reply(send, call, 200, copy_result(info.etag, info.last_modified))

    async def _get(self, call: _Call, send: Send) -> None:
        bucket = self.buckets.bucket(call.bucket)
        info = await asyncio.to_thread(_storage_call, call.key, lambda: bucket.head(call.key))
        validators = {
            "etag": quoted_etag(info.etag),
            "last-modified": http_date(info.last_modified),
        }
        if not_modified(call.headers, info.etag, info.last_modified):
            await self._reply(send, call, 304, b"", validators, head=True)
            return
        data = b""
        if call.method != "HEAD":
            data, info = await asyncio.to_thread(
                _storage_call, call.key, lambda: bucket.get(call.key)
            )
        headers = {
            "content-type": info.content_type,
            **validators,
            "accept-ranges": "bytes",
            **{_META_PREFIX + name: value for name, value in info.metadata.items()},
        }
        status = 200
        wanted = call.headers.get("range")
        if wanted is not None:
            span = byte_range(wanted, info.size)
            if span is not None:
                start, end = span
                status = 206
                headers["content-range"] = f"bytes {start}-{end}/{info.size}"
                data = data[start : end + 1]
                size = end - start + 1
            else:
                size = info.size
        else:
            size = info.size
        headers["content-length"] = str(size)
        await self._reply(send, call, status, data, headers, head=call.method == "HEAD")

    async def _delete(self, call: _Call, bucket: FilesystemBucket, key: str) -> None:
        if not await asyncio.to_thread(_storage_call, key, lambda: bucket.exists(key)):
            # Absent: nothing to remove and nobody to notify (S3 answers 204 all the
            # same). The folder of a longer key's objects is not this key's to remove.
            return
        await asyncio.to_thread(_storage_call, key, lambda: bucket.delete(key))
        await self._changed(call, key, "ObjectRemoved:Delete", None)

    async def _changed(
        self, call: _Call, key: str, event_name: str, info: ObjectInfo | None
    ) -> None:
        if self.on_change is None:
            return
        change = ObjectChange(
            bucket=call.bucket,
            key=key,
            event_name=event_name,
            time=self._clock(),
            sequencer=sequencer(time.time_ns(), next(self._counter)),
            principal=f"AWS:{call.who.access_key_id}",
            source_ip=call.source_ip,
            request_id=call.request_id,
            host_id=_host_id(call.request_id),
            size=info.size if info is not None else None,
            etag=info.etag if info is not None else None,
        )
        await self.on_change(change)

    # -- wire -----------------------------------------------------------------

    async def _body(self, call: _Call, receive: Receive) -> bytes:
        """A small request body, checked against the signed payload hash."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_REQUEST_BYTES:
                raise S3Error(400, "MaxMessageLengthExceeded", "Your request was too big.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        check_payload(call.payload_hash, hashlib.sha256(body).hexdigest())
        return body

    async def _reply(
        self,
        send: Send,
        call: _Call,
        status: int,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        head: bool = False,
    ) -> None:
        out = [
            (b"x-amz-request-id", call.request_id.encode()),
            (b"x-amz-id-2", _host_id(call.request_id).encode()),
        ]
        extra = dict(headers or {})
        if body and "content-type" not in extra:
            extra["content-type"] = CONTENT_TYPE.decode()
        if "content-length" not in extra:
            extra["content-length"] = str(len(body))
        out.extend((k.encode(), v.encode("latin-1", "replace")) for k, v in extra.items())
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": b"" if head else body})


def _storage_call(key: str, fn: Callable[[], _T]) -> _T:
    """Run a bucket call; its refusals as S3's errors."""
    try:
        return fn()
    except NoSuchKeyError:
        raise no_such_key(key) from None
    except InvalidKeyError as exc:
        raise invalid_argument(f"Invalid key: {exc.reason}", "key", key) from None
    except StorageError as exc:
        if exc.status == 500:
            raise
        raise invalid_argument(str(exc)) from None


def _announced_length(call: _Call) -> int:
    """A write's Content-Length, within :data:`MAX_OBJECT_BYTES`."""
    if call.payload_hash.startswith("STREAMING-"):
        raise not_implemented(f"x-amz-content-sha256: {call.payload_hash}")
    length = call.headers.get("content-length")
    if length is None or not length.isdigit():
        raise S3Error(
            411, "MissingContentLength", "You must provide the Content-Length HTTP header."
        )
    if int(length) > MAX_OBJECT_BYTES:
        raise _too_large(int(length))
    return int(length)


class _Sink(Protocol):
    """Where a write's body goes (an object being staged, or a part)."""

    @property
    def md5(self) -> str: ...

    @property
    def sha256(self) -> str: ...

    def write(self, chunk: bytes) -> None: ...


async def _receive_into(call: _Call, receive: Receive, sink: _Sink, length: int) -> bool:
    """Stream the body into ``sink`` and check it whole (length, signed sha256,
    Content-MD5, SDK checksums); False when the client went away."""
    checksums = Checksums.asked(call.headers)
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_OBJECT_BYTES:
            raise _too_large(size)
        if chunk:
            await asyncio.to_thread(sink.write, chunk)
            checksums.update(chunk)
        if not message.get("more_body", False):
            break
    if size != length:
        raise S3Error(
            400,
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header",
        )
    check_payload(call.payload_hash, sink.sha256)
    check_md5(call.headers, bytes.fromhex(sink.md5))
    checksums.check()
    return True


def _object_headers(call: _Call) -> tuple[str, dict[str, str]]:
    """The Content-Type and ``x-amz-meta-*`` metadata a write asks for, checked before
    any byte is stored (InvalidArgument when the store could not keep them)."""
    metadata = {
        name[len(_META_PREFIX) :]: value
        for name, value in call.headers.items()
        if name.startswith(_META_PREFIX)
    }
    try:
        return resolve_content_type(call.key, call.headers.get("content-type")), (
            normalise_metadata(metadata)
        )
    except StorageError as exc:
        raise invalid_argument(exc.message) from None


def _too_large(size: int) -> S3Error:
    return S3Error(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        {"ProposedSize": str(size), "MaxSizeAllowed": str(MAX_OBJECT_BYTES)},
    )


def _host_id(request_id: str) -> str:
    """An ``x-amz-id-2`` for the request (S3's names the host that served it)."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()).decode()


def _announces_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip() != b"0"):
            return True
    return False


async def _send_error(
    send: Send, error: S3Error, request_id: str, resource: str, *, head: bool, close: bool
) -> None:
    # A HEAD answer has no body: botocore then reports the status as the code ("404").
    body = b"" if head else error_body(error, request_id, resource)
    headers = [
        (b"content-type", CONTENT_TYPE),
        (b"content-length", str(len(body)).encode()),
        (b"x-amz-request-id", request_id.encode()),
        (b"x-amz-id-2", _host_id(request_id).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
