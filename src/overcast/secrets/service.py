"""Build the whole secrets service for one node's state folder."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from overcast.durable_files import atomic_write, ensure_private_dir
from overcast.secrets.crypto import open_envelope
from overcast.secrets.policy import PolicyStore
from overcast.secrets.store import KvStore
from overcast.secrets.tokens import TokenStore
from overcast.secrets.vault_api import VaultApi

SECRETS_DIR = "secrets"
ROOT_TOKEN_FILE = "root-token"  # noqa: S105  (a file name, not a secret)


@dataclass(frozen=True, slots=True)
class SecretsService:
    """The stores and the Vault API of one node.

    ``initial_root_token`` is set only on the start that created the store, so the admin
    can be shown it once; a 0600 copy sits in ``root_token_file`` for the local CLI (as
    Vault's own CLI keeps ``~/.vault-token``).
    """

    store: KvStore
    tokens: TokenStore
    policies: PolicyStore
    api: VaultApi
    root_token_file: Path
    initial_root_token: str | None


def secrets_dir(state_dir: Path) -> Path:
    """Where the encrypted store lives inside an app's state folder."""
    return state_dir / SECRETS_DIR


def open_secrets(state_dir: Path, environ: Mapping[str, str] | None = None) -> SecretsService:
    """Open (or create on first start) the secret store under ``<state_dir>/secrets``.

    Raises MasterKeyError when the key does not open an existing store.
    """
    env = os.environ if environ is None else environ
    root = secrets_dir(state_dir)
    ensure_private_dir(root)
    envelope = open_envelope(root, env)
    store = KvStore(root, envelope)
    tokens = TokenStore(root, envelope)
    policies = PolicyStore(root, envelope)
    root_token_file = root / ROOT_TOKEN_FILE
    initial: str | None = None
    if not tokens.has_root():
        initial = tokens.create_root()
        atomic_write(root_token_file, initial.encode() + b"\n")
    return SecretsService(
        store=store,
        tokens=tokens,
        policies=policies,
        api=VaultApi(store, tokens, policies),
        root_token_file=root_token_file,
        initial_root_token=initial,
    )


def read_root_token(state_dir: Path) -> str | None:
    """The local root token copy, if this user can read it."""
    try:
        return (secrets_dir(state_dir) / ROOT_TOKEN_FILE).read_text().strip() or None
    except (FileNotFoundError, PermissionError):
        return None
