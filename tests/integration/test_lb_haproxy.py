"""Two `overcast up` nodes behind a real HAProxy, configured by `overcast cluster lb-config`.

Requests reach both nodes; a node killed with SIGKILL under load costs no GET (HAProxy
retries them elsewhere) and is taken out by its health check; a drained node gets no
new requests once its check fails, while the request it was serving runs to the end.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from overcast.cluster.lb_config import LbNode, LbSettings, render
from process_helpers import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("haproxy") is None, reason="haproxy is not installed (make lb)"
)

APPS = Path(__file__).parent / "apps"
DEADLINE_S = 60.0


class Haproxy:
    """HAProxy in the foreground on a free port, and its runtime API."""

    def __init__(self, workdir: Path, nodes: list[LbNode]) -> None:
        self.port = free_port()
        self.socket_path = workdir / "haproxy.sock"
        self.config = workdir / "haproxy.cfg"
        settings = LbSettings(
            listen_host="127.0.0.1", listen_port=self.port, stats_socket=str(self.socket_path)
        )
        self.config.write_text(render(nodes, settings, "haproxy"))
        self.log = workdir / "haproxy.log"
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                ["haproxy", "-db", "-f", str(self.config)], stdout=out, stderr=subprocess.STDOUT
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(self.socket_path))
            sock.sendall(line.encode() + b"\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self) -> dict[str, dict[str, str]]:
        """``show stat`` of the backend's servers, by name."""
        text = self.command("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == "overcast_nodes" and row["svname"] not in ("BACKEND",)
        }

    def wait_until(self, what: str, predicate: Any) -> dict[str, dict[str, str]]:
        deadline = time.monotonic() + DEADLINE_S
        while True:
            if self.process.poll() is not None:
                pytest.fail("haproxy exited\n" + self.log.read_text())
            try:
                servers = self.servers()
            except (FileNotFoundError, ConnectionRefusedError):
                servers = {}
            if servers and predicate(servers):
                return servers
            assert time.monotonic() < deadline, f"haproxy never saw {what}: {servers}"
            time.sleep(0.02)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def two_nodes(running_app: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    app_dir, extra = request.param
    nodes = [running_app(app_dir, extra_args=extra) for _ in range(2)]
    haproxy = Haproxy(
        tmp_path,
        [LbNode(f"node-{i}", "127.0.0.1", node.port) for i, node in enumerate(nodes)],
    )
    try:
        haproxy.wait_until(
            "both nodes up", lambda s: all(row["status"] == "UP" for row in s.values())
        )
        yield running_app, nodes, haproxy
    finally:
        haproxy.close()


def _kill_node(app: Any) -> list[psutil.Process]:
    """SIGKILL the node and everything it started, as a machine losing it would."""
    try:
        family = [psutil.Process(app.process.pid)]
        family += family[0].children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for proc in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGKILL)
    return family


def _reap(launcher: Any, app: Any, family: list[psutil.Process]) -> None:
    app.process.wait(timeout=DEADLINE_S)
    psutil.wait_procs(family, timeout=DEADLINE_S)
    # Its end is the test's doing, not a failed shutdown for teardown to report.
    launcher.apps.remove(app)


@pytest.mark.parametrize("two_nodes", [("hello", [])], indirect=True)
def test_requests_reach_both_nodes_and_a_killed_node_costs_no_get(two_nodes: Any) -> None:
    launcher, (node_a, _node_b), haproxy = two_nodes
    with httpx.Client(base_url=haproxy.url, timeout=30) as client:
        for _ in range(20):
            reply = client.get("/hello")
            assert (reply.status_code, reply.json()) == (200, {"message": "hello world"})
        assert client.get(f"/hello/{'x' * 3}").json() == {"message": "hello xxx"}
    served = {name: int(row["lbtot"]) for name, row in haproxy.servers().items()}
    assert all(count > 0 for count in served.values()), served

    stop = threading.Event()
    failures: list[str] = []
    counts = [0] * 4

    def hammer(index: int) -> None:
        with httpx.Client(base_url=haproxy.url, timeout=30) as client:
            while not stop.is_set():
                try:
                    reply = client.get("/hello")
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if reply.status_code != 200:
                    failures.append(f"{reply.status_code} {reply.text[:200]}")
                counts[index] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    try:
        while sum(counts) < 200:  # under way on both nodes before the kill
            time.sleep(0.01)
        before = haproxy.servers()["node-0"]
        killed_at = time.monotonic()
        family = _kill_node(node_a)
        after_kill = sum(counts)
        first_failure = haproxy.wait_until(
            "a failed check", lambda s: int(s["node-0"]["chkfail"]) > int(before["chkfail"])
        )
        failed_at = time.monotonic()
        haproxy.wait_until("node-0 down", lambda s: s["node-0"]["status"].startswith("DOWN"))
        down_at = time.monotonic()
        _reap(launcher, node_a, family)
        while sum(counts) < after_kill + 400:  # and carrying on with one node
            time.sleep(0.01)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=DEADLINE_S)
    stats = haproxy.servers()
    print(
        f"\nkill -9 -> first failed check {failed_at - killed_at:.2f} s "
        f"({first_failure['node-0']['check_status']}), out of rotation "
        f"{down_at - killed_at:.2f} s; {sum(counts)} GETs, "
        f"retries {stats['node-0']['wretr']}, redispatches {stats['node-0']['wredis']}"
    )
    assert failures == []
    assert stats["node-1"]["status"] == "UP"


@pytest.mark.parametrize("two_nodes", [(APPS / "drain", ["--drain-grace", "10"])], indirect=True)
def test_a_draining_node_gets_no_new_requests_and_finishes_the_one_it_serves(
    two_nodes: Any,
) -> None:
    _launcher, nodes, haproxy = two_nodes
    with httpx.Client(base_url=haproxy.url, timeout=60) as client:
        for _ in range(4):  # both warm
            assert client.get("/work", params={"seconds": "0"}).status_code == 200
        slow: list[httpx.Response] = []
        worker = threading.Thread(
            target=lambda: slow.append(client.get("/work", params={"seconds": "12"}))
        )
        worker.start()
        busy = haproxy.wait_until(
            "the slow request", lambda s: any(int(row["scur"]) > 0 for row in s.values())
        )
        name = next(n for n, row in busy.items() if int(row["scur"]) > 0)
        other = "node-1" if name == "node-0" else "node-0"
        draining = nodes[int(name.removeprefix("node-"))]
        drain = draining.cli_popen("node", "drain", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            down = haproxy.wait_until("the drain", lambda s: s[name]["status"].startswith("DOWN"))
            # Taken out by its health check (503), not by a closed port.
            assert down[name]["check_code"] == "503", down[name]
            chosen = int(down[name]["lbtot"])
            with httpx.Client(base_url=haproxy.url, timeout=30) as fresh:
                for _ in range(20):
                    assert fresh.get("/work", params={"seconds": "0"}).status_code == 200
            stats = haproxy.servers()
            assert int(stats[name]["lbtot"]) == chosen
            assert int(stats[other]["lbtot"]) >= 20
            worker.join(timeout=DEADLINE_S)
            _out, err = drain.communicate(timeout=DEADLINE_S)
        finally:
            if drain.poll() is None:
                drain.kill()
                drain.communicate()
    assert [r.status_code for r in slow] == [200]
    assert slow[0].json() == {"slept": 12.0}
    assert drain.returncode == 0, err.decode()
    assert draining.process.wait(timeout=DEADLINE_S) == 0
