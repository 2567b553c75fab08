"""The flags of ``overcast up`` and ``overcast serve`` that say where and how they listen.

Declared once for both commands: addresses and ports, TLS for each port, and the
request limits (derived from :class:`~overcast.control.http_limits.HttpLimits`'
fields, so a new limit is a new flag with no edit here). The command receives them
as one ``listen`` argument, a :class:`~overcast.control.listeners.ListenOptions`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from overcast.control.http_limits import HttpLimits, limit_options
from overcast.control.listeners import ADMIN_HOST, ListenOptions
from overcast.control.tls import tls_files
from overcast.errors import OvercastError

F = TypeVar("F", bound=Callable[..., Any])

_PEM = click.Path(exists=True, dir_okay=False, path_type=Path)


def listen_options(
    *, port: int, admin_port: int, port_help: str, admin_port_help: str
) -> Callable[[F], F]:
    """Add the listening flags to a click command; it gets them as ``listen=``."""
    options = [
        click.option("--host", default="127.0.0.1", show_default=True,
                     help="Address the data port listens on (0.0.0.0: every interface)."),
        click.option("--port", type=int, default=port, show_default=True, help=port_help),
        click.option("--admin-host", default=ADMIN_HOST, show_default=True,
                     help="Address the admin port listens on, whatever --host is."),
        click.option("--admin-port", type=int, default=admin_port, show_default=True,
                     help=admin_port_help),
        click.option("--tls-cert", type=_PEM, default=None,
                     help="PEM certificate chain: serve the data port over HTTPS."),
        click.option("--tls-key", type=_PEM, default=None, help="The --tls-cert's private key."),
        click.option("--admin-tls-cert", type=_PEM, default=None,
                     help="PEM certificate chain: serve the admin port over HTTPS."),
        click.option("--admin-tls-key", type=_PEM, default=None,
                     help="The --admin-tls-cert's private key."),
        click.option("--admin-insecure-http", is_flag=True,
                     help="Allow a non-loopback --admin-host without TLS (refused otherwise)."),
        *(
            click.option(flag, name, type=kind, default=default, show_default=True, help=text)
            for name, flag, kind, default, text in limit_options()
        ),
    ]  # fmt: skip

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                kwargs["listen"] = _listen(kwargs)
            except OvercastError as exc:
                raise click.UsageError(exc.message) from exc
            return command(*args, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper  # type: ignore[return-value]

    return decorate


def _listen(kwargs: dict[str, Any]) -> ListenOptions:
    """Pop the listening flags out of a command's arguments into ListenOptions."""
    limits = HttpLimits(**{name: kwargs.pop(name) for name, *_ in limit_options()})
    return ListenOptions(
        host=kwargs.pop("host"),
        port=kwargs.pop("port"),
        admin_host=kwargs.pop("admin_host"),
        admin_port=kwargs.pop("admin_port"),
        limits=limits,
        tls=tls_files(kwargs.pop("tls_cert"), kwargs.pop("tls_key"), "--tls"),
        admin_tls=tls_files(
            kwargs.pop("admin_tls_cert"), kwargs.pop("admin_tls_key"), "--admin-tls"
        ),
        admin_insecure_http=kwargs.pop("admin_insecure_http"),
    )
