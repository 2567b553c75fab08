"""Seed DEVELOPMENT secrets for the auth service into overcast's store, once.

The template reads its signing keys and database URL from the secret ``auth-service``
(keys ``jwt_private_keys`` and ``database_url``). On a fresh clone that secret does
not exist yet, so ``make up`` runs this first: when the app's store has no
``auth-service`` secret, it generates one ES256 (P-256) key, marked ``development``,
and writes it with an empty ``database_url`` (= SQLite in the state folder) through
``overcast secrets put`` (which talks to the running node if there is one). Likewise
the secret ``auth-service-smtp`` (keys ``host``, ``port``, ``username``, ``password``)
gets a local development SMTP server, 127.0.0.1:1025 without login (e.g. ``python -m
aiosmtpd -n -l 127.0.0.1:1025`` prints every mail). An existing secret is left alone,
whatever it holds.

Usage: python scripts/seed_dev_secrets.py [APP_DIR]   (default: this script's app)
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from overcast.control.app_loading import find_template, state_dir_for
from overcast.secrets import SecretNotFoundError, SecretsError, open_secrets

SECRET = "auth-service"
SMTP_SECRET = "auth-service-smtp"
#: the development mail server: a local debugging SMTP server, no login
DEV_SMTP = ("host=127.0.0.1", "port=1025", "username=", "password=")
APP_DIR = Path(__file__).resolve().parent.parent


def development_key_set() -> str:
    """JWT_PRIVATE_KEYS as authcore reads it: ``[{"kid", "private_key", "development"}]``."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = f"dev-{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}"
    return json.dumps([{"kid": kid, "private_key": pem, "development": True}])


def has_secret(app_dir: Path, name: str = SECRET) -> bool:
    """Whether the app's store already holds a readable secret ``name``."""
    store = open_secrets(state_dir_for(find_template(app_dir))).store
    try:
        store.read(name)
    except SecretNotFoundError:
        return False
    return True


def overcast_command() -> list[str]:
    """The overcast CLI installed next to this interpreter."""
    script = Path(sys.executable).parent / "overcast"
    return [str(script)] if script.exists() else [sys.executable, "-m", "overcast.cli.main"]


def seed_smtp(app_dir: Path) -> int:
    """Seed ``auth-service-smtp`` with the development mail server unless it exists."""
    if has_secret(app_dir, SMTP_SECRET):
        print(f"secret {SMTP_SECRET!r} is already in the store: using it", file=sys.stderr)
        return 0
    put = subprocess.run(
        [*overcast_command(), "secrets", "put", SMTP_SECRET, *DEV_SMTP, "--app", str(app_dir)],
        check=False,
    )
    if put.returncode == 0:
        print(
            f"wrote {SMTP_SECRET!r}: mail goes to a development SMTP server on 127.0.0.1:1025 "
            "(run `python -m aiosmtpd -n -l 127.0.0.1:1025` to see it)",
            file=sys.stderr,
        )
    return put.returncode


def main(argv: list[str]) -> int:
    """Seed the secrets unless they exist; 0 on success or when there was nothing to do."""
    app_dir = Path(argv[0]) if argv else APP_DIR
    try:
        smtp = seed_smtp(app_dir)
        if smtp != 0:
            return smtp
        if has_secret(app_dir):
            print(f"secret {SECRET!r} is already in the store: using it", file=sys.stderr)
            return 0
    except SecretsError as exc:
        print(f"cannot read the secret store: {exc}", file=sys.stderr)
        return 1
    put = subprocess.run(
        [
            *overcast_command(),
            "secrets",
            "put",
            SECRET,
            "database_url=",
            "--stdin",
            "jwt_private_keys",
            "--app",
            str(app_dir),
        ],
        input=development_key_set().encode(),
        check=False,
    )
    if put.returncode != 0:
        return put.returncode
    print(
        f"wrote DEVELOPMENT secrets to {SECRET!r}: a freshly generated ES256 signing key "
        "and database_url='' (SQLite). NOT FOR PRODUCTION: put your own keys with "
        f"`overcast secrets put {SECRET} --stdin jwt_private_keys --prompt database_url`.",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
