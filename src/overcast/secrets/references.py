"""Secret references in function environments, and redaction of their values from logs.

Pure functions: the runtime resolves an instance's environment when it starts and feeds
each log line through a :class:`Redactor` built from the values it resolved.

Forms (CloudFormation dynamic-reference syntax,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references-secretsmanager.html):
``{{resolve:vault:secret/data/auth#jwt_private_key}}`` and
``{{resolve:secretsmanager:NAME:SecretString:KEY}}`` (read from ``secret/data/NAME``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from overcast.secrets.errors import InvalidRequestError, SecretNotFoundError

_REFERENCE = re.compile(r"\{\{resolve:(vault|secretsmanager):([^}]*)\}\}")
MASK = "****"

# lookup(kv_path) -> the secret's key/value data; kv_path is relative to the secret/ mount.
Lookup = Callable[[str], Mapping[str, Any]]


class UnresolvedReferenceError(SecretNotFoundError):
    """A reference names a secret or key that does not exist; the message names no value."""


def _parse(kind: str, body: str) -> tuple[str, str | None]:
    if kind == "vault":
        path, _, key = body.partition("#")
        mount, _, rest = path.strip("/").partition("/")
        if mount != "secret":
            raise InvalidRequestError(f"vault reference must start with secret/: {body!r}")
        kind_part, _, kv_path = rest.partition("/")
        if kind_part != "data" or not kv_path:
            raise InvalidRequestError(f"vault reference must be secret/data/<path>: {body!r}")
        return kv_path, key or None
    parts = body.split(":")
    name = parts[0]
    if not name:
        raise InvalidRequestError(f"secretsmanager reference needs a name: {body!r}")
    if len(parts) > 1 and parts[1] not in ("", "SecretString"):
        raise InvalidRequestError(f"only SecretString is supported: {body!r}")
    field = parts[2] if len(parts) > 2 and parts[2] else None
    return name, field


def _value(data: Mapping[str, Any], key: str | None, where: str) -> str:
    if key is None:
        if len(data) == 1:
            (only,) = data.values()
            return str(only)
        # Secrets Manager returns the whole SecretString (JSON) without a key.
        return json.dumps(dict(data), separators=(",", ":"))
    if key not in data:
        raise UnresolvedReferenceError(f"secret {where!r} has no key {key!r}")
    return str(data[key])


def has_references(environment: Mapping[str, str]) -> bool:
    """Whether any value holds a ``{{resolve:...}}`` secret reference."""
    return any(_REFERENCE.search(value) for value in environment.values())


def resolve_references(
    environment: Mapping[str, str], lookup: Lookup
) -> tuple[dict[str, str], frozenset[str]]:
    """Replace every secret reference in ``environment``; return the new env and the values.

    Each secret path is looked up once. Errors name the variable and path, never a value.
    """
    cache: dict[str, Mapping[str, Any]] = {}
    secrets: set[str] = set()
    resolved: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        kv_path, key = _parse(match.group(1), match.group(2))
        if kv_path not in cache:
            cache[kv_path] = lookup(kv_path)
        value = _value(cache[kv_path], key, kv_path)
        secrets.add(value)
        return value

    for name, text in environment.items():
        try:
            resolved[name] = _REFERENCE.sub(replace, text)
        except SecretNotFoundError as exc:
            raise UnresolvedReferenceError(
                f"environment variable {name}: {exc.message}",
                hint="write the secret with `overcast secrets put` and restart the function",
            ) from exc
    return resolved, frozenset(v for v in secrets if v)


class Redactor:
    """Replaces any known secret value in a text with ``****``.

    One compiled alternation, longest values first so a secret containing another is
    masked whole; the regex engine scans each line once whatever the number of secrets.
    """

    def __init__(self, values: frozenset[str] | set[str], min_length: int = 4) -> None:
        # Very short values would mask ordinary words; they are still never logged by us.
        usable = sorted({v for v in values if len(v) >= min_length}, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, usable))) if usable else None

    def __call__(self, line: str) -> str:
        """``line`` with every secret value masked."""
        if self._pattern is None:
            return line
        return self._pattern.sub(MASK, line)

    def redact_bytes(self, line: bytes) -> bytes:
        """The same for raw log bytes (decoded as UTF-8, undecodable bytes kept)."""
        if self._pattern is None:
            return line
        return self(line.decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
