"""Whether a node or a platform walls its functions in, and what it tells the user.

Both ``overcast up`` and ``overcast serve`` sandbox every function instance by default
(:mod:`overcast.runtime.sandbox`). Where this machine cannot build a sandbox (not Linux,
user namespaces disabled for a non-root user, no libseccomp), ``overcast up`` runs
the functions unisolated with one clear warning, and ``overcast serve`` refuses to
start unless told ``--no-sandbox``: a platform hosts code it does not trust.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from overcast.errors import OvercastError
from overcast.runtime.sandbox import Endpoint, PortMapping, SandboxConfig, detected


class SandboxUnavailableError(OvercastError):
    """A platform was asked to host functions on a machine that cannot wall them in."""


@dataclass(frozen=True, slots=True)
class SandboxChoice:
    """The runtime's sandbox (None: off) and, when off, the one line that says why."""

    config: SandboxConfig | None
    warning: str | None = None

    @property
    def enabled(self) -> bool:
        return self.config is not None


def platform_endpoint(host: str, port: int) -> Endpoint:
    """A port of the platform as a function reaches it (a wildcard bind on loopback)."""
    if host in ("0.0.0.0", ""):  # noqa: S104  (reading a bind address, not binding)
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return Endpoint(host, port)


def platform_ports(
    admin: tuple[str, int], functions: tuple[str, int], data: tuple[str, int]
) -> tuple[PortMapping, ...]:
    """The platform's ports inside every sandbox: the admin port (served there by the
    admin app's function-facing listener ``functions``) and the data port."""
    return (
        PortMapping(platform_endpoint(*admin), platform_endpoint(*functions)),
        PortMapping(platform_endpoint(*data), platform_endpoint(*data)),
    )


def choose_sandbox(
    wanted: bool,
    ports: Iterable[PortMapping],
    *,
    required: bool = False,
    egress: Endpoint | None = None,
) -> SandboxChoice:
    """The sandbox to run functions in, given ``--no-sandbox`` and what the machine allows.

    ``required`` (a platform): refuse rather than run untrusted code unisolated.
    ``egress``: the egress proxy's port, through which functions reach the internet (as
    a Lambda function outside a VPC does); None keeps them off it (``--no-egress``).
    """
    if not wanted:
        return SandboxChoice(None, "the sandbox is off (--no-sandbox): functions are not isolated")
    support = detected()
    if support.mode is None:
        if required:
            raise SandboxUnavailableError(
                f"this machine cannot isolate functions: {support.reason}",
                hint="run the platform as root, enable user namespaces, or accept the risk "
                "with --no-sandbox",
            )
        return SandboxChoice(
            None, f"functions are not isolated from this machine: {support.reason}"
        )
    mappings = tuple(ports) + ((PortMapping(egress, egress),) if egress is not None else ())
    return SandboxChoice(SandboxConfig(support.mode, mappings, egress))
