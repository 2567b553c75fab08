"""Request bodies in, checked values out; every problem is a 400 naming the field.

Bodies are JSON objects. Lengths are bounded before anything expensive runs: a
megabyte "password" must never reach Argon2.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_BODY_BYTES = 64 * 1024
MAX_EMAIL = 254  # RFC 5321's path limit minus the angle brackets
MAX_PASSWORD = 1024
MAX_TOKEN = 4096

# Deliberately plain: one @, no spaces, a dot in the domain. Deliverability is the
# mail server's job; this only rejects what is clearly not an address.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f.]+(\.[^@\s\x00-\x1f.]+)+$")


class ValidationError(ValueError):
    """A bad input; ``field`` names it (``body`` for the body as a whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_object(body: str | bytes | None) -> dict[str, Any]:
    """The request body as a JSON object."""
    if body is None or (isinstance(body, str | bytes) and not body.strip()):
        raise ValidationError("body", "a JSON object body is required")
    size = len(body.encode() if isinstance(body, str) else body)
    if size > MAX_BODY_BYTES:
        raise ValidationError("body", f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("body", "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ValidationError("body", "the body must be a JSON object")
    return data


def string_field(data: dict[str, Any], name: str, max_length: int, min_length: int = 1) -> str:
    """``data[name]`` as a string of bounded length."""
    if name not in data or data[name] is None:
        raise ValidationError(name, "is required")
    value = data[name]
    if not isinstance(value, str):
        raise ValidationError(name, "must be a string")
    if len(value) > max_length:
        raise ValidationError(name, f"must be at most {max_length} characters")
    if len(value) < min_length:
        raise ValidationError(
            name,
            "must not be empty" if min_length == 1 else f"must be at least {min_length} characters",
        )
    return value


def email_field(data: dict[str, Any], name: str = "email") -> str:
    """A syntactically plausible email address, trimmed and lower-cased."""
    value = string_field(data, name, MAX_EMAIL).strip().lower()
    if not _EMAIL.match(value):
        raise ValidationError(name, "is not a valid email address")
    return value


def password_field(data: dict[str, Any], name: str, min_length: int) -> str:
    """A password between ``min_length`` and :data:`MAX_PASSWORD` characters."""
    return string_field(data, name, MAX_PASSWORD, min_length)


def token_field(data: dict[str, Any], name: str = "refresh_token") -> str:
    """An opaque token string."""
    return string_field(data, name, MAX_TOKEN)
