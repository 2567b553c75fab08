"""TLS for the data and admin ports: a certificate and key in PEM files.

The data port (``--tls-cert``/``--tls-key``) and the admin port
(``--admin-tls-cert``/``--admin-tls-key``) each take their own pair: the data port's
certificate names the public host, while the admin port usually answers on loopback
or an internal name. The files are read when the node or platform starts, so a wrong
path, a key that does not match its certificate or a locked key fails the start with
a clear message; replacing them takes a restart.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from overcast.errors import OvercastError


class TlsError(OvercastError):
    """A certificate or key that cannot serve TLS."""


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """A PEM certificate chain and its private key (unencrypted)."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """A server context for these files: TLS 1.2 or later, HTTP/1.1 by ALPN."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.set_alpn_protocols(["http/1.1"])
        try:
            context.load_cert_chain(self.cert, self.key, password=_no_password)
        except FileNotFoundError as exc:
            raise TlsError(f"cannot read {exc.filename}: no such file") from exc
        except PermissionError as exc:
            raise TlsError(f"cannot read {exc.filename}: permission denied") from exc
        except ssl.SSLError as exc:
            raise TlsError(
                f"cannot serve TLS with {self.cert} and {self.key}: {exc.reason or exc}",
                hint="give a PEM certificate chain and its own private key, unencrypted",
            ) from exc
        return context


def _no_password() -> str:
    # An encrypted key would otherwise prompt on the terminal.
    raise TlsError("the TLS key is encrypted", hint="give the key unencrypted (openssl pkey)")


def tls_files(cert: Path | None, key: Path | None, flag: str) -> TlsFiles | None:
    """The pair given as ``{flag}-cert``/``{flag}-key`` (both or neither)."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise TlsError(f"{flag}-cert and {flag}-key go together: give both, or neither")
    return TlsFiles(cert, key)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
