"""Helpers for running examples/auth-service under ``overcast up``.

The template reads its signing keys and database URL from the secret store
(``secret/data/auth-service``), so :func:`seeded_copy` copies the app and seeds its
development secrets with the app's own script, as ``make up`` does; start it with
``running_app(app_dir, copy=False, ...)``. Argon2 runs at test cost through the
template's parameters (the defaults stay production-grade). ``pg_schema`` gives a
PostgreSQL URL into a fresh schema whose connections carry a unique
``application_name``, dropped after the test. :class:`SmtpInbox` is a real SMTP
server (aiosmtpd) that keeps the mails the app's mailer sends; :func:`smtp_overrides`
points the template's SMTP parameters (and the mailer's network grant) at it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

AUTH_SERVICE = Path(__file__).resolve().parents[3] / "examples" / "auth-service"
SECRET = "auth-service"

PG_URLS = ("postgresql://postgres@127.0.0.1:5432/test", "postgresql://root@127.0.0.1:5432/test")

FAST = (
    "Argon2TimeCost=1",
    "Argon2MemoryCostKiB=1024",
    "Argon2Parallelism=1",
)


def seeded_copy(dest_parent: Path) -> Path:
    """Copy examples/auth-service under ``dest_parent`` and seed its development secrets."""
    app_dir = dest_parent / AUTH_SERVICE.name
    shutil.copytree(
        AUTH_SERVICE, app_dir, ignore=shutil.ignore_patterns(".overcast", "__pycache__")
    )
    seed = subprocess.run(
        [sys.executable, str(app_dir / "scripts" / "seed_dev_secrets.py"), str(app_dir)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert seed.returncode == 0, seed.stderr.decode()
    assert b"DEVELOPMENT" in seed.stderr
    return app_dir


def development_key_set(app_dir: Path) -> str:
    """A development signing key set, made by the app's own seeding script."""
    spec = importlib.util.spec_from_file_location(
        "seed_dev_secrets", app_dir / "scripts" / "seed_dev_secrets.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keys: str = module.development_key_set()
    return keys


def stored_keys(app: Any) -> list[dict[str, Any]]:
    """The key list in the store's ``auth-service`` secret, read with `overcast secrets get`."""
    got = app.cli(
        "secrets", "get", SECRET, "--field", "jwt_private_keys", "--app", str(app.app_dir)
    )
    assert got.returncode == 0, got.stderr.decode()
    keys: list[dict[str, Any]] = json.loads(got.stdout)
    return keys


def migrate(app: Any) -> dict[str, object]:
    """Run MigrateFunction through the signed Lambda Invoke API, as `overcast invoke` would."""
    with app.admin_client() as client:
        response = client.post("/2015-03-31/functions/MigrateFunction/invocations", content=b"{}")
    assert response.status_code == 200, response.text
    assert "X-Amz-Function-Error" not in response.headers, response.text
    result: dict[str, object] = response.json()
    return result


@dataclass
class PgSchema:
    admin_url: str
    name: str

    @classmethod
    def create(cls) -> PgSchema:
        """A fresh schema in the local PostgreSQL (drop it with :meth:`drop`)."""
        admin = pg_admin_url()
        schema = cls(admin, f"auth_e2e_{uuid.uuid4().hex[:12]}")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema.name}"')
        return schema

    def drop(self) -> None:
        """Drop the schema, after ending the app's connections to it."""
        self.terminate()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.name}" CASCADE')

    @property
    def database_url(self) -> str:
        return f"{self.admin_url}?options=-csearch_path%3D{self.name}&application_name={self.name}"

    def connections(self) -> int:
        """Open connections of the app (by its application_name)."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (self.name,)
            ).fetchone()
        assert row is not None
        return int(row[0])

    def terminate(self) -> int:
        """Kill the app's connections, as a database restart would."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (self.name,),
            ).fetchall()
        return len(rows)


def pg_admin_url() -> str:
    """The local PostgreSQL's ``test`` database; fails the test clearly when it is down."""
    errors = []
    for url in PG_URLS:
        try:
            with psycopg.connect(url, connect_timeout=3):
                return url
        except psycopg.OperationalError as exc:
            errors.append(str(exc))
    pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432/test: {errors}")


#: how long :meth:`SmtpInbox.take` waits for a mail that the test expects
MAIL_WAIT_S = 60.0


class SmtpInbox:
    """A local SMTP server (aiosmtpd, in a thread) keeping every mail it accepts."""

    def __init__(self) -> None:
        self._mails: list[Message] = []
        self._arrived = threading.Condition()
        # aiosmtpd connects to its own port to know it is up, so it needs a real one.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpInbox:
        self._controller.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._controller.stop()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mail = message_from_bytes(envelope.original_content or b"")
        with self._arrived:
            self._mails.append(mail)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def take(self, to: str, timeout_s: float = MAIL_WAIT_S) -> Message:
        """The first mail to ``to`` (removed from the inbox), waiting for it to arrive."""

        def first() -> Message | None:
            return next((m for m in self._mails if m["To"] == to), None)

        with self._arrived:
            self._arrived.wait_for(lambda: first() is not None, timeout_s)
            mail = first()
            assert mail is not None, f"no mail to {to} within {timeout_s} s"
            self._mails.remove(mail)
            return mail


def smtp_overrides(port: int) -> list[str]:
    """Parameter overrides sending the app's mail to 127.0.0.1:``port``, without login."""
    return [
        "SmtpHost=127.0.0.1",
        f"SmtpPort={port}",
        "SmtpUsername=",
        "SmtpPassword=",
        f"SmtpEndpoint=127.0.0.1:{port}",
    ]
