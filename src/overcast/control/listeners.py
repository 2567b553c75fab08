"""The listening ports of a node or platform, bound apart, and their servers.

Three listeners: the data port (``--host``/``--port``, TLS with ``--tls-cert``), the
admin port (``--admin-host``, loopback unless told otherwise, whatever ``--host``
is: it carries Vault tokens, the dashboard's sign-in and the Lambda API; TLS with
``--admin-tls-cert``) and the loopback listener sandboxed functions reach the admin
APIs through (always plain HTTP: it never leaves this machine). A non-loopback admin
address without TLS is refused unless ``--admin-insecure-http`` says so, as Vault
refuses a listener without TLS unless ``tls_disable`` is set.

Everything that can be wrong (a key that does not match, an admin address that needs
TLS, a port in use) is found before the first port is bound, or closes what was
bound: a failed start leaves nothing listening.
"""

from __future__ import annotations

import logging
import socket
import ssl
import typing
from dataclasses import dataclass, field

from overcast.control.http_limits import (
    HttpLimits,
    connection_cap,
    raise_open_file_limit,
)
from overcast.control.tls import TlsFiles, is_loopback
from overcast.errors import OvercastError

if typing.TYPE_CHECKING:
    from overcast.control.http_server import GuardedServer

logger = logging.getLogger("overcast.control.listeners")

#: what --admin-host defaults to, whatever --host is
ADMIN_HOST = "127.0.0.1"
_PORTS = 3


class PortInUseError(OvercastError):
    """A port the node needs is already taken."""


class AdminExposedError(OvercastError):
    """The admin port was asked to listen beyond this machine in clear HTTP."""


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """Where and how the ports listen (a part of the node's and platform's options)."""

    host: str = "127.0.0.1"
    port: int = 3000
    admin_host: str = ADMIN_HOST
    admin_port: int = 3001
    limits: HttpLimits = field(default_factory=HttpLimits)
    tls: TlsFiles | None = None
    admin_tls: TlsFiles | None = None
    #: serve a non-loopback admin address in clear HTTP (Vault's ``tls_disable``)
    admin_insecure_http: bool = False


def bind(host: str, port: int) -> socket.socket:
    """Bind a listening TCP socket, turning "address in use" into an actionable error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortInUseError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            hint="pick another port with --port/--admin-port, or stop what is using it",
        ) from exc
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class Listeners:
    """The bound sockets, their TLS contexts and limits; :meth:`servers` serves them."""

    def __init__(self, options: ListenOptions) -> None:
        self.options = options
        if (
            not is_loopback(options.admin_host)
            and options.admin_tls is None
            and not options.admin_insecure_http
        ):
            raise AdminExposedError(
                f"the admin port would listen on {options.admin_host} in clear HTTP: it "
                "carries Vault tokens, the dashboard's sign-in and the Lambda API",
                hint="give it a certificate with --admin-tls-cert/--admin-tls-key, or "
                "accept the risk with --admin-insecure-http",
            )
        self.data_tls: ssl.SSLContext | None = (
            options.tls.server_context() if options.tls is not None else None
        )
        self.admin_tls: ssl.SSLContext | None = (
            options.admin_tls.server_context() if options.admin_tls is not None else None
        )
        open_files = raise_open_file_limit()
        #: the limits in force (default connection caps lowered to the open-file limit)
        self.limits = connection_cap(options.limits, open_files, _PORTS)
        if self.limits != options.limits:
            logger.warning(
                "open-file limit %d: each port takes at most %d connections",
                open_files,
                self.limits.max_connections,
            )
        self.data = bind(options.host, options.port)
        try:
            self.admin = bind(options.admin_host, options.admin_port)
        except PortInUseError:
            self.data.close()
            raise
        #: the admin app's listener for sandboxed functions (a loopback port of its own)
        self.functions = bind("127.0.0.1", 0)
        self.data_address: tuple[str, int] = self.data.getsockname()[:2]
        self.admin_address: tuple[str, int] = self.admin.getsockname()[:2]
        self.functions_address: tuple[str, int] = self.functions.getsockname()[:2]

    @property
    def admin_scheme(self) -> str:
        return "https" if self.admin_tls is not None else "http"

    @property
    def data_scheme(self) -> str:
        return "https" if self.data_tls is not None else "http"

    @property
    def admin_url(self) -> str:
        """The admin port's URL for a client on this machine."""
        return url(self.admin_scheme, *self.admin_address)

    @property
    def data_url(self) -> str:
        """The data port's URL for a client on this machine."""
        return url(self.data_scheme, *self.data_address)

    @property
    def function_admin_address(self) -> tuple[str, int]:
        """Where functions are told the admin APIs are: the admin port, or, when that
        speaks TLS (whose certificate functions do not trust), their own plain
        loopback listener."""
        return self.functions_address if self.admin_tls is not None else self.admin_address

    def servers(
        self, data_app: object, admin_app: object, graceful_timeout_s: float
    ) -> list[tuple[GuardedServer, socket.socket]]:
        """The three servers (data, admin, functions), each with its socket."""
        # Imported here: the CLI imports ListenOptions at start, and uvicorn costs it 150 ms.
        from overcast.control.http_server import http_server  # noqa: PLC0415

        limits = self.limits
        return [
            (http_server(data_app, graceful_timeout_s, limits, tls=self.data_tls), self.data),
            # h11 on the admin port: Vault clients (hvac) send the LIST method, which
            # httptools refuses; the admin port is not the data path.
            (
                http_server(admin_app, graceful_timeout_s, limits, http="h11", tls=self.admin_tls),
                self.admin,
            ),
            (http_server(admin_app, graceful_timeout_s, limits, http="h11"), self.functions),
        ]

    def close(self) -> None:
        self.data.close()
        self.admin.close()
        self.functions.close()


def url(scheme: str, host: str, port: int) -> str:
    """``scheme://host:port`` as a client on this machine reaches it: a wildcard bind
    on loopback, an IPv6 host in brackets."""
    if host in ("0.0.0.0", ""):  # noqa: S104  (reading a bind address, not binding)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
