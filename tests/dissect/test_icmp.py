"""ICMP (IPv4) dissector: hex vectors under their tcpdump lines (echo, port unreachable
with the quoted datagram decoded by the IP and UDP dissectors), tshark parity on every
ICMP capture of the corpus, Hypothesis on random and mutated messages."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from fieldcompare import compare_file
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tcp import corpus_with, skip_unsupported_link

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.icmp import FIELDS, dissect_icmp

NAMES = tuple(s.name for s in FIELDS)

# ip/icmp-ping.pcap frame 1, tcpdump -n -v:
#   10.0.0.1 > 74.125.225.99: ICMP echo request, id 34844, seq 0, length 64
ECHO = bytes.fromhex(
    "4500005414e700004001 2fe10a0000014a7de163 08006909881c00004f85e043000eebff"
    "08090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
    "3031323334353637".replace(" ", ""))

# ip/icmp-destunreach-udp.pcap frame 1 (first 48 bytes of the IP packet shown), tcpdump -n -v:
#   192.168.1.102 > 192.168.1.1: ICMP 192.168.1.102 udp port 59207 unreachable, length 156
#   IP (tos 0x0, ttl 64, id 14097, offset 0, flags [none], proto UDP (17), length 163)
#   192.168.1.1.53 > 192.168.1.102.59207: 39076 1/4/0 secure.ed4.net. A 208.94.20.14 (135)
UNREACH_HEAD = bytes.fromhex(
    "450000b0281e000080018e77c0a80166c0a80101030303bb00000000450000a3"
    "37110000 4011bf81c0a80101c0a801660035e747008f76d298a481800001 0001".replace(" ", ""))


def test_echo_request() -> None:
    data = ECHO
    layer, nxt = dissect_icmp(data, 20, len(data), Context(reported_end=len(data)))
    f = layer.fields
    assert layer.summary == "ICMP echo request, id 34844, seq 0, length 64"
    assert f["icmp.type"] == 8 and f["icmp.code"] == 0 and f["icmp.checksum"] == 0x6909
    assert f["icmp.checksum.status"] == 1  # Wireshark always verifies ICMP checksums
    assert f["icmp.ident"] == 34844 and f["icmp.ident_le"] == 7304
    assert f["icmp.seq"] == 0 and f["icmp.seq_le"] == 0
    assert nxt is None and not layer.findings
    bad = bytearray(data)
    bad[30] ^= 1
    layer, _ = dissect_icmp(bytes(bad), 20, len(bad), Context(reported_end=len(bad)))
    assert layer.fields["icmp.checksum.status"] == 0
    assert [x.kind for x in layer.findings] == [FindingKind.CHECKSUM_BAD]


def test_port_unreachable_quotes_ip_and_udp() -> None:
    data = UNREACH_HEAD  # cut after 48 bytes: a snapped capture of a 176-byte packet
    ctx = Context(reported_end=176)
    layer, nxt = dissect_icmp(data, 20, len(data), ctx)
    f = layer.fields
    assert layer.summary == "ICMP 192.168.1.102 udp port 59207 unreachable, length 156"
    assert f["icmp.type"] == 3 and f["icmp.code"] == 3 and f["icmp.unused"] == b"\0\0\0\0"
    assert f["icmp.checksum.status"] == 2  # not whole: cannot verify
    assert nxt is not None and (nxt.table, nxt.key, nxt.offset) == ("ethertype", 0x0800, 28)
    assert ctx.extra["in_error_pkt"] is True
    # the quoted datagram goes through the real IPv4 and UDP dissectors
    from pcapkit.dissect import registry

    ipv4 = registry.lookup("ethertype", 0x0800)
    if ipv4 is None:
        pytest.skip("no IPv4 dissector")
    ctx.reported_end = nxt.reported_end or nxt.end
    ip_layer, ip_next = ipv4(data, nxt.offset, nxt.end, ctx)
    assert ip_layer.fields["ip.src"] == "192.168.1.1" and ip_layer.fields["ip.dst"] == "192.168.1.102"
    assert not [x for x in ip_layer.findings if x.kind is FindingKind.MALFORMED]
    assert ip_next is not None and ip_next.key == 17
    udp = registry.lookup(ip_next.table, ip_next.key)
    assert udp is not None
    ctx.reported_end = ip_next.reported_end or ip_next.end
    udp_layer, _ = udp(data, ip_next.offset, ip_next.end, ctx)
    assert udp_layer.fields["udp.srcport"] == 53 and udp_layer.fields["udp.dstport"] == 59207
    assert udp_layer.fields["udp.length"] == 143 and not udp_layer.findings


def test_frag_needed_and_rfc4884_length() -> None:
    # type 3 code 4 with next-hop MTU 1400 (RFC 1191), then RFC 4884 length 32 words
    msg = bytes.fromhex("0304 0000 0000 0578") + bytes(28)
    layer, _ = dissect_icmp(msg, 0, len(msg), Context(reported_end=len(msg)))
    assert layer.fields["icmp.mtu"] == 1400 and layer.fields["icmp.unused"] == b"\0\0"
    msg = bytes.fromhex("0b00 0000 0020 0000") + bytes(128)
    layer, _ = dissect_icmp(msg, 0, len(msg), Context(reported_end=len(msg)))
    assert layer.fields["icmp.length"] == 32 and layer.fields["icmp.length.original_datagram"] == 128


# ip/icmp-rfc5837.pcap (PPP link; the IP packet), tcpdump -n -v:
#   10.4.0.2 > 12.4.4.4: ICMP time exceeded in-transit, length 220
#   IP (tos 0x0, ttl 1, id 42321, offset 0, flags [none], proto UDP (17), length 40)
#   12.4.4.4.42315 > 12.1.1.1.33440: UDP, length 12
#   ICMP Multi-Part extension v2, checksum 0x246c (correct), length 84
#     Interface Identification Object (2), Class-Type: 14, length 80
RFC5837 = bytes.fromhex(
    "450000f0e7204000fe017ade0a0400020c0404040b00ccff0000000045000028"
    "a55100000111f76a0c0404040c010101a54b82a0001400000000000000000000" + "00" * 92 +
    "2000246c0050020e0000000f000100000a0a0a0a40546869732d69732d746865"
    "2d6e616d652d6f662d7468652d496e746572666163652d746861742d77652d61"
    "72652d6c6f6f6b696e672d666f722d5b3a2d295d")


def test_rfc5837_interface_information_extension() -> None:
    data = RFC5837
    assert len(data) == 240
    layer, nxt = dissect_icmp(data, 20, len(data), Context(reported_end=len(data)))
    f = layer.fields
    # values as tshark shows them for this frame
    assert f["icmp.type"] == 11 and f["icmp.checksum.status"] == 1
    assert f["icmp.ext.version"] == 2 and f["icmp.ext.checksum"] == 0x246C
    assert f["icmp.ext.checksum.status"] == 1  # tcpdump: "(correct)"
    assert f["icmp.ext.length"] == 80 and f["icmp.ext.class"] == 2 and f["icmp.ext.ctype"] == 14
    assert f["icmp.int_info.role"] == 0 and f["icmp.int_info.ifindex"] is True
    assert f["icmp.int_info.ipaddr"] is True and f["icmp.int_info.name_present"] is True
    assert f["icmp.int_info.mtu_present"] is False
    assert f["icmp.int_info.index"] == 15 and f["icmp.int_info.afi"] == 1
    assert f["icmp.int_info.ipv4"] == "10.10.10.10" and f["icmp.int_info.name_length"] == 64
    assert nxt is not None and nxt.offset == 28


# Three messages the corpus lacks, written with dpkt to a raw-IP pcap and read back by
# tcpdump -n -v and tshark (the expected values below are tshark's):
#   10.0.0.1 > 10.0.0.2: ICMP time stamp query id 4660 seq 7, length 20
TSTAMP = "45000028123400004001549f0a0000010a0000020d00f20d123400070036ee800000000000000000"
#   10.0.0.1 > 10.0.0.2: ICMP redirect 10.0.0.2 to host 10.0.0.254, length 36
#   IP (tos 0x0, ttl 64, id 4660, offset 0, flags [none], proto UDP (17), length 40)
#   10.0.0.1.40000 > 10.0.0.2.53:  [|domain]
REDIRECT = ("450000381234000040015 48f0a0000010a00000205015377 0a0000fe45000028"
            "12340000401154 8f0a0000010a0000029c40003500140000").replace(" ", "")
#   10.0.0.1 > 10.0.0.2: ICMP address mask is 0xffffff00, length 12
MASK = "4500002012340000400154a70a0000010a0000021200eefb00010002ffffff00"


def test_timestamp_redirect_mask() -> None:
    def icmp4(hexstr: str) -> tuple[dict[str, object], str]:
        data = bytes.fromhex(hexstr)
        layer, _ = dissect_icmp(data, 20, len(data), Context(reported_end=len(data)))
        assert layer.fields["icmp.checksum.status"] == 1 and not layer.findings
        return layer.fields, layer.summary

    f, summary = icmp4(TSTAMP)
    assert summary == "ICMP time stamp query id 4660 seq 7, length 20"
    assert f["icmp.ident"] == 4660 and f["icmp.seq"] == 7
    assert f["icmp.originate_timestamp"] == 3600000 and f["icmp.receive_timestamp"] == 0
    f, summary = icmp4(REDIRECT)
    assert summary == "ICMP redirect 10.0.0.2 to host 10.0.0.254, length 36"
    assert f["icmp.redir_gw"] == "10.0.0.254" and f["icmp.code"] == 1
    f, summary = icmp4(MASK)
    assert summary == "ICMP address mask is 0xffffff00, length 12"
    assert f["icmp.address_mask"] == "255.255.255.0" and f["icmp.ident"] == 1 and f["icmp.seq"] == 2


FILES = corpus_with("icmp")
EXTERNAL: dict[str, str] = {}  # files where a layer below ICMP makes the difference (none left)


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_icmp_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES)
    if result.diffs and rel in EXTERNAL:
        pytest.xfail(EXTERNAL[rel])
    assert not result.diffs, result.report()


def test_corpus_is_there() -> None:
    if not CORPUS.is_dir():
        pytest.skip("no corpus")
    assert len(FILES) >= 20


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=96), st.integers(0, 64))
def test_random_bytes_never_raise(data: bytes, extra: int) -> None:
    start = time.perf_counter()
    layer, nxt = dissect_icmp(data, 0, len(data), Context(reported_end=len(data) + extra))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    if len(data) < 4:
        assert layer.findings and nxt is None
    if nxt is not None:
        assert nxt.offset == 8 and nxt.end <= len(data)
    for name in layer.fields:
        assert name in NAMES


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([0, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]),
       st.integers(0, 255), st.binary(max_size=60))
def test_every_type_with_random_body(itype: int, code: int, body: bytes) -> None:
    data = bytes((itype, code, 0, 0)) + body
    layer, _ = dissect_icmp(data, 0, len(data), Context(reported_end=len(data)))
    assert layer.fields["icmp.type"] == itype


# -- the per-layer summary against tcpdump -n -----------------------------------------------

def tcpdump_lines(path: Path, tmp_path: Path) -> list[str]:
    """tcpdump -n's one line per frame (gzip files are decompressed first)."""
    source = path
    if path.suffix == ".gz":
        source = tmp_path / path.stem
        source.write_bytes(gzip.decompress(path.read_bytes()))
    return subprocess.run(["tcpdump", "-n", "-r", str(source)], capture_output=True, text=True,
                          errors="replace", check=False).stdout.splitlines()


def check_summaries(path: Path, tmp_path: Path, protocol: str, marker: str) -> int:
    from pcapkit.dissect.driver import dissect_file

    skip_unsupported_link(corpus_id(path))
    lines = tcpdump_lines(path, tmp_path)
    packets = list(dissect_file(path))
    if len(lines) != len(packets):
        pytest.skip("tcpdump printed continuation lines")
    compared = 0
    for line, packet in zip(lines, packets, strict=True):
        layer = packet.layer(protocol)
        at = line.find(marker)
        if layer is None or at < 0:
            continue
        compared += 1
        assert layer.summary == line[at:], f"frame {packet.frame.number}: {line}"
    return compared


# tcpdump takes the "length" of this fuzzed message from a field pcapkit does not trust
SUMMARY_KNOWN = {"broken/icmp-cksum-oobr-1.pcap": "tcpdump prints a length from a corrupt header"}


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_icmp_summary_matches_tcpdump(path: Path, tmp_path: Path) -> None:
    if corpus_id(path) in SUMMARY_KNOWN:
        pytest.skip(SUMMARY_KNOWN[corpus_id(path)])
    check_summaries(path, tmp_path, "icmp", "ICMP ")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([3, 4, 5, 11, 12]), st.integers(0, 15), st.binary(max_size=120))
def test_quoted_garbage_through_the_driver(itype: int, code: int, quoted: bytes) -> None:
    """An error message quoting random bytes, dissected by the whole chain (raw IPv4 link):
    findings at worst, never an exception."""
    from pcapkit.dissect.driver import dissect
    from pcapkit.frame import Frame

    msg = bytes((itype, code, 0, 0, 0, 0, 0, 0)) + quoted
    total = 20 + len(msg)
    ip = bytes.fromhex("4500") + total.to_bytes(2, "big") + bytes.fromhex("00000000400100000a0000010a000002")
    data = ip + msg
    packet = dissect(Frame(number=1, ts_ns=0, caplen=len(data), wirelen=len(data), linktype=101,
                           interface_id=0, data=data))
    names = [layer.protocol for layer in packet.layers]
    assert "ip" in names and "icmp" in names  # the raw-IP link layer may come first
