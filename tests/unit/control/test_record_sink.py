"""Records and dead letters reach the node's queues; what Lambda cannot deliver to is refused."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from overcast.control.record_sink import QueueRecordSink
from overcast.control.sns_api import SnsApi
from overcast.control.sqs_api import SqsApi
from overcast.events.errors import DeliveryError
from overcast.events.sqs_store import SqsStore
from overcast.invoke import InvokeRequest

ARN = "arn:aws:sqs:us-east-1:123456789012:"


def _sink(tmp_path: Path) -> tuple[QueueRecordSink, SqsStore]:
    store = SqsStore(tmp_path / "queues.sqlite3", region="us-east-1", account_id="123456789012")
    api = SqsApi(store, access=None)  # type: ignore[arg-type]  # no request passes a gate here
    return QueueRecordSink(api, region="us-east-1", account_id="123456789012"), store


def test_a_dead_letter_arrives_with_its_attributes(tmp_path: Path) -> None:
    sink, store = _sink(tmp_path)
    store.create_queue("dead")
    attributes = {"RequestID": ("String", "r-1"), "ErrorCode": ("Number", "200")}
    asyncio.run(sink.send(ARN + "dead", '{"n": 1}', attributes))
    [message] = store.receive("dead", 1, None)
    assert message.body == '{"n": 1}'
    assert message.attributes["ErrorCode"].data_type == "Number"
    assert message.attributes["RequestID"].string_value == "r-1"
    store.close()


@pytest.mark.parametrize(
    ("target", "why"),
    [
        (ARN + "missing", "does not exist"),
        (ARN + "orders.fifo", "FIFO"),
        ("arn:aws:sqs:eu-west-1:123456789012:dead", "another region or account"),
        ("arn:aws:sns:us-east-1:123456789012:topic", "only queues and topics"),
    ],
)
def test_what_lambda_cannot_deliver_to_is_a_delivery_error(
    tmp_path: Path, target: str, why: str
) -> None:
    sink, store = _sink(tmp_path)
    with pytest.raises(DeliveryError, match=why):
        asyncio.run(sink.send(target, "{}", {}))
    store.close()


def test_a_topic_destination_is_published_to_its_subscribers(tmp_path: Path) -> None:
    store = SqsStore(tmp_path / "queues.sqlite3", region="us-east-1", account_id="123456789012")
    sqs = SqsApi(store, access=None)  # type: ignore[arg-type]  # no request passes a gate here

    async def submit(_request: InvokeRequest) -> str:
        return "request-id"

    sns = SnsApi.open(
        tmp_path, None,  # type: ignore[arg-type]
        region="us-east-1", account_id="123456789012", submit=submit, deliver=sqs.deliver,
    )  # fmt: skip
    sink = QueueRecordSink(sqs, region="us-east-1", account_id="123456789012", sns=sns)
    store.create_queue("reader")
    sns.store.create_topic("failures")
    sns.store.subscribe("failures", "sqs", ARN + "reader", {"RawMessageDelivery": "true"})
    topic = "arn:aws:sns:us-east-1:123456789012:"
    asyncio.run(sink.send(topic + "failures", '{"n": 1}', {"RequestID": ("String", "r-1")}))
    [message] = store.receive("reader", 1, None)
    assert message.body == '{"n": 1}'
    assert message.attributes["RequestID"].string_value == "r-1"
    for target, why in ((topic + "missing", "does not exist"), (topic + "t.fifo", "FIFO topic")):
        with pytest.raises(DeliveryError, match=why):
            asyncio.run(sink.send(target, "{}", {}))
    sns.store.close()
    store.close()
