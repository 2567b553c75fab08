"""The DNS responder on a real socket, asked by a real resolver (dnspython).

The responder runs on its own event loop in a background thread, so dnspython's
blocking resolver can query it from the test the way any client would.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import pytest
import uvloop

from overcast.control.dns_responder import (
    DnsPortUnavailableError,
    DnsResponder,
    DnsZone,
    start_dns_responder,
)

pytestmark = pytest.mark.slow

ZONE = DnsZone(
    "example.test",
    ("dev", "qa", "prod"),
    ("shop.acme.test",),
    ipv4="127.0.0.1",
    ipv6="::1",
)
# Long enough that an NXDOMAIN with its SOA overflows 512 bytes of plain UDP.
LONG_DOMAIN = ".".join(["d" * 57, "e" * 57, "f" * 57, "g" * 57]) + ".test"
LONG_ZONE = DnsZone(LONG_DOMAIN, ("dev",), ("shop.acme.test",), ipv4="127.0.0.2")
LONG_NAME = ".".join(["h" * 60, "i" * 60, "j" * 60, "k" * 50]) + ".shop.acme.test"

T = TypeVar("T")


class LoopThread:
    """An event loop running in a daemon thread; ``run`` waits for a coroutine there."""

    def __init__(self, kind: str) -> None:
        self.loop = uvloop.new_event_loop() if kind == "uvloop" else asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def loop_thread(request: pytest.FixtureRequest) -> Iterator[LoopThread]:
    # The node runs on uvloop, whose transports differ from asyncio's: test both.
    thread = LoopThread(request.param)
    yield thread
    thread.stop()


@contextmanager
def serving(
    loop_thread: LoopThread, zone: DnsZone, host: str = "127.0.0.1", port: int = 0
) -> Iterator[DnsResponder]:
    responder = loop_thread.run(start_dns_responder(zone, host, port))
    try:
        yield responder
    finally:
        loop_thread.run(responder.aclose())


@pytest.fixture(scope="module")
def responder(loop_thread: LoopThread) -> Iterator[DnsResponder]:
    with serving(loop_thread, ZONE) as running:
        yield running


def resolver_for(responder: DnsResponder) -> dns.resolver.Resolver:
    host, port = responder.address
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [host]
    resolver.port = port
    # A bound on a broken server, not a timing claim: a healthy one answers at once.
    resolver.lifetime = 10.0
    resolver.cache = None
    return resolver


def test_the_port_asked_as_zero_is_a_real_port(responder: DnsResponder) -> None:
    host, port = responder.address
    assert host == "127.0.0.1"
    assert port > 0
    assert responder.serves_tcp


@pytest.mark.parametrize(
    "name", ["example.test", "www.example.test", "dev.example.test", "QA.Example.Test."]
)
def test_resolver_gets_the_ipv4_of_each_served_name(responder: DnsResponder, name: str) -> None:
    answer = resolver_for(responder).resolve(name, "A")
    assert [r.address for r in answer] == ["127.0.0.1"]
    assert answer.rrset is not None
    assert answer.rrset.ttl == 60


def test_resolver_gets_the_ipv6(responder: DnsResponder) -> None:
    answer = resolver_for(responder).resolve("prod.example.test", "AAAA")
    assert [r.address for r in answer] == ["::1"]


def test_a_custom_domain_resolves(responder: DnsResponder) -> None:
    answer = resolver_for(responder).resolve("shop.acme.test", "A")
    assert [r.address for r in answer] == ["127.0.0.1"]


def test_an_unknown_name_in_the_domain_is_nxdomain(responder: DnsResponder) -> None:
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver_for(responder).resolve("staging.example.test", "A")


def test_nxdomain_is_authoritative_with_the_soa(responder: DnsResponder) -> None:
    host, port = responder.address
    query = dns.message.make_query("staging.example.test", "A")
    reply = dns.query.udp(query, host, port=port, timeout=10)
    assert reply.rcode() == dns.rcode.NXDOMAIN
    assert reply.flags & dns.flags.AA
    assert not reply.flags & dns.flags.RA
    (soa,) = reply.authority
    assert soa.rdtype == dns.rdatatype.SOA
    assert soa.name.to_text() == "example.test."


def test_a_name_outside_the_domain_is_refused(responder: DnsResponder) -> None:
    # The resolver drops a server that answers REFUSED; with no server left it gives up.
    with pytest.raises(dns.resolver.NoNameservers) as raised:
        resolver_for(responder).resolve("example.com", "A")
    assert "REFUSED" in str(raised.value)


def test_refused_is_the_rcode_on_the_wire(responder: DnsResponder) -> None:
    host, port = responder.address
    reply = dns.query.udp(dns.message.make_query("example.com", "A"), host, port=port, timeout=10)
    assert reply.rcode() == dns.rcode.REFUSED
    assert not reply.flags & dns.flags.AA


def test_a_served_name_with_no_record_of_the_type_is_no_answer(responder: DnsResponder) -> None:
    with pytest.raises(dns.resolver.NoAnswer):
        resolver_for(responder).resolve("dev.example.test", "MX")


def test_ns_and_soa_of_the_apex(responder: DnsResponder) -> None:
    resolver = resolver_for(responder)
    assert [r.target.to_text() for r in resolver.resolve("example.test", "NS")] == ["example.test."]
    (soa,) = resolver.resolve("example.test", "SOA")
    assert soa.mname.to_text() == "example.test."
    assert soa.minimum == 60


def test_the_resolver_gets_the_same_answers_over_tcp(responder: DnsResponder) -> None:
    resolver = resolver_for(responder)
    assert [r.address for r in resolver.resolve("dev.example.test", "A", tcp=True)] == ["127.0.0.1"]
    with pytest.raises(dns.resolver.NXDOMAIN):
        resolver.resolve("nope.example.test", "A", tcp=True)


def test_tcp_answers_several_queries_on_one_connection(responder: DnsResponder) -> None:
    host, port = responder.address
    with socket.create_connection((host, port), timeout=10) as sock:
        for name in ("dev.example.test", "qa.example.test", "nope.example.test"):
            query = dns.message.make_query(name, "A")
            dns.query.send_tcp(sock, query)
            reply, _ = dns.query.receive_tcp(sock)
            assert reply.id == query.id
            assert reply.question[0].name.to_text() == f"{name}."


def test_garbage_does_not_stop_the_server(responder: DnsResponder) -> None:
    host, port = responder.address
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        for junk in (b"", b"\x00", b"\xff" * 40, bytes(range(256))):
            udp.sendto(junk, (host, port))
    with socket.create_connection((host, port), timeout=10) as tcp:
        tcp.sendall(b"\x00\x05hello")  # a framed message that is not DNS: connection dropped
        assert tcp.recv(100) == b""
    answer = resolver_for(responder).resolve("dev.example.test", "A")
    assert [r.address for r in answer] == ["127.0.0.1"]


def test_a_reply_too_big_for_udp_makes_the_resolver_retry_over_tcp(
    loop_thread: LoopThread,
) -> None:
    with serving(loop_thread, LONG_ZONE) as running:
        host, port = running.address
        # Without EDNS the UDP reply is cut to a header and question with TC set ...
        udp_reply = dns.query.udp(
            dns.message.make_query(LONG_NAME, "A", use_edns=False), host, port=port, timeout=10
        )
        assert udp_reply.flags & dns.flags.TC
        assert not udp_reply.authority
        # ... and the resolver, seeing TC, asks again over TCP and gets the whole reply.
        resolver = resolver_for(running)
        resolver.use_edns(False)
        with pytest.raises(dns.resolver.NXDOMAIN) as raised:
            resolver.resolve(LONG_NAME, "A")
        response = raised.value.responses()[dns.name.from_text(LONG_NAME)]
        assert response.authority
        assert response.authority[0].rdtype == dns.rdatatype.SOA


def test_a_port_in_use_raises_with_a_hint(loop_thread: LoopThread, responder: DnsResponder) -> None:
    host, port = responder.address
    with pytest.raises(DnsPortUnavailableError) as raised:
        loop_thread.run(start_dns_responder(ZONE, host, port))
    assert str(port) in str(raised.value)
    assert "another DNS port" in raised.value.hint


def test_closing_frees_the_port_for_both_transports(loop_thread: LoopThread) -> None:
    with serving(loop_thread, ZONE) as running:
        host, port = running.address
        idle = socket.create_connection((host, port), timeout=10)  # an open TCP client
    with idle:
        assert idle.recv(10) == b"", "closing the responder closes its TCP connections"
    with serving(loop_thread, ZONE, host, port) as again:
        assert again.address == (host, port)
        answer = resolver_for(again).resolve("dev.example.test", "A")
        assert [r.address for r in answer] == ["127.0.0.1"]


def test_ipv6_loopback_works_when_the_machine_has_it(loop_thread: LoopThread) -> None:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with serving(loop_thread, ZONE, "::1") as running:
        assert running.address[0] == "::1"
        answer = resolver_for(running).resolve("qa.example.test", "AAAA")
        assert [r.address for r in answer] == ["::1"]
