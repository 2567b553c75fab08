"""Settings of the service, read once from the environment at init.

Every knob is declared once in :class:`Config` with its environment variable and its
default; :meth:`Config.from_env` parses and checks them all and raises
:class:`ConfigError` naming the variable on a bad value, so a misconfigured function
fails its Init instead of its first request.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("authcore")

#: One SQL identifier, optionally schema-qualified; names are quoted, but only these pass.
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class UsersMapping:
    """Where the users live: table and columns of an existing application table, or ours."""

    table: str = "users"
    id_column: str = "id"
    email_column: str = "email"
    password_column: str = "password_hash"
    #: "text" or "integer": how the id column's values are compared with a token's ``sub``
    id_type: str = "text"


@dataclass(frozen=True)
class Argon2Settings:
    """Argon2id cost; the defaults follow RFC 9106's second recommended option (64 MiB)."""

    time_cost: int = 3
    memory_cost_kib: int = 65536
    parallelism: int = 1


@dataclass(frozen=True)
class RateLimits:
    """Failed logins allowed per sliding window, per account and per client IP."""

    per_account: int = 5
    per_ip: int = 20
    window_s: int = 900


@dataclass(frozen=True)
class Config:
    """Everything the service needs, built once per process by :meth:`from_env`."""

    state_dir: Path
    database_url: str
    db_application_name: str = "auth-service"
    users: UsersMapping = field(default_factory=UsersMapping)
    issuer: str = "http://127.0.0.1:3000/auth"
    audience: str = "overcast-example"
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 24 * 3600
    token_scope: str = "notes:read notes:write"
    argon2: Argon2Settings = field(default_factory=Argon2Settings)
    limits: RateLimits = field(default_factory=RateLimits)
    password_min_length: int = 8
    #: JWT_PRIVATE_KEYS as given (JSON list of {kid, private_key} or one PEM); None = dev keys
    private_keys: str | None = None
    #: algorithm of generated development keys: "ES256" (P-256; what API Gateway's JWT
    #: authorizers accept, with RS*) or "EdDSA" (Ed25519; fine for the issuer's own checks)
    dev_key_algorithm: str = "ES256"
    #: lifetime of a password-reset token (single use)
    reset_ttl_s: int = 30 * 60
    #: lifetime of an e-mail verification token (single use)
    verify_ttl_s: int = 48 * 3600
    #: reset mails sent to one address per hour at most (more `forgot` calls answer the
    #: same 202 but queue nothing: the endpoint cannot be used to flood a mailbox)
    reset_mails_per_hour: int = 5
    #: where the links in mails point: the service's public base URL (``.../auth`` is
    #: appended); empty = the issuer, which is the auth service's own URL
    public_url: str = ""

    @property
    def links_base(self) -> str:
        """The base of the links mailed to users, ending in ``/auth``."""
        if self.public_url:
            return self.public_url.rstrip("/") + "/auth"
        return self.issuer.rstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Parse the settings from ``env`` (default ``os.environ``)."""
        source = os.environ if env is None else env

        def text(name: str, default: str) -> str:
            value = source.get(name, "").strip()
            return value or default

        def number(name: str, default: int, minimum: int = 1) -> int:
            raw = source.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
            if value < minimum:
                raise ConfigError(f"{name} must be at least {minimum}, got {value}")
            return value

        def identifier(name: str, default: str) -> str:
            value = text(name, default)
            if not _IDENTIFIER.match(value):
                raise ConfigError(f"{name} must be an SQL identifier like users or app.users")
            return value

        state_dir = _state_dir(source.get("AUTH_STATE_DIR", "").strip())
        database_url = text("DATABASE_URL", f"sqlite:///{state_dir / 'auth.sqlite3'}")
        if not database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ConfigError(
                "DATABASE_URL must start with sqlite:///, postgresql:// or postgres://"
            )
        id_type = text("USERS_ID_TYPE", "text")
        if id_type not in ("text", "integer"):
            raise ConfigError("USERS_ID_TYPE must be text or integer")
        dev_alg = text("JWT_DEV_KEY_ALGORITHM", "ES256")
        if dev_alg not in ("EdDSA", "ES256"):
            raise ConfigError("JWT_DEV_KEY_ALGORITHM must be EdDSA or ES256")
        return cls(
            state_dir=state_dir,
            database_url=database_url,
            db_application_name=text("AUTH_DB_APPLICATION_NAME", "auth-service"),
            users=UsersMapping(
                table=identifier("USERS_TABLE", "users"),
                id_column=identifier("USERS_ID_COLUMN", "id"),
                email_column=identifier("USERS_EMAIL_COLUMN", "email"),
                password_column=identifier("USERS_PASSWORD_COLUMN", "password_hash"),
                id_type=id_type,
            ),
            issuer=text("JWT_ISSUER", "http://127.0.0.1:3000/auth"),
            audience=text("JWT_AUDIENCE", "overcast-example"),
            access_ttl_s=number("ACCESS_TOKEN_TTL_SECONDS", 900),
            refresh_ttl_s=number("REFRESH_TOKEN_TTL_SECONDS", 30 * 24 * 3600),
            token_scope=text("TOKEN_SCOPE", "notes:read notes:write"),
            argon2=Argon2Settings(
                time_cost=number("ARGON2_TIME_COST", 3),
                memory_cost_kib=number("ARGON2_MEMORY_COST_KIB", 65536, minimum=8),
                parallelism=number("ARGON2_PARALLELISM", 1),
            ),
            limits=RateLimits(
                per_account=number("LOGIN_MAX_FAILURES_PER_ACCOUNT", 5),
                per_ip=number("LOGIN_MAX_FAILURES_PER_IP", 20),
                window_s=number("LOGIN_FAILURE_WINDOW_SECONDS", 900),
            ),
            password_min_length=number("PASSWORD_MIN_LENGTH", 8),
            private_keys=source.get("JWT_PRIVATE_KEYS", "").strip() or None,
            dev_key_algorithm=dev_alg,
            reset_ttl_s=number("RESET_TOKEN_TTL_SECONDS", 30 * 60),
            verify_ttl_s=number("VERIFY_TOKEN_TTL_SECONDS", 48 * 3600),
            reset_mails_per_hour=number("RESET_MAILS_PER_HOUR", 5),
            public_url=_public_url(source.get("PUBLIC_URL", "").strip()),
        )


def _public_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ConfigError("PUBLIC_URL must start with http:// or https://")
    return value


def _state_dir(configured: str) -> Path:
    """The writable folder for the SQLite file and development keys.

    A relative AUTH_STATE_DIR is taken from the working directory (the function's code
    folder under overcast, so ``../.overcast/auth-service`` lands in the app's state
    folder). Where it cannot be created — on AWS the code folder is read-only — the
    function's /tmp is used instead, loudly.
    """
    fallback = Path(tempfile.gettempdir()) / "auth-service"
    candidate = Path(configured).resolve() if configured else fallback
    try:
        candidate.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if candidate == fallback:
            raise ConfigError(f"cannot create the state folder {candidate}: {exc}") from exc
        logger.warning("AUTH_STATE_DIR %s is not writable (%s); using %s", candidate, exc, fallback)
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback
    return candidate
