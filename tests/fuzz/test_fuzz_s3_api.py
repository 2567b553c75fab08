"""Fuzzing the S3 API on the admin port: methods, paths, queries, headers and bodies.

Requests go through the admin app signed for ``s3`` (by a good key, a bad signature or
none) with arbitrary methods, bucket and key paths, sub-resources, headers and bodies
around one existing bucket. Whatever arrives, the answer is one complete response: a
success, a 4xx in S3's XML error shape, or S3's 501 NotImplemented — never another
5xx, an exception escaping the app, or a hang.
"""

from __future__ import annotations

import asyncio
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.asgi_once import call_once
from fuzz.hang_guard import no_hang
from overcast.control.access import AccessControl
from overcast.control.access_keys import KeyStore
from overcast.control.admin_app import AdminApp
from overcast.control.lambda_api import LambdaApi, LambdaApiSettings, StaticCatalog
from overcast.control.s3_api import S3Api
from overcast.control.s3_buckets import BucketStore
from overcast.control.sigv4 import sign

ADMIN = "http://127.0.0.1:8081"


@cache
def _platform() -> tuple[AdminApp, S3Api, tuple[str, str]]:
    """One admin app for every example (hypothesis reruns the test body, not fixtures)."""
    state = Path(tempfile.mkdtemp(prefix="fuzz-s3-api-"))
    keys = KeyStore(state)
    admin = keys.ensure_admin_key() or keys.all()[0]
    access = AccessControl(keys, "123456789012")
    lambda_api = LambdaApi(
        None,  # type: ignore[arg-type]  (no Lambda request is sent)
        StaticCatalog({}),
        LambdaApiSettings("us-east-1", "123456789012"),
    )
    app = AdminApp(lambda_api, access)
    app.s3_api = S3Api(
        BucketStore.under(state), access, region="us-east-1", account_id="123456789012"
    )
    app.s3_api.buckets.create("fuzz")
    app.ready = True
    return app, app.s3_api, (admin.access_key_id, admin.secret_access_key)


SEGMENTS = st.one_of(
    st.sampled_from(["fuzz", "other", "a", "a/b", "..", ".", "", "x" * 300, "%ZZ", "%C3"]),
    st.text(max_size=20).map(lambda t: quote(t, safe="/")),
)
PATHS = st.builds(lambda b, k: "/" + "/".join(p for p in (b, k) if p is not None),
                  st.one_of(st.just("fuzz"), SEGMENTS), st.one_of(st.none(), SEGMENTS))  # fmt: skip
QUERIES = st.one_of(
    st.sampled_from(
        ["", "list-type=2", "list-type=2&delimiter=%2F&max-keys=1", "list-type=2&max-keys=x",
         "list-type=2&continuation-token=%21%21", "delete", "location", "acl", "uploads",
         "list-type=2&encoding-type=bogus", "list-type=2&start-after=zz", "uploadId=x",
         "uploadId=..%2F..&partNumber=1", "partNumber=0&uploadId=", "uploadId=abc&partNumber=99999"]
    ),
    st.text(max_size=20).map(lambda t: quote(t, safe="=&")),
)  # fmt: skip
HEADERS = st.dictionaries(
    st.sampled_from(
        ["Content-Type", "Content-MD5", "x-amz-meta-a", "x-amz-meta-overcast-x", "Range",
         "x-amz-copy-source", "x-amz-metadata-directive", "x-amz-checksum-crc32",
         "x-amz-checksum-sha256"]
    ),
    st.one_of(
        st.sampled_from(["", "bytes=0-1", "bytes=-5", "bytes=9-1", "fuzz/a", "/fuzz/a%20b",
                         "REPLACE", "COPY", "AAAAAA==", "1B2M2Y8AsgTpgAmY7PhCfg=="]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20),
    ),
    max_size=4,
)  # fmt: skip
BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [
            b"",
            b"<Delete><Object><Key>a</Key></Object></Delete>",
            b"<Delete/>",
            b"<",
            b"<!DOCTYPE>",
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
            b"</CompleteMultipartUpload>",
        ]
    ),
)
METHODS = st.sampled_from(["GET", "PUT", "HEAD", "DELETE", "POST", "PATCH"])
SIGNING = st.sampled_from(["signed", "signed", "signed", "bad-signature"])


async def _call(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    app, _api, _key = _platform()
    return await call_once(app, method, path, query, headers, body)


@given(method=METHODS, path=PATHS, query=QUERIES, headers=HEADERS, body=BODIES, signing=SIGNING)
@example(method="PUT", path="/fuzz/a", query="", headers={}, body=b"x", signing="signed")
@example(method="POST", path="/fuzz", query="delete", headers={},
         body=b"<Delete><Object><Key>a</Key></Object></Delete>", signing="signed")  # fmt: skip
@example(method="PUT", path="/fuzz/a/b", query="", headers={}, body=b"y", signing="signed")
def test_any_s3_request_gets_a_success_or_an_s3_error(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes, signing: str
) -> None:
    _app, _api, (key_id, secret) = _platform()
    url = f"{ADMIN}{path}" + (f"?{query}" if query else "")
    signed = sign(
        method, url, {**headers, "Content-Length": str(len(body))}, body,
        access_key_id=key_id, secret=secret, region="us-east-1", service="s3",
    )  # fmt: skip
    if signing == "bad-signature":
        signed["Authorization"] = signed["Authorization"][:-64] + "0" * 64
    with no_hang("S3 API request"):
        status, _out_headers, out = asyncio.run(_call(method, path, query, signed, body))
    assert status < 500 or status == 501, (status, out)
    if status >= 400 and method != "HEAD":
        error = ET.fromstring(out)
        assert error.tag == "Error", out
        assert error.findtext("Code"), out
        assert error.findtext("RequestId"), out
