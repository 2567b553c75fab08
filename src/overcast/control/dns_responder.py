"""An optional authoritative DNS responder for the platform domain (Route53's part).

Route53 points ``dev.example.test``, ``qa.example.test``, ``example.test`` and
``www.example.test`` at the stages' CloudFront distributions. On one machine there is
no Route53, so overcast can answer DNS for its own platform domain on a local port:
every name the edge serves resolves to the node's address, and a resolver (a developer's
``/etc/hosts``-free setup, a CI job, a browser test) reaches each stage by its name.

Theory of operation: :class:`DnsZone` is sans-I/O. ``answer(query) -> reply`` parses a
wire-format query with dnslib, decides, and builds the wire-format reply with dnslib;
the adapters below (a UDP endpoint, and a TCP listener speaking RFC 7766 framing on the
same port) only move bytes and never block the loop. The decision table:

==========================================  ===========================================
query                                       reply
==========================================  ===========================================
not parseable as a header, or a response    nothing (a reply to a reply can loop)
opcode other than QUERY                     NOTIMP
not one question, garbage, over 1 KiB       FORMERR
answer/authority records, 3+ additional     FORMERR
a name outside every zone served            REFUSED (not authoritative, no recursion)
a served name, A / AAAA / ANY               the address records, AA set
the zone apex, NS / SOA                     NS → the platform apex; SOA of the zone
a served name, any other type (MX, TXT…)    NOERROR, no answer, SOA in authority (NODATA)
an unserved name inside a zone              NXDOMAIN, SOA in authority, AA set
AXFR / IXFR, or a class other than IN/ANY   REFUSED
==========================================  ===========================================

Zones are the platform domain plus each custom domain that is not already inside a
zone (a custom domain like ``shop.acme.test`` is its own one-name zone). The server is
authoritative only: it never recurses, so the RA flag is always clear.

Over UDP a reply is at most 512 bytes (RFC 1035 §4.2.1), or the payload size the
client advertises with EDNS; records are compressed against the question, so only a
platform domain of some 200 characters ever overflows, and then the reply is truncated
(TC) and the client asks again over TCP, where the same port answers.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import re
import socket
import struct
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from dnslib import (  # type: ignore[import-untyped]  # dnslib ships no type information
    AAAA,
    EDNS0,
    NS,
    OPCODE,
    QTYPE,
    RCODE,
    RR,
    SOA,
    A,
    DNSBuffer,
    DNSError,
    DNSHeader,
    DNSLabel,
    DNSRecord,
)

from overcast.errors import OvercastError

if TYPE_CHECKING:
    from overcast.edge.config import EdgeConfig

log = logging.getLogger(__name__)

DEFAULT_TTL = 60

_CLASS_IN = 1
_CLASS_ANY = 255  # RFC 1035 §3.2.5 QCLASS "*"
_BADVERS = 16  # RFC 6891 §9: extended RCODE for an EDNS version we do not speak
_EDNS_UDP_PAYLOAD = 1232  # the size the 2020 DNS flag day settled on
_PLAIN_UDP_PAYLOAD = 512  # RFC 1035 §4.2.1: a UDP reply without EDNS
_SOA_REFRESH, _SOA_RETRY, _SOA_EXPIRE = 3600, 600, 86400
_LABEL = re.compile(rb"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_HOSTMASTER = b"hostmaster"  # the SOA contact mailbox, hostmaster@<domain>
_MAX_NAME = 253  # presentation length without the final dot (RFC 1035 §2.3.4: 255 on the wire)

# One question and an OPT, even padded (RFC 8467: 128-byte blocks) and signed (TSIG),
# stay well below this; nothing a resolver sends as a query comes near it.
_MAX_QUERY = 1024
# A query's additional section holds its OPT and at most a signature (TSIG or SIG(0)).
_MAX_ADDITIONAL = 2

_TCP_LENGTH = struct.Struct("!H")  # RFC 1035 §4.2.2: two-byte length before each message
_TCP_IDLE_S = 10.0  # RFC 7766 §6.2.3: servers should close idle connections after seconds
_TCP_MAX_CONNECTIONS = 128

Labels = tuple[bytes, ...]


class DnsResponderError(OvercastError):
    """Base of the DNS responder's errors."""


class InvalidDnsZoneError(DnsResponderError):
    """A domain, stage name, address or number in the zone settings is not usable."""


class DnsPortUnavailableError(DnsResponderError):
    """The DNS responder cannot listen on the host and port it was given."""


@dataclass(frozen=True, slots=True)
class DnsZone:
    """The names the platform serves and the addresses they resolve to.

    ``domain`` is the platform domain (``example.test``); the apex, ``www.<domain>``,
    ``<stage>.<domain>`` for each of ``stages`` and each of ``custom_domains`` resolve
    to ``ipv4`` (and ``ipv6`` when given). Names are stored lower-case without the
    trailing dot; ``answer`` matches them case-insensitively.
    """

    domain: str
    stages: Collection[str]
    custom_domains: Collection[str] = ()
    ipv4: str = "127.0.0.1"
    ipv6: str | None = None
    ttl: int = DEFAULT_TTL
    #: the SOA serial; nothing transfers this zone, so it only needs to be stable
    serial: int = 1
    _apex: Labels = field(init=False, repr=False, compare=False)
    _zones: tuple[Labels, ...] = field(init=False, repr=False, compare=False)
    _hosts: frozenset[Labels] = field(init=False, repr=False, compare=False)
    _existing: frozenset[Labels] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        apex = _labels(self.domain, "domain")
        stages = [_labels(stage, f"stage {stage!r}") for stage in self.stages]
        for stage, labels in zip(self.stages, stages, strict=True):
            if len(labels) != 1:
                raise InvalidDnsZoneError(
                    f"stage {stage!r} is not a single DNS label",
                    hint="stage names become <stage>.<domain>; use letters, digits, '-' or '_'",
                )
        customs = [_labels(name, f"custom domain {name!r}") for name in self.custom_domains]
        _check_address(self.ipv4, ipaddress.IPv4Address, "ipv4")
        if self.ipv6 is not None:
            _check_address(self.ipv6, ipaddress.IPv6Address, "ipv6")
        if not 0 <= self.ttl < 2**31:  # RFC 2181 §8
            raise InvalidDnsZoneError(f"ttl {self.ttl} is outside 0..2147483647 seconds")
        if not 0 <= self.serial < 2**32:
            raise InvalidDnsZoneError(f"serial {self.serial} is outside 0..4294967295")

        if len(_text((_HOSTMASTER, *apex))) > _MAX_NAME:
            raise InvalidDnsZoneError(
                f"domain {self.domain!r} is too long to carry its own names",
                hint=f"a platform domain has at most {_MAX_NAME - len(_HOSTMASTER) - 1} characters",
            )
        hosts = {apex, (b"www", *apex)} | {stage + apex for stage in stages} | set(customs)
        too_long = sorted(_text(h) for h in hosts if len(_text(h)) > _MAX_NAME)
        if too_long:
            raise InvalidDnsZoneError(
                f"{too_long[0]!r} is longer than the {_MAX_NAME} characters a DNS name may have",
                hint="shorten the stage name or the platform domain",
            )
        zones = [apex]
        # Shortest first, so a custom domain under another served zone joins that zone.
        for custom in sorted(set(customs), key=len):
            if not any(_within(custom, zone) for zone in zones):
                zones.append(custom)
        zones.sort(key=len, reverse=True)  # longest first: the closest enclosing zone wins
        existing = set(hosts)
        for host in hosts:
            zone = next(z for z in zones if _within(host, z))
            # Names between a host and its zone apex exist without records of their own
            # (empty non-terminals): they answer NODATA, not NXDOMAIN (RFC 8020).
            existing.update(host[i:] for i in range(len(host) - len(zone) + 1))

        setattr_ = object.__setattr__
        setattr_(self, "domain", _text(apex))
        setattr_(self, "stages", frozenset(_text(s) for s in stages))
        setattr_(self, "custom_domains", frozenset(_text(c) for c in customs))
        setattr_(self, "ipv4", str(ipaddress.IPv4Address(self.ipv4)))
        if self.ipv6 is not None:
            setattr_(self, "ipv6", str(ipaddress.IPv6Address(self.ipv6)))
        setattr_(self, "_apex", apex)
        setattr_(self, "_zones", tuple(zones))
        setattr_(self, "_hosts", frozenset(hosts))
        setattr_(self, "_existing", frozenset(existing))

    @classmethod
    def for_edge(
        cls,
        edge: EdgeConfig,
        *,
        ipv4: str = "127.0.0.1",
        ipv6: str | None = None,
        ttl: int = DEFAULT_TTL,
    ) -> DnsZone:
        """The zone for an edge configuration: its domain, stages and stages' domains."""
        if edge.domain is None:
            raise InvalidDnsZoneError(
                "the edge has no platform domain to answer DNS for",
                hint="set Metadata: overcast: edge: domain: (e.g. example.test)",
            )
        custom = [name for stage in edge.stages.values() for name in stage.domains]
        return cls(edge.domain, tuple(edge.stages), custom, ipv4, ipv6, ttl)

    @property
    def hosts(self) -> frozenset[str]:
        """Every name that has address records, lower-case, without a trailing dot."""
        return frozenset(_text(host) for host in self._hosts)

    def answer(self, query: bytes, *, tcp: bool = False) -> bytes | None:
        """The wire-format reply to one wire-format DNS query, or ``None`` to stay silent.

        ``tcp`` says the query came over TCP, where a reply may be up to 64 KiB; over UDP
        a reply larger than the client accepts (512 bytes, or its EDNS payload size) is
        sent truncated (TC set, no records) so the client retries over TCP.
        Pure: no I/O, no clock, no randomness; the same query always gets the same reply.
        Never raises on any input.
        """
        try:
            header = DNSHeader.parse(DNSBuffer(query))
        except DNSError:
            return None  # shorter than a header: no id to answer to
        if header.qr:
            return None
        if header.opcode != OPCODE.QUERY:
            return _bare_reply(header, RCODE.NOTIMP)
        if (
            header.q != 1  # RFC 9619: a query carries exactly one question
            or header.a
            or header.auth
            or header.ar > _MAX_ADDITIONAL
            or len(query) > _MAX_QUERY
        ):
            # These bounds keep parsing cheap: dnslib follows compression pointers
            # recursively and copies labels at each hop, so a 16 KiB packet of chained
            # records costs seconds of CPU, and a 1 KiB one still 20 ms.
            return _bare_reply(header, RCODE.FORMERR)
        try:
            request = DNSRecord.parse(query)
        except (DNSError, RecursionError):
            # RecursionError too: the same pointer chains exhaust the stack, not only time.
            log.debug("malformed DNS query", exc_info=True)
            return _bare_reply(header, RCODE.FORMERR)
        qname = _query_labels(request.q.qname)
        opts = [rr for rr in request.ar if rr.rtype == QTYPE.OPT]
        if qname is None or len(opts) > 1:  # RFC 6891 §6.1.1: at most one OPT
            return _bare_reply(header, RCODE.FORMERR)
        reply = DNSRecord(
            DNSHeader(id=header.id, qr=1, opcode=OPCODE.QUERY, rd=header.rd, cd=header.cd),
            q=request.q,
        )
        limit = _PLAIN_UDP_PAYLOAD
        if opts:
            limit = max(limit, opts[0].edns_len)
            if opts[0].edns_ver != 0:
                # RFC 6891 §6.1.3: BADVERS with our version (0), and nothing else.
                reply.add_ar(EDNS0(udp_len=_EDNS_UDP_PAYLOAD, ext_rcode=_BADVERS >> 4))
                reply.header.rcode = _BADVERS & 0xF
                return _pack(reply)
        self._fill(reply, qname)
        if opts:
            reply.add_ar(EDNS0(udp_len=_EDNS_UDP_PAYLOAD))
        wire = _pack(reply)
        if tcp or len(wire) <= limit:
            return wire
        # RFC 2181 §9: what does not fit is dropped whole and TC tells the client to ask
        # again over TCP. Only very long names (a 200-character domain) ever get here.
        reply.rr, reply.auth = [], []
        reply.ar = reply.ar[-1:] if opts else []
        reply.header.tc = 1
        return _pack(reply)

    def _fill(self, reply: Any, qname: Labels) -> None:
        """Set the rcode, AA and records of ``reply`` to the question it carries."""
        question = reply.q
        zone = next((z for z in self._zones if _within(qname, z)), None)
        qtype: int = question.qtype
        if (
            zone is None
            or question.qclass not in (_CLASS_IN, _CLASS_ANY)
            or qtype in (QTYPE.AXFR, QTYPE.IXFR)
        ):
            reply.header.rcode = RCODE.REFUSED
            return
        reply.header.aa = 1
        owner = question.qname
        # The zone apex spelt as the query spelt it, so names compress against the question.
        zone_name = DNSLabel(owner.label[len(owner.label) - len(zone) :])
        if qname in self._hosts:
            reply.add_answer(*self._records(owner, qname == zone, zone_name, qtype))
            if qtype == QTYPE.NS and qname == zone:
                reply.add_ar(*self._addresses(self._ns_name(), QTYPE.ANY))
        elif qname not in self._existing:
            reply.header.rcode = RCODE.NXDOMAIN
        if not reply.rr:
            # RFC 2308 §3: negative answers carry the zone's SOA for negative caching.
            reply.add_auth(self._soa(zone_name))

    def _records(self, owner: Any, at_apex: bool, zone_name: Any, qtype: int) -> list[Any]:
        records = self._addresses(owner, qtype)
        if at_apex and qtype in (QTYPE.NS, QTYPE.ANY):
            records.append(RR(owner, QTYPE.NS, ttl=self.ttl, rdata=NS(self._ns_name())))
        if at_apex and qtype in (QTYPE.SOA, QTYPE.ANY):
            records.insert(0, self._soa(zone_name))
        return records

    def _addresses(self, owner: Any, qtype: int) -> list[Any]:
        records = []
        if qtype in (QTYPE.A, QTYPE.ANY):
            records.append(RR(owner, QTYPE.A, ttl=self.ttl, rdata=A(self.ipv4)))
        if self.ipv6 is not None and qtype in (QTYPE.AAAA, QTYPE.ANY):
            records.append(RR(owner, QTYPE.AAAA, ttl=self.ttl, rdata=AAAA(self.ipv6)))
        return records

    def _ns_name(self) -> Any:
        # The platform apex is the name server of every zone: it has address records, so
        # a resolver that follows the NS finds this same server without extra names.
        return DNSLabel(self._apex)

    def _soa(self, zone_name: Any) -> Any:
        soa = SOA(
            self._ns_name(),
            DNSLabel((_HOSTMASTER, *self._apex)),
            # The minimum field is the negative-caching TTL (RFC 2308 §4).
            (self.serial, _SOA_REFRESH, _SOA_RETRY, _SOA_EXPIRE, self.ttl),
        )
        return RR(zone_name, QTYPE.SOA, ttl=self.ttl, rdata=soa)


def _labels(name: str, what: str) -> Labels:
    """``name`` as lower-case wire labels, or InvalidDnsZoneError saying why not."""
    text = name.strip().lower().removesuffix(".")
    try:
        encoded = text.encode("idna")
    except UnicodeError as exc:
        raise InvalidDnsZoneError(f"{what} is not a valid domain name: {exc}") from exc
    labels = tuple(encoded.split(b"."))
    if not text or len(encoded) > _MAX_NAME or not all(map(_LABEL.fullmatch, labels)):
        raise InvalidDnsZoneError(
            f"{what} is not a valid domain name",
            hint="labels of 1-63 letters, digits, '-' or '_', at most 253 characters in all",
        )
    return labels


def _check_address(
    value: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address], what: str
) -> None:
    try:
        kind(value)
    except ValueError as exc:
        raise InvalidDnsZoneError(f"{what} {value!r} is not an {kind.__name__}") from exc


def _text(labels: Labels) -> str:
    return b".".join(labels).decode("ascii")


def _within(name: Labels, zone: Labels) -> bool:
    return len(name) >= len(zone) and name[len(name) - len(zone) :] == zone


def _query_labels(qname: Any) -> Labels | None:
    """The question's name lower-cased, or None if it could not be written back."""
    labels: Labels = tuple(label.lower() for label in qname.label)
    if any(not 0 < len(label) < 64 for label in labels) or len(b".".join(labels)) > _MAX_NAME:
        return None
    return labels


def _bare_reply(header: Any, rcode: int) -> bytes:
    """A header-only reply (no question echoed) for queries we cannot take apart."""
    return _pack(
        DNSRecord(DNSHeader(id=header.id, qr=1, opcode=header.opcode, rd=header.rd, rcode=rcode))
    )


def _pack(record: Any) -> bytes:
    wire: bytes = record.pack()
    return wire


# -- I/O adapters ------------------------------------------------------------------------


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, zone: DnsZone) -> None:
        self._zone = zone
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not isinstance: CPython 3.11's selector datagram transport and uvloop's
        # UDP transport do not subclass asyncio.DatagramTransport.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        reply = self._zone.answer(data)
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP port-unreachable from a client that left: nothing to do but note it.
        log.debug("DNS UDP error: %s", exc)


@dataclass(slots=True)
class _Connections:
    """The open TCP connections of one responder, and whether it is closing."""

    open: set[_TcpProtocol] = field(default_factory=set)
    closed: bool = False


class _TcpProtocol(asyncio.Protocol):
    """RFC 7766 DNS over TCP: length-prefixed messages, pipelined, closed when idle."""

    def __init__(self, zone: DnsZone, connections: _Connections) -> None:
        self._zone = zone
        self._connections = connections
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        # A connection accepted while the responder was closing arrives after aclose
        # swept the open ones: it closes itself.
        if self._connections.closed or len(self._connections.open) >= _TCP_MAX_CONNECTIONS:
            transport.close()
            return
        self._connections.open.add(self)
        self._arm_idle()

    def data_received(self, data: bytes) -> None:
        transport = self._transport
        if transport is None:
            return
        self._buffer += data
        while len(self._buffer) >= _TCP_LENGTH.size:
            (length,) = _TCP_LENGTH.unpack_from(self._buffer)
            end = _TCP_LENGTH.size + length
            if len(self._buffer) < end:
                break
            message = bytes(self._buffer[_TCP_LENGTH.size : end])
            del self._buffer[:end]
            reply = self._zone.answer(message, tcp=True)
            if reply is None:
                # A client speaking something else on the DNS port: drop the connection.
                transport.close()
                return
            transport.write(_TCP_LENGTH.pack(len(reply)) + reply)
        self._arm_idle()

    def pause_writing(self) -> None:
        # A client that sends queries but does not read replies: stop reading its queries.
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._idle is not None:
            self._idle.cancel()
        self._connections.open.discard(self)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _arm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(_TCP_IDLE_S, self.close)


class _TcpListener:
    """Accepts DNS-over-TCP connections; owns the tasks that set each one up.

    Not ``loop.create_server``: CPython 3.11 drops (and leaks, open) a connection it has
    accepted but not yet wrapped when the server closes, so the client hangs until GC.
    Here accepting stops at once (the reader is removed), and ``aclose`` waits for every
    accepted socket to become a protocol, which closes itself once the listener is closed.
    """

    def __init__(self, zone: DnsZone, sock: socket.socket) -> None:
        self._zone = zone
        self._sock = sock
        self._loop = asyncio.get_running_loop()
        self._connections = _Connections()
        self._attaching: set[asyncio.Task[None]] = set()
        self._loop.add_reader(sock.fileno(), self._accept)

    def _accept(self) -> None:
        # A bounded batch per wake-up, so a connection flood does not starve the loop.
        for _ in range(64):
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # EMFILE, ECONNABORTED: the next wake-up retries
                log.warning("DNS over TCP cannot accept: %s", exc)
                return
            conn.setblocking(False)
            task = self._loop.create_task(self._attach(conn))
            self._attaching.add(task)
            task.add_done_callback(self._attaching.discard)

    async def _attach(self, conn: socket.socket) -> None:
        try:
            await self._loop.connect_accepted_socket(
                lambda: _TcpProtocol(self._zone, self._connections), conn
            )
        except OSError as exc:  # the client left before its transport was built
            log.debug("DNS over TCP connection lost while opening: %s", exc)
            conn.close()

    async def aclose(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()
        self._connections.closed = True
        await asyncio.gather(*self._attaching)
        for connection in list(self._connections.open):
            connection.close()


class DnsResponder:
    """A running DNS responder: one UDP endpoint and, unless disabled, one TCP listener."""

    def __init__(
        self,
        zone: DnsZone,
        udp: asyncio.DatagramTransport,
        tcp: _TcpListener | None,
        address: tuple[str, int],
    ) -> None:
        self.zone = zone
        self._udp = udp
        self._tcp = tcp
        self._address = address

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (the real port when 0 was asked for)."""
        return self._address

    @property
    def serves_tcp(self) -> bool:
        """Whether the responder also answers DNS over TCP on the same port."""
        return self._tcp is not None

    async def aclose(self) -> None:
        """Stop answering: close the UDP endpoint, the listener and open TCP connections."""
        self._udp.close()
        if self._tcp is not None:
            await self._tcp.aclose()
        # Transports finish closing on the next loop iteration; let them, so that no
        # socket outlives this call and the port can be bound again at once.
        await asyncio.sleep(0)


async def start_dns_responder(
    zone: DnsZone, host: str = "127.0.0.1", port: int = 5353, *, tcp: bool = True
) -> DnsResponder:
    """Answer DNS for ``zone`` on ``host``:``port`` over UDP (and TCP on the same port).

    Port 0 picks a free port for both transports; read it from ``.address``. Raises
    :class:`DnsPortUnavailableError` when the port cannot be bound.
    """
    udp_sock, tcp_sock = _bind(host, port, tcp=tcp)
    loop = asyncio.get_running_loop()
    try:
        udp, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(zone), sock=udp_sock)
    except BaseException:
        udp_sock.close()
        if tcp_sock is not None:
            tcp_sock.close()
        raise
    listener = _TcpListener(zone, tcp_sock) if tcp_sock is not None else None
    bound = udp_sock.getsockname()
    return DnsResponder(zone, udp, listener, (str(bound[0]), int(bound[1])))


def _bind(host: str, port: int, *, tcp: bool) -> tuple[socket.socket, socket.socket | None]:
    """A UDP socket and, if asked, a listening TCP socket on the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # With port 0 the kernel picks a UDP port that may be taken for TCP; try a few.
    attempts = 8 if port == 0 and tcp else 1
    for attempt in range(attempts):
        udp_sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            udp_sock.bind((host, port))
        except OSError as exc:
            udp_sock.close()
            raise _bind_error(host, port, exc) from exc
        udp_sock.setblocking(False)
        if not tcp:
            return udp_sock, None
        bound_port = udp_sock.getsockname()[1]
        tcp_sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            tcp_sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            tcp_sock.bind((host, bound_port))
            tcp_sock.listen(128)
        except OSError as exc:
            tcp_sock.close()
            udp_sock.close()
            if exc.errno == errno.EADDRINUSE and attempt + 1 < attempts:
                continue
            raise _bind_error(host, bound_port, exc) from exc
        tcp_sock.setblocking(False)
        return udp_sock, tcp_sock
    raise DnsPortUnavailableError(f"no free port for DNS on {host}")  # pragma: no cover


def _bind_error(host: str, port: int, exc: OSError) -> DnsPortUnavailableError:
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = (
            "ports below 1024 need root or CAP_NET_BIND_SERVICE; pick another DNS port such as 5353"
        )
    elif exc.errno == errno.EADDRINUSE:
        hint = (
            "pick another DNS port, or stop what is using it "
            "(a local resolver such as systemd-resolved or dnsmasq often holds port 53)"
        )
    else:
        hint = "check that the host is an address of this machine"
    return DnsPortUnavailableError(
        f"cannot answer DNS on {host}:{port}: {exc.strerror or exc}", hint=hint
    )
