"""The mails the service sends: jobs handed to an outbox, and the text they become.

The service never talks SMTP itself: it hands a :class:`MailJob` to an *outbox* (a
callable; the Lambda adapter's puts it on the mail queue as JSON) and a separate mailer
turns each job into a message with :func:`compose` and sends it. A request therefore
costs one queue write, a slow or unreachable mail server delays no response, and a
failed send is retried by the queue, not by the user.

Jobs carry the link with its token: the mail must contain it, and the queue is the
service's own. Only hashes of the tokens are ever stored in the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

logger = logging.getLogger("authcore")

#: what each kind of job tells the user
KINDS = ("verify_email", "password_reset", "password_reset_unknown")


class MalformedJob(ValueError):
    """A queue message that is not a mail job (it goes to the dead-letter queue)."""


@dataclass(frozen=True)
class MailJob:
    """One mail to send: its kind, the recipient, the link (if any) and its lifetime."""

    kind: str
    to: str
    link: str = ""
    expires_in_s: int = 0

    def to_json(self) -> str:
        """The job as a queue message body."""
        fields = {"kind": self.kind, "to": self.to, "link": self.link}
        return json.dumps({**fields, "expires_in_s": self.expires_in_s}, separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> MailJob:
        """Parse a queue message body; :class:`MalformedJob` if it is not a job."""
        try:
            data = json.loads(body)
        except (TypeError, ValueError):
            raise MalformedJob("the message is not JSON") from None
        if not isinstance(data, dict):
            raise MalformedJob("the message is not a JSON object")
        kind, to = data.get("kind"), data.get("to")
        link, expires = data.get("link", ""), data.get("expires_in_s", 0)
        if kind not in KINDS:
            raise MalformedJob(f"unknown mail kind {kind!r}")
        if not isinstance(to, str) or "@" not in to or any(c in to for c in "\r\n,<>"):
            raise MalformedJob("the recipient is not one address")
        if not isinstance(link, str) or not isinstance(expires, int):
            raise MalformedJob("link must be a string and expires_in_s an integer")
        return cls(kind, to, link, expires)


#: where the service hands its jobs
Outbox = Callable[[MailJob], None]


def no_outbox(job: MailJob) -> None:
    """The outbox of a service configured without a mail queue: the mail is dropped, loudly."""
    logger.warning("no mail queue configured: %s mail to %s not sent", job.kind, job.to)


def _minutes(seconds: int) -> str:
    if seconds >= 7200:
        return f"{seconds // 3600} hours"
    return f"{max(1, seconds // 60)} minutes"


def compose(job: MailJob, sender: str) -> EmailMessage:
    """The message for ``job``, from ``sender``: plain text, one link."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = job.to
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    if job.kind == "verify_email":
        message["Subject"] = "Confirm your e-mail address"
        text = (
            "Welcome! Confirm that this address is yours by opening this link:\n\n"
            f"{job.link}\n\n"
            f"The link works once and expires in {_minutes(job.expires_in_s)}.\n"
        )
    elif job.kind == "password_reset":
        message["Subject"] = "Reset your password"
        text = (
            "Someone (hopefully you) asked to reset the password of this account.\n"
            "Choose a new password with this link:\n\n"
            f"{job.link}\n\n"
            f"The link works once and expires in {_minutes(job.expires_in_s)}. "
            "If you did not ask, ignore this mail: your password stays as it is.\n"
        )
    else:
        # Answering an unknown address by mail (not by the HTTP response) keeps the API
        # from revealing which addresses have accounts, and tells the owner why no link came.
        message["Subject"] = "Password reset requested"
        text = (
            "Someone asked to reset the password of an account with this address, but "
            "there is no account with it. If you did not ask, ignore this mail.\n"
        )
    message.set_content(text)
    return message
