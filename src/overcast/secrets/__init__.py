"""Secrets: an encrypted Vault-compatible KV v2 store, tokens, policies and their HTTP API.

Owns everything under ``<state_dir>/secrets/`` (master key, sealed records, tokens,
policies), the ``/v1/`` Vault API served on the admin port, the external-Vault backend,
and the resolution and redaction of secret references in function environments.

May import: overcast.errors, overcast.durable_files, overcast.control.asgi_types (ASGI
typing only), cryptography, orjson, pyhcl, hvac (external backend only). Must not import
runtime, gateway or template: the runtime calls into ``overcast.secrets.references``,
never the other way round.
"""

from overcast.secrets.errors import (
    CasMismatchError,
    InvalidRequestError,
    MasterKeyError,
    PermissionDeniedError,
    PolicyParseError,
    SealedRecordError,
    SecretNotFoundError,
    SecretsError,
    VersionDeletedError,
)
from overcast.secrets.policy import Acl, PathRule, Policy, PolicyStore, evaluate, parse_policy
from overcast.secrets.service import SecretsService, open_secrets, read_root_token
from overcast.secrets.store import KvStore, SecretVersion
from overcast.secrets.tokens import TokenInfo, TokenRequest, TokenStore
from overcast.secrets.vault_api import VaultApi

__all__ = [
    "Acl",
    "CasMismatchError",
    "InvalidRequestError",
    "KvStore",
    "MasterKeyError",
    "PathRule",
    "PermissionDeniedError",
    "Policy",
    "PolicyParseError",
    "PolicyStore",
    "SealedRecordError",
    "SecretNotFoundError",
    "SecretVersion",
    "SecretsError",
    "SecretsService",
    "TokenInfo",
    "TokenRequest",
    "TokenStore",
    "VaultApi",
    "VersionDeletedError",
    "evaluate",
    "open_secrets",
    "parse_policy",
    "read_root_token",
]
