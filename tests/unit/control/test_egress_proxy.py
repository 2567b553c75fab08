"""The egress proxy: tunnels and forwards to allowed addresses, refuses the rest as a proxy does."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable

from overcast.control.egress_proxy import EgressProxy, public_only


async def _origin() -> tuple[asyncio.Server, int]:
    """A tiny HTTP/1.1 server on the loopback answering every request with its request line."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        line = head.split(b"\r\n", 1)[0]
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(line), line)
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _exchange(proxy_port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return answer


def _run(
    allowed: Callable[[ipaddress.IPv4Address | ipaddress.IPv6Address], bool],
    request: Callable[[int, int], bytes],
) -> bytes:
    async def scenario() -> bytes:
        origin, origin_port = await _origin()
        proxy = EgressProxy(allowed)
        proxy.bind()
        await proxy.start()
        try:
            return await _exchange(proxy.port, request(origin_port, proxy.port))
        finally:
            await proxy.aclose()
            origin.close()

    return asyncio.run(scenario())


def _loopback(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return address.is_loopback


def test_connect_tunnels_to_an_allowed_address() -> None:
    answer = _run(
        _loopback,
        lambda port, _: (
            f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n"
            "GET /through HTTP/1.1\r\nHost: x\r\n\r\n"
        ).encode(),
    )
    assert answer.startswith(b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK")
    assert answer.endswith(b"GET /through HTTP/1.1")


def test_absolute_form_requests_are_forwarded_in_origin_form() -> None:
    answer = _run(
        _loopback,
        lambda port, _: (
            f"GET http://127.0.0.1:{port}/a/b?c=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Proxy-Authorization: secret\r\n\r\n"
        ).encode(),
    )
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b"GET /a/b?c=1 HTTP/1.1")


def test_private_and_loopback_destinations_are_refused_by_default() -> None:
    answer = _run(
        public_only,
        lambda port, _: f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 403 Forbidden")
    assert b"is not a public address" in answer


def test_names_that_do_not_resolve_are_a_bad_gateway() -> None:
    answer = _run(
        public_only,
        lambda _, __: b"CONNECT no-such-host.invalid:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 502 Bad Gateway")


def test_garbage_is_a_bad_request() -> None:
    answer = _run(public_only, lambda _, __: b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 Bad Request")


def test_the_default_policy_is_global_unicast_only() -> None:
    for text in ("127.0.0.1", "10.1.2.3", "192.168.0.1", "169.254.169.254", "::1", "fd00::1"):
        assert not public_only(ipaddress.ip_address(text)), text
    for text in ("1.1.1.1", "2606:4700:4700::1111"):
        assert public_only(ipaddress.ip_address(text)), text
