"""DNS, mDNS and LLMNR: a hex vector under its tcpdump line, crafted messages (every name
quirk, each record type, cut and contradictory messages, request matching) compared with
tshark on a capture written in the test, tshark parity on every corpus capture that carries
DNS, and Hypothesis on random and mutated messages (findings, bounded work, never a raise)."""

from __future__ import annotations

import struct
import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from fieldcompare import compare_file
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tcp import corpus_with, skip_unsupported_link

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.dns import FIELDS, dissect_dns, dissect_mdns
from pcapkit.dissect.dns_names import LOOP

NAMES = tuple(s.name for s in FIELDS)

# labs/dns-ethereal-trace-2, the response to the first PTR query; tcpdump -n -v:
#   128.238.29.22.53 > 128.238.38.160.3740: 1* 1/0/0 22.29.238.128.in-addr.arpa. PTR dns-prime.poly.edu. (76)
PTR_RESPONSE = bytes.fromhex(
    "000185800001000100000000023232023239033233380331323807696e2d61646472046172706100000c0001"
    "c00c000c000100000e10001409646e732d7072696d6504706f6c790365647500")


def test_ptr_response_vector() -> None:
    layer, nxt = dissect_dns(PTR_RESPONSE, 0, len(PTR_RESPONSE), Context(reported_end=len(PTR_RESPONSE)))
    f = layer.fields
    assert nxt is None and not layer.findings
    assert (f["dns.id"], f["dns.flags"], f["dns.flags.authoritative"], f["dns.flags.rcode"]) == (1, 0x8580, True, 0)
    assert (f["dns.count.queries"], f["dns.count.answers"], f["dns.count.auth_rr"], f["dns.count.add_rr"]) == (1, 1, 0, 0)
    assert f["dns.qry.name"] == f["dns.resp.name"] == "22.29.238.128.in-addr.arpa"  # the answer's name compressed
    assert (f["dns.qry.name.len"], f["dns.count.labels"], f["dns.qry.type"], f["dns.qry.class"]) == (26, 6, 12, 1)
    assert (f["dns.resp.ttl"], f["dns.resp.len"], f["dns.ptr.domain_name"]) == (3600, 20, "dns-prime.poly.edu")
    cut, _ = dissect_dns(PTR_RESPONSE[:60], 0, 60, Context(reported_end=len(PTR_RESPONSE)))
    assert [x.kind for x in cut.findings] == [FindingKind.TRUNCATED] and "dns.resp.name" not in cut.fields
    short, _ = dissect_dns(PTR_RESPONSE[:60], 0, 60, Context(reported_end=60))
    assert [x.kind for x in short.findings] == [FindingKind.MALFORMED]


# -- crafted messages, tshark as the oracle ----------------------------------------------------

def _hdr(flags: int, q: int = 1, an: int = 0, ns: int = 0, ar: int = 0, ident: int = 0x4321) -> bytes:
    return struct.pack("!HHHHHH", ident, flags, q, an, ns, ar)


def _name(*labels: bytes) -> bytes:
    return b"".join(bytes([len(x)]) + x for x in labels) + b"\x00"


def _rr(owner: bytes, rtype: int, rclass: int, ttl: int, data: bytes) -> bytes:
    return owner + struct.pack("!HHIH", rtype, rclass, ttl, len(data)) + data


QUESTION = _name(b"www", b"example", b"com") + b"\x00\x01\x00\x01"
# (payload, source port, destination port); one second apart, one pair of addresses
CRAFTED: list[tuple[bytes, int, int]] = [
    (_hdr(0x0120) + QUESTION, 33333, 53),                                   # a query with the AD bit
    (_hdr(0x0000) + _name(b"host") + b"\x00\x01\x00\x01", 33334, 5355),     # LLMNR query
    (_hdr(0x8400, an=1) + _name(b"host") + b"\x00\x01\x00\x01"
     + _rr(b"\xc0\x0c", 1, 1, 30, bytes([10, 1, 2, 3])), 5355, 33334),      # LLMNR response, unsolicited
    (_hdr(0x2800, ns=1) + _name(b"example", b"com") + b"\x00\x06\x00\x01"
     + _rr(b"\xc0\x0c", 1, 1, 0, bytes([1, 2, 3, 4])), 33333, 53),          # UPDATE; a retransmission
    (_hdr(0x8180, an=4, ar=1) + QUESTION
     + _rr(b"\xc0\x0c", 15, 1, 300, b"\x00\x0a\x04mail\xc0\x10")
     + _rr(b"\xc0\x0c", 16, 1, 300, b"\x05hello\x00\x03w\x01\x7f")
     + _rr(_name(b"_sip", b"_udp", b"example", b"com"), 33, 1, 300, struct.pack("!HHH", 1, 2, 5060) + b"\xc0\x0c")
     + _rr(b"\xc0\x0c", 28, 1, 0xFFFFFFFF, bytes(range(16)))
     + _rr(b"\x00", 41, 4096, 0x8000, struct.pack("!HH", 10, 8) + b"12345678" + struct.pack("!HH", 3, 0)),
     53, 33333),                                                            # MX TXT SRV AAAA OPT; the answer
    (_hdr(0x8180, an=3) + QUESTION
     + _rr(b"\xc0\x0c", 6, 1, 60, _name(b"ns1") + _name(b"admin") + struct.pack("!IIIII", 1, 2, 3, 4, 5))
     + _rr(b"\xc0\x0c", 99, 3, 60, b"\x01\x02")
     + _rr(b"\xc0\x0c", 47, 1, 60, b"\xc0\x0c\x00\x06\x40\x01\x00\x00\x00\x03"), 53, 33333),  # SOA SPF NSEC
    (_hdr(0x8183) + _name(b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61) + b"\x00\x01\x00\x01", 53, 33333),
    (_hdr(0x8183) + _name(b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 62) + b"\x00\x01\x00\x01", 53, 33333),
    (_hdr(0x0100, ident=7) + _name(b"x\x00y", b"\xc3\xa9t\xe2\x82", b"tab\t\n\\") + b"\x00\x01\x00\x01", 33333, 53),
    (_hdr(0x0100, ident=8) + b"\x05cycle\xc0\x0c\x00\x01\x00\x01", 33333, 53),       # a loop
    (_hdr(0x0100, ident=9) + b"\xc0\x10\x00\x01\x01x\x00\x00\x01\x00\x01", 33333, 53),  # pointer 2 past itself
    (_hdr(0x0100, ident=10) + b"\x70abc\x00\x01\x00\x01", 33333, 53),       # unknown extended label first
    (_hdr(0x0100, ident=11) + b"\x01a\x70\x00\x01\x00\x01", 33333, 53),     # ... after a label
    (_hdr(0x0100, ident=12) + b"\xc0\x0e\x00\x00\x01\x00\x01", 33333, 53),  # pointer to a root byte
    (_hdr(0x0100, ident=13) + b"\x41\x10\xab\xcd\x00\x00\x01\x00\x01", 33333, 53),  # bitstring label alone
    (_hdr(0x0100, ident=14) + b"\x01a\x41\x10\xab\xcd\x01b\x00\x00\x01\x00\x01", 33333, 53),  # ... inside
    (_hdr(0x0100, ident=15) + b"\x81\x00\x00\x01\x00\x01", 33333, 53),      # reserved label type
    (_hdr(0x8180, ident=16, an=1) + b"\x00\x00\x01\x00\x01" + _rr(b"\x00", 1, 1, 16, b""), 53, 33333),
    (_hdr(0x8180, ident=17, an=1) + b"\x00\x00\x01\x00\x01" + b"\x00\x00\x01\x00\x01\x00\x00\x00\x10\x00\x08"
     + bytes(4), 53, 33333),                                                # data length beyond the message
    (_hdr(0x8180, ident=18, an=1) + b"\x00\x00\x01\x00\x01" + _rr(b"\x00", 15, 1, 16, b"\x00\x05\x80\x00"),
     53, 33333),                                                            # MX with a bad name
    (_hdr(0x8180, ident=19, an=1) + b"\x00\x00\x01\x00\x01" + _rr(b"\x00", 33, 1, 16, bytes(6) + b"\x80"),
     53, 33333),                                                            # SRV with a bad target
    (_hdr(0x8180, ident=20, an=1) + b"\x00\x00\x01\x00\x01" + _rr(b"\x00", 16, 1, 16, b"\x05ab"), 53, 33333),
    (_hdr(0x8180, ident=21, an=1) + b"\x00\x00\x01\x00\x01"
     + _rr(b"\x00", 41, 4096, 0, b"\x00\x08\x00\x08\x00\x01"), 53, 33333),  # EDNS option cut
    (_hdr(0x8180, ident=22, an=0) + b"\x00\x00\x01\x00\x01" + b"\xde\xad", 53, 33333),  # extraneous bytes
    (_hdr(0x0100, q=2, ident=23) + b"\x01a\x00\x00\x01\x00\x01", 33333, 53),  # fewer questions than counted
    (_hdr(0x0100, ident=24)[:6], 33333, 53),                                 # a header cut short
    (_hdr(0x8180, ident=24) + b"\x01a\x00\x00\x01\x00\x01", 53, 33333),      # answers the cut one
    (_hdr(0x0000, q=1, an=1, ident=0) + _name(b"_ipp", b"_tcp", b"local") + b"\x00\x0c\x80\x01"
     + _rr(b"\xc0\x0c", 16, 0x8001, 4500, b"\x04\xc3\xa9t\xff")
     + _rr(b"\x00", 41, 0x05A0, 0x1194, b""), 5353, 5353),                   # mDNS: QU, cache flush, UTF-8 TXT
]


def _pcap(path: Path, messages: list[tuple[bytes, int, int]]) -> None:
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (payload, sport, dport) in enumerate(messages):
            udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                             bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + udp
            frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
            out.write(struct.pack("<IIII", 1000 + i, 0, len(frame), len(frame)) + frame)


@requires_tshark
@pytest.mark.tshark
def test_crafted_messages_match_tshark(tmp_path: Path) -> None:
    path = tmp_path / "crafted.pcap"
    _pcap(path, CRAFTED)
    result = compare_file(path, fields=NAMES)
    assert not result.diffs, result.report()
    assert result.compared > 400


def _tcp_pcap(path: Path, segments: list[tuple[bool, int, int, int, bytes]]) -> None:
    """(from the client, flags, seq, ack, payload) between 10.0.0.1:40000 and 10.0.0.2:53."""
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, (client, flags, seq, ack, payload) in enumerate(segments):
            sport, dport = (40000, 53) if client else (53, 40000)
            tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
            src, dst = (bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))[:: 1 if client else -1]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0, 64, 6, 0, src, dst) + tcp
            frame = bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip
            out.write(struct.pack("<IIII", 2000, i * 1000, len(frame), len(frame)) + frame)


@requires_tshark
@pytest.mark.tshark
def test_dns_over_tcp_matches_tshark(tmp_path: Path) -> None:
    """Reassembled: a query split over two segments, then two responses in one segment."""
    query = _hdr(0x0100, ident=0x77) + QUESTION
    answer = _hdr(0x8180, an=1, ident=0x77) + QUESTION + _rr(b"\xc0\x0c", 1, 1, 60, bytes([192, 0, 2, 1]))
    q = struct.pack("!H", len(query)) + query
    a = struct.pack("!H", len(answer)) + answer
    syn, ack, psh = 0x02, 0x10, 0x18
    _tcp_pcap(tmp_path / "tcp.pcap", [
        (True, syn, 1000, 0, b""), (False, syn | ack, 5000, 1001, b""), (True, ack, 1001, 5001, b""),
        (True, psh, 1001, 5001, q[:9]), (True, psh, 1010, 5001, q[9:]),
        (False, psh, 5001, 1001 + len(q), a + a)])
    result = compare_file(tmp_path / "tcp.pcap", fields=NAMES)
    assert not result.diffs, result.report()
    assert result.compared > 40
    from fieldcompare import dissect_all

    packets = dissect_all(tmp_path / "tcp.pcap")
    assert [len([x for x in p.layers if x.protocol == "dns"]) for p in packets] == [0, 0, 0, 0, 1, 2]


def test_name_loop_is_a_finding_and_bounded() -> None:
    msg = _hdr(0x0100) + b"\x05cycle\xc0\x0c\x00\x01\x00\x01"
    layer, _ = dissect_dns(msg, 0, len(msg), Context(reported_end=len(msg)))
    assert layer.fields["dns.qry.name"] == LOOP
    assert [(x.kind, x.offset) for x in layer.findings] == [(FindingKind.MALFORMED, 12)]
    # hostile: 2,000 questions whose names all end in a 255-pointer chain
    chain = b"".join(struct.pack("!H", 0xC000 | (12 + 2 * (i + 1))) for i in range(300))
    many = _hdr(0x0100, q=2000) + chain + b"\x00" + b"\xc0\x0c\x00\x01\x00\x01" * 2000
    start = time.perf_counter()
    layer, _ = dissect_dns(many, 0, len(many), Context(reported_end=len(many)))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    assert layer.findings and all(x.kind in (FindingKind.MALFORMED, FindingKind.NOTE) for x in layer.findings)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(0, 40), st.booleans())
def test_random_bytes_never_raise(data: bytes, extra: int, mdns: bool) -> None:
    start = time.perf_counter()
    dissect = dissect_mdns if mdns else dissect_dns
    layer, nxt = dissect(data, 0, len(data), Context(reported_end=len(data) + extra))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    assert nxt is None
    if len(data) < 12:
        assert layer.findings
    assert set(layer.fields) <= set(NAMES)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(PTR_RESPONSE) - 1), st.integers(0, 255)), max_size=6))
def test_mutated_message_never_raises(edits: list[tuple[int, int]]) -> None:
    data = bytearray(PTR_RESPONSE)
    for at, value in edits:
        data[at] = value
    layer, _ = dissect_dns(bytes(data), 0, len(data), Context(reported_end=len(data)))
    assert set(layer.fields) <= set(NAMES) and layer.fields["dns.id"] == int.from_bytes(data[:2], "big")


# -- the corpus ---------------------------------------------------------------------------------

FILES = sorted({*corpus_with("dns"), *corpus_with("mdns"), *corpus_with("llmnr"),
                *(CORPUS / "labs").glob("dns-ethereal-trace-*")})
MDNS_EDNS = "mDNS OPT records: tshark prints the 15-bit UDP payload size in hex (0x05a0), plain DNS in " \
            "decimal; pcapkit keeps one integer field, printed in decimal"
# (file, field) -> why pcapkit deliberately differs from tshark
KNOWN_FIELDS = {
    ("labs/dhcp-wireshark-trace1-1.pcapng", "dns.rr.udp_payload_size"): MDNS_EDNS,
    ("labs/ip-wireshark-trace1-1.pcapng", "dns.rr.udp_payload_size"): MDNS_EDNS,
}
# (file, frames) -> why
KNOWN_FRAMES = {
    ("broken/fuzz-2006-06-26-2594.pcap", (8, 29, 109, 352, 355, 571)):
        "fuzzed ports (2712 > 49973, 9587 > 156, ...): tshark follows the UDP conversation's earlier "
        "dissector, pcapkit dispatches on the ports alone",
    ("broken/fuzz-2006-06-26-2594.pcap", (684,)):
        "a fuzzed A6 record: tshark decodes A6 data and runs off the message; pcapkit does not decode A6",
}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_dns_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES)
    known_frames = {f for (file, frames) in KNOWN_FRAMES if file == rel for f in frames}
    diffs = [d for d in result.diffs if (rel, d.field) not in KNOWN_FIELDS and d.frame not in known_frames]
    assert not diffs, result.report()
    assert result.compared > 0
    for (file, field), _ in KNOWN_FIELDS.items():
        if file == rel:
            assert any(d.field == field for d in result.diffs), f"{rel}: {field} no longer differs"
    assert known_frames <= {d.frame for d in result.diffs}, f"{rel}: a known frame no longer differs"


def test_corpus_list_has_the_lab_traces() -> None:
    rels = {corpus_id(p) for p in FILES}
    if not CORPUS.is_dir():
        pytest.skip("corpus not found")
    assert {f"labs/dns-ethereal-trace-{n}" for n in range(1, 5)} <= rels


@given(st.binary(max_size=40), st.sampled_from([b"", b"\r\n", b"\n", b"\r"]))
def test_format_text_short_paths_agree_with_the_character_rule(body: bytes, line_end: bytes) -> None:
    # the printable and "printable + CRLF" short paths of format_text against the
    # per-character escaping they skip
    from pcapkit.dissect.dns_names import _format_text_escaped, format_text

    raw = body + line_end
    assert format_text(raw) == _format_text_escaped(raw)
    printable = bytes(b for b in body if 32 <= b < 127)
    assert format_text(printable + b"\r\n") == printable.decode("ascii") + "\\r\\n"
