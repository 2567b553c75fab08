"""The secrets package's error hierarchy; each error carries the HTTP status Vault would use."""

from __future__ import annotations

from overcast.errors import OvercastError


class SecretsError(OvercastError):
    """Base of every secrets error; ``status`` is the Vault HTTP status it maps to."""

    status: int = 500


class MasterKeyError(SecretsError):
    """The master key is missing, malformed, or does not open this store."""


class SealedRecordError(SecretsError):
    """A stored record failed authentication: tampered, truncated, or moved between paths."""


class InvalidRequestError(SecretsError):
    """The request is malformed; Vault answers 400 with the message in ``errors``."""

    status = 400


class SecretNotFoundError(SecretsError):
    """Nothing stored at this path (or version); Vault answers 404 ``{"errors": []}``."""

    status = 404


class VersionDeletedError(SecretNotFoundError):
    """The version exists but is soft-deleted or destroyed; Vault still returns its metadata."""

    def __init__(self, message: str, metadata: dict[str, object]) -> None:
        super().__init__(message)
        self.metadata = metadata


class CasMismatchError(InvalidRequestError):
    """A check-and-set write named a version that is not the current one."""


class PermissionDeniedError(SecretsError):
    """The token is unknown, expired, or its policies do not grant the capability."""

    status = 403


class PolicyParseError(InvalidRequestError):
    """A policy document is not valid HCL/JSON or uses an unknown capability."""
