"""MailerFunction: sends the mail jobs of the mail queue over SMTP (Lambda SQS events).

The queue's event source mapping hands over up to ten messages at a time; each body
is an :class:`authcore.MailJob`. One SMTP connection serves the batch. With
``FunctionResponseTypes: [ReportBatchItemFailures]`` the function answers which
messages failed (``batchItemFailures``): only those come back after the visibility
timeout, and after ``maxReceiveCount`` tries they rest in the dead-letter queue. A
message that is not a job fails at once, and so ends there too.
https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html

The SMTP server (host, port, user, password) comes from the app's secret
``auth-service-smtp`` through the template's parameters; STARTTLS when
``SMTP_STARTTLS`` is true. Nothing here touches the database.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from authcore import ConfigError, MailJob
from authcore.mail import MalformedJob, compose

logger = logging.getLogger("mailer")
logger.setLevel(logging.INFO)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and as whom the mailer sends."""

    host: str
    port: int = 25
    username: str = ""
    password: str = ""
    starttls: bool = False
    sender: str = "auth-service <no-reply@auth.test>"
    timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpSettings:
        """Read SMTP_HOST, SMTP_PORT, SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS, MAIL_FROM."""
        source = os.environ if env is None else env
        host = source.get("SMTP_HOST", "").strip()
        if not host:
            raise ConfigError("SMTP_HOST is empty: set host in the secret auth-service-smtp")
        raw_port = source.get("SMTP_PORT", "").strip() or "25"
        if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
            raise ConfigError(f"SMTP_PORT must be a port number, got {raw_port!r}")
        starttls = source.get("SMTP_STARTTLS", "false").strip().lower()
        if starttls not in ("true", "false"):
            raise ConfigError("SMTP_STARTTLS must be true or false")
        return cls(
            host=host,
            port=int(raw_port),
            username=source.get("SMTP_USERNAME", ""),
            password=source.get("SMTP_PASSWORD", ""),
            starttls=starttls == "true",
            sender=source.get("MAIL_FROM", "").strip() or cls.sender,
        )


class _Connection:
    """One SMTP session for a batch, opened at the first mail, reopened after an error."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None

    def send(self, job: MailJob) -> None:
        if self._smtp is None:
            smtp = smtplib.SMTP(
                self.settings.host, self.settings.port, timeout=self.settings.timeout_s
            )
            try:
                if self.settings.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.settings.username:
                    smtp.login(self.settings.username, self.settings.password)
            except BaseException:
                smtp.close()
                raise
            self._smtp = smtp
        try:
            self._smtp.send_message(compose(job, self.settings.sender))
        except smtplib.SMTPRecipientsRefused:
            # The session is still good: only this recipient was refused.
            raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def send_batch(event: Mapping[str, Any], settings: SmtpSettings) -> dict[str, Any]:
    """Send every record's job; the ids of those that failed, as Lambda expects them."""
    failures: list[dict[str, str]] = []
    connection = _Connection(settings)
    try:
        for record in event.get("Records") or []:
            message_id = str(record.get("messageId", ""))
            try:
                job = MailJob.from_json(record.get("body", ""))
                connection.send(job)
            except MalformedJob as exc:
                logger.error("message %s is not a mail job (%s)", message_id, exc)
                failures.append({"itemIdentifier": message_id})
            except (smtplib.SMTPException, OSError) as exc:
                logger.warning("message %s: SMTP send failed: %s", message_id, exc)
                failures.append({"itemIdentifier": message_id})
            else:
                logger.info("message %s: %s mail sent", message_id, job.kind)
    finally:
        connection.close()
    return {"batchItemFailures": failures}


# Lambda's Init phase: a bad setting fails here, not at the first message.
SETTINGS = SmtpSettings.from_env()


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """MailerFunction: one SQS batch in, the failed messages out."""
    return send_batch(event, SETTINGS)
