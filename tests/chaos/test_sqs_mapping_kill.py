"""kill -9 the node while an SQS event source mapping has batches in flight: after a
restart every message is handled at least once and none is lost.

A message leaves the queue's SQLite file only once its batch succeeded; one received
by a batch the crash cut short becomes visible again when its visibility timeout ends.
The handler notes its work in an fsync'd file of a mounted folder: the node's own logs
are buffered, and a kill -9 may cut their end off.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
from botocore.config import Config

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[1] / "integration" / "apps" / "sqs_slow"
WAIT_S = 90.0


def _logged(app: Any) -> list[str]:
    """What the handler noted in its ledger folder (fsync'd, unlike its buffered logs)."""
    return [
        line
        for path in sorted((app.state_dir / "volumes").glob("*/*.txt"))
        for line in path.read_text().splitlines()
    ]


def _done(app: Any) -> set[str]:
    return {m.split(" ", 1)[1] for m in _logged(app) if m.startswith("done ")}


def _sqs(app: Any) -> Any:
    creds = app.admin_credentials()
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 0}),
    )


def _kill_node(app: Any) -> None:
    """SIGKILL the node and everything it started: no shutdown code runs."""
    survivors = psutil.Process(app.process.pid).children(recursive=True)
    os.killpg(app.process.pid, signal.SIGKILL)
    app.process.wait(timeout=10)
    for proc in survivors:
        try:
            proc.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(survivors, timeout=5)
    app.stopped = True


def test_messages_in_flight_at_kill_9_are_all_handled_after_restart(running_app: Any) -> None:
    first = running_app(APP)
    sqs = _sqs(first)
    url = sqs.get_queue_url(QueueName="slow-work")["QueueUrl"]
    bodies = [f"{uuid.uuid4().hex}-{i}" for i in range(40)]
    for start in range(0, len(bodies), 10):
        chunk = bodies[start : start + 10]
        sent = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
        )
        assert len(sent["Successful"]) == len(chunk)
    deadline = time.monotonic() + WAIT_S
    while not any(m.startswith("start ") for m in _logged(first)):
        assert time.monotonic() < deadline, "no batch started\n" + first.output()
        time.sleep(0.02)
    assert len(_done(first)) < len(bodies)

    sqs.close()  # its pooled socket would otherwise outlive the killed node
    _kill_node(first)
    running_app.apps.remove(first)  # killed on purpose: not a shutdown to judge

    second = running_app(first.app_dir, copy=False)
    sqs = _sqs(second)

    def left() -> tuple[str, str]:
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        return (
            attributes["ApproximateNumberOfMessages"],
            attributes["ApproximateNumberOfMessagesNotVisible"],
        )

    # Handled at least once each, and (a batch the crash cut short after its handler
    # finished runs again: at least once) the queue empty at the end.
    deadline = time.monotonic() + WAIT_S
    while not (_done(second) >= set(bodies) and left() == ("0", "0")):
        missing = len(set(bodies) - _done(second))
        assert time.monotonic() < deadline, f"{missing} messages lost\n" + second.output()
        time.sleep(0.2)
    sqs.close()
