"""Object key validation shared by every backend, and the key → path mapping.

Pure functions, no I/O. A key is a '/'-separated sequence of names. The rules are
S3's (at most 1024 bytes of UTF-8) plus what keeps a key from ever naming a file
outside the bucket folder or two keys from naming the same file: no ``..`` or ``.``
or empty segment, no leading '/', no backslash (a separator on Windows), no NUL or
other control character, no drive letter.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from overcast.storage.errors import InvalidKeyError

# https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-keys.html
# "The name for a key is a sequence of Unicode characters whose UTF-8 encoding is at
# most 1,024 bytes long."
MAX_KEY_BYTES = 1024

# NAME_MAX on Linux and macOS file systems: one path segment, in bytes.
MAX_SEGMENT_BYTES = 255

_DRIVE = re.compile(r"^[A-Za-z]:")


def validate_key(key: object) -> str:
    """Return ``key`` unchanged if every backend may store it, else raise InvalidKeyError."""
    if not isinstance(key, str):
        raise InvalidKeyError(key, "a key must be a string")
    if not key:
        raise InvalidKeyError(key, "the key is empty")
    try:
        encoded = key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKeyError(key, "the key is not valid Unicode (lone surrogate)") from None
    if len(encoded) > MAX_KEY_BYTES:
        raise InvalidKeyError(key, f"{len(encoded)} bytes of UTF-8, over {MAX_KEY_BYTES}")
    for char in key:
        if unicodedata.category(char) == "Cc":
            raise InvalidKeyError(key, f"control character {char!r}")
    if "\\" in key:
        raise InvalidKeyError(key, "backslash")
    if key.startswith("/"):
        raise InvalidKeyError(key, "absolute path")
    if _DRIVE.match(key):
        raise InvalidKeyError(key, "drive letter")
    for segment in key.split("/"):
        if segment in {"", ".", ".."}:
            raise InvalidKeyError(key, f"{segment or 'empty'!r} path segment")
    return key


def validate_prefix(prefix: object) -> str:
    """Check a listing prefix: a plain string filter on keys, so only its type and size."""
    if not isinstance(prefix, str):
        raise InvalidKeyError(prefix, "a prefix must be a string")
    if len(prefix.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise InvalidKeyError(prefix, f"a prefix over {MAX_KEY_BYTES} bytes matches no key")
    return prefix


def key_to_path(root: Path, key: str) -> Path:
    """Map a valid key to a path under ``root``, refusing one the file system cannot hold.

    After validation a key cannot leave ``root``; the normalised-path check is kept as
    a second guard so a future rule change cannot silently open an escape.
    """
    validate_key(key)
    segments = key.split("/")
    for segment in segments:
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise InvalidKeyError(key, f"a segment is over {MAX_SEGMENT_BYTES} bytes")
    base = os.path.normpath(os.path.abspath(root))
    target = os.path.normpath(os.path.join(base, *segments))
    if os.path.commonpath([base, target]) != base or target == base:
        raise InvalidKeyError(key, "resolves outside the bucket folder")
    return Path(target)
