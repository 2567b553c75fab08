"""Password hashing with Argon2id (argon2-cffi), without revealing which emails exist.

argon2-cffi's ``verify`` compares in constant time. For an unknown email the service
still verifies the password against :attr:`Passwords.dummy_hash`, made with the same
parameters, so a login for a missing account costs what a wrong password costs.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from authcore.config import Argon2Settings


class Passwords:
    """Hash, verify and (when the parameters changed) re-hash passwords."""

    def __init__(self, settings: Argon2Settings) -> None:
        self._hasher = PasswordHasher(
            time_cost=settings.time_cost,
            memory_cost=settings.memory_cost_kib,
            parallelism=settings.parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        # Hashed once per process: the unknown-email path verifies against it.
        self.dummy_hash = self._hasher.hash(secrets.token_urlsafe(24))

    def hash(self, password: str) -> str:
        """An encoded Argon2id hash of ``password`` with a fresh salt."""
        return self._hasher.hash(password)

    def verify(self, encoded: str | None, password: str) -> bool:
        """Whether ``password`` matches ``encoded``; None verifies the dummy and fails."""
        try:
            self._hasher.verify(encoded or self.dummy_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
        return encoded is not None

    def needs_rehash(self, encoded: str) -> bool:
        """True when ``encoded`` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(encoded)
        except InvalidHashError:
            return True
