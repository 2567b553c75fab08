"""Alarms on a platform: a broken version's errors put its alarm in ALARM, and people hear."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from platform_helpers import set_code

from overcast.observe.notify import verify_signature
from process_helpers import free_port, start_platform

pytestmark = pytest.mark.slow

SECRET = "webhook-secret-for-tests"


class _Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        return


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    _Hooks.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", _Hooks.received
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def mailbox() -> Iterator[tuple[int, _Mailbox]]:
    box = _Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, box
    finally:
        controller.stop()


def test_a_broken_version_raises_its_alarm_and_notifies_by_webhook_and_mail(
    tmp_path: Path,
    versioned_app: Path,
    webhook: tuple[str, list[tuple[dict[str, str], bytes]]],
    mailbox: tuple[int, _Mailbox],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, received = webhook
    smtp_port, box = mailbox
    monkeypatch.setenv("OVERCAST_WEBHOOK_SECRET", SECRET)
    running = start_platform(
        tmp_path / "state",
        "--alarm-webhook", url,
        "--smtp", f"127.0.0.1:{smtp_port}",
        "--alarm-email-to", "ops@example.test",
        "--alarm-interval", "0.5",
    )  # fmt: skip
    try:
        set_code(versioned_app, "broken-v1")
        running.deploy(versioned_app, "dev")
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            assert running.get("dev", "/whoami").status_code == 500
            answer = running.client().request("GET", "/overcast/alarms")
            states = {a["AlarmName"]: a["StateValue"] for a in answer["Alarms"]}
            state = states.get("EchoErrors", "")
            if state == "ALARM" and any(b'"ALARM"' in body for _, body in received):
                break
            time.sleep(0.3)
        assert state == "ALARM", running.output()
        listed = running.cli("alarms", "--json")
        assert listed.returncode == 0, listed.stderr.decode()
        assert {"AlarmName": "EchoErrors", "Stage": "dev"}.items() <= next(
            a for a in json.loads(listed.stdout)["Alarms"] if a["AlarmName"] == "EchoErrors"
        ).items()
    finally:
        assert running.stop() in (0, 130), running.output()

    alarm_posts = [(h, b) for h, b in received if json.loads(b)["NewStateValue"] == "ALARM"]
    assert alarm_posts, received
    headers, body = alarm_posts[0]
    message = json.loads(body)
    assert message["AlarmName"] == "EchoErrors"
    assert message["Trigger"]["MetricName"] == "Errors"
    signature_ok = verify_signature(
        SECRET,
        body,
        headers["x-overcast-timestamp"],
        headers["x-overcast-signature"],
        now=float(headers["x-overcast-timestamp"]),
    )
    assert signature_ok
    assert not verify_signature(
        "another secret",
        body,
        headers["x-overcast-timestamp"],
        headers["x-overcast-signature"],
        now=float(headers["x-overcast-timestamp"]),
    )
    mails = [message_from_bytes(m) for m in box.messages]
    assert any("EchoErrors" in str(m["Subject"]) and "ALARM" in str(m["Subject"]) for m in mails), [
        m["Subject"] for m in mails
    ]


def test_alarms_defined_with_the_cli_are_evaluated_kept_and_deleted(
    tmp_path: Path, versioned_app: Path
) -> None:
    running = start_platform(tmp_path / "state", "--alarm-interval", "0.5")
    try:
        running.deploy(versioned_app, "dev")
        put = running.cli(
            "alarms", "put", "Busy", "--stage", "dev", "--metric", "Invocations",
            "--function", "Echo", "--period", "1", "--threshold", "2",
            "--treat-missing-data", "notBreaching",
        )  # fmt: skip
        assert put.returncode == 0, put.stderr.decode()
        bad = running.cli(
            "alarms", "put", "Broken", "--stage", "dev", "--metric", "Invocations",
            "--threshold", "1", "--comparison", "MoreOrLess",
        )  # fmt: skip
        assert bad.returncode == 1
        assert "ComparisonOperator" in bad.stderr.decode()
        deadline = time.monotonic() + 30
        state = ""
        while time.monotonic() < deadline and state != "ALARM":
            for _ in range(5):
                running.get("dev", "/whoami")
            alarms = running.client().request("GET", "/overcast/alarms")["Alarms"]
            state = next((a["StateValue"] for a in alarms if a["AlarmName"] == "Busy"), "")
        assert state == "ALARM"
    finally:
        assert running.stop() in (0, 130), running.output()
    again = start_platform(tmp_path / "state", "--alarm-interval", "0.5")
    try:
        names = [
            a["AlarmName"] for a in again.client().request("GET", "/overcast/alarms")["Alarms"]
        ]
        deadline = time.monotonic() + 10
        while "Busy" not in names and time.monotonic() < deadline:
            time.sleep(0.5)
            alarms = again.client().request("GET", "/overcast/alarms")["Alarms"]
            names = [a["AlarmName"] for a in alarms]
        assert "Busy" in names  # kept in the platform's state across a restart
        deleted = again.cli("alarms", "delete", "Busy")
        assert deleted.returncode == 0, deleted.stderr.decode()
        missing = again.cli("alarms", "delete", "Busy")
        assert missing.returncode == 1
    finally:
        assert again.stop() in (0, 130), again.output()
