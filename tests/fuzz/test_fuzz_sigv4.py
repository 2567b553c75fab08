"""Fuzzing SigV4: the Authorization header, the canonical request, the whole verifier.

Every admin-port request that is not ``/health`` goes through these parsers before any
key is known to be good, so whatever a client sends, parsing gives an answer or raises
:class:`SignatureError` (AWS's error code and a status) — never another exception,
never a hang. The signer and the verifier agree on every request the signer can make,
and botocore's signer (the judge) agrees with the verifier too.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.hang_guard import no_hang
from overcast.control.sigv4 import (
    ALGORITHM,
    ReplayCache,
    Request,
    SignatureError,
    Verified,
    Verifier,
    canonical_query,
    canonical_uri,
    declared_payload_hash,
    parse_authorization,
    sign,
)

KEY_ID = "AKIAFUZZFUZZFUZZFUZZ"
SECRET = "fuzz-secret-fuzz-secret-fuzz-secret-0000"
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%=&")

PIECES = st.sampled_from(
    [
        ALGORITHM, "AWS4-HMAC-SHA1", " ", ",", ", ", "=", "/", ";", "Credential=", "SignedHeaders=",
        "Signature=", KEY_ID, "20260102", "us-east-1", "lambda", "overcast", "aws4_request",
        "host", "x-amz-date", "x-amz-content-sha256", "0" * 64, "f" * 63, "G" * 64, "\t", "\0",
        "\u00e9", "Credential=a/b/c/d/aws4_request", "SignedHeaders=host;x-amz-date",
    ]
)  # fmt: skip
AUTHORIZATION = st.one_of(st.text(max_size=200), st.lists(PIECES, max_size=16).map("".join))
HEADER_NAMES = st.sampled_from(
    [
        "authorization", "Authorization", "x-amz-date", "X-Amz-Date", "host", "Host",
        "x-amz-content-sha256", "x-amz-security-token", "amz-sdk-invocation-id",
        "amz-sdk-request", "content-type", "x-amz-nonce", "",
    ]
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["20260102T030405Z", "20260102T03040", "UNSIGNED-PAYLOAD", "0" * 64, ""]),
    AUTHORIZATION,
)
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=8)


def _verifier() -> Verifier:
    return Verifier(
        lambda key: SECRET if key == KEY_ID else None,
        services=frozenset({"lambda", "overcast"}),
        clock=NOW.timestamp,
        replay_cache=ReplayCache(),
    )


@given(AUTHORIZATION)
@example(f"{ALGORITHM} Credential={KEY_ID}/20260102/r/s/aws4_request,SignedHeaders=host,Signature=")
def test_parse_authorization_answers_or_raises_signature_error(header: str) -> None:
    with no_hang("parse_authorization"), contextlib.suppress(SignatureError):
        parsed = parse_authorization(header)
        assert "host" in parsed.signed_headers
        assert len(parsed.signature) == 64
        assert parsed.scope.endswith("/aws4_request")


@given(st.text(max_size=200))
def test_canonical_uri_and_query_never_fail(text: str) -> None:
    path, _, query = text.partition("?")
    with no_hang("canonical_uri/canonical_query"):
        uri = canonical_uri(path)
        assert uri.startswith("/")
        canonical = canonical_query(query)
    # Only unreserved characters and %XX escapes, as SigV4 encodes them.
    assert set(canonical) <= _UNRESERVED
    names = [pair.split("=", 1)[0] for pair in canonical.split("&")] if canonical else []
    assert names == sorted(names)


@given(st.text(max_size=80))
def test_a_declared_payload_hash_is_hex_or_refused(value: str) -> None:
    with contextlib.suppress(SignatureError):
        declared = declared_payload_hash({"x-amz-content-sha256": value})
        assert declared == value
        assert len(declared) == 64


@given(
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "get", "", "P\0ST"]),
    path=st.text(max_size=60),
    query=st.text(max_size=60),
    headers=HEADERS,
    body=st.binary(max_size=64),
)
def test_the_verifier_answers_any_request_with_a_signature_error_or_a_key(
    method: str, path: str, query: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    request = Request(method, path, query, headers, body)
    for verify in (_verifier().verify, _verifier().verify_head):
        with no_hang("Verifier"), contextlib.suppress(SignatureError):
            verified = verify(request)
            assert isinstance(verified, Verified)
            assert verified.access_key_id == KEY_ID


SEGMENTS = st.lists(
    st.text(min_size=1, max_size=10).filter(lambda s: s not in (".", "..")), max_size=4
)
PARAMS = st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=4)


@given(segments=SEGMENTS, params=PARAMS, body=st.binary(max_size=64))
def test_what_overcast_signs_overcast_verifies_once(
    segments: list[str], params: dict[str, str], body: bytes
) -> None:
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    query = urlencode(params)
    url = f"http://127.0.0.1:8081{path}" + (f"?{query}" if query else "")
    headers = sign(
        "PUT", url, {}, body, access_key_id=KEY_ID, secret=SECRET, region="r", service="overcast",
        now=NOW,
    )  # fmt: skip
    request = Request("PUT", path, query, list(headers.items()), body)
    verifier = _verifier()
    assert verifier.verify_head(request).payload_hash == headers["X-Amz-Content-SHA256"]
    # The same request again is a replay, by either road.
    for verify in (verifier.verify, verifier.verify_head):
        with contextlib.suppress(SignatureError):
            verify(request)
            raise AssertionError("a replay was accepted")


@given(segments=SEGMENTS, params=PARAMS, body=st.binary(max_size=64))
def test_what_botocore_signs_the_verifier_accepts(
    segments: list[str], params: dict[str, str], body: bytes
) -> None:
    path = "/" + "/".join(quote(s, safe="") for s in segments)
    aws = AWSRequest("POST", f"http://h{path}", data=body, params=params)
    SigV4Auth(Credentials(KEY_ID, SECRET), "lambda", "us-east-1").add_auth(aws)
    prepared = aws.prepare()
    wire = urlsplit(prepared.url)
    request = Request(
        "POST", wire.path, wire.query, [("Host", "h"), *prepared.headers.items()], body
    )
    verifier = Verifier(lambda key: SECRET if key == KEY_ID else None)  # botocore's clock
    assert verifier.verify(request).access_key_id == KEY_ID
