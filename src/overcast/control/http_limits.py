"""What one HTTP client may hold of a port: time, request-head size, connections.

Sans-I/O: the settings (:class:`HttpLimits`), the answers a client gets past them
(:class:`Refusal`), one connection's request clock (:class:`RequestClock`) and a
port's connection count (:class:`ConnectionTally`). Nothing here reads a socket or a
clock; :mod:`overcast.control.http_server` feeds them from uvicorn's protocols.

Theory of operation, for one connection::

    IDLE ──first byte──▶ HEAD ──head parsed──▶ BODY ──body read──▶ IDLE
     │                    │                     │
     deadline: on a new   deadline: the whole   deadline: the whole
     connection only      head (408, 431 past   body (408; closed if the
     (closed silently)    max_header_bytes)     app already answered)

The head's deadline covers the whole head, not each read: a client that sends a
header line every few seconds (slowloris) is cut off when the head's time is up. A new
connection's first head counts from the accept (as nginx's client_header_timeout
does); a kept-alive connection's next head from its first byte, the idle gap between
them being uvicorn's keep-alive timeout. Between the body's end and the response the
client owes nothing, so there is no deadline: the function's own timeout applies.
"""

from __future__ import annotations

import enum
import resource
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

import orjson

from overcast.errors import OvercastError

#: CloudFront's quota on a request's line and headers ("Maximum length of a request,
#: including headers and query strings, but not including the body content")
DEFAULT_MAX_HEADER_BYTES = 20_480
#: how long a refused connection may go on sending before it is closed regardless
LINGER_S = 2.0


class HttpLimitsError(OvercastError):
    """A limit was given a value it cannot take."""


def _option(flag: str, help: str) -> dict[str, Any]:
    return {"flag": flag, "help": help}


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The limits on each port of a node or platform (each declared once; the CLI's
    flags are derived from the fields' metadata by :func:`limit_options`)."""

    header_timeout_s: float = field(
        default=10.0,
        metadata=_option(
            "--header-timeout",
            "Seconds a client has to send a whole request head (line and headers), and a "
            "TLS handshake; 408 past it.",
        ),
    )
    body_timeout_s: float = field(
        default=60.0,
        metadata=_option(
            "--body-timeout",
            "Seconds a client has to send a request's body once its head is in; 408 past it.",
        ),
    )
    max_header_bytes: int = field(
        default=DEFAULT_MAX_HEADER_BYTES,
        metadata=_option(
            "--max-header-bytes",
            "Bytes a request line and its headers may take together (CloudFront's "
            "quota); 431 past it.",
        ),
    )
    max_connections: int = field(
        default=1024,
        metadata=_option(
            "--max-connections",
            "Open connections each port accepts (fewer by default where the open-file "
            "limit is low); 503 past it.",
        ),
    )
    max_client_connections: int = field(
        default=256,
        metadata=_option(
            "--max-client-connections",
            "Open connections each port accepts from one client address; 503 past it.",
        ),
    )

    def __post_init__(self) -> None:
        for spec in fields(self):
            value = getattr(self, spec.name)
            if not value > 0:
                raise HttpLimitsError(f"{spec.metadata['flag']} must be above 0, not {value}")
        if self.max_header_bytes < 1024:
            raise HttpLimitsError(
                f"--max-header-bytes {self.max_header_bytes} leaves no room for a request: "
                "give at least 1024"
            )

    @property
    def refusal_slots(self) -> int:
        """Refused connections kept open at once to deliver their 503 (reading what the
        client still sends, so that it reads the answer rather than a reset); past them
        a refused connection is answered and closed at once: refusing costs a bounded
        number of descriptors."""
        return max(8, self.max_connections // 8)

    def head_timeout(self) -> Refusal:
        return Refusal(
            408,
            f"Request Timeout: the request line and headers did not arrive within "
            f"{self.header_timeout_s:g} s",
        )

    def body_timeout(self) -> Refusal:
        return Refusal(
            408,
            f"Request Timeout: the request body did not arrive within {self.body_timeout_s:g} s",
        )

    def head_too_large(self) -> Refusal:
        return Refusal(
            431,
            "Request Header Fields Too Large: the request line and headers exceed "
            f"{self.max_header_bytes} bytes",
        )


def limit_options() -> list[tuple[str, str, type, object, str]]:
    """(field, flag, type, default, help) of every limit, for the CLI to declare."""
    out: list[tuple[str, str, type, object, str]] = []
    for spec in fields(HttpLimits):
        kind = float if spec.type in ("float", float) else int
        out.append((spec.name, spec.metadata["flag"], kind, spec.default, spec.metadata["help"]))
    return out


@dataclass(frozen=True, slots=True)
class Refusal:
    """An answer the server gives on its own, then closes the connection."""

    status: int
    message: str

    def render(self) -> bytes:
        """The whole HTTP/1.1 response: a JSON body in API Gateway's ``{"message"}``
        shape, ``connection: close``; a 503 says when to come back."""
        body = orjson.dumps({"message": self.message})
        reason = _REASONS.get(self.status, b"Error")
        head = [
            b"HTTP/1.1 %d %s" % (self.status, reason),
            b"content-type: application/json",
            b"content-length: %d" % len(body),
            b"connection: close",
        ]
        if self.status == 503:
            head.append(b"retry-after: 1")
        return b"\r\n".join(head) + b"\r\n\r\n" + body


_REASONS = {
    408: b"Request Timeout",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}

PORT_FULL = Refusal(503, "Service Unavailable: this port has too many open connections")
CLIENT_FULL = Refusal(503, "Service Unavailable: too many open connections from your address")


class Phase(enum.Enum):
    """Where a connection's current request is (see the module docstring)."""

    IDLE = "idle"
    HEAD = "head"
    BODY = "body"


class Expiry(enum.Enum):
    """What a passed deadline calls for."""

    #: nothing was received: close without a word (a browser's spare connection)
    CLOSE = "close"
    #: part of a head came: 408
    HEAD = "head"
    #: the body stopped coming: 408 if the app has not answered yet, else close
    BODY = "body"


class RequestClock:
    """One connection's deadlines and head size, fed by the protocol adapter."""

    __slots__ = ("deadline", "head_bytes", "heads", "limits", "phase")

    def __init__(self, limits: HttpLimits, now: float) -> None:
        self.limits = limits
        self.phase = Phase.IDLE
        #: when the current phase's time is up (None: no deadline runs)
        self.deadline: float | None = now + limits.header_timeout_s
        #: bytes of the current head received so far
        self.head_bytes = 0
        #: heads begun on this connection (tells a new head from the one still coming)
        self.heads = 0

    def head_room(self) -> int:
        """Bytes the current (or next) head may still take."""
        if self.phase is not Phase.HEAD:
            return self.limits.max_header_bytes
        return self.limits.max_header_bytes - self.head_bytes

    def receiving_head(self, size: int, now: float) -> None:
        """``size`` bytes of a head arrive (outside a body); a new head starts its clock
        unless the connection's first deadline still runs."""
        if self.phase is not Phase.HEAD:
            self.phase = Phase.HEAD
            self.head_bytes = 0
            self.heads += 1
            if self.deadline is None:
                self.deadline = now + self.limits.header_timeout_s
        self.head_bytes += size

    def head_began(self, now: float) -> None:
        """The parser saw a request start (a pipelined one may start mid-read)."""
        if self.phase is not Phase.HEAD:
            self.receiving_head(0, now)

    def head_ended(self, now: float) -> None:
        """The head is parsed: the body's clock starts."""
        self.phase = Phase.BODY
        self.deadline = now + self.limits.body_timeout_s

    def body_ended(self) -> None:
        """The whole request is in: the client owes nothing until its next request."""
        self.phase = Phase.IDLE
        self.deadline = None
        self.head_bytes = 0

    def expired(self, now: float) -> Expiry | None:
        """What to do if the deadline has passed at ``now``; None while time is left."""
        if self.deadline is None or now < self.deadline:
            return None
        if self.phase is Phase.HEAD:
            return Expiry.HEAD
        if self.phase is Phase.BODY:
            return Expiry.BODY
        return Expiry.CLOSE


class Admission(enum.Enum):
    """What becomes of a new connection."""

    ADMIT = "admit"
    #: over a cap: answer 503, then close
    REFUSE = "refuse"
    #: over a cap with every refusal slot taken: answer 503 and close at once (what
    #: the client sent may then reset the connection before it reads the answer)
    DROP = "drop"


class ConnectionTally:
    """Open connections of one port, in all and per client address."""

    def __init__(self, limits: HttpLimits) -> None:
        self.limits = limits
        self.open = 0
        self.refusing = 0
        self.by_client: Counter[str] = Counter()

    def admit(self, client: str) -> tuple[Admission, Refusal | None]:
        """Count a new connection from ``client`` in, or say how to refuse it."""
        refusal: Refusal | None = None
        if self.open >= self.limits.max_connections:
            refusal = PORT_FULL
        elif self.by_client[client] >= self.limits.max_client_connections:
            refusal = CLIENT_FULL
        if refusal is None:
            self.open += 1
            self.by_client[client] += 1
            return Admission.ADMIT, None
        if self.refusing >= self.limits.refusal_slots:
            return Admission.DROP, refusal
        self.refusing += 1
        return Admission.REFUSE, refusal

    def leave(self, client: str, admission: Admission) -> None:
        """A connection counted by :meth:`admit` closed."""
        if admission is Admission.ADMIT:
            self.open -= 1
            left = self.by_client[client] - 1
            if left > 0:
                self.by_client[client] = left
            else:
                del self.by_client[client]
        elif admission is Admission.REFUSE:
            self.refusing -= 1


def connection_cap(limits: HttpLimits, open_files: int, ports: int) -> HttpLimits:
    """``limits`` with the default connection caps lowered to fit ``open_files``
    descriptors shared by ``ports`` ports, leaving half of them to the runtime.

    Caps a user chose are kept as given.
    """
    default = HttpLimits()
    share = max(16, open_files // (2 * ports))
    changes: dict[str, int] = {}
    if limits.max_connections == default.max_connections and share < limits.max_connections:
        changes["max_connections"] = share
    if (
        limits.max_client_connections == default.max_client_connections
        and share // 4 < limits.max_client_connections
    ):
        changes["max_client_connections"] = max(4, share // 4)
    if not changes:
        return limits
    values = {spec.name: getattr(limits, spec.name) for spec in fields(limits)}
    values.update(changes)
    return HttpLimits(**values)


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit (as Go's runtime does
    at start) and return the limit now in force: every connection is a descriptor."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else _UNLIMITED_FILES
    if soft == resource.RLIM_INFINITY:
        return target
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


#: what an unlimited open-file limit counts as (Linux's default nr_open)
_UNLIMITED_FILES = 1 << 20
