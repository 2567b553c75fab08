"""Fuzzing the SQS API on the admin port: operations, parameters and bodies.

Requests go through the admin app as boto3 sends them (``POST /``, an ``AmazonSQS.*``
target, a JSON body), signed by a good key or not, with arbitrary operations and
parameters around one existing queue. Whatever arrives, the answer is one complete
response: a success, or a 4xx in the JSON protocol's error shape (``__type`` and a
``message``) — never a 5xx, an exception escaping the app, or a hang.
"""

from __future__ import annotations

import asyncio
import tempfile
from functools import cache
from pathlib import Path

import orjson
from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.asgi_once import call_once
from fuzz.hang_guard import no_hang
from overcast.control.access import AccessControl
from overcast.control.access_keys import KeyStore
from overcast.control.admin_app import AdminApp
from overcast.control.lambda_api import LambdaApi, LambdaApiSettings, StaticCatalog
from overcast.control.sigv4 import sign
from overcast.control.sqs_api import ACTIONS, SqsApi

ADMIN = "http://127.0.0.1:8081"
QUEUE_URL = f"{ADMIN}/123456789012/fuzz"


@cache
def _platform() -> tuple[AdminApp, SqsApi, tuple[str, str]]:
    """One admin app for every example (hypothesis reruns the test body, not fixtures)."""
    state = Path(tempfile.mkdtemp(prefix="fuzz-sqs-api-"))
    keys = KeyStore(state)
    admin = keys.ensure_admin_key() or keys.all()[0]
    access = AccessControl(keys, "123456789012")
    lambda_api = LambdaApi(
        None,  # type: ignore[arg-type]  (no Lambda request is sent)
        StaticCatalog({}),
        LambdaApiSettings("us-east-1", "123456789012"),
    )
    app = AdminApp(lambda_api, access)
    app.sqs_api = SqsApi.open(state, access, region="us-east-1", account_id="123456789012")
    app.ready = True
    return app, app.sqs_api, (admin.access_key_id, admin.secret_access_key)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=30),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
QUEUE_URLS = st.one_of(
    st.just(QUEUE_URL),
    st.just(QUEUE_URL),
    st.sampled_from(
        [f"{ADMIN}/123456789012/missing", f"{ADMIN}/1/fuzz", "fuzz", "", "/", "http://[::1"]
    ),
    st.text(max_size=30),
)
ATTRIBUTE_VALUES = st.one_of(
    st.fixed_dictionaries(
        {"DataType": st.sampled_from(["String", "Number", "Binary", "String.x", "Other"])},
        optional={
            "StringValue": st.one_of(st.text(max_size=20), st.sampled_from(["1", "1e5", "x"])),
            "BinaryValue": st.one_of(st.just("AAE="), st.text(max_size=8)),
        },
    ),
    JSON,
)
MESSAGE_FIELDS = {
    "MessageBody": st.one_of(st.text(max_size=50), st.just(""), JSON),
    "DelaySeconds": st.one_of(st.integers(-5, 1000), JSON),
    "MessageAttributes": st.one_of(
        st.dictionaries(st.text(max_size=12), ATTRIBUTE_VALUES, max_size=12), JSON
    ),
}
ENTRIES = st.lists(
    st.fixed_dictionaries(
        {"Id": st.one_of(st.sampled_from(["a", "b", "a"]), st.text(max_size=90))},
        optional={
            **MESSAGE_FIELDS,
            "ReceiptHandle": st.one_of(st.text(max_size=40), st.just("ZnV6eiB4IHk=")),
            "VisibilityTimeout": st.one_of(st.integers(-5, 50_000), JSON),
        },
    ),
    max_size=12,
)
PARAMS = st.fixed_dictionaries(
    {"QueueUrl": QUEUE_URLS},
    optional={
        **MESSAGE_FIELDS,
        "QueueName": st.one_of(st.sampled_from(["fuzz", "other", "x.fifo", ""]), JSON),
        "Attributes": st.one_of(
            st.dictionaries(
                st.sampled_from(
                    [
                        "VisibilityTimeout",
                        "DelaySeconds",
                        "RedrivePolicy",
                        "MaximumMessageSize",
                        "FifoQueue",
                        "Policy",
                        "Bogus",
                    ]
                ),
                st.one_of(
                    st.sampled_from(
                        [
                            "0",
                            "30",
                            "99999",
                            "-1",
                            "",
                            '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:fuzz","maxReceiveCount":1}',
                        ]
                    ),
                    JSON,
                ),
                max_size=3,
            ),
            JSON,
        ),
        "AttributeNames": st.one_of(
            st.lists(st.sampled_from(["All", "QueueArn", "Bogus", "SentTimestamp"]), max_size=3),
            JSON,
        ),
        "MessageAttributeNames": st.one_of(st.lists(st.text(max_size=8), max_size=3), JSON),
        "MaxNumberOfMessages": st.one_of(st.integers(-2, 12), JSON),
        "VisibilityTimeout": st.one_of(st.integers(-5, 50_000), JSON),
        "WaitTimeSeconds": st.one_of(st.just(0), st.integers(21, 100), st.text(max_size=3)),
        "ReceiptHandle": st.one_of(st.text(max_size=40), st.just("ZnV6eiB4IHk=")),
        "Entries": st.one_of(ENTRIES, JSON),
        "QueueNamePrefix": st.one_of(st.text(max_size=5), JSON),
        "MaxResults": st.one_of(st.integers(-1, 1001), JSON),
        "NextToken": st.one_of(st.text(max_size=10), JSON),
    },
).map(orjson.dumps)
BODIES = st.one_of(
    PARAMS,
    PARAMS,
    JSON.map(orjson.dumps),
    st.binary(max_size=200),
    st.sampled_from([b"", b"{", b"null", b"[" * 2000]),
)
OPERATIONS = st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=20))
SIGNING = st.sampled_from(["signed", "signed", "signed", "unsigned", "bad-signature"])


async def _call(headers: dict[str, str], body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    app, _api, _key = _platform()
    return await call_once(app, "POST", "/", "", headers, body)


@given(operation=OPERATIONS, body=BODIES, signing=SIGNING)
@example(operation="SendMessage", body=b'{"QueueUrl": "%s", "MessageBody": "x"}'
         % QUEUE_URL.encode(), signing="signed")  # fmt: skip
@example(operation="ReceiveMessage", body=b'{"QueueUrl": "%s", "MaxNumberOfMessages": 10}'
         % QUEUE_URL.encode(), signing="signed")  # fmt: skip
@example(operation="PurgeQueue", body=b'{"QueueUrl": "http://[::1"}', signing="signed")
def test_any_sqs_request_gets_a_success_or_a_json_protocol_4xx(
    operation: str, body: bytes, signing: str
) -> None:
    _app, api, (key_id, secret) = _platform()
    # Each example starts from one queue that exists, with no wait configured (a long
    # poll would only make the example slow, not find anything).
    api.store.ensure_queue("fuzz", {})
    api.store.ensure_queue("other", {})
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "AmazonSQS." + operation.encode("utf-8", "replace").decode("latin-1"),
        "Host": "127.0.0.1:8081",
    }
    headers["X-Amz-Target"] = headers["X-Amz-Target"].replace("\r", "").replace("\n", "")
    if signing != "unsigned":
        headers = sign(
            "POST", f"{ADMIN}/", headers, body,
            access_key_id=key_id, secret=secret, region="us-east-1", service="sqs",
        )  # fmt: skip
        if signing == "bad-signature":
            headers["Authorization"] = headers["Authorization"][:-64] + "0" * 64
    with no_hang("SQS API request"):
        status, out_headers, out = asyncio.run(_call(headers, body))
    assert status < 500, (status, out)
    assert out_headers[b"content-type"] == b"application/x-amz-json-1.0", out_headers
    if status >= 400:
        error = orjson.loads(out)
        assert isinstance(error["__type"], str), error
        assert isinstance(error["message"], str), error
