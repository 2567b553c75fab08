"""The one canonical spelling of a Vault request path, found before any route or ACL check.

Policies are matched against the path a request names, so a path must have exactly one
spelling: ``secret/data//admin/x`` or ``secret/data/%2Fadmin/x`` must not slip past a
deny on ``secret/data/admin/*`` and then be stored as ``admin/x``.

Theory of operation (what real Vault does, and so what clients already cope with):

* Vault's HTTP layer is Go's ``net/http.ServeMux``, which answers any path that is not
  clean (repeated ``/``, ``.`` or ``..`` segments) with a 301 to the cleaned path; Vault
  never sees it (hashicorp/vault#18573, #18062, #3049; golang/go#19481). So does this
  module, on the path as sent (``raw_path``).
* What percent-decoding brings in (``%2F`` becoming ``/``, ``%2E%2E`` becoming ``..``)
  cannot be redirected to a spelling without it, and Vault's handlers refuse
  non-printable paths (the ``PrintablePathCheckHandler`` of go-cleanhttp,
  hashicorp/vault#9890); here a decoded path that is not clean, a malformed escape, bytes
  that are not UTF-8, or a non-printable character is refused with 400 in Vault's error
  shape, before routing.
* Case is kept: Vault paths are case-sensitive, ``secret/data/Admin`` is another path.
* One trailing ``/`` is kept apart (``trailing_slash``): Vault uses it to mean LIST on
  some routes and refuses a write to a path ending in ``/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

V1_PREFIX = "/v1/"
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True)
class CanonicalPath:
    """A clean path under ``/v1/``: ``path`` without the prefix and surrounding ``/``."""

    path: str
    trailing_slash: bool


@dataclass(frozen=True, slots=True)
class Redirect:
    """The raw path was not clean: answer 301 to ``location`` (cleaned, query kept)."""

    location: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """The path cannot be given one meaning: answer 400 with ``message``."""

    message: str


Resolution = CanonicalPath | Redirect | Refusal


def clean_path(path: str) -> str:
    """Go's ``ServeMux`` cleaning: rooted, no ``//``, ``.`` or ``..``; a final ``/`` kept."""
    rooted = path if path.startswith("/") else "/" + path
    segments: list[str] = []
    for segment in rooted.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
            continue
        segments.append(segment)
    cleaned = "/" + "/".join(segments)
    if rooted.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def is_canonical(path: str) -> bool:
    """Whether a path relative to ``/v1/`` has no empty, ``.`` or ``..`` segment."""
    return path == "" or all(part not in ("", ".", "..") for part in path.split("/"))


def resolve(raw_path: bytes, query_string: bytes = b"") -> Resolution:
    """Resolve the path of one request as sent on the wire (percent-encoded, no query)."""
    raw = raw_path.decode("latin-1")
    if not raw.isprintable():
        # Before any redirect: what goes into a Location header must be printable.
        return Refusal("invalid request path: non-printable characters")
    cleaned = clean_path(raw)
    if cleaned != raw:
        query = query_string.decode("latin-1")
        return Redirect(cleaned + ("?" + query if query else ""))
    try:
        decoded = _percent_decode(raw)
    except ValueError as exc:
        return Refusal(str(exc))
    if not decoded.isprintable():
        return Refusal("invalid request path: non-printable characters")
    if clean_path(decoded) != decoded:
        return Refusal("invalid request path: an escape makes an empty, '.' or '..' segment")
    if not decoded.startswith(V1_PREFIX):
        return Refusal("invalid request path: it must begin with /v1/")
    relative = decoded[len(V1_PREFIX) :]
    return CanonicalPath(relative.removesuffix("/"), relative.endswith("/"))


def _percent_decode(raw: str) -> str:
    """Strict RFC 3986 decoding: a ``%`` not followed by two hex digits is an error."""
    for percent in re.finditer("%", raw):
        if not _ESCAPE.match(raw, percent.start()):
            bad = raw[percent.start() : percent.start() + 3]
            raise ValueError(f"invalid URL escape {bad!r}")
    data = _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), raw).encode("latin-1")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError("invalid request path: not UTF-8 once decoded") from exc
