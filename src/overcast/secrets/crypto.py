"""AES-256-GCM envelopes for records at rest, and the master key's life cycle.

Every record is ``MAGIC | nonce(12) | ciphertext+tag``, sealed with a fresh random
96-bit nonce and with the record's identity as associated data, so a record copied
onto another path fails to open instead of answering for it.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from overcast.durable_files import atomic_write, create_exclusive
from overcast.secrets.errors import MasterKeyError, SealedRecordError

KEY_ENV = "OVERCAST_MASTER_KEY"
KEY_FILE = "master.key"
CHECK_FILE = "key-check"
_MAGIC = b"OCS1"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_CHECK_AAD = "overcast:key-check"
_CHECK_PLAINTEXT = b"overcast secrets key check v1"


class Envelope:
    """Seals and opens byte strings with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != _KEY_BYTES:
            raise MasterKeyError(f"master key must be {_KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)

    def seal(self, aad: str, plaintext: bytes) -> bytes:
        """Encrypt ``plaintext`` bound to ``aad`` under a fresh random nonce."""
        nonce = os.urandom(_NONCE_BYTES)
        return _MAGIC + nonce + self._aead.encrypt(nonce, plaintext, aad.encode())

    def open(self, aad: str, blob: bytes) -> bytes:
        """Decrypt a sealed record; raise rather than return anything unauthenticated."""
        if len(blob) < len(_MAGIC) + _NONCE_BYTES + 16 or not blob.startswith(_MAGIC):
            raise SealedRecordError(f"record {aad!r} is not a sealed overcast record")
        nonce = blob[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, blob[len(_MAGIC) + _NONCE_BYTES :], aad.encode())
        except InvalidTag as exc:
            raise SealedRecordError(
                f"record {aad!r} failed authentication (wrong key, tampered or moved)"
            ) from exc


def decode_key(text: str) -> bytes:
    """A base64 master key as bytes, or a MasterKeyError saying what is wrong."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MasterKeyError(
            "master key is not valid base64",
            hint=f"{KEY_ENV} must be 32 random bytes, base64-encoded",
        ) from exc
    if len(key) != _KEY_BYTES:
        raise MasterKeyError(
            f"master key must be {_KEY_BYTES} bytes, got {len(key)}",
            hint="generate one with: python -c 'import os,base64;"
            "print(base64.b64encode(os.urandom(32)).decode())'",
        )
    return key


def load_master_key(secrets_dir: Path, environ: Mapping[str, str]) -> bytes:
    """The key from ``OVERCAST_MASTER_KEY``, else from ``master.key``, generated on first start."""
    from_env = environ.get(KEY_ENV)
    if from_env:
        return decode_key(from_env)
    key_path = secrets_dir / KEY_FILE
    fresh = os.urandom(_KEY_BYTES)
    # Two nodes starting at once: exactly one key wins, the other reads it.
    create_exclusive(key_path, base64.b64encode(fresh) + b"\n")
    mode = key_path.stat().st_mode & 0o777
    if mode & 0o077:
        raise MasterKeyError(
            f"{key_path} is readable by others (mode {mode:o})",
            hint=f"chmod 600 {key_path}",
        )
    return decode_key(key_path.read_text())


def open_envelope(secrets_dir: Path, environ: Mapping[str, str]) -> Envelope:
    """The store's envelope, after proving the key opens the store's key-check record."""
    envelope = Envelope(load_master_key(secrets_dir, environ))
    check_path = secrets_dir / CHECK_FILE
    try:
        sealed = check_path.read_bytes()
    except FileNotFoundError:
        atomic_write(check_path, envelope.seal(_CHECK_AAD, _CHECK_PLAINTEXT))
        return envelope
    try:
        plaintext = envelope.open(_CHECK_AAD, sealed)
    except SealedRecordError as exc:
        raise MasterKeyError(
            f"the master key does not open the secret store in {secrets_dir}",
            hint=f"set {KEY_ENV} (or {secrets_dir / KEY_FILE}) to the key this store was "
            "created with",
        ) from exc
    if plaintext != _CHECK_PLAINTEXT:
        raise MasterKeyError(f"key-check record in {secrets_dir} is corrupt")
    return envelope
