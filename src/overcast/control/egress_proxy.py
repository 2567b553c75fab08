"""Internet egress for sandboxed functions: a forward proxy to public addresses only.

A Lambda function outside a VPC reaches the internet; a sandbox's network namespace has
nothing but a loopback (:mod:`overcast.runtime.sandbox`). So each sandbox sees this
proxy at ``127.0.0.1:<port>`` and finds it through ``HTTPS_PROXY``/``HTTP_PROXY``,
which botocore, requests, urllib3, httpx and the standard library's urllib honour:

* ``CONNECT host:port`` (HTTPS, any TLS) opens a tunnel;
* an absolute-form request (``GET http://host/path``) is forwarded in origin form,
  with ``Connection: close``, and the answer relayed.

Every destination is resolved here and must be a global unicast address — never the
loopback, a private or link-local network, or anything reserved — so the proxy is no
way around the network grants: PostgreSQL on 127.0.0.1 stays unreachable unless
granted, whatever a function asks the proxy for. Refusals are answered as a proxy
does (403 with a one-line reason; 502 when the destination does not answer).

Request heads are parsed by h11. The proxy owns every connection it serves and closes
them all on :meth:`EgressProxy.aclose`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

import h11

from overcast.runtime.relay import pipe

logger = logging.getLogger("overcast.control.egress")

_MAX_HEAD = 64 * 1024
_CONNECT_TIMEOUT_S = 10.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def public_only(address: Address) -> bool:
    """The default policy: global unicast addresses (what a function outside a VPC reaches)."""
    return address.is_global and not address.is_multicast


class EgressRefusedError(Exception):
    """The destination is not one the policy lets functions reach."""


class EgressProxy:
    """Serves the proxy on ``host:port`` (0: any free port) of the platform's loopback."""

    def __init__(
        self, allowed: Callable[[Address], bool] = public_only, host: str = "127.0.0.1"
    ) -> None:
        self.allowed = allowed
        self.host = host
        self.port = 0
        self._sock: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    def bind(self) -> int:
        """Take a free port now (the sandbox plans name it before anything serves)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(256)
        sock.setblocking(False)
        self._sock = sock
        self.port = sock.getsockname()[1]
        return self.port

    async def start(self) -> None:
        """Serve on the bound port."""
        if self._sock is None:
            self.bind()
        self._server = await asyncio.start_server(self._serve, sock=self._sock)

    def close_unstarted(self) -> None:
        """Release the port of a proxy that never served (a start that failed)."""
        if self._server is None and self._sock is not None:
            self._sock.close()

    async def aclose(self) -> None:
        """Stop accepting, cut every connection, wait for them to end."""
        if self._server is not None:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._proxy(reader, writer)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            if task is not None:
                self._connections.discard(task)

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await _answer(writer, 431, "Request Header Fields Too Large")
            return
        parser = h11.Connection(h11.SERVER, max_incomplete_event_size=_MAX_HEAD)
        parser.receive_data(head)
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError as exc:
            await _answer(writer, 400, f"Bad Request: {exc}")
            return
        if not isinstance(event, h11.Request):
            await _answer(writer, 400, "Bad Request")
            return
        method = event.method.decode("ascii", "replace")
        target = event.target.decode("ascii", "replace")
        if method == "CONNECT":
            await self._tunnel(target, reader, writer)
        else:
            headers = [(name, value) for name, value in event.headers]
            await self._forward(method, target, headers, reader, writer)

    async def _open_or_answer(
        self, host: str, port: int, writer: asyncio.StreamWriter
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        """:meth:`_open`, or None once the client has its 403 (refused) or 502 (unreachable)."""
        try:
            return await self._open(host, port)
        except EgressRefusedError as exc:
            await _answer(writer, 403, f"Forbidden: {exc}")
        except (ConnectionError, OSError, TimeoutError) as exc:
            await _answer(writer, 502, f"Bad Gateway: {exc}")
        return None

    async def _open(
        self, host: str, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to ``host:port`` through an address the policy allows."""
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise ConnectionError(f"{host} does not resolve ({exc})") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        usable = [a for a in addresses if self.allowed(a)]
        if not usable:
            raise EgressRefusedError(
                f"{host} ({', '.join(map(str, addresses))}) is not a public address: "
                "functions reach it only through a network grant"
            )
        return await asyncio.wait_for(
            asyncio.open_connection(str(usable[0]), port), _CONNECT_TIMEOUT_S
        )

    async def _tunnel(
        self, target: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            await _answer(writer, 400, f"Bad Request: CONNECT needs host:port, got {target!r}")
            return
        upstream = await self._open_or_answer(host, int(port_text), writer)
        if upstream is None:
            return
        upstream_r, upstream_w = upstream
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            await asyncio.gather(pipe(reader, upstream_w), pipe(upstream_r, writer))
        finally:
            upstream_w.close()

    async def _forward(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            await _answer(writer, 400, "Bad Request: a proxy needs an absolute http:// URL")
            return
        upstream = await self._open_or_answer(url.hostname, url.port or 80, writer)
        if upstream is None:
            return
        upstream_r, upstream_w = upstream
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        lines = [f"{method} {path} HTTP/1.1".encode()]
        for name, value in headers:
            if name.lower().startswith(b"proxy-") or name.lower() == b"connection":
                continue
            lines.append(name + b": " + value)
        lines.append(b"Connection: close")
        upstream_w.write(b"\r\n".join(lines) + b"\r\n\r\n")
        try:
            await asyncio.gather(pipe(reader, upstream_w), pipe(upstream_r, writer))
        finally:
            upstream_w.close()


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    body = (reason + "\n").encode()
    writer.write(
        f"HTTP/1.1 {status} {reason.split(':', 1)[0]}\r\n".encode()
        + b"Content-Type: text/plain; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    with contextlib.suppress(ConnectionError, OSError):
        await writer.drain()
