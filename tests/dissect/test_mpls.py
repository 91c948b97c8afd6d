"""MPLS dissector: hex vectors under their tcpdump lines, tshark parity on the corpus's MPLS
captures and on edge cases written to a pcap here (bad stacks, payload kinds, snapping,
MPLS in IP and in UDP),
summaries against tcpdump, Hypothesis on random and mutated bytes."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark
from fieldcompare import compare_file, field_specs
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import tshark_fields
from vectors import packet

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.driver import Packet, dissect
from pcapkit.dissect.mpls import FIELDS, dissect_mpls
from pcapkit.dissect.summary import summary_line
from pcapkit.frame import Frame, format_epoch_ns

NAMES = [s.name for s in FIELDS]
SPECS = {s.name: s for s in FIELDS}
MPLS_IN_VLAN = CORPUS / "l2/mpls-in-vlan.pcap"
BGP_REDIST = CORPUS / "bgp/BGP_redist.pcap"


def _with_mpls_specs() -> None:
    """compare_file only compares names with a FieldSpec from pcapkit.dissect.FIELD_MODULES;
    make sure the MPLS ones are known even before that list names pcapkit.dissect.mpls."""
    specs = field_specs()
    for spec in FIELDS:
        specs.setdefault(spec.name, spec)


# 1371686961.479321 MPLS (label 254, tc 0, ttl 60) (label 99, tc 0, [S], ttl 60)
#   IP (tos 0x0, ttl 61, id 22774, offset 0, flags [DF], proto TCP (6), length 710, ...)
#   65.65.65.65.61193 > 65.65.65.65.80: Flags [P.], ...
# (l2/mpls-in-vlan.pcap frame 3, tcpdump -n -tt -v; Ethernet + 802.1Q + 2 labels + IPv4 +
#  the first 32 bytes of TCP; the frame is 736 bytes on the wire)
FRAME3 = """00 08 e3 41 41 41 00 08 e3 41 41 41 81 00 0d 47 88 47 00 0f e0 3c 00 06 31 3c
45 00 02 c6 58 f6 40 00 3d 06 b7 2c 41 41 41 41 41 41 41 41 ef 09 00 50 9c c1 e6 76 5f 07
2e d2 80 18 63 88 c1 94 00 00 01 01 08 0a 00 a4 60 de 48 bb 56 18"""


def test_two_label_stack_in_vlan() -> None:
    pkt = packet(FRAME3, wirelen=736)
    assert pkt.protocols.startswith("eth:ethertype:vlan:ethertype:mpls:ip:tcp")  # tshark: no ethertype after mpls
    mpls = pkt.layer("mpls")
    assert mpls is not None and (mpls.offset, mpls.length) == (18, 8)
    f = mpls.fields
    assert list(f["mpls.label"]) == [254, 99] and list(f["mpls.exp"]) == [0, 0]
    assert list(f["mpls.bottom"]) == [0, 1] and list(f["mpls.ttl"]) == [60, 60]
    assert mpls.summary == "MPLS (label 254, tc 0, ttl 60) (label 99, tc 0, [S], ttl 60)"
    ip = pkt.layer("ip")
    assert ip is not None and ip.offset == 26 and ip.fields["ip.ttl"] == 61 and ip.fields["ip.len"] == 710
    assert not [x for x in pkt.findings if x.layer == "mpls"]


# 1373449636.167156 MPLS (label 18, tc 6, [S], ttl 254) IP 2.2.2.2.179 > 4.4.4.4.63535: Flags [P.], ...
# (bgp/BGP_redist.pcap frame 1: Cisco HDLC, protocol 0x8847; the label and the start of IPv4)
CHDLC_FRAME1 = "0f 00 88 47 00 01 2d fe 45 c0 00 9b 93 cc 40 00 ff 06 da c4 02 02 02 02 04 04 04 04"


def test_single_label_behind_cisco_hdlc() -> None:
    data = bytes.fromhex(CHDLC_FRAME1.replace(" ", ""))
    layer, nxt = dissect_mpls(data, 4, len(data), Context(reported_end=163))
    assert layer.fields == {"mpls.label": 18, "mpls.exp": 6, "mpls.bottom": 1, "mpls.ttl": 254}
    assert layer.summary == "MPLS (label 18, tc 6, [S], ttl 254)"
    assert nxt is not None and (nxt.table, nxt.key, nxt.offset, nxt.end, nxt.reported_end) == (
        "mpls.payload", 4, 8, len(data), 163)
    assert not layer.findings


@requires_tshark
@pytest.mark.tshark
def test_corpus_mpls_in_vlan_matches_tshark() -> None:
    if not MPLS_IN_VLAN.exists():
        pytest.skip("not in corpus")
    _with_mpls_specs()
    result = compare_file(MPLS_IN_VLAN, prefixes=("mpls.", "eth.", "vlan.", "ip."))
    assert not result.diffs, result.report()
    assert set(NAMES) <= set(result.fields)
    assert result.compared >= 30
    theirs = [r.get("frame.protocols", "") for r in tshark_fields(MPLS_IN_VLAN, ["frame.protocols"])]
    ours = [p.protocols.removesuffix(":data") for p in _dissect_file(MPLS_IN_VLAN)]
    for a, b in zip(ours, theirs, strict=True):
        assert b == a or b.startswith(a + ":"), (a, b)


@requires_tshark
@pytest.mark.tshark
def test_corpus_chdlc_label_matches_tshark() -> None:
    """pcapkit has no Cisco HDLC link dissector: the label stack of BGP_redist.pcap is
    dissected at its offset (after the 4-byte HDLC header carrying 0x8847)."""
    from pcapkit.capture.files import read_frames

    if not BGP_REDIST.exists():
        pytest.skip("not in corpus")
    rows = tshark_fields(BGP_REDIST, NAMES)
    compared = 0
    for frame, row in zip(read_frames(BGP_REDIST), rows, strict=True):
        data = frame.data
        if data[2:4] not in (b"\x88\x47", b"\x88\x48"):
            assert not row
            continue
        layer, _ = dissect_mpls(data, 4, len(data), Context(reported_end=frame.wirelen))
        assert {n: SPECS[n].render(v) for n, v in layer.fields.items()} == row
        compared += 1
    assert compared == 1


def _dissect_file(path: Path) -> list[Packet]:
    from pcapkit.dissect.driver import dissect_file

    return list(dissect_file(path))


# ---------------------------------------------------------------------------------------
# edge cases, written to a pcap and read by tshark and tcpdump


def _label(label: int, exp: int = 0, s: int = 1, ttl: int = 64) -> bytes:
    return struct.pack("!I", (label << 12) | (exp << 9) | (s << 8) | ttl)


def _ip4(payload: bytes, total: int | None = None) -> bytes:
    total = 20 + len(payload) if total is None else total
    return (bytes.fromhex("4500") + struct.pack("!H", total)
            + bytes.fromhex("000100004011 0000 0a000001 0a000002".replace(" ", "")) + payload)


def _ip6(payload: bytes) -> bytes:
    return (bytes.fromhex("60000000") + struct.pack("!H", len(payload)) + bytes((59, 64))
            + bytes(15) + b"\x01" + bytes(15) + b"\x02" + payload)


ETH = bytes.fromhex("000102030405 00a0a1a2a3a4 8847".replace(" ", ""))
UDP = struct.pack("!HHHH", 1000, 2000, 12, 0) + b"abcd"
# name -> (frame bytes, wire length or None)
EDGE: dict[str, tuple[bytes, int | None]] = {
    "one_label_ipv4": (ETH + _label(16) + _ip4(UDP), None),
    "two_labels_ipv4": (ETH + _label(100, 1, 0, 5) + _label(200, 7, 1, 6) + _ip4(UDP), None),
    "ipv6": (ETH + _label(16) + _ip6(UDP), None),
    "two_labels_ipv6": (ETH + _label(16, 0, 0) + _label(17) + _ip6(UDP), None),
    "explicit_null_v4": (ETH + _label(0) + _ip4(UDP), None),
    "explicit_null_v6": (ETH + _label(2) + _ip6(UDP), None),
    "multicast": (ETH[:-2] + b"\x88\x48" + _label(16) + _ip4(UDP), None),
    "ipv4_padded": (ETH + _label(16) + _ip4(UDP) + bytes(4), None),
    "ipv4_too_long": (ETH + _label(16) + _ip4(UDP, 200), None),
    "pw_eth_control_word": (ETH + _label(16) + bytes(4) + ETH[:-2] + b"\x08\x00" + _ip4(UDP), None),
    "pw_ach": (ETH + _label(16) + bytes.fromhex("10000021") + b"x" * 8, None),
    "nibble_9": (ETH + _label(16) + b"\x99" * 20, None),
    "gach_bottom": (ETH + _label(13) + bytes.fromhex("10000021") + b"x" * 8, None),
    "gach_not_bottom": (ETH + _label(13, 0, 0) + _label(16) + _ip4(UDP), None),
    "no_bottom": (ETH + _label(16, 0, 0) + _label(17, 0, 0), None),
    "entry_cut": (ETH + _label(16, 0, 0) + b"\x00\x01", None),
    "nothing_after_bottom": (ETH + _label(16), None),
    "snapped_in_entry": (ETH + _label(16, 0, 0) + b"\x00\x01", 60),
    "snapped_no_bottom": (ETH + _label(16, 0, 0) + _label(17, 0, 0), 60),
    "snapped_after_bottom": (ETH + _label(16), 60),
    "snapped_in_ipv4": (ETH + _label(16) + _ip4(UDP)[:10], 50),
}
EDGE_NAMES = list(EDGE)


@pytest.fixture(scope="module")
def edge_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mpls") / "edge.pcap"
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, name in enumerate(EDGE_NAMES):
            data, wirelen = EDGE[name]
            f.write(struct.pack("<IIII", i, 0, len(data), wirelen or len(data)))
            f.write(data)
    return path


def _edge_packets() -> list[Packet]:
    out = []
    for i, name in enumerate(EDGE_NAMES):
        data, wirelen = EDGE[name]
        frame = Frame(number=i + 1, ts_ns=i * 10**9, caplen=len(data), wirelen=wirelen or len(data),
                      linktype=1, interface_id=0, data=data)
        out.append(dissect(frame))
    return out


@requires_tshark
@pytest.mark.tshark
def test_edge_cases_match_tshark(edge_pcap: Path) -> None:
    rows = tshark_fields(edge_pcap, [*NAMES, "frame.protocols", "_ws.malformed", "_ws.short",
                                     "_ws.expert.message"])
    assert len(rows) == len(EDGE_NAMES)
    for name, pkt, row in zip(EDGE_NAMES, _edge_packets(), rows, strict=True):
        fields = pkt.fields()
        ours = {n: SPECS[n].render(fields[n]) for n in NAMES if n in fields}
        assert ours == {n: row[n] for n in NAMES if n in row}, name
        theirs_protocols = row["frame.protocols"]
        ours_protocols = pkt.protocols
        if any(p in theirs_protocols.split(":") for p in ("pwach", "pwethheuristic")):
            # pseudowire payloads: tshark decodes them, pcapkit hands them on as data
            assert ours_protocols == "eth:ethertype:mpls:data", name
            assert theirs_protocols.startswith("eth:ethertype:mpls:"), name
        else:
            assert ours_protocols == theirs_protocols, name
        mpls = pkt.layer("mpls")
        assert mpls is not None
        kinds = {x.kind for x in mpls.findings}
        assert (FindingKind.MALFORMED in kinds) == ("Malformed Packet: MPLS" in row.get("_ws.malformed", "")), name
        assert (FindingKind.TRUNCATED in kinds) == ("MPLS truncated" in row.get("_ws.short", "")), name
        assert (FindingKind.NOTE in kinds) == ("Invalid Label" in row.get("_ws.expert.message", "")), name


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_edge_summaries_match_tcpdump(edge_pcap: Path) -> None:
    lines = _tcpdump(edge_pcap)
    assert len(lines) == len(EDGE_NAMES)
    for name, pkt, line in zip(EDGE_NAMES, _edge_packets(), lines, strict=True):
        _check_line(name, pkt, line)


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_corpus_summaries_match_tcpdump() -> None:
    if not MPLS_IN_VLAN.exists():
        pytest.skip("not in corpus")
    lines = _tcpdump(MPLS_IN_VLAN)
    packets = _dissect_file(MPLS_IN_VLAN)
    assert len(lines) == len(packets)
    checked = 0
    for pkt, line in zip(packets, lines, strict=True):
        if pkt.layer("mpls") is not None:
            _check_line(str(pkt.frame.number), pkt, line)
            checked += 1
    assert checked == 2


def _tcpdump(path: Path) -> list[str]:
    out = subprocess.run(["tcpdump", "-n", "-tt", "-r", str(path)], capture_output=True, text=True,
                         errors="replace", check=False).stdout
    return [line for line in out.splitlines() if line and not line[0].isspace()]  # no hex dumps


def _check_line(name: str, pkt: Packet, line: str) -> None:
    """tcpdump prints the label stack, then the network layer's text: the stack is the MPLS
    layer's summary, and summary_line starts with it; where pcapkit decodes an IPv4
    datagram, the whole summary line is tcpdump's (which may add an application tail such as
    ': HTTP')."""
    mpls = pkt.layer("mpls")
    assert mpls is not None
    ts = format_epoch_ns(pkt.frame.ts_ns, 6)
    head = f"{ts} {mpls.summary}"
    assert line == head or line.startswith(head + " "), f"{name}: {line!r} vs {head!r}"
    ours = summary_line(pkt.frame, pkt)
    assert ours == head or ours.startswith(head + " "), f"{name}: {ours!r} vs {head!r}"
    ip = pkt.layer("ip")
    if ip is not None and not pkt.findings:
        assert line.startswith(ours), f"{name}: {line!r} vs {ours!r}"


# MPLS inside IP (protocol 137) and UDP (port 6635): tshark 4.0 decodes both by default
def _ipv4_carrying(proto: int, payload: bytes) -> bytes:
    return (bytes.fromhex("4500") + struct.pack("!H", 20 + len(payload)) + bytes.fromhex("0001000040")
            + bytes((proto,)) + bytes.fromhex("0000 0a000001 0a000002".replace(" ", "")) + payload)


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


ETH_IP = ETH[:-2] + b"\x08\x00"
INNER = _label(16) + _ip4(UDP)
TUNNELS: dict[str, bytes] = {
    "mpls_in_ip": ETH_IP + _ipv4_carrying(137, INNER),
    "mpls_in_udp_dst": ETH_IP + _ipv4_carrying(17, _udp(40000, 6635, INNER)),
    "mpls_in_udp_src": ETH_IP + _ipv4_carrying(17, _udp(6635, 40000, INNER)),
    "mpls_in_udp_short": ETH_IP + _ipv4_carrying(17, _udp(53000, 6635, b"\x99\x99\x99")),
}


@pytest.fixture(scope="module")
def tunnel_pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mpls") / "tunnels.pcap"
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, data in enumerate(TUNNELS.values()):
            f.write(struct.pack("<IIII", i, 0, len(data), len(data)) + data)
    return path


def _tunnel_packets() -> list[Packet]:
    return [dissect(Frame(number=i + 1, ts_ns=i * 10**9, caplen=len(data), wirelen=len(data), linktype=1,
                          interface_id=0, data=data))
            for i, data in enumerate(TUNNELS.values())]


@requires_tshark
@pytest.mark.tshark
def test_tunnels_match_tshark(tunnel_pcap: Path) -> None:
    rows = tshark_fields(tunnel_pcap, [*NAMES, "frame.protocols", "ip.src", "_ws.malformed"])
    assert len(rows) == len(TUNNELS)
    for name, pkt, row in zip(TUNNELS, _tunnel_packets(), rows, strict=True):
        fields = pkt.fields()
        specs = {**field_specs(), **SPECS}
        ours = {n: specs[n].render(fields[n]) for n in [*NAMES, "ip.src"] if n in fields}
        assert ours == {n: row[n] for n in [*NAMES, "ip.src"] if n in row}, name
        assert pkt.protocols == row["frame.protocols"], name
        mpls = pkt.layer("mpls")
        assert mpls is not None
        malformed = any(x.kind == FindingKind.MALFORMED for x in mpls.findings)
        assert malformed == ("Malformed Packet: MPLS" in row.get("_ws.malformed", "")), name


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_udp_tunnel_summaries_match_tcpdump(tunnel_pcap: Path) -> None:
    """tcpdump decodes MPLS over UDP port 6635 (not IP protocol 137): after the UDP ports
    it prints the label stack where pcapkit's summary_line says "UDP, length N"."""
    lines = _tcpdump(tunnel_pcap)
    checked = 0
    for name, pkt, line in zip(TUNNELS, _tunnel_packets(), lines, strict=True):
        mpls = pkt.layer("mpls")
        assert mpls is not None
        if "udp" in name:
            assert f": {mpls.summary}" in line, f"{name}: {line!r} vs {mpls.summary!r}"
            checked += 1
    assert checked == 3


# ---------------------------------------------------------------------------------------
# robustness


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 64))
def test_random_bytes_never_raise(data: bytes, extra: int) -> None:
    start = time.perf_counter()
    layer, nxt = dissect_mpls(data, 0, len(data), Context(reported_end=len(data) + extra))
    assert time.perf_counter() - start < 5  # a loop, not a slow machine: the suite shares 2 cores
    assert set(layer.fields) <= set(NAMES)
    assert layer.length % 4 == 0 and layer.length <= len(data)
    if nxt is None:
        assert layer.findings
        assert any(x.kind in (FindingKind.TRUNCATED, FindingKind.MALFORMED) for x in layer.findings)
    else:
        assert nxt.offset == layer.length and nxt.end == len(data) and nxt.offset < nxt.end
        assert nxt.key in (4, 6, "data")
        assert data[nxt.offset - 4 + 2] & 1  # handed on only after a bottom-of-stack entry


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(bytes.fromhex(FRAME3.replace(" ", "").replace("\n", ""))) - 1),
                          st.integers(0, 255)), max_size=8),
       st.integers(0, 80), st.integers(0, 700))
def test_mutated_frame_through_the_driver(edits: list[tuple[int, int]], cut: int, extra: int) -> None:
    raw = bytearray(bytes.fromhex("".join(FRAME3.split())))
    for at, value in edits:
        raw[at] = value
    data = bytes(raw[:cut] if cut else raw)
    frame = Frame(number=1, ts_ns=0, caplen=len(data), wirelen=len(data) + extra, linktype=1,
                  interface_id=0, data=data)
    start = time.perf_counter()
    pkt = dissect(frame)
    pkt.fields()
    summary_line(frame, pkt)
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    mpls = pkt.layer("mpls")
    if mpls is not None:
        assert mpls.offset + mpls.length <= len(data)
