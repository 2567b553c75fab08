"""Host header → stage, the part Route53 plays in the reference system.

With a platform domain ``example.test``: ``<stage>.example.test`` → that stage,
``example.test`` and ``www.example.test`` → ``prod``; custom domains map to the
stage they are configured on. Matching ignores case, a trailing dot and the port.

An unknown host resolves to ``None``. The adapter answers it with **421 Misdirected
Request** (RFC 9110 §15.5.20: "the request was directed at a server that is unable
or unwilling to produce an authoritative response for the target URI"): the host is
not one this platform serves, which is a statement about the authority, not about
a missing resource (404). CloudFront itself refuses a Host that is not one of a
distribution's alternate domain names (it answers 403 "Bad request"), and Route53
would never have pointed such a name here; 421 says the same and tells a client it
may retry on another connection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROD_STAGE = "prod"


@dataclass(frozen=True, slots=True)
class HostTable:
    """A prebuilt dict from normalised host name to stage name."""

    hosts: Mapping[str, str]

    @classmethod
    def build(
        cls,
        stages: Iterable[str],
        *,
        domain: str | None = None,
        custom: Mapping[str, str] | None = None,
    ) -> HostTable:
        """Build the table for ``stages`` under ``domain`` plus ``custom`` host → stage."""
        stage_list = list(stages)
        hosts: dict[str, str] = {}
        if domain:
            domain = _normalise(domain)
            for stage in stage_list:
                hosts[f"{stage}.{domain}"] = stage
            if PROD_STAGE in stage_list:
                hosts[domain] = PROD_STAGE
                hosts[f"www.{domain}"] = PROD_STAGE
        for host, stage in (custom or {}).items():
            hosts[_normalise(host)] = stage
        return cls(hosts)

    def stage_for(self, host: str | None) -> str | None:
        """The stage serving ``host`` (a Host header value), or ``None`` if unknown."""
        if not host:
            return None
        return self.hosts.get(_normalise(host))


def _normalise(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        end = host.find("]")
        return host[: end + 1] if end != -1 else host
    colon = host.rfind(":")
    if colon != -1:
        host = host[:colon]
    return host.rstrip(".")
