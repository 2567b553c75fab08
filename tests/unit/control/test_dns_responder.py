"""The DNS responder's pure core: DnsZone.answer on wire-format queries built with dnslib."""

from __future__ import annotations

import struct

import pytest
from dnslib import CLASS, EDNS0, OPCODE, QTYPE, RCODE, RR, A, DNSQuestion, DNSRecord, EDNSOption
from hypothesis import given, settings
from hypothesis import strategies as st

from overcast.control.dns_responder import DnsZone, InvalidDnsZoneError
from overcast.edge import parse_edge_config
from overcast.errors import OvercastError

ZONE = DnsZone(
    "example.test",
    ("dev", "qa", "prod"),
    ("shop.acme.test", "api.deep.example.test"),
    ipv4="192.0.2.10",
    ipv6="2001:db8::10",
)
V4_ONLY = DnsZone("example.test", ("dev",), ipv4="192.0.2.10")


def ask(
    zone: DnsZone, name: str, qtype: str = "A", *, edns: bool = False, tcp: bool = False
) -> DNSRecord:
    query = DNSRecord.question(name, qtype)
    query.header.id = 4242
    if edns:
        query.add_ar(EDNS0(udp_len=1232))
    wire = zone.answer(query.pack(), tcp=tcp)
    assert wire is not None
    reply = DNSRecord.parse(wire)
    assert reply.header.id == 4242
    assert reply.header.qr == 1
    assert reply.header.ra == 0, "an authoritative-only server never offers recursion"
    return reply


def rdata(reply: DNSRecord, section: str = "rr") -> list[tuple[str, str]]:
    return [(QTYPE[rr.rtype], str(rr.rdata)) for rr in getattr(reply, section)]


def assert_negative(reply: DNSRecord, rcode: int, zone_apex: str) -> None:
    assert reply.header.rcode == rcode
    assert reply.header.aa == 1
    assert reply.rr == []
    assert len(reply.auth) == 1
    soa = reply.auth[0]
    assert soa.rtype == QTYPE.SOA
    assert str(soa.rname).lower() == zone_apex
    assert soa.rdata.times[-1] == 60, "SOA minimum is the negative-caching TTL"


@pytest.mark.parametrize(
    "name",
    [
        "example.test",
        "www.example.test",
        "dev.example.test",
        "qa.example.test",
        "prod.example.test",
        "shop.acme.test",
        "api.deep.example.test",
    ],
)
def test_served_names_answer_their_ipv4_authoritatively(name: str) -> None:
    reply = ask(ZONE, name)
    assert reply.header.rcode == RCODE.NOERROR
    assert reply.header.aa == 1
    assert rdata(reply) == [("A", "192.0.2.10")]
    assert reply.rr[0].ttl == 60
    assert str(reply.rr[0].rname) == f"{name}."


def test_aaaa_answers_the_configured_ipv6() -> None:
    reply = ask(ZONE, "dev.example.test", "AAAA")
    assert rdata(reply) == [("AAAA", "2001:db8::10")]


def test_aaaa_without_ipv6_configured_is_nodata_with_soa() -> None:
    assert_negative(ask(V4_ONLY, "dev.example.test", "AAAA"), RCODE.NOERROR, "example.test.")


@pytest.mark.parametrize("name", ["DEV.Example.TEST", "dev.example.test.", "wWw.EXAMPLE.test."])
def test_names_match_case_insensitively_and_keep_the_query_spelling(name: str) -> None:
    reply = ask(ZONE, name)
    assert rdata(reply) == [("A", "192.0.2.10")]
    # Resolvers that randomise case (dns-0x20) check the owner name comes back as sent.
    assert str(reply.rr[0].rname) == name.rstrip(".") + "."


@pytest.mark.parametrize(
    "name",
    ["staging.example.test", "a.dev.example.test", "x.www.example.test", "deep.shop.acme.test"],
)
def test_unknown_name_inside_a_zone_is_nxdomain_with_soa(name: str) -> None:
    apex = "shop.acme.test." if name.endswith("acme.test") else "example.test."
    assert_negative(ask(ZONE, name), RCODE.NXDOMAIN, apex)


def test_empty_non_terminal_above_a_custom_domain_is_nodata_not_nxdomain() -> None:
    assert_negative(ask(ZONE, "deep.example.test"), RCODE.NOERROR, "example.test.")


@pytest.mark.parametrize(
    "name", ["google.com", "test", "notexample.test", "acme.test", "example.test.evil"]
)
def test_name_outside_every_zone_is_refused_without_authority(name: str) -> None:
    reply = ask(ZONE, name)
    assert reply.header.rcode == RCODE.REFUSED
    assert reply.header.aa == 0
    assert (reply.rr, reply.auth) == ([], [])
    assert str(reply.q.qname) == f"{name}."


@pytest.mark.parametrize("qtype", ["MX", "TXT", "CNAME", "SRV", "CAA", "HTTPS"])
def test_other_types_for_a_served_name_are_nodata_with_soa(qtype: str) -> None:
    assert_negative(ask(ZONE, "qa.example.test", qtype), RCODE.NOERROR, "example.test.")


def test_ns_at_the_apex_names_the_apex_with_its_addresses_as_glue() -> None:
    reply = ask(ZONE, "example.test", "NS")
    assert reply.header.aa == 1
    assert rdata(reply) == [("NS", "example.test.")]
    assert sorted(rdata(reply, "ar")) == [("A", "192.0.2.10"), ("AAAA", "2001:db8::10")]


def test_soa_at_the_apex_is_answered() -> None:
    reply = ask(ZONE, "example.test", "SOA")
    assert len(reply.rr) == 1
    soa = reply.rr[0]
    assert soa.rtype == QTYPE.SOA
    assert str(soa.rdata.mname) == "example.test."
    assert str(soa.rdata.rname) == "hostmaster.example.test."
    assert reply.auth == []


def test_a_custom_domain_outside_the_platform_is_its_own_zone() -> None:
    reply = ask(ZONE, "shop.acme.test", "SOA")
    assert [str(rr.rname) for rr in reply.rr] == ["shop.acme.test."]
    assert rdata(ask(ZONE, "shop.acme.test", "NS")) == [("NS", "example.test.")]


@pytest.mark.parametrize("qtype", ["NS", "SOA"])
def test_ns_and_soa_below_the_apex_are_nodata(qtype: str) -> None:
    assert_negative(ask(ZONE, "www.example.test", qtype), RCODE.NOERROR, "example.test.")


def test_any_at_the_apex_returns_every_record() -> None:
    kinds = sorted(kind for kind, _ in rdata(ask(ZONE, "example.test", "ANY")))
    assert kinds == ["A", "AAAA", "NS", "SOA"]


@pytest.mark.parametrize("qtype", ["AXFR", "IXFR"])
def test_zone_transfers_are_refused(qtype: str) -> None:
    assert ask(ZONE, "example.test", qtype).header.rcode == RCODE.REFUSED


def test_a_chaos_class_query_is_refused() -> None:
    query = DNSRecord(q=DNSQuestion("version.bind", QTYPE.TXT, CLASS.CH))
    wire = ZONE.answer(query.pack())
    assert wire is not None
    assert DNSRecord.parse(wire).header.rcode == RCODE.REFUSED


def test_recursion_desired_is_echoed_and_recursion_available_stays_clear() -> None:
    query = DNSRecord.question("dev.example.test")
    query.header.rd = 0
    wire = ZONE.answer(query.pack())
    assert wire is not None
    assert (DNSRecord.parse(wire).header.rd, DNSRecord.parse(wire).header.ra) == (0, 0)


def test_edns_queries_get_an_opt_record_back() -> None:
    reply = ask(ZONE, "dev.example.test", edns=True)
    opts = [rr for rr in reply.ar if rr.rtype == QTYPE.OPT]
    assert len(opts) == 1
    assert opts[0].edns_ver == 0
    assert rdata(reply) == [("A", "192.0.2.10")]


def test_an_unknown_edns_version_gets_badvers() -> None:
    query = DNSRecord.question("dev.example.test")
    query.add_ar(EDNS0(udp_len=1232, version=1))
    wire = ZONE.answer(query.pack())
    assert wire is not None
    reply = DNSRecord.parse(wire)
    (opt,) = reply.ar
    assert (opt.edns_rcode << 4) | reply.header.rcode == 16  # RFC 6891 BADVERS
    assert reply.rr == []


def test_the_same_query_always_gets_the_same_bytes() -> None:
    wire = DNSRecord.question("dev.example.test").pack()
    assert ZONE.answer(wire) == ZONE.answer(wire)


# -- malformed input --------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x12\x34\x01\x00\x00"])
def test_packets_shorter_than_a_header_are_ignored(data: bytes) -> None:
    assert ZONE.answer(data) is None


def test_a_response_is_never_answered() -> None:
    response = DNSRecord.question("dev.example.test").reply()
    assert ZONE.answer(response.pack()) is None


def formerr(wire: bytes | None) -> DNSRecord:
    assert wire is not None
    reply = DNSRecord.parse(wire)
    assert reply.header.rcode == RCODE.FORMERR
    return reply


def test_two_questions_are_a_format_error() -> None:
    query = DNSRecord(q=DNSQuestion("dev.example.test"))
    query.add_question(DNSQuestion("qa.example.test"))
    assert formerr(ZONE.answer(query.pack())).header.id == query.header.id


def test_a_truncated_question_is_a_format_error() -> None:
    wire = DNSRecord.question("dev.example.test").pack()
    formerr(ZONE.answer(wire[:-3]))


def test_a_label_longer_than_63_bytes_is_a_format_error() -> None:
    # dnslib refuses to build such a name, so the packet is spelled out by hand.
    header = struct.pack("!6H", 7, 0x0100, 1, 0, 0, 0)
    name = bytes([100]) + b"a" * 100 + b"\x07example\x04test\x00"
    formerr(ZONE.answer(header + name + struct.pack("!HH", 1, 1)))


def test_a_query_carrying_answer_or_authority_records_is_a_format_error() -> None:
    record = RR("dev.example.test", QTYPE.A, rdata=A("192.0.2.99"), ttl=60)
    for section in ("add_answer", "add_auth"):
        query = DNSRecord.question("dev.example.test")
        getattr(query, section)(record)
        formerr(ZONE.answer(query.pack()))


def test_more_than_an_opt_and_a_signature_in_additional_is_a_format_error() -> None:
    query = DNSRecord.question("dev.example.test")
    for _ in range(3):
        query.add_ar(RR("x.example.test", QTYPE.A, rdata=A("192.0.2.99")))
    formerr(ZONE.answer(query.pack()))


def test_a_pointer_chain_inside_record_data_is_followed_without_crashing() -> None:
    # The question "a." then an additional record whose data is a chain of labels, each
    # pointing back at the previous one, and a second record named by the chain's end.
    # dnslib follows such chains recursively and copies the labels at every hop.
    question = b"\x01a\x00" + struct.pack("!HH", 1, 1)
    data_at = 12 + len(question) + 1 + 10
    chain, previous = bytearray(b"\x01a\x00"), data_at
    while len(chain) < 900:
        chain += b"\x01a" + struct.pack("!H", 0xC000 | previous)
        previous = data_at + len(chain) - 4
    body = question + b"\x00" + struct.pack("!HHIH", 65280, 1, 0, len(chain)) + chain
    body += struct.pack("!H", 0xC000 | previous) + struct.pack("!HHIH", 65280, 1, 0, 1) + b"\x00"
    wire = struct.pack("!6H", 9, 0x0100, 1, 0, 0, 2) + body
    assert len(wire) <= 1024
    reply = ZONE.answer(wire)
    assert reply is not None
    # Parsed in full: its question ("a.") is outside the zone, so the answer is REFUSED.
    assert DNSRecord.parse(reply).header.rcode == RCODE.REFUSED


def test_a_query_over_one_kibibyte_is_a_format_error_without_being_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    query = DNSRecord.question("dev.example.test")
    query.add_ar(EDNS0(udp_len=1232, opts=[EDNSOption(12, b"\x00" * 2000)]))  # padding

    def refuse(packet: bytes) -> DNSRecord:
        raise AssertionError("an oversized query reached the parser")

    monkeypatch.setattr("overcast.control.dns_responder.DNSRecord.parse", refuse)
    reply = ZONE.answer(query.pack())
    monkeypatch.undo()
    formerr(reply)


@pytest.mark.parametrize("opcode", ["IQUERY", "STATUS", "NOTIFY", "UPDATE"])
def test_opcodes_other_than_query_are_not_implemented(opcode: str) -> None:
    query = DNSRecord.question("dev.example.test")
    query.header.opcode = getattr(OPCODE, opcode)
    wire = ZONE.answer(query.pack())
    assert wire is not None
    assert DNSRecord.parse(wire).header.rcode == RCODE.NOTIMP


@settings(max_examples=500)
@given(st.binary(max_size=600))
def test_arbitrary_bytes_never_raise_and_any_reply_parses(data: bytes) -> None:
    wire = ZONE.answer(data)
    if wire is not None:
        assert DNSRecord.parse(wire).header.qr == 1


@settings(max_examples=500)
@given(st.data())
def test_corrupted_real_queries_never_raise(data: st.DataObject) -> None:
    query = DNSRecord.question("dev.example.test", "AAAA")
    query.add_ar(EDNS0(udp_len=1232))
    wire = bytearray(query.pack())
    for _ in range(data.draw(st.integers(1, 4))):
        wire[data.draw(st.integers(0, len(wire) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(wire)))
    reply = ZONE.answer(bytes(wire[:cut]))
    if reply is not None:
        DNSRecord.parse(reply)


# -- size ---------------------------------------------------------------------------------

LONG_DOMAIN = ".".join(["d" * 57, "e" * 57, "f" * 57, "g" * 57]) + ".test"  # 236 characters
LONG = DnsZone(LONG_DOMAIN, ("dev",), ("shop.acme.test",), ipv4="192.0.2.1", ipv6="2001:db8::1")
LONG_NXDOMAIN = ".".join(["h" * 60, "i" * 60, "j" * 60, "k" * 50]) + ".shop.acme.test"


def test_an_oversized_udp_reply_is_truncated_so_the_client_retries_over_tcp() -> None:
    reply = ask(LONG, LONG_NXDOMAIN)
    assert reply.header.tc == 1
    assert (reply.rr, reply.auth) == ([], [])
    assert reply.header.rcode == RCODE.NXDOMAIN
    assert str(reply.q.qname) == f"{LONG_NXDOMAIN}."


def test_the_same_reply_is_whole_over_tcp_or_with_a_large_edns_payload() -> None:
    for reply in (ask(LONG, LONG_NXDOMAIN, tcp=True), ask(LONG, LONG_NXDOMAIN, edns=True)):
        assert reply.header.tc == 0
        assert_negative(reply, RCODE.NXDOMAIN, "shop.acme.test.")


@pytest.mark.parametrize("qtype", ["ANY", "NS", "SOA", "A", "AAAA"])
def test_apex_answers_of_the_longest_domain_fit_plain_udp(qtype: str) -> None:
    reply = ask(LONG, LONG_DOMAIN, qtype)
    assert reply.header.tc == 0
    assert reply.rr


# -- configuration ------------------------------------------------------------------------


def test_the_zone_normalises_names_and_addresses() -> None:
    zone = DnsZone("Example.TEST.", ["Dev"], ["Shop.Acme.test."], "192.0.2.1", "2001:DB8:0::1")
    assert zone.domain == "example.test"
    assert zone.stages == frozenset({"dev"})
    assert zone.custom_domains == frozenset({"shop.acme.test"})
    assert zone.ipv6 == "2001:db8::1"
    assert zone.hosts == {
        "example.test",
        "www.example.test",
        "dev.example.test",
        "shop.acme.test",
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"domain": ""},
        {"domain": "exa mple.test"},
        {"domain": "a..test"},
        {"domain": "-bad.test"},
        {"domain": "x" * 64 + ".test"},
        {"domain": ".".join(["x" * 60] * 5)},
        {"domain": ".".join(["x" * 60] * 4)},  # no room left for hostmaster.<domain>
        {"stages": ("dev.eu",)},
        {"domain": ".".join(["x" * 59] * 4), "stages": ("d" * 20,)},
        {"stages": ("",)},
        {"custom_domains": ("https://shop.test",)},
        {"ipv4": "::1"},
        {"ipv4": "300.1.1.1"},
        {"ipv6": "192.0.2.1"},
        {"ttl": -1},
        {"serial": 2**32},
    ],
)
def test_bad_zone_settings_raise_an_overcast_error(kwargs: dict[str, object]) -> None:
    settings_ = {"domain": "example.test", "stages": ("dev",), "ipv4": "127.0.0.1", **kwargs}
    with pytest.raises(InvalidDnsZoneError) as raised:
        DnsZone(**settings_)  # type: ignore[arg-type]
    assert isinstance(raised.value, OvercastError)


def test_an_internationalised_custom_domain_is_served_in_its_ascii_form() -> None:
    zone = DnsZone("example.test", ("dev",), ("bücher.test",), "127.0.0.1")
    assert "xn--bcher-kva.test" in zone.hosts
    assert rdata(ask(zone, "xn--bcher-kva.test")) == [("A", "127.0.0.1")]


def test_for_edge_takes_the_domain_stages_and_stage_domains() -> None:
    edge = parse_edge_config(
        {"domain": "example.test", "stages": {"dev": {"domains": ["dev.myapp.test"]}, "prod": {}}}
    )
    zone = DnsZone.for_edge(edge, ipv4="192.0.2.7")
    assert zone.hosts == {
        "example.test",
        "www.example.test",
        "dev.example.test",
        "prod.example.test",
        "dev.myapp.test",
    }
    assert rdata(ask(zone, "dev.myapp.test")) == [("A", "192.0.2.7")]


def test_for_edge_without_a_domain_says_how_to_set_one() -> None:
    with pytest.raises(InvalidDnsZoneError) as raised:
        DnsZone.for_edge(parse_edge_config({"stages": {"dev": {}}}))
    assert "domain" in raised.value.hint
