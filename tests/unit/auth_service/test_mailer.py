"""MailerFunction in-process: a Lambda SQS event in, mails at a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import importlib
import socket
import sys
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from types import ModuleType
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from authcore import ConfigError, MailJob

from .conftest import AUTH_SRC

REFUSED = "refused@example.com"


class Inbox:
    """aiosmtpd handler: keeps every mail, refuses one recipient as a full mailbox would."""

    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.mails.append(message_from_bytes(content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    # aiosmtpd connects to its own port to know it is up, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mailer(monkeypatch: pytest.MonkeyPatch, smtp_server: tuple[Inbox, int]) -> ModuleType:
    """The mailer module, imported (its Init) with the test server's settings."""
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(smtp_server[1]))
    monkeypatch.setenv("MAIL_FROM", "Auth <no-reply@auth.test>")
    if str(AUTH_SRC) not in sys.path:
        sys.path.insert(0, str(AUTH_SRC))
    sys.modules.pop("mailer", None)
    return importlib.import_module("mailer")


def _record(message_id: str, body: str) -> dict[str, Any]:
    # The shape of a Lambda SQS event record (the fields the mailer reads, and more).
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "1700000000000"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:auth-MailQueue",
        "awsRegion": "us-east-1",
    }


def test_every_job_of_the_batch_is_mailed(
    mailer: ModuleType, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_server
    verify = MailJob("verify_email", "ann@example.com", "http://x/auth/verify?token=abc", 172800)
    reset = MailJob(
        "password_reset", "bob@example.com", "http://x/auth/password/reset?token=d", 1800
    )
    event = {"Records": [_record("m1", verify.to_json()), _record("m2", reset.to_json())]}

    assert mailer.handler(event, None) == {"batchItemFailures": []}
    assert [(m["To"], m["Subject"]) for m in inbox.mails] == [
        ("ann@example.com", "Confirm your e-mail address"),
        ("bob@example.com", "Reset your password"),
    ]
    assert inbox.mails[0]["From"] == "Auth <no-reply@auth.test>"
    assert "http://x/auth/verify?token=abc" in inbox.mails[0].get_payload(decode=True).decode()


def test_a_refused_send_and_a_malformed_message_are_reported_alone(
    mailer: ModuleType, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, _ = smtp_server
    good = MailJob("password_reset_unknown", "carol@example.com")
    refused = MailJob("password_reset_unknown", REFUSED)
    event = {
        "Records": [
            _record("bad", "this is not a job"),
            _record("refused", refused.to_json()),
            _record("good", good.to_json()),
        ]
    }
    assert mailer.handler(event, None) == {
        "batchItemFailures": [{"itemIdentifier": "bad"}, {"itemIdentifier": "refused"}]
    }
    assert [m["To"] for m in inbox.mails] == ["carol@example.com"]


def test_an_unreachable_server_fails_every_record(
    mailer: ModuleType, smtp_server: tuple[Inbox, int]
) -> None:
    settings = mailer.SmtpSettings(host="127.0.0.1", port=1, timeout_s=2)
    job = MailJob("password_reset_unknown", "a@example.com").to_json()
    event = {"Records": [_record("m1", job), _record("m2", job)]}
    assert mailer.send_batch(event, settings) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]
    }


def test_settings_are_checked_at_init(mailer: ModuleType) -> None:
    with pytest.raises(ConfigError, match="SMTP_HOST"):
        mailer.SmtpSettings.from_env({})
    with pytest.raises(ConfigError, match="SMTP_PORT"):
        mailer.SmtpSettings.from_env({"SMTP_HOST": "h", "SMTP_PORT": "smtp"})
    settings = mailer.SmtpSettings.from_env(
        {"SMTP_HOST": "h", "SMTP_PORT": "587", "SMTP_STARTTLS": "true", "SMTP_USERNAME": "u"}
    )
    assert (settings.port, settings.starttls, settings.username) == (587, True, "u")
