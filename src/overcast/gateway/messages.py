"""The two HTTP messages the gateway exchanges with the outside: plain frozen data.

The ASGI adapter builds an :class:`HttpRequest` from a scope and body; everything
else in the package is a pure function of it and returns an :class:`HttpResponse`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request as received, before any API Gateway interpretation.

    ``raw_path`` is percent-encoded as on the wire; ``query_string`` is the raw
    text after ``?``; ``headers`` keep arrival order and duplicates, with names in
    lower case (as ASGI servers deliver them).
    """

    method: str
    raw_path: str
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    host: str = "localhost"
    protocol: str = "HTTP/1.1"
    time_epoch_ms: int = 0
    request_id: str = ""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (lower case), or None."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A complete response: status, raw header pairs in send order, and body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        """The first value of header ``name`` (compared case-insensitively), or None."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def header_values(self, name: bytes) -> list[bytes]:
        """Every value of header ``name`` (compared case-insensitively), in order."""
        lowered = name.lower()
        return [value for key, value in self.headers if key.lower() == lowered]
