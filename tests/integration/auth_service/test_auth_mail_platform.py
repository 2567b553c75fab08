"""examples/auth-service's mail on a platform's dev stage (`overcast serve` + `deploy`).

The stage's own secrets name the SMTP server (``dev/auth-service-smtp``, read through
the template's dynamic references), the stage's own MailQueue carries the job, and its
event source mapping runs the stage's mailer: registration's verification link
arrives at the test's SMTP server and verifies the address.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from auth_e2e_helpers import AUTH_SERVICE, FAST, SmtpInbox, development_key_set

from process_helpers import RunningPlatform, start_platform

pytestmark = pytest.mark.slow

HOST = "dev.auth.test"
PASSWORD = "correct horse battery"
LINK = re.compile(r"(https?://\S+\?token=[A-Za-z0-9_-]+)")


@pytest.fixture
def inbox() -> Iterator[SmtpInbox]:
    with SmtpInbox() as inbox:
        yield inbox


@pytest.fixture
def platform(tmp_path: Path, inbox: SmtpInbox) -> Iterator[RunningPlatform]:
    platform = start_platform(tmp_path / "state", "--domain", "auth.test")
    try:
        app_dir = tmp_path / AUTH_SERVICE.name
        shutil.copytree(AUTH_SERVICE, app_dir, ignore=shutil.ignore_patterns(".overcast"))
        for argv, stdin in (
            (["dev/auth-service", "database_url=", "--stdin", "jwt_private_keys"], app_dir),
            (
                [
                    "dev/auth-service-smtp",
                    "host=127.0.0.1",
                    f"port={inbox.port}",
                    "username=",
                    "password=",
                ],
                None,
            ),
        ):
            put = platform.cli_plain(
                "secrets",
                "put",
                *argv,
                "--platform",
                str(platform.state_dir),
                input=development_key_set(stdin).encode() if stdin else b"",
            )
            assert put.returncode == 0, put.stderr.decode()
        overrides = [*FAST, f"SmtpEndpoint=127.0.0.1:{inbox.port}"]
        platform.deploy(app_dir, "dev", *(f"--parameter-overrides={o}" for o in overrides))
        migrated = platform.client().request(
            "POST", "/2015-03-31/functions/MigrateFunction/invocations?Qualifier=dev", b"{}"
        )
        assert migrated["status"] == "migrated", migrated
        yield platform
    finally:
        assert platform.stop() in (0, 130), platform.output()


def test_the_dev_stage_mails_a_verification_link_that_works(
    platform: RunningPlatform, inbox: SmtpInbox
) -> None:
    base = f"http://127.0.0.1:{platform.port}"
    with httpx.Client(base_url=base, headers={"Host": HOST}, timeout=30) as client:
        registered = client.post(
            "/auth/register", json={"email": "p@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        mail = inbox.take("p@example.com")
        [link] = LINK.findall(mail.get_payload(decode=True).decode())
        parts = urlsplit(link)
        followed = client.get(f"{parts.path}?{parts.query}")
        assert followed.status_code == 200, followed.text
        assert followed.json() == {"status": "email_verified", "email": "p@example.com"}
