"""examples/auth-service's mails end to end under `overcast up`: verification at
registration and password reset, through the mail queue, the sandboxed mailer and a
real SMTP server (aiosmtpd); and the purge function.

AuthFunction puts each mail job on MailQueue with boto3 (its SQSSendMessagePolicy);
the test hands the queue's messages to MailerFunction as a Lambda SQS event, as the
queue's event source mapping does, and deletes what the mailer did not report failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import httpx
import pytest
from auth_e2e_helpers import FAST, SmtpInbox, migrate, seeded_copy, smtp_overrides
from botocore.config import Config

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
LINK = re.compile(r"(https?://\S+\?token=[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as inbox:
        yield inbox


@pytest.fixture(scope="module")
def app(module_running_app: Any, tmp_path_factory: pytest.TempPathFactory, inbox: SmtpInbox) -> Any:
    running = module_running_app(
        seeded_copy(tmp_path_factory.mktemp("seeded")),
        copy=False,
        parameter_overrides=[*FAST, *smtp_overrides(inbox.port)],
    )
    assert migrate(running)["status"] == "migrated"
    return running


@pytest.fixture(scope="module")
def sqs(app: Any) -> Any:
    creds = app.admin_credentials()
    return boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=app.admin_url,
        aws_access_key_id=creds.access_key_id,
        aws_secret_access_key=creds.secret_access_key,
        config=Config(retries={"max_attempts": 0}),
    )


@pytest.fixture
def client(app: Any) -> Iterator[httpx.Client]:
    with app.client() as client:
        yield client


def _mail_queue(sqs: Any) -> str:
    [url] = [u for u in sqs.list_queues()["QueueUrls"] if "MailQueue" in u]
    return str(url)


def _deliver(app: Any, sqs: Any) -> dict[str, Any]:
    """Hand the queue's messages to MailerFunction as one SQS event; delete the sent ones."""
    url = _mail_queue(sqs)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": {},
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "",
            "awsRegion": "us-east-1",
        }
        for m in messages.get("Messages", [])
    ]
    assert records, "no mail job on the queue"
    response = app.lambda_client().invoke(
        FunctionName="MailerFunction", Payload=json.dumps({"Records": records}).encode()
    )
    payload = response["Payload"].read()
    assert "FunctionError" not in response, payload
    result: dict[str, Any] = json.loads(payload)
    failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
    for record in records:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
    return result


def _link(app: Any, mail: Any) -> str:
    """The mail's link, aimed at this app (the links name the Issuer's host)."""
    # get_payload(decode=True) undoes the transfer encoding (quoted-printable for long lines)
    [link] = LINK.findall(mail.get_payload(decode=True).decode())
    parts = urlsplit(link)
    return f"{app.base_url}{parts.path}?{parts.query}"


def test_registration_mails_a_link_that_verifies_the_address(
    app: Any, sqs: Any, inbox: SmtpInbox, client: httpx.Client
) -> None:
    registered = client.post(
        "/auth/register", json={"email": "v@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    assert _deliver(app, sqs) == {"batchItemFailures": []}
    mail = inbox.take("v@example.com")
    assert mail["Subject"] == "Confirm your e-mail address"

    access = client.post("/auth/login", json={"email": "v@example.com", "password": PASSWORD})
    bearer = {"Authorization": f"Bearer {access.json()['access_token']}"}
    assert client.get("/auth/me", headers=bearer).json()["email_verified"] is False
    followed = client.get(_link(app, mail))
    assert followed.status_code == 200, followed.text
    assert followed.json() == {"status": "email_verified", "email": "v@example.com"}
    assert client.get("/auth/me", headers=bearer).json()["email_verified"] is True


def test_forgot_mails_a_single_use_reset_link(
    app: Any, sqs: Any, inbox: SmtpInbox, client: httpx.Client
) -> None:
    client.post("/auth/register", json={"email": "r@example.com", "password": PASSWORD})
    _deliver(app, sqs)
    inbox.take("r@example.com")

    forgot = client.post("/auth/password/forgot", json={"email": "r@example.com"})
    unknown = client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    assert (forgot.status_code, forgot.json()) == (unknown.status_code, unknown.json())
    assert forgot.status_code == 202
    assert _deliver(app, sqs) == {"batchItemFailures": []}
    assert inbox.take("nobody@example.com")["Subject"] == "Password reset requested"
    token = _link(app, inbox.take("r@example.com")).rpartition("token=")[2]

    reset = client.post("/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.text
    old = client.post("/auth/login", json={"email": "r@example.com", "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/auth/login", json={"email": "r@example.com", "password": NEW_PASSWORD})
    assert new.status_code == 200
    again = client.post(
        "/auth/password/reset", json={"token": token, "new_password": "yet another secret"}
    )
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_the_purge_function_runs_against_the_database(app: Any) -> None:
    response = app.lambda_client().invoke(FunctionName="PurgeFunction", Payload=b"{}")
    payload = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, payload
    assert set(payload) == {"refresh_tokens", "one_time_tokens", "login_attempts"}
