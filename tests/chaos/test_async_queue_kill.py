"""kill -9 the node with Event invocations queued and in flight: after a restart each runs.

Lambda's async queue delivers at least once; overcast's is a SQLite file in the state
folder, so an accepted event (202) outlives the process that accepted it, and one
whose attempt was cut short by the crash runs again with the same request id.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import pytest

from overcast.runtime import LogStore

pytestmark = pytest.mark.slow

APP = Path(__file__).resolve().parents[1] / "integration" / "apps" / "events"
ENV = {"OVERCAST_EVENTS_BACKOFF_SCALE": "0.01"}
WAIT_S = 90.0


def _logged(app: Any) -> str:
    return "\n".join(e.message for e in LogStore(str(app.state_dir)).read("SlowRecordFunction"))


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


def test_events_queued_and_in_flight_at_kill_9_all_run_after_restart(running_app: Any) -> None:
    first = running_app(APP, env=ENV)
    lam = first.lambda_client(read_timeout=30)
    # ReservedConcurrentExecutions: 2 — two run (for 5 s each), six wait in the queue.
    markers = [uuid.uuid4().hex for _ in range(8)]
    ids = {}
    for marker in markers:
        response = lam.invoke(
            FunctionName="SlowRecordFunction",
            InvocationType="Event",
            Payload=json.dumps({"marker": marker, "sleep": 5}),
        )
        assert response["StatusCode"] == 202
        # an Event invocation answers no payload; reading it frees the connection
        assert response["Payload"].read() == b""
        ids[marker] = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    deadline = time.monotonic() + WAIT_S
    while sum(f"START RequestId: {rid}" in _logged(first) for rid in ids.values()) < 2:
        assert time.monotonic() < deadline, "no attempt started\n" + first.output()
        time.sleep(0.05)
    started = {m for m, rid in ids.items() if f"START RequestId: {rid}" in _logged(first)}
    assert not any(f"ran {m}" in _logged(first) for m in markers)

    lam.close()  # its pooled socket would otherwise outlive the killed node
    _kill_node(first)
    running_app.apps.remove(first)  # killed on purpose: not a shutdown to judge

    second = running_app(first.app_dir, copy=False, env=ENV)
    deadline = time.monotonic() + WAIT_S
    while not all(f"ran {m} {ids[m]}" in _logged(second) for m in markers):
        assert time.monotonic() < deadline, "an accepted event was lost\n" + second.output()
        time.sleep(0.2)
    logged = _logged(second)
    # The attempts the crash cut short ran again, under the same request id.
    for marker in started:
        assert logged.count(f"START RequestId: {ids[marker]}") >= 2
