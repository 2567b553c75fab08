"""Storage: one small interface (:class:`Store`), two backends (SQLite, PostgreSQL).

The service's own tables (``refresh_tokens``, ``login_attempts``, ``signing_keys``,
``one_time_tokens``, ``email_verifications``, ``auth_schema_version``) sit beside the
users table, which may be an existing application table mapped by
:class:`~authcore.config.UsersMapping`. The schema is created only by
:meth:`Store.migrate` (idempotent, versioned); a request against a missing schema
raises :class:`SchemaMissing` instead of creating anything.

Each process holds one connection, opened at init and reused. A connection that died
(database restarted, backend terminated) is replaced and the statement retried once,
so callers see a restart as one slower request, not an error.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from authcore.config import Config, UsersMapping

logger = logging.getLogger("authcore")

T = TypeVar("T")

SCHEMA_VERSION = 2


class StoreError(Exception):
    """Base of the storage errors."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, even after reconnecting once."""


class SchemaMissing(StoreError):
    """The service's tables do not exist: run the migration (MigrateFunction)."""


class EmailTaken(StoreError):
    """A user with this email already exists."""


@dataclass(frozen=True)
class UserRecord:
    id: str
    email: str
    password_hash: str


@dataclass(frozen=True)
class RotateOutcome:
    """What happened to a refresh token presented for rotation.

    ``status``: ``ok`` (rotated), ``reused`` (already spent: the family is now revoked),
    ``revoked``, ``expired`` or ``unknown``.
    """

    status: str
    user_id: str = ""
    family_id: str = ""


@dataclass(frozen=True)
class SpendOutcome:
    """What happened to a single-use token presented once.

    ``status``: ``ok`` (spent now), ``used`` (spent before), ``expired`` or ``unknown``.
    """

    status: str
    user_id: str = ""
    email: str = ""


@dataclass(frozen=True)
class PurgeCounts:
    """Rows removed by :meth:`Store.purge`, per table."""

    refresh_tokens: int
    one_time_tokens: int
    login_attempts: int


@dataclass(frozen=True)
class KeyRecord:
    kid: str
    alg: str
    jwk_json: str
    activated_at: float
    retired_at: float | None


Row = Sequence[Any]
Execute = Callable[[str, Sequence[Any]], list[Row]]


def _quote(name: str) -> str:
    return ".".join(f'"{part}"' for part in name.split("."))


class Store:
    """The storage interface; subclasses supply the connection and the SQL dialect."""

    #: exceptions after which the connection is replaced and the work retried once
    retryable: tuple[type[BaseException], ...] = ()
    real = "DOUBLE PRECISION"
    generated_id = ""

    def __init__(self, users: UsersMapping) -> None:
        self.users = users
        self._lock = threading.Lock()  # one connection per process; threads take turns
        self._conn: Any = None
        self._schema_ready = False

    # -- dialect hooks -----------------------------------------------------------
    def _connect(self) -> Any:
        raise NotImplementedError

    def _execute(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Row]:
        raise NotImplementedError

    @contextlib.contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        raise NotImplementedError
        yield  # pragma: no cover

    def _is_missing_table(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _is_unique_violation(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _lock_migration(self, execute: Execute) -> None:
        """Serialize concurrent migrations (inside the migration's transaction)."""

    def _is_disconnect(self, exc: BaseException) -> bool:
        """Whether ``exc`` means the connection is unusable (reconnect and retry once)."""
        return isinstance(exc, self.retryable)

    # -- connection management ---------------------------------------------------
    def open(self) -> None:
        """Open the process's connection now (at init), not at the first request."""
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()

    def close(self) -> None:
        """Close the connection; the next call opens a new one."""
        with self._lock:
            self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def _run(self, work: Callable[[Execute], T], transaction: bool = False) -> T:
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None:
                        self._conn = self._connect()
                    execute = functools.partial(self._execute, self._conn)

                    if not transaction:
                        return work(execute)
                    with self._transaction(self._conn):
                        return work(execute)
                except EmailTaken:
                    raise
                except Exception as exc:
                    if self._is_missing_table(exc):
                        raise SchemaMissing(str(exc)) from exc
                    if self._is_unique_violation(exc):
                        raise EmailTaken(str(exc)) from exc
                    if not self._is_disconnect(exc):
                        raise
                    self._drop()
                    if attempt == 2:
                        raise StoreUnavailable(str(exc)) from exc
                    logger.warning("database connection lost (%s); reconnecting", exc)
        raise StoreUnavailable("unreachable")  # pragma: no cover

    # -- schema ------------------------------------------------------------------
    def _ddl(self) -> list[str]:
        u = self.users
        users_table = _quote(u.table)
        real = self.real
        return [
            f"CREATE TABLE IF NOT EXISTS {users_table} ("
            f" {_quote(u.id_column)} TEXT PRIMARY KEY DEFAULT {self.generated_id},"
            f" {_quote(u.email_column)} TEXT NOT NULL UNIQUE,"
            f" {_quote(u.password_column)} TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS refresh_tokens ("
            " token_hash TEXT PRIMARY KEY, family_id TEXT NOT NULL, user_id TEXT NOT NULL,"
            f" created_at {real} NOT NULL, expires_at {real} NOT NULL,"
            f" used_at {real}, revoked_at {real}, replaced_by TEXT)",
            "CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id)",
            "CREATE INDEX IF NOT EXISTS refresh_tokens_user ON refresh_tokens (user_id)",
            "CREATE TABLE IF NOT EXISTS login_attempts ("
            f" attempt_key TEXT NOT NULL, failed_at {real} NOT NULL)",
            "CREATE INDEX IF NOT EXISTS login_attempts_key"
            " ON login_attempts (attempt_key, failed_at)",
            "CREATE TABLE IF NOT EXISTS signing_keys ("
            " kid TEXT PRIMARY KEY, alg TEXT NOT NULL, public_jwk TEXT NOT NULL,"
            f" activated_at {real} NOT NULL, retired_at {real})",
        ]

    def _ddl_v2(self) -> list[str]:
        real = self.real
        return [
            # Password-reset and e-mail verification tokens: SHA-256 only, single use.
            # ``email`` is the address the token was mailed to: a token for an address
            # the account no longer has proves nothing.
            "CREATE TABLE IF NOT EXISTS one_time_tokens ("
            " token_hash TEXT PRIMARY KEY, purpose TEXT NOT NULL, user_id TEXT NOT NULL,"
            f" email TEXT NOT NULL, created_at {real} NOT NULL, expires_at {real} NOT NULL,"
            f" used_at {real})",
            "CREATE INDEX IF NOT EXISTS one_time_tokens_user ON one_time_tokens (user_id, purpose)",
            "CREATE INDEX IF NOT EXISTS one_time_tokens_expiry ON one_time_tokens (expires_at)",
            # Beside the users table, which may be the application's own and is not altered.
            "CREATE TABLE IF NOT EXISTS email_verifications ("
            f" user_id TEXT PRIMARY KEY, email TEXT NOT NULL, verified_at {real} NOT NULL)",
            "CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens (expires_at)",
        ]

    def migrate(self) -> int:
        """Create or upgrade the schema (idempotent); return the schema version."""

        def work(execute: Execute) -> int:
            execute(
                "CREATE TABLE IF NOT EXISTS auth_schema_version"
                f" (version INTEGER NOT NULL, applied_at {self.real} NOT NULL)",
                (),
            )
            self._lock_migration(execute)
            rows = execute("SELECT MAX(version) FROM auth_schema_version", ())
            current = rows[0][0] or 0
            if current < 1:
                for statement in self._ddl():
                    execute(statement, ())
                execute(
                    "INSERT INTO auth_schema_version (version, applied_at) VALUES (?, ?)",
                    (1, time.time()),
                )
            if current < 2:
                for statement in self._ddl_v2():
                    execute(statement, ())
                execute(
                    "INSERT INTO auth_schema_version (version, applied_at) VALUES (?, ?)",
                    (2, time.time()),
                )
            return SCHEMA_VERSION

        version = self._run(work, transaction=True)
        self._schema_ready = True
        return version

    def schema_ready(self) -> bool:
        """Whether :meth:`migrate` has been run against this database."""
        if self._schema_ready:
            return True

        def work(execute: Execute) -> bool:
            rows = execute("SELECT MAX(version) FROM auth_schema_version", ())
            return bool(rows and (rows[0][0] or 0) >= SCHEMA_VERSION)

        try:
            self._schema_ready = self._run(work)
        except SchemaMissing:
            return False
        return self._schema_ready

    def ping(self) -> None:
        """Round-trip to the database (reconnecting if needed)."""
        self._run(lambda execute: execute("SELECT 1", ()))

    # -- users -------------------------------------------------------------------
    def _user_select(self) -> str:
        u = self.users
        return (
            f"SELECT {_quote(u.id_column)}, {_quote(u.email_column)},"
            f" {_quote(u.password_column)} FROM {_quote(u.table)}"
        )

    def _user_id_param(self, user_id: str) -> Any:
        return int(user_id) if self.users.id_type == "integer" else user_id

    @staticmethod
    def _user(rows: list[Row]) -> UserRecord | None:
        if not rows:
            return None
        row = rows[0]
        return UserRecord(str(row[0]), str(row[1]), str(row[2] or ""))

    def find_user_by_email(self, email: str) -> UserRecord | None:
        """The user whose email equals ``email`` ignoring case."""
        sql = f"{self._user_select()} WHERE lower({_quote(self.users.email_column)}) = ?"
        return self._run(lambda execute: self._user(execute(sql, (email.lower(),))))

    def find_user_by_id(self, user_id: str) -> UserRecord | None:
        """The user with this id (a token's ``sub``), or None."""
        try:
            param = self._user_id_param(user_id)
        except ValueError:
            return None
        sql = f"{self._user_select()} WHERE {_quote(self.users.id_column)} = ?"
        return self._run(lambda execute: self._user(execute(sql, (param,))))

    def create_user(self, email: str, password_hash: str) -> str:
        """Insert a user and return its id; :class:`EmailTaken` if the email exists."""
        u = self.users
        exists = f"SELECT 1 FROM {_quote(u.table)} WHERE lower({_quote(u.email_column)}) = ?"
        insert = (
            f"INSERT INTO {_quote(u.table)} ({_quote(u.email_column)}, {_quote(u.password_column)})"
            f" VALUES (?, ?) RETURNING {_quote(u.id_column)}"
        )

        def work(execute: Execute) -> str:
            # Checked first as well: an existing table may lack a unique constraint.
            if execute(exists, (email.lower(),)):
                raise EmailTaken(email)
            return str(execute(insert, (email, password_hash))[0][0])

        return self._run(work, transaction=True)

    def set_password(self, user_id: str, password_hash: str) -> None:
        """Replace a user's password hash."""
        u = self.users
        sql = (
            f"UPDATE {_quote(u.table)} SET {_quote(u.password_column)} = ?"
            f" WHERE {_quote(u.id_column)} = ?"
        )
        param = self._user_id_param(user_id)
        self._run(lambda execute: execute(sql, (password_hash, param)))

    # -- refresh tokens ----------------------------------------------------------
    def add_refresh(
        self, token_hash: str, family_id: str, user_id: str, now: float, expires_at: float
    ) -> None:
        """Store a new refresh token (its hash) in ``family_id``."""
        sql = (
            "INSERT INTO refresh_tokens (token_hash, family_id, user_id, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        self._run(lambda execute: execute(sql, (token_hash, family_id, user_id, now, expires_at)))

    def rotate_refresh(
        self, old_hash: str, new_hash: str, now: float, expires_at: float
    ) -> RotateOutcome:
        """Spend ``old_hash`` and store ``new_hash`` in its family, atomically.

        Presenting a spent token revokes its whole family (a stolen token was used).
        """

        def work(execute: Execute) -> RotateOutcome:
            rows = execute(
                "SELECT family_id, user_id, used_at, revoked_at, expires_at"
                f" FROM refresh_tokens WHERE token_hash = ?{self._for_update}",
                (old_hash,),
            )
            if not rows:
                return RotateOutcome("unknown")
            family_id, user_id, used_at, revoked_at, old_expiry = rows[0]
            if revoked_at is not None:
                return RotateOutcome("revoked", user_id, family_id)
            if used_at is not None:
                self._revoke_family(execute, family_id, now)
                return RotateOutcome("reused", user_id, family_id)
            if old_expiry <= now:
                return RotateOutcome("expired", user_id, family_id)
            execute(
                "UPDATE refresh_tokens SET used_at = ?, replaced_by = ? WHERE token_hash = ?",
                (now, new_hash, old_hash),
            )
            execute(
                "INSERT INTO refresh_tokens"
                " (token_hash, family_id, user_id, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (new_hash, family_id, user_id, now, expires_at),
            )
            return RotateOutcome("ok", user_id, family_id)

        return self._run(work, transaction=True)

    _for_update = ""

    @staticmethod
    def _revoke_family(execute: Execute, family_id: str, now: float) -> None:
        execute(
            "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            (now, family_id),
        )

    def family_of(self, token_hash: str) -> str | None:
        """The family a refresh token belongs to, if it exists."""
        sql = "SELECT family_id FROM refresh_tokens WHERE token_hash = ?"
        rows = self._run(lambda execute: execute(sql, (token_hash,)))
        return str(rows[0][0]) if rows else None

    def revoke_family(self, family_id: str, now: float) -> None:
        """Revoke every token of a family (logout, reuse)."""
        self._run(lambda execute: self._revoke_family(execute, family_id, now))

    def revoke_user_sessions(self, user_id: str, keep_family: str | None, now: float) -> None:
        """Revoke all of a user's families except ``keep_family``."""
        sql = (
            "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL"
            " AND family_id <> ?"
        )
        self._run(lambda execute: execute(sql, (now, user_id, keep_family or "")))

    # -- single-use tokens (password reset, e-mail verification) -------------------
    def add_one_time_token(
        self,
        token_hash: str,
        purpose: str,
        user_id: str,
        email: str,
        *,
        now: float,
        expires_at: float,
    ) -> None:
        """Store a new single-use token (its hash) for ``purpose``."""
        sql = (
            "INSERT INTO one_time_tokens"
            " (token_hash, purpose, user_id, email, created_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        params = (token_hash, purpose, user_id, email, now, expires_at)
        self._run(lambda execute: execute(sql, params))

    def spend_one_time_token(self, token_hash: str, purpose: str, now: float) -> SpendOutcome:
        """Mark the token used, atomically: of two concurrent uses, one gets ``ok``."""

        def work(execute: Execute) -> SpendOutcome:
            rows = execute(
                "SELECT token_hash, user_id, email, expires_at, used_at FROM one_time_tokens"
                f" WHERE token_hash = ? AND purpose = ?{self._for_update}",
                (token_hash, purpose),
            )
            # The row was found through an index on the hash; compare again in constant
            # time so no code path depends on how much of a guessed hash matched.
            if not rows or not hmac.compare_digest(str(rows[0][0]), token_hash):
                return SpendOutcome("unknown")
            _, user_id, email, expires_at, used_at = rows[0]
            if used_at is not None:
                return SpendOutcome("used", str(user_id), str(email))
            if float(expires_at) <= now:
                return SpendOutcome("expired", str(user_id), str(email))
            execute(
                "UPDATE one_time_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash)
            )
            return SpendOutcome("ok", str(user_id), str(email))

        return self._run(work, transaction=True)

    def spend_user_tokens(self, user_id: str, purpose: str, now: float) -> None:
        """Spend every unused ``purpose`` token of a user (after a reset: older links die)."""
        sql = (
            "UPDATE one_time_tokens SET used_at = ?"
            " WHERE user_id = ? AND purpose = ? AND used_at IS NULL"
        )
        self._run(lambda execute: execute(sql, (now, user_id, purpose)))

    def mark_email_verified(self, user_id: str, email: str, now: float) -> None:
        """Record that ``user_id`` proved it receives mail at ``email``."""

        def work(execute: Execute) -> None:
            execute("DELETE FROM email_verifications WHERE user_id = ?", (user_id,))
            execute(
                "INSERT INTO email_verifications (user_id, email, verified_at) VALUES (?, ?, ?)",
                (user_id, email.lower(), now),
            )

        self._run(work, transaction=True)

    def email_verified(self, user_id: str, email: str) -> bool:
        """Whether the user's current ``email`` is the one it verified."""
        sql = "SELECT email FROM email_verifications WHERE user_id = ?"
        rows = self._run(lambda execute: execute(sql, (user_id,)))
        return bool(rows) and str(rows[0][0]) == email.lower()

    # -- housekeeping --------------------------------------------------------------
    def purge(self, now: float, failures_before: float) -> PurgeCounts:
        """Delete expired refresh and single-use tokens and failures older than the window.

        An expired refresh token is refused whether or not its row exists, so nothing a
        client could present changes meaning; the rows only cost space and index time.
        """

        def count(execute: Execute, table: str, where: str, param: float) -> int:
            rows = execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", (param,))
            execute(f"DELETE FROM {table} WHERE {where}", (param,))
            return int(rows[0][0] or 0)

        def work(execute: Execute) -> PurgeCounts:
            return PurgeCounts(
                refresh_tokens=count(execute, "refresh_tokens", "expires_at <= ?", now),
                one_time_tokens=count(execute, "one_time_tokens", "expires_at <= ?", now),
                login_attempts=count(execute, "login_attempts", "failed_at <= ?", failures_before),
            )

        return self._run(work, transaction=True)

    # -- failed logins -----------------------------------------------------------
    def failures_since(self, key: str, since: float) -> tuple[int, float | None]:
        """(count, oldest time) of failures recorded for ``key`` after ``since``."""
        sql = (
            "SELECT COUNT(*), MIN(failed_at) FROM login_attempts"
            " WHERE attempt_key = ? AND failed_at > ?"
        )
        rows = self._run(lambda execute: execute(sql, (key, since)))
        count, oldest = rows[0]
        return int(count or 0), (float(oldest) if oldest is not None else None)

    def add_failure(self, keys: Sequence[str], now: float, prune_before: float) -> None:
        """Record one failed login under each key and forget failures older than the window."""

        def work(execute: Execute) -> None:
            for key in keys:
                execute(
                    "DELETE FROM login_attempts WHERE attempt_key = ? AND failed_at <= ?",
                    (key, prune_before),
                )
                execute(
                    "INSERT INTO login_attempts (attempt_key, failed_at) VALUES (?, ?)", (key, now)
                )

        self._run(work, transaction=True)

    def clear_failures(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful login)."""
        sql = "DELETE FROM login_attempts WHERE attempt_key = ?"
        self._run(lambda execute: execute(sql, (key,)))

    # -- signing keys ------------------------------------------------------------
    def publish_key(self, kid: str, alg: str, jwk_json: str, now: float) -> None:
        """Record ``kid`` as the active signing key; retire keys activated before it."""

        def work(execute: Execute) -> None:
            rows = execute(
                "SELECT activated_at, retired_at FROM signing_keys WHERE kid = ?", (kid,)
            )
            if not rows:
                execute(
                    "INSERT INTO signing_keys (kid, alg, public_jwk, activated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (kid, alg, jwk_json, now),
                )
                activated = now
            elif rows[0][1] is not None:
                execute(
                    "UPDATE signing_keys SET retired_at = NULL, activated_at = ? WHERE kid = ?",
                    (now, kid),
                )
                activated = now
            else:
                activated = float(rows[0][0])
            execute(
                "UPDATE signing_keys SET retired_at = ?"
                " WHERE retired_at IS NULL AND kid <> ? AND activated_at <= ?",
                (now, kid, activated),
            )

        self._run(work, transaction=True)

    def list_keys(self, retired_after: float) -> list[KeyRecord]:
        """Keys not retired, or retired after ``retired_after`` (their tokens may be live)."""
        sql = (
            "SELECT kid, alg, public_jwk, activated_at, retired_at FROM signing_keys"
            " WHERE retired_at IS NULL OR retired_at > ? ORDER BY activated_at DESC"
        )
        rows = self._run(lambda execute: execute(sql, (retired_after,)))
        return [
            KeyRecord(
                str(r[0]), str(r[1]), str(r[2]), float(r[3]), None if r[4] is None else float(r[4])
            )
            for r in rows
        ]


class SqliteStore(Store):
    """SQLite (stdlib) in WAL mode: the embedded default, shared by local processes."""

    retryable = (sqlite3.OperationalError, sqlite3.InterfaceError)
    real = "REAL"
    generated_id = "(lower(hex(randomblob(16))))"

    def __init__(self, path: Path, users: UsersMapping) -> None:
        super().__init__(users)
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode; transactions are explicit (BEGIN IMMEDIATE) below.
        conn = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=10000")
        return conn

    def _execute(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Row]:
        return list(conn.execute(sql, tuple(params)).fetchall())

    @contextlib.contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _is_missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)

    def _is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)

    def _is_disconnect(self, exc: BaseException) -> bool:
        # A closed connection object raises ProgrammingError, not OperationalError.
        closed = isinstance(exc, sqlite3.ProgrammingError) and "closed" in str(exc)
        return closed or isinstance(exc, self.retryable)


class PostgresStore(Store):
    """PostgreSQL through psycopg 3: one autocommit connection, explicit transactions."""

    real = "DOUBLE PRECISION"
    generated_id = "replace(gen_random_uuid()::text, '-', '')"
    _for_update = " FOR UPDATE"

    def __init__(self, url: str, users: UsersMapping, application_name: str) -> None:
        super().__init__(users)
        import psycopg  # noqa: PLC0415 - only PostgreSQL deployments need psycopg

        self._psycopg = psycopg
        self.retryable = (psycopg.OperationalError, psycopg.InterfaceError)
        self.url = url
        params = psycopg.conninfo.conninfo_to_dict(url)
        self._extra: dict[str, Any] = {"autocommit": True}
        if "application_name" not in params:
            self._extra["application_name"] = application_name
        if "connect_timeout" not in params:
            self._extra["connect_timeout"] = 5

    def _connect(self) -> Any:
        return self._psycopg.connect(self.url, **self._extra)

    def _execute(self, conn: Any, sql: str, params: Sequence[Any]) -> list[Row]:
        cursor = conn.execute(sql.replace("?", "%s"), tuple(params))
        return list(cursor.fetchall()) if cursor.description is not None else []

    @contextlib.contextmanager
    def _transaction(self, conn: Any) -> Iterator[None]:
        with conn.transaction():
            yield

    def _lock_migration(self, execute: Execute) -> None:
        # Concurrent migrations (two MigrateFunction runs) wait for each other.
        execute("SELECT pg_advisory_xact_lock(?)", (0x61757468,))

    def _is_missing_table(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.UndefinedTable)

    def _is_unique_violation(self, exc: BaseException) -> bool:
        return isinstance(exc, self._psycopg.errors.UniqueViolation)


def open_store(config: Config) -> Store:
    """The store for ``config.database_url``, with its connection opened."""
    url = config.database_url
    store: Store
    if url.startswith("sqlite:///"):
        store = SqliteStore(Path(url.removeprefix("sqlite:///")), config.users)
    else:
        store = PostgresStore(url, config.users, config.db_application_name)
    try:
        store.open()
    except store.retryable as exc:
        # Init must not fail because the database is briefly down: the first request
        # reconnects, and /auth/health says what is wrong meanwhile.
        logger.warning("database not reachable at init (%s); will retry per request", exc)
    return store
