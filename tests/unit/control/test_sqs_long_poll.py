"""ReceiveMessage's long poll waits on sends and due times, never by polling the store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson

from overcast.control.access import AccessControl
from overcast.control.access_keys import new_key
from overcast.control.sqs_api import SqsApi
from overcast.events.sqs_store import SqsStore

URL = "http://admin/123456789012/q"


class _OpenDoor:
    """An access gate that lets everything through (the API's waiting is under test)."""

    def precheck(self, scope: Any) -> None:
        return None

    def authenticate(self, scope: Any, body: bytes) -> Any:
        return new_key("admin")

    def authorize(self, key: Any, action: str, resource: str) -> None:
        return None

    # the real gate's body reading, over the open checks above
    read_signed = AccessControl.read_signed


class _CountingStore(SqsStore):
    receives = 0

    def receive(self, *args: Any, **kwargs: Any) -> Any:
        received = super().receive(*args, **kwargs)
        self.receives += 1  # after: a test that saw the count knows the read is done
        return received


async def _call(api: SqsApi, operation: str, params: dict[str, Any]) -> Any:
    scope = {
        "type": "http", "method": "POST", "path": "/", "query_string": b"",
        "headers": [(b"x-amz-target", f"AmazonSQS.{operation}".encode()), (b"host", b"admin")],
    }  # fmt: skip
    body = orjson.dumps(params)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await api(scope, receive, send)
    assert sent[0]["status"] == 200, sent
    return orjson.loads(sent[1]["body"])


def _api(tmp_path: Path) -> tuple[SqsApi, _CountingStore]:
    store = _CountingStore(tmp_path / "queues.sqlite3")
    store.create_queue("q")
    return SqsApi(store, _OpenDoor()), store  # type: ignore[arg-type]


def test_an_empty_long_poll_reads_the_store_at_its_start_and_its_end(tmp_path: Path) -> None:
    api, store = _api(tmp_path)
    result = asyncio.run(_call(api, "ReceiveMessage", {"QueueUrl": URL, "WaitTimeSeconds": 1}))
    assert result == {}
    assert store.receives == 2


def test_a_long_poll_wakes_when_a_delayed_message_falls_due(tmp_path: Path) -> None:
    api, store = _api(tmp_path)

    async def scenario() -> Any:
        await _call(api, "SendMessage", {"QueueUrl": URL, "MessageBody": "m", "DelaySeconds": 1})
        return await _call(api, "ReceiveMessage", {"QueueUrl": URL, "WaitTimeSeconds": 20})

    result = asyncio.run(scenario())
    assert [m["Body"] for m in result["Messages"]] == ["m"]
    assert store.receives == 2


def test_a_send_wakes_a_waiting_poll(tmp_path: Path) -> None:
    api, store = _api(tmp_path)

    async def scenario() -> Any:
        poll = asyncio.create_task(
            _call(api, "ReceiveMessage", {"QueueUrl": URL, "WaitTimeSeconds": 20})
        )
        while store.receives == 0:
            await asyncio.sleep(0.01)
        await _call(api, "SendMessage", {"QueueUrl": URL, "MessageBody": "now"})
        return await poll

    result = asyncio.run(scenario())
    assert [m["Body"] for m in result["Messages"]] == ["now"]
    assert store.receives == 2


def test_stopping_ends_a_waiting_poll_empty(tmp_path: Path) -> None:
    api, store = _api(tmp_path)

    async def scenario() -> Any:
        poll = asyncio.create_task(
            _call(api, "ReceiveMessage", {"QueueUrl": URL, "WaitTimeSeconds": 20})
        )
        while store.receives == 0:
            await asyncio.sleep(0.01)
        api.stop()
        return await poll

    assert asyncio.run(scenario()) == {}


def test_polls_of_missing_queues_leave_no_wake_up_event_behind(tmp_path: Path) -> None:
    api, _store = _api(tmp_path)

    async def scenario() -> list[int]:
        statuses = []
        for n in range(50):
            sent: list[dict[str, Any]] = []
            scope = {
                "type": "http", "method": "POST", "path": "/", "query_string": b"",
                "headers": [(b"x-amz-target", b"AmazonSQS.ReceiveMessage")],
            }  # fmt: skip
            body = orjson.dumps(
                {"QueueUrl": f"http://a/123456789012/missing-{n}", "WaitTimeSeconds": 0}
            )

            async def receive(body: bytes = body) -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any], sent: list[Any] = sent) -> None:
                sent.append(message)

            await api(scope, receive, send)
            statuses.append(sent[0]["status"])
        return statuses

    assert set(asyncio.run(scenario())) == {400}
    assert api._arrivals == {}
