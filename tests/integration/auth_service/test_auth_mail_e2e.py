"""examples/auth-service's mails end to end under `overcast up`: verification at
registration and password reset, through the mail queue, its event source mapping, the
sandboxed mailer and a real SMTP server (aiosmtpd); and the purge function. On SQLite
and on PostgreSQL.

AuthFunction puts each mail job on MailQueue with boto3 (its SQSSendMessagePolicy);
the queue's `Events: Type: SQS` mapping hands the jobs to MailerFunction, which sends
them to the test's SMTP server, where the test reads the link and follows it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from auth_e2e_helpers import FAST, PgSchema, SmtpInbox, migrate, seeded_copy, smtp_overrides

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new secret"
LINK = re.compile(r"(https?://\S+\?token=[A-Za-z0-9_-]+)")


@pytest.fixture(scope="module")
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as inbox:
        yield inbox


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(
    request: pytest.FixtureRequest,
    module_running_app: Any,
    tmp_path_factory: pytest.TempPathFactory,
    inbox: SmtpInbox,
) -> Iterator[Any]:
    overrides = [*FAST, *smtp_overrides(inbox.port)]
    schema: PgSchema | None = None
    if request.param == "postgresql":
        schema = PgSchema.create()
        overrides += [f"DatabaseUrl={schema.database_url}", "DatabaseEndpoint=127.0.0.1:5432"]
    try:
        running = module_running_app(
            seeded_copy(tmp_path_factory.mktemp("seeded")),
            copy=False,
            parameter_overrides=overrides,
        )
        assert migrate(running)["status"] == "migrated"
        yield running
        assert running.stop() in (0, 130), running.output()
    finally:
        if schema is not None:
            schema.drop()


@pytest.fixture
def client(app: Any) -> Iterator[httpx.Client]:
    with app.client() as client:
        yield client


def _link(app: Any, mail: Any) -> str:
    """The mail's link, aimed at this app (the links name the Issuer's host)."""
    # get_payload(decode=True) undoes the transfer encoding (quoted-printable for long lines)
    [link] = LINK.findall(mail.get_payload(decode=True).decode())
    parts = urlsplit(link)
    return f"{app.base_url}{parts.path}?{parts.query}"


def test_registration_mails_a_link_that_verifies_the_address(
    app: Any, inbox: SmtpInbox, client: httpx.Client
) -> None:
    registered = client.post(
        "/auth/register", json={"email": "v@example.com", "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
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
    app: Any, inbox: SmtpInbox, client: httpx.Client
) -> None:
    client.post("/auth/register", json={"email": "r@example.com", "password": PASSWORD})
    inbox.take("r@example.com")

    forgot = client.post("/auth/password/forgot", json={"email": "r@example.com"})
    unknown = client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    assert (forgot.status_code, forgot.json()) == (unknown.status_code, unknown.json())
    assert forgot.status_code == 202
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
