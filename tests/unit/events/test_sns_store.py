"""The topics' store: topics, subscriptions, their attributes, durably in SQLite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from overcast.events import AsyncQueue, Dispatcher
from overcast.events.sns_event import Published, SnsAttribute
from overcast.events.sns_fanout import SNS_SENDER, TopicFanout, function_target
from overcast.events.sns_rules import SnsError
from overcast.events.sns_store import SnsStore
from overcast.events.sqs_store import NewMessage, Sent, SqsStore
from overcast.invoke import InvokeRequest

QUEUE = "arn:aws:sqs:us-east-1:123456789012:audit"
FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:OnOrder"


@pytest.fixture
def store(tmp_path: Path):
    opened = SnsStore(tmp_path / "topics.sqlite3")
    yield opened
    opened.close()


def test_topics_survive_a_reopen_and_delete_with_their_subscriptions(tmp_path: Path) -> None:
    store = SnsStore(tmp_path / "topics.sqlite3")
    arn = store.create_topic("orders", {"DisplayName": "Orders"})
    assert arn == "arn:aws:sns:us-east-1:123456789012:orders"
    store.subscribe("orders", "sqs", QUEUE)
    store.close()
    again = SnsStore(tmp_path / "topics.sqlite3")
    try:
        assert again.list_topics() == ["orders"]
        attributes = again.topic_attributes("orders")
        assert attributes["DisplayName"] == "Orders"
        assert attributes["SubscriptionsConfirmed"] == "1"
        again.delete_topic("orders")
        assert again.subscriptions() == []
        with pytest.raises(SnsError) as info:
            again.topic_attributes("orders")
        assert (info.value.code, info.value.status) == ("NotFound", 404)
    finally:
        again.close()


def test_subscribing_twice_returns_the_same_subscription(store: SnsStore) -> None:
    store.create_topic("t")
    first = store.subscribe("t", "lambda", FUNCTION)
    assert store.subscribe("t", "lambda", FUNCTION).arn == first.arn
    assert first.arn.startswith("arn:aws:sns:us-east-1:123456789012:t:")
    store.set_subscription_attribute(first.arn, "RawMessageDelivery", "true")
    assert store.subscription(first.arn).raw
    store.unsubscribe(first.arn)
    assert store.subscriptions("t") == []


def test_bad_names_protocols_and_attributes_are_refused(store: SnsStore) -> None:
    for name in ("", "has space", "x" * 257, "plain.fifo"):
        with pytest.raises(SnsError):
            store.create_topic(name)
    store.create_topic("t")
    with pytest.raises(SnsError, match="Protocol"):
        store.subscribe("t", "email", "a@example.com")
    with pytest.raises(SnsError, match="does not exist"):
        store.subscribe("missing", "sqs", QUEUE)
    with pytest.raises(SnsError):
        store.set_topic_attribute("t", "Nonsense", "1")


def test_fanout_queues_every_matching_subscriber_before_returning(store: SnsStore) -> None:
    store.create_topic("t")
    store.subscribe("t", "lambda", FUNCTION + ":live")
    store.subscribe("t", "sqs", QUEUE, {"RawMessageDelivery": "true"})
    store.subscribe(
        "t", "sqs", QUEUE + "-filtered", {"FilterPolicy": json.dumps({"kind": ["other"]})}
    )
    submitted: list[InvokeRequest] = []
    delivered: list[tuple[str, NewMessage, str]] = []

    async def submit(request: InvokeRequest) -> str:
        submitted.append(request)
        return "rid"

    async def deliver(queue: str, message: NewMessage, sender: str) -> Sent:
        delivered.append((queue, message, sender))
        return Sent("mid", "md5", None)

    published = Published(
        "m-1", store.arn("t"), "hello", 0.0, attributes={"kind": SnsAttribute("String", "order")}
    )
    done = asyncio.run(TopicFanout(store, submit, deliver).publish("t", published, "http://h"))
    assert (done.stored, done.filtered, done.failed) == (2, 1, 0)
    [request] = submitted
    assert (request.function_name, request.qualifier) == ("OnOrder", "live")
    assert json.loads(request.payload)["Records"][0]["Sns"]["Message"] == "hello"
    [(queue, message, sender)] = delivered
    assert (queue, message.body, sender) == ("audit", "hello", SNS_SENDER)
    assert message.attributes["kind"].string_value == "order"


def test_function_targets_default_to_latest() -> None:
    assert function_target(FUNCTION) == ("OnOrder", "$LATEST")


def test_template_subscriptions_follow_the_template_and_leave_the_apis_alone(
    store: SnsStore,
) -> None:
    store.ensure_topic("t", {})
    mine = store.subscribe("t", "sqs", QUEUE + "-mine")
    first = store.sync_template_subscriptions(
        "t", [("lambda", FUNCTION, {}), ("sqs", QUEUE, {"RawMessageDelivery": "true"})]
    )
    again = store.sync_template_subscriptions(
        "t", [("lambda", FUNCTION, {"FilterPolicy": '{"a": ["b"]}'})]
    )
    assert again[0].arn == first[0].arn  # the same subscription, its attributes updated
    left = {s.endpoint: s for s in store.subscriptions("t")}
    assert set(left) == {FUNCTION, QUEUE + "-mine"}  # the dropped queue is gone
    assert left[FUNCTION].attributes == {"FilterPolicy": '{"a": ["b"]}'}
    assert left[QUEUE + "-mine"].arn == mine.arn


def test_a_published_message_is_in_the_stores_when_publish_returns(tmp_path: Path) -> None:
    """At least once: both copies are committed before the publisher is answered, so a
    crash right after the answer loses neither (each store reopened finds its copy)."""
    topics = SnsStore(tmp_path / "topics.sqlite3")
    queues = SqsStore(tmp_path / "queues.sqlite3")
    events = AsyncQueue(tmp_path / "events.sqlite3")
    try:
        queues.create_queue("audit")
        topics.create_topic("t")
        topics.subscribe("t", "lambda", FUNCTION)
        topics.subscribe("t", "sqs", QUEUE)
        dispatcher = Dispatcher(events, invoker=None, settings=lambda _f, _q: None)  # type: ignore[arg-type]

        async def deliver(queue: str, message: NewMessage, sender: str) -> Sent:
            return await asyncio.to_thread(queues.send, queue, message, sender)

        fanout = TopicFanout(topics, dispatcher.submit, deliver)
        asyncio.run(fanout.publish("t", Published("m", topics.arn("t"), "x", 0.0), "http://h"))
    finally:
        for store in (topics, queues, events):
            store.close()
    reopened_events = AsyncQueue(tmp_path / "events.sqlite3")
    reopened_queues = SqsStore(tmp_path / "queues.sqlite3")
    try:
        assert reopened_events.counts("OnOrder").queued == 1
        assert reopened_queues.get_attributes("audit", ["ApproximateNumberOfMessages"]) == {
            "ApproximateNumberOfMessages": "1"
        }
    finally:
        reopened_events.close()
        reopened_queues.close()


def test_each_templates_subscriptions_are_its_own(store: SnsStore) -> None:
    store.ensure_topic("shared", {})
    store.sync_template_subscriptions("shared", [("lambda", FUNCTION + ":dev", {})], "t:dev/a")
    store.sync_template_subscriptions("shared", [("lambda", FUNCTION + ":prod", {})], "t:prod/a")
    store.sync_template_subscriptions("shared", [], "t:dev/a")  # dev's template dropped it
    assert [s.endpoint for s in store.subscriptions("shared")] == [FUNCTION + ":prod"]
