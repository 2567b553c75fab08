"""The service's operations, each returning a :class:`Result` an adapter can send as is.

Adapters pass raw inputs (the body text, the Authorization header, the client IP);
parsing, validation, limits and error shapes all live here, so the Lambda handlers and
the FastAPI monolith answer byte-for-byte alike. Errors are JSON objects
``{"error": code, "message": text}`` plus ``"field"`` for a bad input.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authcore.config import Config
from authcore.keys import SigningKey, load_signing_keys
from authcore.mail import MailJob, Outbox, no_outbox
from authcore.passwords import Passwords
from authcore.ratelimit import LoginLimiter, account_key
from authcore.store import EmailTaken, SchemaMissing, Store, StoreUnavailable, open_store
from authcore.tokens import (
    InvalidToken,
    KeyRing,
    Tokens,
    hash_refresh_token,
    new_one_time_token,
    new_refresh_token,
)
from authcore.validation import (
    MAX_PASSWORD,
    MAX_TOKEN,
    ValidationError,
    email_field,
    parse_object,
    password_field,
    string_field,
    token_field,
)

logger = logging.getLogger("authcore")

#: RFC 6749 section 5.1: responses carrying tokens must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

#: purposes of single-use tokens
RESET = "password_reset"
VERIFY = "verify_email"

#: the window of :attr:`Config.reset_mails_per_hour`
RESET_MAIL_WINDOW_S = 3600

#: what `forgot` answers, whether or not the account exists
FORGOT_ACCEPTED = {
    "status": "accepted",
    "message": "if an account uses this address, a reset link is on its way",
}


@dataclass(frozen=True)
class Result:
    """An HTTP-shaped outcome: status, JSON body (None for no body), extra headers."""

    status: int
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def _error(status: int, code: str, message: str, **extra: Any) -> Result:
    headers = extra.pop("headers", {})
    return Result(status, {"error": code, "message": message, **extra}, headers)


def _unauthorized(message: str) -> Result:
    # RFC 6750 section 3: the challenge names the error for an invalid token.
    return _error(
        401,
        "invalid_token",
        message,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


class AuthService:
    """Register, log in, refresh, log out, profile, password change and reset, e-mail
    verification, JWKS, health, and the nightly purge."""

    def __init__(
        self,
        config: Config,
        store: Store,
        keys: list[SigningKey],
        clock: Callable[[], float] = time.time,
        development_keys: bool = False,
        *,
        outbox: Outbox = no_outbox,
    ) -> None:
        self.config = config
        self.outbox = outbox
        self.store = store
        self.clock = clock
        self.development_keys = development_keys
        self.passwords = Passwords(config.argon2)
        self.limiter = LoginLimiter(store, config.limits, clock)
        self.ring = KeyRing(keys, store, config.access_ttl_s, clock)
        self.tokens = Tokens(config, self.ring, clock)
        try:
            if store.schema_ready():
                self.ring.publish()
        except StoreUnavailable as exc:
            logger.warning("database unavailable at init (%s); key published later", exc)

    # -- helpers -----------------------------------------------------------------
    def _guarded(self, operation: Callable[[], Result]) -> Result:
        try:
            return operation()
        except ValidationError as exc:
            return _error(400, "invalid_request", exc.message, field=exc.field)
        except SchemaMissing:
            logger.error("the database schema is missing: run MigrateFunction")
            return _error(503, "unavailable", "the service's database is not migrated")
        except StoreUnavailable as exc:
            logger.error("database unavailable: %s", exc)
            return _error(503, "unavailable", "the database is unavailable; retry later")

    def _bearer(self, authorization: str | None) -> dict[str, Any]:
        if not authorization:
            raise InvalidToken("an Authorization: Bearer token is required")
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidToken("the Authorization header must be 'Bearer <token>'")
        if len(token) > MAX_TOKEN:
            raise InvalidToken("the token is too long")
        return self.tokens.verify(token)

    def _session(self, user_id: str) -> dict[str, Any]:
        """Tokens of a new login: a new refresh-token family."""
        family = uuid.uuid4().hex
        refresh, refresh_hash = new_refresh_token()
        now = self.clock()
        self.store.add_refresh(refresh_hash, family, user_id, now, now + self.config.refresh_ttl_s)
        access, expires_in = self.tokens.issue(user_id, family, self.config.token_scope)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": refresh,
            "refresh_expires_in": self.config.refresh_ttl_s,
            "scope": self.config.token_scope,
        }

    def _mail_token(self, kind: str, purpose: str, user_id: str, email: str, ttl_s: int) -> None:
        """Store a new single-use token for ``user_id`` and hand its mail to the outbox."""
        token, token_hash = new_one_time_token()
        now = self.clock()
        self.store.add_one_time_token(
            token_hash, purpose, user_id, email, now=now, expires_at=now + ttl_s
        )
        page = "verify" if purpose == VERIFY else "password/reset"
        link = f"{self.config.links_base}/{page}?token={token}"
        self._send(MailJob(kind, email, link, ttl_s))

    def _send(self, job: MailJob) -> None:
        # A queue that is down must not undo what the request did (the account exists,
        # the token is stored): the mail is lost and logged, the user can ask again.
        try:
            self.outbox(job)
        except Exception:
            logger.exception("could not queue the %s mail", job.kind)

    # -- operations --------------------------------------------------------------
    def register(self, body: str | bytes | None) -> Result:
        """POST /auth/register {email, password} → 201 {id, email}."""

        def run() -> Result:
            data = parse_object(body)
            email = email_field(data)
            password = password_field(data, "password", self.config.password_min_length)
            if not self.store.schema_ready():
                # Checked first: on an older schema the user row would be written and
                # the verification token not, leaving a 503 that a retry turns into 409.
                raise SchemaMissing("the schema is older than this code")
            password_hash = self.passwords.hash(password)
            try:
                user_id = self.store.create_user(email, password_hash)
            except EmailTaken:
                return _error(409, "email_taken", "this email is already registered", field="email")
            self._mail_token(VERIFY, VERIFY, user_id, email, self.config.verify_ttl_s)
            return Result(201, {"id": user_id, "email": email})

        return self._guarded(run)

    def login(self, body: str | bytes | None, client_ip: str | None) -> Result:
        """POST /auth/login {email, password} → 200 tokens; 401 alike for any bad pair."""

        def run() -> Result:
            data = parse_object(body)
            email = email_field(data)
            password = string_field(data, "password", MAX_PASSWORD)
            wait = self.limiter.blocked_for(email, client_ip)
            if wait is not None:
                return _error(
                    429,
                    "too_many_attempts",
                    "too many failed logins; try again later",
                    retry_after=wait,
                    headers={"Retry-After": str(wait)},
                )
            user = self.store.find_user_by_email(email)
            # The dummy hash is verified for unknown emails: same cost, same answer.
            matches = self.passwords.verify(user.password_hash if user else None, password)
            if user is None or not matches:
                self.limiter.record_failure(email, client_ip)
                return _error(401, "invalid_credentials", "invalid email or password")
            self.limiter.record_success(email)
            if self.passwords.needs_rehash(user.password_hash):
                self.store.set_password(user.id, self.passwords.hash(password))
            return Result(200, self._session(user.id), NO_STORE)

        return self._guarded(run)

    def refresh(self, body: str | bytes | None) -> Result:
        """POST /auth/refresh {refresh_token} → 200 new tokens; the old one is spent."""

        def run() -> Result:
            data = parse_object(body)
            token = token_field(data)
            new_token, new_hash = new_refresh_token()
            now = self.clock()
            outcome = self.store.rotate_refresh(
                hash_refresh_token(token), new_hash, now, now + self.config.refresh_ttl_s
            )
            if outcome.status == "reused":
                logger.warning("refresh token reuse: family %s revoked", outcome.family_id)
                return _error(
                    401,
                    "invalid_grant",
                    "refresh token already used; every session of this login is revoked",
                )
            if outcome.status != "ok":
                return _error(401, "invalid_grant", f"refresh token {outcome.status}")
            if self.store.find_user_by_id(outcome.user_id) is None:
                self.store.revoke_family(outcome.family_id, now)
                return _error(401, "invalid_grant", "refresh token unknown")
            access, expires_in = self.tokens.issue(
                outcome.user_id, outcome.family_id, self.config.token_scope
            )
            return Result(
                200,
                {
                    "access_token": access,
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                    "refresh_token": new_token,
                    "refresh_expires_in": self.config.refresh_ttl_s,
                    "scope": self.config.token_scope,
                },
                NO_STORE,
            )

        return self._guarded(run)

    def logout(self, body: str | bytes | None) -> Result:
        """POST /auth/logout {refresh_token} → 204; the token's whole family is revoked."""

        def run() -> Result:
            data = parse_object(body)
            token = token_field(data)
            family = self.store.family_of(hash_refresh_token(token))
            if family is not None:
                self.store.revoke_family(family, self.clock())
            # 204 for unknown tokens too: logout reveals nothing and is idempotent.
            return Result(204, None)

        return self._guarded(run)

    def me(self, authorization: str | None) -> Result:
        """GET /auth/me (Bearer access token) → 200 {id, email, scope}."""

        def run() -> Result:
            try:
                claims = self._bearer(authorization)
            except InvalidToken as exc:
                return _unauthorized(str(exc))
            user = self.store.find_user_by_id(str(claims["sub"]))
            if user is None:
                return _unauthorized("the token's user no longer exists")
            return Result(
                200,
                {
                    "id": user.id,
                    "email": user.email,
                    "email_verified": self.store.email_verified(user.id, user.email),
                    "scope": claims.get("scope", ""),
                },
            )

        return self._guarded(run)

    def change_password(self, authorization: str | None, body: str | bytes | None) -> Result:
        """POST /auth/password {current_password, new_password} → 200; other sessions revoked."""

        def run() -> Result:
            try:
                claims = self._bearer(authorization)
            except InvalidToken as exc:
                return _unauthorized(str(exc))
            data = parse_object(body)
            current = string_field(data, "current_password", MAX_PASSWORD)
            new = password_field(data, "new_password", self.config.password_min_length)
            user = self.store.find_user_by_id(str(claims["sub"]))
            if user is None:
                return _unauthorized("the token's user no longer exists")
            wait = self.limiter.blocked_for(user.email, None)
            if wait is not None:
                return _error(
                    429,
                    "too_many_attempts",
                    "too many failed attempts; try again later",
                    retry_after=wait,
                    headers={"Retry-After": str(wait)},
                )
            if not self.passwords.verify(user.password_hash, current):
                self.limiter.record_failure(user.email, None)
                return _error(
                    403,
                    "invalid_credentials",
                    "the current password is wrong",
                    field="current_password",
                )
            self.store.set_password(user.id, self.passwords.hash(new))
            session = claims.get("sid")
            self.store.revoke_user_sessions(
                user.id, session if isinstance(session, str) else None, self.clock()
            )
            return Result(200, {"status": "password_changed"})

        return self._guarded(run)

    def forgot_password(self, body: str | bytes | None) -> Result:
        """POST /auth/password/forgot {email} → 202, the same for every address.

        Known or not, one mail job is queued (a reset link, or a note that no account
        uses the address), so neither the answer nor its timing tells them apart.
        """

        def run() -> Result:
            email = email_field(parse_object(body))
            if not self._may_mail_reset(email):
                logger.warning("reset mails to one address over the hourly limit: none sent")
                return Result(202, dict(FORGOT_ACCEPTED))
            user = self.store.find_user_by_email(email)
            if user is None:
                self._send(MailJob("password_reset_unknown", email))
            else:
                self._mail_token(RESET, RESET, user.id, user.email, self.config.reset_ttl_s)
            return Result(202, dict(FORGOT_ACCEPTED))

        return self._guarded(run)

    def _may_mail_reset(self, email: str) -> bool:
        """Count one reset mail to ``email``; False once the hour's allowance is spent.

        Counted per address, known or not, in the failed-login table under a key of its
        own, so every instance sees the same count and unknown addresses count alike.
        """
        key = f"reset-mail:{email.lower()}"
        now = self.clock()
        since = now - RESET_MAIL_WINDOW_S
        count, _oldest = self.store.failures_since(key, since)
        if count >= self.config.reset_mails_per_hour:
            return False
        self.store.add_failure([key], now, since)
        return True

    def reset_password(self, body: str | bytes | None) -> Result:
        """POST /auth/password/reset {token, new_password} → 200; every login revoked.

        The token is spent only once the new password passed the policy, so a too-short
        password can be corrected with the same link.
        """

        def run() -> Result:
            data = parse_object(body)
            token = token_field(data, "token")
            new = password_field(data, "new_password", self.config.password_min_length)
            now = self.clock()
            spent = self.store.spend_one_time_token(hash_refresh_token(token), RESET, now)
            user = self.store.find_user_by_id(spent.user_id) if spent.status == "ok" else None
            if user is None or user.email.lower() != spent.email.lower():
                return _error(
                    400,
                    "invalid_grant",
                    "the reset link is invalid, used or expired",
                    field="token",
                )
            self.store.set_password(user.id, self.passwords.hash(new))
            self.store.spend_user_tokens(user.id, RESET, now)
            self.store.revoke_user_sessions(user.id, None, now)
            # Whoever was guessing the old password has lost; the owner may log in now.
            self.store.clear_failures(account_key(user.email))
            # The link arrived at the address: that proves the address as well.
            self.store.mark_email_verified(user.id, user.email, now)
            return Result(200, {"status": "password_reset"})

        return self._guarded(run)

    def verify_email(self, token: str | None) -> Result:
        """GET/POST /auth/verify?token= → 200 once the address is verified.

        A link opened twice (mail scanners open links too) still answers 200 while the
        address stays verified; an unknown, expired or foreign token is a 400.
        """

        def run() -> Result:
            if not token:
                raise ValidationError("token", "is required")
            if len(token) > MAX_TOKEN:
                raise ValidationError("token", f"must be at most {MAX_TOKEN} characters")
            now = self.clock()
            spent = self.store.spend_one_time_token(hash_refresh_token(token), VERIFY, now)
            user = self.store.find_user_by_id(spent.user_id) if spent.user_id else None
            current = user is not None and user.email.lower() == spent.email.lower()
            if user is not None and current and spent.status == "ok":
                self.store.mark_email_verified(user.id, user.email, now)
                return Result(200, {"status": "email_verified", "email": user.email})
            already = spent.status == "used" and user is not None and current
            if already and user is not None and self.store.email_verified(user.id, user.email):
                return Result(200, {"status": "email_verified", "email": user.email})
            return _error(
                400,
                "invalid_grant",
                "the verification link is invalid, used or expired",
                field="token",
            )

        return self._guarded(run)

    def purge(self) -> Result:
        """The nightly purge: expired refresh and single-use tokens, old failed logins."""

        def run() -> Result:
            now = self.clock()
            # Failed logins and reset-mail counts alike: both outlive their window no more.
            window = max(self.config.limits.window_s, RESET_MAIL_WINDOW_S)
            counts = self.store.purge(now, now - window)
            logger.info("purged %s", counts)
            return Result(
                200,
                {
                    "refresh_tokens": counts.refresh_tokens,
                    "one_time_tokens": counts.one_time_tokens,
                    "login_attempts": counts.login_attempts,
                },
            )

        return self._guarded(run)

    def jwks(self) -> Result:
        """GET /auth/.well-known/jwks.json → the public keys, cacheable for a few minutes."""
        return self._guarded(
            lambda: Result(200, self.ring.jwks(), {"Cache-Control": "public, max-age=300"})
        )

    def openid_configuration(self) -> Result:
        """GET /auth/.well-known/openid-configuration: where a JWT authorizer finds the JWKS.

        API Gateway's JWT authorizer reads ``{issuer}/.well-known/openid-configuration``
        and then its ``jwks_uri``:
        https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-jwt-authorizer.html
        """
        issuer = self.config.issuer.rstrip("/")
        return Result(
            200,
            {
                "issuer": self.config.issuer,
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": sorted(
                    {key.alg for key in self.ring.keys}
                ),
                "response_types_supported": ["token"],
                "subject_types_supported": ["public"],
            },
            {"Cache-Control": "public, max-age=300"},
        )

    def health(self) -> Result:
        """GET /auth/health → 200 when the database answers and is migrated, else 503."""
        try:
            self.store.ping()
        except StoreUnavailable:
            return Result(503, {"status": "unavailable", "database": "unreachable"})
        if not self.store.schema_ready():
            return Result(503, {"status": "unavailable", "database": "not migrated"})
        body: dict[str, Any] = {"status": "ok", "database": "ok"}
        if self.development_keys:
            body["signing_keys"] = "development"
        return Result(200, body)

    def migrate(self) -> Result:
        """Create or upgrade the schema (the MigrateFunction), then publish the active key."""

        def run() -> Result:
            version = self.store.migrate()
            self.ring.publish()
            return Result(200, {"status": "migrated", "schema_version": version})

        return self._guarded(run)


def build_service(
    env: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    outbox: Outbox = no_outbox,
) -> AuthService:
    """Config from ``env``, the store's connection and the signing keys: one per process."""
    config = Config.from_env(env)
    store = open_store(config)
    keys, development = load_signing_keys(config)
    return AuthService(config, store, keys, clock, development, outbox=outbox)
