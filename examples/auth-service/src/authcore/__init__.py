"""authcore: the authentication service's domain core, shared by every adapter.

Owns passwords (Argon2id), tokens (EdDSA/ES256 access JWTs, opaque rotating refresh
tokens), signing keys and their JWKS, brute-force limits, single-use reset and verification
tokens and the mails that carry them (handed to an outbox), input validation and the
storage of all of it (SQLite or PostgreSQL). It imports only the standard library,
argon2-cffi, PyJWT/cryptography and (for PostgreSQL) psycopg — never a web framework
and never overcast: the Lambda handlers (``handlers.py``) and the FastAPI monolith
(``monolith/app.py``) are thin adapters that turn requests into :class:`AuthService`
calls and :class:`Result` objects back into responses.
"""

from authcore.config import Config, ConfigError
from authcore.mail import MailJob, Outbox
from authcore.service import AuthService, Result, build_service

__all__ = ["AuthService", "Config", "ConfigError", "MailJob", "Outbox", "Result", "build_service"]
