"""The load balancer in front of a cluster: its configuration, rendered from the node list.

Pure: a list of :class:`LbNode` (from ``--node NAME=HOST:PORT`` today, from the node
registry later) and an :class:`LbSettings` in, the text of an HAProxy or nginx
configuration out. Both balancers send a request to the node with the fewest in
flight, retry elsewhere when a node cannot be reached, and retry a request already
sent only when its method is idempotent (RFC 9110 §9.2.2), so a POST is never run twice.

HAProxy checks each node's health path (:data:`HEALTHZ_PATH`): a draining node answers
503 and is taken out while it finishes what it has. nginx (the open-source build) has
no active health checks: it notices a node only when connecting to it fails, so it
drains by the node closing its listener at the end of its grace period.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from overcast.control.data_health import HEALTHZ_PATH
from overcast.errors import OvercastError

LbFormat = Literal["haproxy", "nginx"]
FORMATS: tuple[LbFormat, ...] = ("haproxy", "nginx")

#: RFC 9110 §9.2.2; the same set nginx retries by default (all but POST, LOCK, PATCH)
IDEMPOTENT_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
# A host name or an IPv4 address, or an IPv6 address in brackets: nothing that could
# end a directive or open a block in either configuration language.
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\]")

_PATH = re.compile(r"/[A-Za-z0-9_./-]*")


class LbConfigError(OvercastError):
    """A node or listen address the balancer configuration cannot hold."""


@dataclass(frozen=True, slots=True)
class LbNode:
    """One node's data port as the balancer reaches it."""

    name: str
    host: str
    port: int
    #: taken out of rotation (the registry says it drains): no new requests
    draining: bool = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class LbSettings:
    """How the balancer listens and watches the nodes; the defaults suit one machine room."""

    listen_host: str = ""
    listen_port: int = 8080
    #: seconds between health checks of a node (HAProxy)
    check_interval_s: float = 1.0
    #: failed checks before a node is taken out, passed ones before it is back
    fall: int = 2
    rise: int = 2
    #: seconds over which a node back in rotation ramps up to its full share (HAProxy)
    slowstart_s: float = 10.0
    #: further attempts on another node after the first failed
    retries: int = 2
    connect_timeout_s: float = 2.0
    #: a little above API Gateway's 30 s integration limit
    response_timeout_s: float = 35.0
    #: seconds nginx leaves a node alone after ``fall`` failures
    fail_timeout_s: float = 10.0
    #: HAProxy's runtime API socket (``show stat``, ``set server ... state drain``)
    stats_socket: str | None = None


def parse_node(spec: str) -> LbNode:
    """``NAME=HOST:PORT`` (``[::1]:3000`` for IPv6) → :class:`LbNode`."""
    name, sep, address = spec.partition("=")
    if not sep:
        raise LbConfigError(f"--node {spec!r}: expected NAME=HOST:PORT")
    host, port = _host_port(address, f"--node {spec!r}", "NAME=HOST:PORT")
    if not host:
        raise LbConfigError(f"--node {spec!r}: the host is missing")
    return _checked(LbNode(name, host, port))


def parse_listen(spec: str) -> tuple[str, int]:
    """``[HOST]:PORT`` or ``PORT`` → (host, port); an empty host listens on every address."""
    if ":" not in spec:
        spec = ":" + spec
    return _host_port(spec, f"--listen {spec!r}")


def render(nodes: Sequence[LbNode], settings: LbSettings, fmt: LbFormat) -> str:
    """The whole configuration file of ``fmt`` for ``nodes``."""
    checked = [_checked(node) for node in nodes]
    if not checked:
        raise LbConfigError("no nodes: give at least one --node NAME=HOST:PORT")
    names = [node.name for node in checked]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise LbConfigError(f"node names must be unique; repeated: {', '.join(duplicates)}")
    if settings.stats_socket is not None and not _PATH.fullmatch(settings.stats_socket):
        raise LbConfigError(f"stats socket {settings.stats_socket!r}: use a plain absolute path")
    if settings.listen_host and not _HOST.fullmatch(settings.listen_host):
        raise LbConfigError(f"listen host {settings.listen_host!r} is not an address")
    if fmt == "haproxy":
        return render_haproxy(checked, settings)
    if fmt == "nginx":
        return render_nginx(checked, settings)
    raise LbConfigError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")


def render_haproxy(nodes: Sequence[LbNode], settings: LbSettings) -> str:
    """An haproxy.cfg (checked against HAProxy 2.6, Debian bookworm's)."""
    s = settings
    not_idempotent = " ".join(f"!METH_{method}" for method in IDEMPOTENT_METHODS)
    inter = _duration(s.check_interval_s)
    lines = [
        f"# Written by `overcast cluster lb-config --format haproxy` for {len(nodes)} node(s).",
        "# Check it with `haproxy -c -f FILE`; apply with `systemctl reload haproxy`.",
        "global",
        "    maxconn 4096",
        *([f"    stats socket {s.stats_socket} mode 600 level admin"] if s.stats_socket else []),
        "",
        "defaults",
        "    mode http",
        f"    timeout connect {_duration(s.connect_timeout_s)}",
        "    timeout client 60s",
        f"    timeout server {_duration(s.response_timeout_s)}",
        "    timeout http-keep-alive 10s",
        f"    timeout check {_duration(s.connect_timeout_s)}",
        "",
        "frontend overcast",
        f"    bind {_bind(s)}",
        "    option forwardfor",
        "    default_backend overcast_nodes",
        "",
        "backend overcast_nodes",
        "    balance leastconn",
        # A draining node answers 503 here and is taken out after `fall` checks, while
        # it still serves: its listener closes only at the end of its grace period.
        f"    option httpchk GET {HEALTHZ_PATH}",
        "    http-check expect status 200",
        f"    retries {s.retries}",
        "    retry-on conn-failure empty-response response-timeout",
        "    option redispatch 1",
        # A request that never reached a node is safe to send elsewhere whatever its
        # method; one that did is retried only if running it twice is harmless.
        f"    http-request disable-l7-retry if {not_idempotent}",
        f"    default-server check inter {inter} fastinter {_duration(s.check_interval_s / 2)} "
        f"downinter {_duration(s.check_interval_s * 2)} fall {s.fall} rise {s.rise} "
        # A node whose name does not resolve yet must not stop the balancer starting.
        f"slowstart {_duration(s.slowstart_s)} init-addr last,libc,none",
    ]
    for node in nodes:
        disabled = " disabled" if node.draining else ""
        lines.append(f"    server {node.name} {node.address}{disabled}")
    return "\n".join(lines) + "\n"


def render_nginx(nodes: Sequence[LbNode], settings: LbSettings) -> str:
    """A whole nginx.conf (its ``upstream`` and ``server`` blocks fit a site file too)."""
    s = settings
    listen = f"{s.listen_host}:{s.listen_port}" if s.listen_host else str(s.listen_port)
    servers = []
    for node in nodes:
        down = " down" if node.draining else ""
        servers.append(
            f"        server {node.address} max_fails={s.fall} "
            f"fail_timeout={_duration(s.fail_timeout_s)}{down};  # {node.name}"
        )
    lines = [
        f"# Written by `overcast cluster lb-config --format nginx` for {len(nodes)} node(s).",
        "# Check it with `nginx -t -c FILE`. Open-source nginx has no active health checks:",
        "# it takes a node out when connecting to it fails (max_fails within fail_timeout),",
        "# so a draining node leaves when its listener closes, or drop it here and reload.",
        "worker_processes auto;",
        "events {",
        "    worker_connections 1024;",
        "}",
        "http {",
        "    upstream overcast_nodes {",
        "        least_conn;",
        *servers,
        "        keepalive 32;",
        "    }",
        "    server {",
        f"        listen {listen};",
        "        location / {",
        "            proxy_pass http://overcast_nodes;",
        "            proxy_http_version 1.1;",
        '            proxy_set_header Connection "";',
        "            proxy_set_header Host $host;",
        "            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        "            proxy_set_header X-Forwarded-Proto $scheme;",
        f"            proxy_connect_timeout {_duration(s.connect_timeout_s)};",
        f"            proxy_read_timeout {_duration(s.response_timeout_s)};",
        # nginx never passes a non-idempotent request (POST, LOCK, PATCH) to the next
        # node once it was sent (unless `non_idempotent` is added): only these retry.
        "            proxy_next_upstream error timeout;",
        f"            proxy_next_upstream_tries {s.retries + 1};",
        "        }",
        "    }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _checked(node: LbNode) -> LbNode:
    if not _NAME.fullmatch(node.name):
        raise LbConfigError(
            f"node name {node.name!r}: use letters, digits, '.', '_' and '-' (at most 63)"
        )
    if not _HOST.fullmatch(node.host):
        raise LbConfigError(f"node {node.name}: host {node.host!r} is not an address")
    if not 0 < node.port < 65536:
        raise LbConfigError(f"node {node.name}: port {node.port} is out of range")
    return node


def _host_port(address: str, what: str, shape: str = "HOST:PORT") -> tuple[str, int]:
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit():
        raise LbConfigError(f"{what}: expected {shape}")
    port = int(port_text)
    if not 0 < port < 65536:
        raise LbConfigError(f"{what}: port {port} is out of range")
    if host and not _HOST.fullmatch(host):
        raise LbConfigError(f"{what}: {host!r} is not a host name or address")
    return host, port


def _bind(settings: LbSettings) -> str:
    return f"{settings.listen_host}:{settings.listen_port}"


def _duration(seconds: float) -> str:
    """A time both HAProxy and nginx read: whole seconds, else milliseconds."""
    millis = round(seconds * 1000)
    return f"{millis // 1000}s" if millis % 1000 == 0 else f"{millis}ms"
