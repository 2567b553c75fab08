"""`overcast node drain`: the check fails first, in-flight requests finish, then the node exits."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from overcast.control.data_health import HEALTHZ_PATH

APPS = Path(__file__).parent / "apps"
DEADLINE_S = 60.0


def _wait_for_status(client: httpx.Client, status: int) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while client.get(HEALTHZ_PATH).status_code != status:
        assert time.monotonic() < deadline, f"health check never answered {status}"
        time.sleep(0.05)


def test_healthz_answers_on_the_data_port_and_a_route_named_healthz_is_not_shadowed(
    running_app: Any,
) -> None:
    app = running_app("hello")
    with app.client() as client:
        reply = client.get(HEALTHZ_PATH)
        assert (reply.status_code, reply.json()) == (200, {"status": "ok"})
        assert client.post(HEALTHZ_PATH).status_code == 405
        # Not a route of the app: the gateway's own 404, as API Gateway answers.
        assert client.get("/healthz").status_code == 404
        assert client.get("/hello").status_code == 200


def test_drain_reports_503_serves_in_flight_requests_to_the_end_then_exits(
    running_app: Any,
) -> None:
    app = running_app(APPS / "drain", extra_args=["--drain-grace", "3"])
    slow: list[httpx.Response] = []
    with app.client(timeout=60.0) as client, app.client(timeout=60.0) as slow_client:
        assert client.get("/work", params={"seconds": "0"}).status_code == 200
        # Longer than the grace period: still running when the listener closes.
        worker = threading.Thread(
            target=lambda: slow.append(slow_client.get("/work", params={"seconds": "6"}))
        )
        worker.start()
        drain = app.cli_popen("node", "drain", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            _wait_for_status(client, 503)
            assert client.get(HEALTHZ_PATH).json() == {"status": "draining"}
            # The balancer has not looked away yet: what still arrives is served.
            assert client.get("/work", params={"seconds": "0"}).status_code == 200
            _out, err = drain.communicate(timeout=DEADLINE_S)
        finally:
            if drain.poll() is None:
                drain.kill()
                drain.communicate()
        worker.join(timeout=DEADLINE_S)
    assert drain.returncode == 0, err.decode()
    assert b"stopped" in err
    assert [r.status_code for r in slow] == [200]
    assert slow[0].json() == {"slept": 6.0}
    assert app.process.wait(timeout=DEADLINE_S) == 0
    assert "Traceback" not in app.stderr()


def test_drain_without_a_running_node_fails_clearly(running_app: Any, tmp_path: Path) -> None:
    app = running_app("hello")
    app.stop()
    result = app.cli("node", "drain")
    assert result.returncode == 1
    assert b"no node is running" in result.stderr
