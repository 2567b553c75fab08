"""Fuzzing the query protocol on the admin port: SQS's and SNS's form requests.

Forms are built from each service's own wire names (``MessageAttribute.1.Value.DataType``,
``PublishBatchRequestEntries.member.2.Id``, ...) with arbitrary indexes and values,
signed for ``sqs`` or ``sns`` by a good key. Whatever arrives, the answer is one
complete XML response: a success, or a 4xx ``ErrorResponse`` with a code and a message
— never a 5xx, an exception escaping the app, or a hang.
"""

from __future__ import annotations

import asyncio
import tempfile
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from hypothesis import example, given
from hypothesis import strategies as st

from fuzz.asgi_once import call_once
from fuzz.hang_guard import no_hang
from overcast.control.access import AccessControl
from overcast.control.access_keys import KeyStore
from overcast.control.admin_app import AdminApp
from overcast.control.lambda_api import LambdaApi, LambdaApiSettings, StaticCatalog
from overcast.control.sigv4 import sign
from overcast.control.sns_api import ACTIONS as SNS_ACTIONS
from overcast.control.sns_api import SnsApi
from overcast.control.sqs_api import ACTIONS as SQS_ACTIONS
from overcast.control.sqs_api import SqsApi
from overcast.invoke import InvokeRequest

ADMIN = "http://127.0.0.1:8081"
QUEUE_URL = f"{ADMIN}/123456789012/fuzz"
TOPIC = "arn:aws:sns:us-east-1:123456789012:fuzz"


@cache
def _platform() -> tuple[AdminApp, tuple[str, str]]:
    """One admin app for every example (hypothesis reruns the test body, not fixtures)."""
    state = Path(tempfile.mkdtemp(prefix="fuzz-query-"))
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

    async def submit(_request: InvokeRequest) -> str:
        return "request-id"

    app.sns_api = SnsApi.open(
        state,
        access,
        region="us-east-1",
        account_id="123456789012",
        submit=submit,
        deliver=app.sqs_api.deliver,
    )
    app.ready = True
    return app, (admin.access_key_id, admin.secret_access_key)


INDEX = st.sampled_from(["1", "1", "2", "0", "11", "x", ""])
VALUES = st.one_of(
    st.sampled_from(
        [QUEUE_URL, TOPIC, "fuzz", "String", "Number", "Binary", "String.Array", "1", "-1",
         "AAE=", "true", "json", '{"default":"d"}', '{"a":["b"]}', "sqs", "lambda",
         "arn:aws:sqs:us-east-1:123456789012:fuzz", "All", ""]
    ),
    st.text(max_size=30),
)  # fmt: skip
NAMES = st.sampled_from(
    [
        "QueueUrl", "QueueName", "MessageBody", "DelaySeconds", "MaxNumberOfMessages",
        "WaitTimeSeconds", "VisibilityTimeout", "ReceiptHandle", "AttributeName.{i}",
        "MessageAttributeName.{i}", "Attribute.{i}.Name", "Attribute.{i}.Value",
        "MessageAttribute.{i}.Name", "MessageAttribute.{i}.Value.DataType",
        "MessageAttribute.{i}.Value.StringValue", "MessageAttribute.{i}.Value.BinaryValue",
        "SendMessageBatchRequestEntry.{i}.Id", "SendMessageBatchRequestEntry.{i}.MessageBody",
        "DeleteMessageBatchRequestEntry.{i}.Id",
        "DeleteMessageBatchRequestEntry.{i}.ReceiptHandle", "TopicArn", "TargetArn", "Name",
        "Message", "Subject", "MessageStructure", "Protocol", "Endpoint", "SubscriptionArn",
        "AttributeName", "AttributeValue", "NextToken", "MessageGroupId",
        "Attributes.entry.{i}.key", "Attributes.entry.{i}.value",
        "MessageAttributes.entry.{i}.Name", "MessageAttributes.entry.{i}.Value.DataType",
        "MessageAttributes.entry.{i}.Value.StringValue",
        "MessageAttributes.entry.{i}.Value.BinaryValue",
        "PublishBatchRequestEntries.member.{i}.Id",
        "PublishBatchRequestEntries.member.{i}.Message", "AttributeNames",
    ]
)  # fmt: skip
FIELDS = st.lists(st.tuples(NAMES, INDEX, VALUES).map(lambda t: (t[0].format(i=t[1]), t[2])))
SERVICES = st.sampled_from(["sqs", "sns"])


def _action(service: str) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(sorted(SQS_ACTIONS if service == "sqs" else SNS_ACTIONS)))


async def _call(
    path: str, headers: dict[str, str], body: bytes
) -> tuple[int, dict[bytes, bytes], bytes]:
    app, _key = _platform()
    return await call_once(app, "POST", path, "", headers, body)


@given(
    service=SERVICES,
    sqs_action=_action("sqs"),
    sns_action=_action("sns"),
    fields=FIELDS,
    to_queue=st.booleans(),
    odd_action=st.one_of(st.none(), st.text(max_size=12)),
)
@example(
    service="sns", sqs_action="SendMessage", sns_action="Publish",
    fields=[("TopicArn", TOPIC), ("Message", "m"), ("MessageAttributes.entry.1.Name", "a"),
            ("MessageAttributes.entry.1.Value.DataType", "Number"),
            ("MessageAttributes.entry.1.Value.StringValue", "x")],
    to_queue=False, odd_action=None,
)  # fmt: skip
@example(
    service="sqs", sqs_action="ReceiveMessage", sns_action="Publish",
    fields=[("MaxNumberOfMessages", "many"), ("AttributeName.1", "All")],
    to_queue=True, odd_action=None,
)  # fmt: skip
def test_any_query_request_gets_a_success_or_an_xml_4xx(
    service: str,
    sqs_action: str,
    sns_action: str,
    fields: list[tuple[str, str]],
    to_queue: bool,
    odd_action: str | None,
) -> None:
    app, (key_id, secret) = _platform()
    assert app.sqs_api is not None
    assert app.sns_api is not None
    app.sqs_api.store.ensure_queue("fuzz", {})
    app.sns_api.store.ensure_topic("fuzz", {})
    action = odd_action if odd_action is not None else (
        sqs_action if service == "sqs" else sns_action
    )  # fmt: skip
    version = "2012-11-05" if service == "sqs" else "2010-03-31"
    body = urlencode([("Action", action), ("Version", version), *fields]).encode()
    path = "/123456789012/fuzz" if to_queue and service == "sqs" else "/"
    headers = sign(
        "POST",
        f"{ADMIN}{path}",
        {"Content-Type": "application/x-www-form-urlencoded", "Host": "127.0.0.1:8081"},
        body,
        access_key_id=key_id,
        secret=secret,
        region="us-east-1",
        service=service,
    )
    with no_hang("query request"):
        status, out_headers, out = asyncio.run(_call(path, headers, body))
    assert status < 500, (status, out)
    assert out_headers[b"content-type"] == b"text/xml", (out_headers, out)
    root = ET.fromstring(out)
    if status >= 400:
        assert root.tag.endswith("ErrorResponse"), out
        namespace = root.tag[: root.tag.index("}") + 1]
        assert root.findtext(f"{namespace}Error/{namespace}Code"), out
        assert root.findtext(f"{namespace}Error/{namespace}Message") is not None, out
