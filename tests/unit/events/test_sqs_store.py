"""The SQS queues' store: visibility, receipts, redrive and SQS's checks, on a fake clock."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from overcast.events.sqs_rules import MessageAttribute, SqsError, md5_of_message_attributes
from overcast.events.sqs_store import NewMessage, SqsStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> SqsStore:
    return SqsStore(tmp_path / "queues.sqlite3", clock=clock)


def test_create_is_idempotent_with_the_same_attributes_only(store: SqsStore) -> None:
    store.create_queue("q", {"VisibilityTimeout": "10"})
    store.create_queue("q", {"VisibilityTimeout": "10"})
    store.create_queue("q")  # defaults are not compared against
    with pytest.raises(SqsError) as info:
        store.create_queue("q", {"VisibilityTimeout": "11"})
    assert info.value.code == "QueueNameExists"
    assert info.value.query_code == "QueueAlreadyExists"


def test_invalid_queue_names_and_attributes_are_refused(store: SqsStore) -> None:
    for name in ("", "a b", "x" * 81, "q.fifo"):
        with pytest.raises(SqsError) as info:
            store.create_queue(name)
        assert info.value.code == "InvalidParameterValue"
    for value in ("43201", "-1", "\u0663", "1.5", ""):
        with pytest.raises(SqsError) as info:
            store.create_queue("q", {"VisibilityTimeout": value})
        assert info.value.code == "InvalidAttributeValue"
    with pytest.raises(SqsError) as info:
        store.create_queue("q", {"Colour": "blue"})
    assert info.value.code == "InvalidAttributeName"


def test_a_received_message_is_hidden_then_comes_back_counted(
    store: SqsStore, clock: Clock
) -> None:
    store.create_queue("q", {"VisibilityTimeout": "30"})
    sent = store.send("q", NewMessage("hello"))
    assert sent.md5_of_body == hashlib.md5(b"hello").hexdigest()
    [first] = store.receive("q")
    assert (first.message_id, first.body, first.receives) == (sent.message_id, "hello", 1)
    assert store.receive("q") == []
    assert store.get_attributes("q")["ApproximateNumberOfMessagesNotVisible"] == "1"
    clock.now += 30
    [again] = store.receive("q")
    assert again.receives == 2
    assert again.first_receive == first.first_receive
    assert again.receipt_handle != first.receipt_handle


def test_only_the_latest_receipt_handle_deletes(store: SqsStore, clock: Clock) -> None:
    store.create_queue("q", {"VisibilityTimeout": "5"})
    store.send("q", NewMessage("m"))
    [old] = store.receive("q")
    clock.now += 5
    [new] = store.receive("q")
    store.delete("q", old.receipt_handle)  # succeeds, deletes nothing (SQS's rule)
    assert store.get_attributes("q")["ApproximateNumberOfMessagesNotVisible"] == "1"
    store.delete("q", new.receipt_handle)
    store.delete("q", new.receipt_handle)  # deleting again is not an error
    assert store.get_attributes("q")["ApproximateNumberOfMessagesNotVisible"] == "0"
    with pytest.raises(SqsError) as info:
        store.delete("q", "not-a-handle")
    assert info.value.code == "ReceiptHandleIsInvalid"


def test_delay_and_visibility_change(store: SqsStore, clock: Clock) -> None:
    store.create_queue("q")
    store.send("q", NewMessage("later", delay_s=10))
    assert store.get_attributes("q")["ApproximateNumberOfMessagesDelayed"] == "1"
    assert store.receive("q") == []
    assert store.next_visible("q") == clock.now + 10
    clock.now += 10
    [message] = store.receive("q", visibility_timeout=100)
    store.change_visibility("q", message.receipt_handle, 0)
    [again] = store.receive("q")
    assert again.receives == 2
    with pytest.raises(SqsError) as info:
        store.change_visibility("q", message.receipt_handle, 10)  # stale handle
    assert info.value.code == "InvalidParameterValue"


def test_redrive_moves_a_message_after_max_receives(store: SqsStore, clock: Clock) -> None:
    store.create_queue("dlq")
    policy = f'{{"deadLetterTargetArn": "{store.arn("dlq")}", "maxReceiveCount": "2"}}'
    store.create_queue("q", {"VisibilityTimeout": "1", "RedrivePolicy": policy})
    sent = store.send("q", NewMessage("poison"))
    for _ in range(2):
        assert len(store.receive("q")) == 1
        clock.now += 1
    assert store.receive("q") == []
    [dead] = store.receive("dlq")
    assert (dead.message_id, dead.body, dead.receives) == (sent.message_id, "poison", 1)


def test_retention_drops_old_messages(store: SqsStore, clock: Clock) -> None:
    store.create_queue("q", {"MessageRetentionPeriod": "60"})
    store.send("q", NewMessage("old"))
    clock.now += 61
    assert store.get_attributes("q")["ApproximateNumberOfMessages"] == "0"
    assert store.receive("q") == []


def test_send_checks_body_and_size(store: SqsStore) -> None:
    store.create_queue("q", {"MaximumMessageSize": "1024"})
    with pytest.raises(SqsError) as info:
        store.send("q", NewMessage("x" * 1025))
    assert "Message must be shorter than 1024 bytes" in info.value.message
    with pytest.raises(SqsError) as info:
        store.send("q", NewMessage("bad \x00 char"))
    assert info.value.code == "InvalidMessageContents"
    with pytest.raises(SqsError) as info:
        store.send("missing", NewMessage("m"))
    assert info.value.code == "QueueDoesNotExist"


def test_batch_send_reports_each_invalid_entry(store: SqsStore) -> None:
    store.create_queue("q")
    results = store.send_batch("q", [NewMessage("ok"), NewMessage("")])
    assert not isinstance(results[0], SqsError)
    assert isinstance(results[1], SqsError)
    assert results[1].code == "MissingParameter"


def test_purge_empties_the_queue_once_a_minute(store: SqsStore, clock: Clock) -> None:
    store.create_queue("q")
    store.send("q", NewMessage("m"))
    store.purge("q")
    assert store.get_attributes("q", ["ApproximateNumberOfMessages"]) == {
        "ApproximateNumberOfMessages": "0"
    }
    with pytest.raises(SqsError) as info:
        store.purge("q")
    assert info.value.code == "PurgeQueueInProgress"
    clock.now += 60
    store.purge("q")


def test_messages_survive_reopening(tmp_path: Path, clock: Clock) -> None:
    first = SqsStore(tmp_path / "queues.sqlite3", clock=clock)
    first.create_queue("q")
    attributes = {"k": MessageAttribute("Binary", binary_value=b"\x00\xff")}
    first.send("q", NewMessage("durable", attributes))
    first.close()
    [message] = SqsStore(tmp_path / "queues.sqlite3", clock=clock).receive("q")
    assert message.body == "durable"
    assert message.attributes == attributes


def test_list_delete_and_attributes(store: SqsStore) -> None:
    for name in ("alpha", "alps", "beta"):
        store.create_queue(name)
    assert store.list_queues("al") == ["alpha", "alps"]
    store.delete_queue("alps")
    assert store.list_queues() == ["alpha", "beta"]
    with pytest.raises(SqsError):
        store.delete_queue("alps")
    store.set_attributes("alpha", {"DelaySeconds": "5"})
    attributes = store.get_attributes("alpha")
    assert attributes["DelaySeconds"] == "5"
    assert attributes["QueueArn"] == "arn:aws:sqs:us-east-1:123456789012:alpha"
    with pytest.raises(SqsError) as info:
        store.get_attributes("alpha", ["Nope"])
    assert info.value.code == "InvalidAttributeName"


def _reference_md5(attributes: dict[str, tuple[str, bytes, int]]) -> str:
    """The developer guide's algorithm, written out independently of the module."""
    out = b""
    for name in sorted(attributes):
        data_type, value, transport = attributes[name]
        out += struct.pack("!I", len(name)) + name.encode()
        out += struct.pack("!I", len(data_type)) + data_type.encode()
        out += bytes([transport]) + struct.pack("!I", len(value)) + value
    return hashlib.md5(out).hexdigest()


def test_md5_of_message_attributes_follows_the_developer_guide() -> None:
    attributes = {
        "b": MessageAttribute("String", "é"),
        "a": MessageAttribute("Number.int", "7"),
        "c": MessageAttribute("Binary", binary_value=b"\x01\x02"),
    }
    assert md5_of_message_attributes(attributes) == _reference_md5({
        "a": ("Number.int", b"7", 1),
        "b": ("String", "é".encode(), 1),
        "c": ("Binary", b"\x01\x02", 2),
    })  # fmt: skip
    assert md5_of_message_attributes({}) is None


def _fifo(store: SqsStore, name: str = "q.fifo", **attributes: str) -> None:
    store.create_queue(name, {"FifoQueue": "true", **attributes})


def test_a_fifo_queue_serves_a_group_in_order_one_batch_at_a_time(store: SqsStore) -> None:
    _fifo(store)
    for body, group in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("a3", "a")):
        store.send("q.fifo", NewMessage(body, group_id=group, dedup_id=body))
    first = store.receive("q.fifo", max_messages=2)
    assert [m.body for m in first] == ["a1", "a2"]
    assert [m.body for m in store.receive("q.fifo", max_messages=10)] == ["b1"]
    for message in first:
        store.delete("q.fifo", message.receipt_handle)
    [a3] = store.receive("q.fifo")
    assert (a3.body, a3.group_id) == ("a3", "a")
    assert a3.sequence_number is not None
    assert a3.sequence_number > first[1].sequence_number  # type: ignore[operator]


def test_a_fifo_queue_deduplicates_for_five_minutes(store: SqsStore, clock: Clock) -> None:
    _fifo(store, ContentBasedDeduplication="true")
    sent = store.send("q.fifo", NewMessage("same", group_id="g"))
    assert store.send("q.fifo", NewMessage("same", group_id="g")) == sent
    assert store.get_attributes("q.fifo")["ApproximateNumberOfMessages"] == "1"
    clock.now += 300
    assert store.send("q.fifo", NewMessage("same", group_id="g")) != sent
    assert store.get_attributes("q.fifo")["ApproximateNumberOfMessages"] == "2"


def test_fifo_sends_need_a_group_and_a_deduplication_id(store: SqsStore) -> None:
    _fifo(store)
    for message, code in (
        (NewMessage("m", dedup_id="d"), "MissingParameter"),
        (NewMessage("m", group_id="g"), "InvalidParameterValue"),  # no content dedup
        (NewMessage("m", group_id="g", dedup_id="d", delay_s=5), "InvalidParameterValue"),
        (NewMessage("m", group_id="g h", dedup_id="d"), "InvalidParameterValue"),
    ):
        with pytest.raises(SqsError) as info:
            store.send("q.fifo", message)
        assert info.value.code == code


def test_fifo_names_attributes_and_type_changes(store: SqsStore) -> None:
    _fifo(store)
    attributes = store.get_attributes("q.fifo")
    assert attributes["FifoQueue"] == "true"
    assert attributes["ContentBasedDeduplication"] == "false"
    with pytest.raises(SqsError):
        store.create_queue("plain", {"FifoQueue": "true"})
    with pytest.raises(SqsError) as info:
        store.set_attributes("q.fifo", {"FifoQueue": "false"})
    assert info.value.code == "InvalidAttributeValue"
    store.create_queue("plain")
    assert "FifoQueue" not in store.get_attributes("plain")
    with pytest.raises(SqsError) as info:
        store.set_attributes("plain", {"ContentBasedDeduplication": "true"})
    assert info.value.code == "InvalidAttributeName"
    with pytest.raises(SqsError) as info:
        store.send("plain", NewMessage("m", dedup_id="d"))
    assert info.value.code == "InvalidParameterValue"


def test_delete_batch_deletes_in_one_go_and_reports_bad_handles(store: SqsStore) -> None:
    store.create_queue("q")
    for n in range(3):
        store.send("q", NewMessage(f"m{n}"))
    handles = [m.receipt_handle for m in store.receive("q", max_messages=3)]
    outcomes = store.delete_batch("q", [*handles, "garbage"])
    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], SqsError)
    assert outcomes[3].code == "ReceiptHandleIsInvalid"
    assert store.get_attributes("q")["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_a_fifo_message_restarts_its_retention_in_the_dead_letter_queue(
    store: SqsStore, clock: Clock
) -> None:
    _fifo(store, "dlq.fifo")
    store.create_queue("plain-dlq")
    policy = f'{{"deadLetterTargetArn": "{store.arn("dlq.fifo")}", "maxReceiveCount": 1}}'
    _fifo(store, "q.fifo", VisibilityTimeout="1", RedrivePolicy=policy)
    store.send("q.fifo", NewMessage("m", group_id="g", dedup_id="d"))
    sent_at = clock.now
    store.receive("q.fifo")
    clock.now += 5
    assert store.receive("q.fifo") == []
    [dead] = store.receive("dlq.fifo")
    assert dead.sent_at == sent_at + 5
    # A dead-letter queue of the other type receives nothing.
    mismatched = f'{{"deadLetterTargetArn": "{store.arn("plain-dlq")}", "maxReceiveCount": 1}}'
    store.set_attributes("q.fifo", {"RedrivePolicy": mismatched})
    store.send("q.fifo", NewMessage("n", group_id="g", dedup_id="e"))
    store.receive("q.fifo")
    clock.now += 5
    assert [m.body for m in store.receive("q.fifo")] == ["n"]
