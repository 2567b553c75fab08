"""Soak: many SQS messages through an event source mapping, random failures, a kill -9.

Not a test and not in CI. Starts ``overcast up`` on benchmarks/apps/sqs_soak (a handler
that fails 5% of records at random and reports them with ReportBatchItemFailures, and
notes the others in an fsync'd file of its mounted folder, which a kill -9 cannot lose
as it can the node's buffered logs), sends ``--messages`` bodies with boto3's
SendMessageBatch from ``--senders`` threads, kills the node with SIGKILL (its whole
process group) once about half are handled, starts it again on the same state folder
and waits until every body was handled.

Printed: messages sent, handled at least once, lost (must be 0), handled more than once
(SQS's at-least-once: a batch cut short by the kill after its handler ran, or a
message whose visibility ran out), the wall time and the messages/s.

Run: .venv/bin/python benchmarks/soak_sqs.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from harness import PYTHON, emit, free_port, wait_http

from overcast.control.access_keys import read_credentials_file

APP = Path(__file__).parent / "apps" / "sqs_soak"
WAIT_S = 900.0


def _start(app: Path, port: int, admin: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [PYTHON, "-m", "overcast", "up", str(app), "--port", str(port),
         "--admin-port", str(admin), "--no-watch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{admin}/health", timeout=120)
    return process


def _sqs(app: Path, admin: int) -> Any:
    key_id, secret = read_credentials_file(app / ".overcast" / "access" / "admin-credentials")
    return boto3.client(
        "sqs", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{admin}",
        aws_access_key_id=key_id, aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}, max_pool_connections=16),
    )  # fmt: skip


def _handled(app: Path) -> Counter[str]:
    """Each body the handler noted in its ledger folder (fsync'd: survives a kill -9)."""
    counts: Counter[str] = Counter()
    for path in (app / ".overcast" / "volumes").glob("*/*.txt"):
        for line in path.read_text().splitlines():
            counts.update(line.split())
    return counts


def _send(sqs: Any, bodies: list[str], senders: int) -> None:
    chunks = [bodies[i : i + 10] for i in range(0, len(bodies), 10)]
    left = iter(chunks)
    lock = threading.Lock()
    url = sqs.get_queue_url(QueueName="soak-work")["QueueUrl"]

    def sender() -> None:
        while True:
            with lock:
                chunk = next(left, None)
            if chunk is None:
                return
            entries = [{"Id": str(i), "MessageBody": b} for i, b in enumerate(chunk)]
            sent = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if sent.get("Failed"):
                raise RuntimeError(f"send failed: {sent['Failed']}")

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def main(messages: int, senders: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / APP.name
        shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".overcast"))
        port, admin = free_port(), free_port()
        bodies = [f"m{i:07d}" for i in range(messages)]
        process = _start(app, port, admin)
        started = time.perf_counter()
        sqs = _sqs(app, admin)
        _send(sqs, bodies, senders)
        sent_s = time.perf_counter() - started
        while len(_handled(app)) < messages // 2:
            time.sleep(0.5)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        at_kill = len(_handled(app))
        sqs.close()
        # new ports: the killed node's may still be held by connections in TIME_WAIT
        process = _start(app, free_port(), free_port())
        try:
            deadline = time.monotonic() + WAIT_S
            while len(handled := _handled(app)) < messages and time.monotonic() < deadline:
                time.sleep(1)
            elapsed = time.perf_counter() - started
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
    lost = messages - len(set(bodies) & set(handled))
    twice = sum(1 for b in bodies if handled[b] > 1)
    print(
        f"{messages:,} sent in {sent_s:.1f} s; killed -9 with {at_kill:,} handled; "
        f"after restart: {messages - lost:,} handled, {lost} lost, {twice:,} handled more "
        f"than once; {elapsed:.1f} s in all ({messages / elapsed:,.0f} messages/s)"
    )
    emit(
        "sqs_soak",
        {
            "messages": messages, "handled_at_kill": at_kill, "lost": lost,
            "handled_more_than_once": twice, "seconds": round(elapsed, 1),
            "per_s": round(messages / elapsed, 1),
        },
    )  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=4)
    args = parser.parse_args()
    main(args.messages, args.senders)
