"""`overcast serve` behind a balancer: the health check on the data port, and drain."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx

from overcast.control.data_health import HEALTHZ_PATH
from process_helpers import overcast_argv, start_platform

DEADLINE_S = 60.0


def test_the_platform_answers_healthz_for_any_host_then_drains_and_exits(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "platform", "--drain-grace", "2")
    url = f"http://127.0.0.1:{platform.port}{HEALTHZ_PATH}"
    try:
        # No Host of the platform's: a balancer checks the node by address.
        reply = httpx.get(url, timeout=10)
        assert (reply.status_code, reply.json()) == (200, {"status": "ok"})
        drain = subprocess.run(
            [*overcast_argv(), "node", "drain", "--platform", str(platform.state_dir)],
            capture_output=True,
            timeout=DEADLINE_S,
            check=False,
        )
        assert drain.returncode == 0, drain.stderr.decode()
        assert platform.process.wait(timeout=DEADLINE_S) == 0
    finally:
        if platform.process.poll() is None:
            platform.stop()
    assert "Traceback" not in platform.log.read_text()


def test_a_draining_platform_reports_503(tmp_path: Path) -> None:
    platform = start_platform(tmp_path / "platform", "--drain-grace", "30")
    url = f"http://127.0.0.1:{platform.port}{HEALTHZ_PATH}"
    try:
        platform.process.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + DEADLINE_S
        while (reply := httpx.get(url, timeout=10)).status_code != 503:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert reply.json() == {"status": "draining"}
    finally:
        platform.stop()
