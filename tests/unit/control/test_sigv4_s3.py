"""SigV4 for S3: botocore's S3SigV4Auth signatures verify (path not encoded twice, not
normalized; UNSIGNED-PAYLOAD taken as declared), and only for the ``s3`` service."""

from __future__ import annotations

import hashlib
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.control.sigv4 import Request, SignatureError, Verifier

KEY_ID = "AKIAOVERCASTTEST0001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def s3_signed(
    url: str, body: bytes = b"", method: str = "PUT", *, unsigned: bool = False
) -> Request:
    payload = "UNSIGNED-PAYLOAD" if unsigned else hashlib.sha256(body).hexdigest()
    aws = AWSRequest(method=method, url=url, data=body, headers={"X-Amz-Content-SHA256": payload})
    if unsigned:  # botocore leaves the payload unsigned over https when told to
        aws.context["client_config"] = SimpleNamespace(s3={"payload_signing_enabled": False})
    S3SigV4Auth(Credentials(KEY_ID, SECRET), "s3", "us-east-1").add_auth(aws)
    prepared = aws.prepare()
    parts = urlsplit(prepared.url)
    wire = [("Host", parts.netloc), *prepared.headers.items()]
    return Request(method, parts.path, parts.query, wire, body)


def verifier(services: frozenset[str] = frozenset({"s3"})) -> Verifier:
    return Verifier(lambda k: SECRET if k == KEY_ID else None, services=services)


@pytest.mark.parametrize(
    "path",
    [
        "/bucket/plain.txt",
        "/bucket/with%20space%2Bplus.txt",
        "/bucket/a/./b/../c%3Dd",
        "/bucket/%C3%BCmlaut",
    ],
)
def test_botocore_s3_signatures_verify_with_the_path_as_sent(path: str) -> None:
    request = s3_signed(f"http://127.0.0.1:9000{path}", b"body")
    verified = verifier().verify(request)
    assert verified.service == "s3"
    assert verifier().verify_head(s3_signed(f"http://127.0.0.1:9000{path}", b"x")).payload_hash


def test_unsigned_payload_is_accepted_for_s3_only() -> None:
    request = s3_signed("https://127.0.0.1:9000/bucket/k", b"anything", unsigned=True)
    assert verifier().verify(request).payload_hash == "UNSIGNED-PAYLOAD"
    lambda_scoped = Request(
        request.method,
        request.raw_path,
        request.query,
        [
            (k, v.replace("/s3/", "/lambda/")) if k.lower() == "authorization" else (k, v)
            for k, v in request.headers
        ],
        request.body,
    )
    with pytest.raises(SignatureError):
        verifier(frozenset({"lambda"})).verify_head(lambda_scoped)


def test_a_declared_hash_that_is_not_the_bodys_is_refused() -> None:
    request = s3_signed("http://127.0.0.1:9000/bucket/k", b"one")
    forged = Request(request.method, request.raw_path, request.query, request.headers, b"two")
    with pytest.raises(SignatureError) as info:
        verifier().verify(forged)
    assert info.value.code == "InvalidSignatureException"


def presigned(url: str, expires: int, method: str = "GET") -> Request:
    aws = AWSRequest(method=method, url=url)
    S3SigV4QueryAuth(Credentials(KEY_ID, SECRET), "s3", "us-east-1", expires=expires).add_auth(aws)
    parts = urlsplit(aws.prepare().url)
    return Request(method, parts.path, parts.query, [("Host", parts.netloc)], b"")


def clocked(at: float) -> Verifier:
    return Verifier(
        lambda k: SECRET if k == KEY_ID else None, services=frozenset({"s3"}), clock=lambda: at
    )


def test_a_presigned_url_verifies_until_it_expires_and_may_be_reused() -> None:
    request = presigned("http://127.0.0.1:9000/bucket/a%20b.txt", expires=60)
    now = time.time()
    assert clocked(now).verify_presigned(request).payload_hash == "UNSIGNED-PAYLOAD"
    assert clocked(now + 30).verify_presigned(request).access_key_id == KEY_ID
    with pytest.raises(SignatureError) as info:
        clocked(now + 120).verify_presigned(request)
    assert (info.value.code, info.value.message) == ("AccessDenied", "Request has expired")


def test_a_presigned_url_for_another_key_or_method_is_refused() -> None:
    request = presigned("http://127.0.0.1:9000/bucket/a", expires=60)
    moved = Request("GET", "/bucket/b", request.query, request.headers, b"")
    with pytest.raises(SignatureError) as info:
        clocked(time.time()).verify_presigned(moved)
    assert info.value.code == "InvalidSignatureException"
    as_put = Request("PUT", request.raw_path, request.query, request.headers, b"")
    with pytest.raises(SignatureError):
        clocked(time.time()).verify_presigned(as_put)
