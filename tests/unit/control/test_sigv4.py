"""SigV4 verification against signatures made by botocore's real SigV4Auth."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from overcast.control import sigv4
from overcast.control.sigv4 import ReplayCache, Request, SignatureError, Verifier

KEY_ID = "AKIAOVERCASTTEST0001"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ARN_PATH = (
    "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3AEcho"
    "/invocations"
)


def botocore_signed(
    url: str,
    body: bytes = b"",
    method: str = "POST",
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Request:
    aws = AWSRequest(method=method, url=url, data=body, headers=headers or {}, params=params)
    SigV4Auth(Credentials(KEY_ID, secret), "lambda", "us-east-1").add_auth(aws)
    prepared = aws.prepare()
    parts = urlsplit(prepared.url)
    # urllib3 adds Host on the wire; botocore signed the URL's netloc.
    wire = [("Host", parts.netloc), *prepared.headers.items()]
    return Request(method, parts.path, parts.query, wire, body)


def verifier(clock: float | None = None) -> Verifier:
    kwargs = {"clock": (lambda: clock)} if clock is not None else {}
    return Verifier(lambda k: SECRET if k == KEY_ID else None, **kwargs)  # type: ignore[arg-type]


def tampered(request: Request, **changes: object) -> Request:
    fields = {
        "method": request.method,
        "raw_path": request.raw_path,
        "query": request.query,
        "headers": request.headers,
        "body": request.body,
    }
    fields.update(changes)
    return Request(**fields)  # type: ignore[arg-type]


def code_of(request: Request, check: Verifier | None = None) -> str:
    with pytest.raises(SignatureError) as info:
        (check or verifier()).verify(request)
    assert info.value.status == 403
    return info.value.code


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (f"http://127.0.0.1:3001{ARN_PATH}", b'{"a": 1}'),
        (f"http://127.0.0.1:3001{ARN_PATH}?Qualifier=%24LATEST", b"{}"),
        ("http://127.0.0.1:3001/2015-03-31/functions/", b""),
        ("http://localhost/2015-03-31/functions/Echo/invocations", bytes(range(256))),
    ],
)
def test_botocore_signature_verifies(url: str, body: bytes) -> None:
    verified = verifier().verify(botocore_signed(url, body))
    assert verified.access_key_id == KEY_ID
    assert verified.service == "lambda"


def test_function_arn_path_is_double_encoded_in_the_canonical_uri() -> None:
    assert sigv4.canonical_uri("/f/arn%3Aaws/x") == "/f/arn%253Aaws/x"


def test_query_params_signed_by_botocore_verify() -> None:
    request = botocore_signed(
        "http://h:1/2015-03-31/functions/Echo", params={"Qualifier": "$LATEST", "a b": "c d"}
    )
    assert verifier().verify(request).access_key_id == KEY_ID


def test_our_signer_matches_the_verifier() -> None:
    url = f"http://127.0.0.1:3001{ARN_PATH}?Qualifier=1"
    headers = sigv4.sign(
        "POST",
        url,
        {"amz-sdk-invocation-id": "1"},
        b"\x00\xff",
        access_key_id=KEY_ID,
        secret=SECRET,
        region="eu-west-1",
        service="lambda",
    )
    parts = urlsplit(url)
    request = Request("POST", parts.path, parts.query, list(headers.items()), b"\x00\xff")
    assert verifier().verify(request).region == "eu-west-1"


def test_wrong_secret_is_invalid_signature() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/", secret="x" * 40)
    assert code_of(request) == "InvalidSignatureException"


def test_tampered_body_is_refused() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/Echo/invocations", b'{"n": 1}')
    assert code_of(tampered(request, body=b'{"n": 2}')) == "InvalidSignatureException"


def test_tampered_path_is_refused() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/Echo/invocations", b"{}")
    path = "/2015-03-31/functions/Other/invocations"
    assert code_of(tampered(request, raw_path=path)) == "InvalidSignatureException"


def test_tampered_query_is_refused() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/Echo?Qualifier=1", method="GET")
    assert code_of(tampered(request, query="Qualifier=2")) == "InvalidSignatureException"


def test_tampered_signed_header_is_refused() -> None:
    request = botocore_signed(
        "http://h/2015-03-31/functions/Echo/invocations",
        b"{}",
        headers={"X-Amz-Invocation-Type": "Event"},
    )
    headers = [
        (k, "RequestResponse" if k.lower() == "x-amz-invocation-type" else v)
        for k, v in request.headers
    ]
    assert code_of(tampered(request, headers=headers)) == "InvalidSignatureException"


def test_stale_date_is_signature_expired() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/")
    later = (datetime.now(UTC) + timedelta(minutes=6)).timestamp()
    with pytest.raises(SignatureError) as info:
        verifier(clock=later).verify(request)
    assert info.value.code == "InvalidSignatureException"
    assert info.value.message.startswith("Signature expired: ")
    assert info.value.message.endswith(" - 5 min.)")


def test_date_in_the_future_is_refused() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/")
    earlier = (datetime.now(UTC) - timedelta(minutes=6)).timestamp()
    assert code_of(request, verifier(clock=earlier)) == "InvalidSignatureException"


def test_unknown_key_is_unrecognized_client() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/")
    check = Verifier(lambda k: None)
    with pytest.raises(SignatureError) as info:
        check.verify(request)
    assert info.value.code == "UnrecognizedClientException"
    assert info.value.message == "The security token included in the request is invalid."


def test_missing_authorization_is_missing_token() -> None:
    request = Request("GET", "/2015-03-31/functions/", "", [("Host", "h")], b"")
    assert code_of(request) == "MissingAuthenticationTokenException"


def test_malformed_authorization_is_incomplete_signature() -> None:
    headers = [("Host", "h"), ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIA/x")]
    request = Request("GET", "/2015-03-31/functions/", "", headers, b"")
    assert code_of(request) == "IncompleteSignatureException"


def test_replay_with_a_signed_invocation_id_is_refused_at_once() -> None:
    request = botocore_signed(
        "http://h/2015-03-31/functions/", headers={"amz-sdk-invocation-id": "abc"}
    )
    check = verifier()
    check.verify(request)
    with pytest.raises(SignatureError, match="already been used"):
        check.verify(request)


def _with_call_headers(request: Request, invocation_id: str, attempt: int = 1) -> Request:
    """What boto3 adds after signing: per-call headers outside the signature."""
    extra = [("amz-sdk-invocation-id", invocation_id), ("amz-sdk-request", f"attempt={attempt}")]
    return Request(
        request.method, request.raw_path, request.query, [*request.headers, *extra], request.body
    )


def test_a_byte_identical_resend_is_refused_at_once() -> None:
    request = _with_call_headers(botocore_signed("http://h/2015-03-31/functions/"), "call-1")
    check = verifier()
    check.verify(request)
    with pytest.raises(SignatureError, match="already been used"):
        check.verify(request)


def test_a_resend_without_per_call_headers_is_refused_at_once() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/")
    check = verifier()
    check.verify(request)
    with pytest.raises(SignatureError, match="already been used"):
        check.verify(request)


def test_identical_calls_in_one_second_are_told_apart_by_their_call_headers() -> None:
    """boto3 signs only Host and X-Amz-Date: two identical calls in a second share a
    signature, and differ in their unsigned amz-sdk-invocation-id (or attempt)."""
    signed = botocore_signed("http://h/2015-03-31/functions/")
    check = verifier()
    check.verify(_with_call_headers(signed, "call-1"))
    check.verify(_with_call_headers(signed, "call-2"))
    check.verify(_with_call_headers(signed, "call-2", attempt=2))
    with pytest.raises(SignatureError, match="already been used"):
        check.verify(_with_call_headers(signed, "call-2", attempt=2))


def test_a_signature_is_refused_with_any_call_headers_after_the_grace() -> None:
    signed = botocore_signed("http://h/2015-03-31/functions/")
    now = [datetime.now(UTC).timestamp()]
    check = Verifier(lambda k: SECRET, clock=lambda: now[0], replay_cache=ReplayCache())
    check.verify(_with_call_headers(signed, "call-1"))
    now[0] += sigv4.DUPLICATE_GRACE_S
    with pytest.raises(SignatureError, match="already been used"):
        check.verify(_with_call_headers(signed, "edited-by-an-attacker"))


def test_a_replay_is_refused_until_its_date_leaves_the_window() -> None:
    request = botocore_signed("http://h/2015-03-31/functions/")
    now = [datetime.now(UTC).timestamp()]
    check = Verifier(lambda k: SECRET, clock=lambda: now[0], replay_cache=ReplayCache())
    check.verify(request)
    now[0] += sigv4.MAX_SKEW.total_seconds() - 1
    with pytest.raises(SignatureError, match="already been used"):
        check.verify(request)
    now[0] += 2
    with pytest.raises(SignatureError, match="Signature expired"):
        check.verify(request)


def test_claimed_payload_hash_must_match_the_body() -> None:
    url = "http://h/2015-03-31/functions/Echo/invocations"
    headers = sigv4.sign(
        "POST", url, {}, b"{}", access_key_id=KEY_ID, secret=SECRET, region="r", service="lambda"
    )
    request = Request("POST", urlsplit(url).path, "", list(headers.items()), b'{"x": 1}')
    assert code_of(request) == "InvalidSignatureException"


def test_replay_cache_forgets_expired_signatures() -> None:
    cache = ReplayCache()
    a = "0a" * 32
    assert cache.check_and_add(a, expires_at=10.0, now=0.0)
    assert not cache.check_and_add(a, expires_at=10.0, now=5.0)
    assert cache.check_and_add(a, expires_at=30.0, now=11.0)
    assert len(cache) == 1


def test_a_full_replay_cache_throttles_rather_than_forget_a_live_signature() -> None:
    cache = ReplayCache(max_entries=2)
    first, second, third = (f"{n:02x}" * 32 for n in (1, 2, 3))
    assert cache.check_and_add(first, expires_at=10.0, now=0.0)
    assert cache.check_and_add(second, expires_at=10.0, now=0.0)
    with pytest.raises(sigv4.ReplayCacheFullError) as info:
        cache.check_and_add(third, expires_at=10.0, now=1.0)
    assert (info.value.status, info.value.code) == (429, "TooManyRequestsException")
    assert not cache.check_and_add(first, expires_at=10.0, now=2.0)
    # Once the first two leave the window, there is room again.
    assert cache.check_and_add(third, expires_at=20.0, now=10.0)
