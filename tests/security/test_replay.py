"""Issue 11: identical signed Lambda API calls were accepted within 2 s.

AWS accepts a resent request within the 5 minutes its date is valid ("a request must
reach AWS within five minutes of the time stamp in the request",
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_aws-signing.html). overcast
refuses more, but cannot refuse every repeated signature without refusing boto3:
botocore signs only Host and X-Amz-Date for a Lambda call and adds its per-call
``amz-sdk-invocation-id`` / ``amz-sdk-request`` unsigned, so identical calls in one
second — and a retry signed in the second of its first attempt — share a signature.
What is refused, for the whole window (``overcast.control.sigv4``, "Theory of
replays"): any byte-identical resend; a signature resent with other per-call headers
more than 2 s after its first use; any resend of a request that signed a per-call id.
The tests below replay raw requests and check boto3 itself is never refused; the 2 s and
5 minute bounds are checked with a fake clock in ``tests/unit/control/test_sigv4.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.credentials import Credentials as BotoCredentials

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FUNCTION = "HelloWorldFunction"


@pytest.fixture(scope="module")
def node(module_running_app: Any) -> Any:
    return module_running_app(EXAMPLES / "hello")


def _invoke_url(node: Any) -> str:
    return f"{node.admin_url}/2015-03-31/functions/{FUNCTION}/invocations"


def _botocore_signed(node: Any, body: bytes) -> dict[str, str]:
    """Headers botocore's signer gives a request that carries no per-call id (as
    ``curl --aws-sigv4`` sends): the same call signed twice in a second is identical."""
    creds = node.admin_credentials()
    request = AWSRequest("POST", _invoke_url(node), data=body)
    SigV4Auth(
        BotoCredentials(creds.access_key_id, creds.secret_access_key), "lambda", "us-east-1"
    ).add_auth(request)
    return dict(request.headers.items())


def _refused_as_replay(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.headers["x-amzn-errortype"] == "InvalidSignatureException"
    assert "already been used" in response.json()["message"]


def test_an_identical_request_without_a_nonce_is_refused_at_once(node: Any) -> None:
    headers = _botocore_signed(node, b"{}")
    with httpx.Client(timeout=30) as client:
        first = client.post(_invoke_url(node), content=b"{}", headers=headers)
        assert first.status_code == 200, first.text
        _refused_as_replay(client.post(_invoke_url(node), content=b"{}", headers=headers))


def test_a_captured_boto3_call_resent_byte_for_byte_is_refused_at_once(node: Any) -> None:
    sent: list[tuple[str, dict[str, str], bytes]] = []

    def capture(request: Any, **_kwargs: Any) -> None:
        sent.append((request.url, dict(request.headers.items()), bytes(request.body or b"")))

    lam = node.lambda_client()
    lam.meta.events.register("before-send.lambda.Invoke", capture)
    assert lam.invoke(FunctionName=FUNCTION, Payload=b'{"a": 1}')["StatusCode"] == 200
    [(url, headers, body)] = sent
    assert "amz-sdk-invocation-id" in {k.lower() for k in headers}
    _refused_as_replay(httpx.post(url, content=body, headers=headers, timeout=30))


def test_identical_boto3_calls_are_each_signed_afresh_and_accepted(node: Any) -> None:
    lam = node.lambda_client()
    answers = [lam.invoke(FunctionName=FUNCTION, Payload=b"{}") for _ in range(10)]
    assert {a["StatusCode"] for a in answers} == {200}


class _EmptyBody:
    def stream(self, **_kwargs: Any) -> Any:
        yield b'{"message": "try again"}'


def test_a_boto3_retry_is_not_a_replay(node: Any) -> None:
    """The first attempt reaches the platform (which remembers it) but its answer is
    lost, replaced by a 503; botocore retries, signed again, and is served."""
    attempts: list[str] = []

    def deliver_then_lose_the_answer(request: Any, **_kwargs: Any) -> AWSResponse | None:
        attempts.append(request.headers["amz-sdk-request"].decode())
        if len(attempts) > 1:
            return None  # sent normally
        delivered = httpx.post(
            request.url,
            content=bytes(request.body or b""),
            headers={
                k: (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()
            },
            timeout=30,
        )
        assert delivered.status_code == 200, delivered.text
        return AWSResponse(request.url, 503, {}, _EmptyBody())

    lam = node.lambda_client(retries={"max_attempts": 3, "mode": "standard"})
    lam.meta.events.register("before-send.lambda.Invoke", deliver_then_lose_the_answer)
    answer = lam.invoke(FunctionName=FUNCTION, Payload=b'{"retry": true}')
    assert answer["StatusCode"] == 200
    assert json.loads(answer["Payload"].read()) is not None
    assert [a.split(";")[0] for a in attempts] == ["attempt=1", "attempt=2"]
