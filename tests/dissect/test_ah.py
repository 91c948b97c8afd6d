"""IP Authentication Header (pcapkit/dissect/ah.py) and the IPv6 routing header's final
destination (pcapkit/dissect/ipv6.py): a hex vector under its tcpdump line, tshark
parity on the corpus files holding AH and on packets built here (written to a pcap in
tmp_path and read by tshark and tcpdump, the references), Hypothesis on random and
mutated bytes."""

from __future__ import annotations

import ipaddress
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from fieldcompare import Diff, compare_file, field_specs
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import tshark_fields

from pcapkit.dissect.ah import FIELDS, dissect_ah
from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.driver import DissectSession, dissect, dissect_file
from pcapkit.dissect.summary import summary_line
from pcapkit.frame import Frame

NAMES = tuple(s.name for s in FIELDS)
# until pcapkit.dissect.FIELD_MODULES lists pcapkit.dissect.ah, the harness learns the specs here
for _spec in FIELDS:
    field_specs().setdefault(_spec.name, _spec)

# The corpus files holding AH (INDEX.tsv does not list "ah"; found with `tshark -Y ah` over
# every corpus file whose INDEX protocols include ipv6). There is no IPv4 AH in the corpus:
# the packets built below cover it.
AH_FILES = [CORPUS / "ip/ipv6_ah_modes.pcap", CORPUS / "broken/ipv6_zero_len_ah.pcap"]

# 1744456818.686354 IP6 2001:db8::1 > 2001:db8::2: AH(spi=0x12345678,seq=0x0,icv=0x0101010101010101):
#   12345 > 54321: UDP, length 30          (ip/ipv6_ah_modes.pcap frame 1, tcpdump -n -tt -xx)
TRANSPORT_MODE = bytes.fromhex(
    "aabbccddeeff00112233445586dd60000000003a334020010db8000000000000"
    "00000000000120010db800000000000000000000000211030000123456780000"
    "000001010101010101013039d43100263e9948656c6c6f2c2074686973206973"
    "20612074657374207061796c6f616421")


def test_transport_mode_vector() -> None:
    data = TRANSPORT_MODE
    assert len(data) == 112
    ctx = Context(reported_end=len(data), extra={"ip.version": 6})
    layer, nxt = dissect_ah(data, 54, len(data), ctx)
    f = layer.fields
    assert (f["ah.next_header"], f["ah.length"], f["ah.reserved"]) == (17, 3, b"\x00\x00")
    assert (f["ah.spi"], f["ah.sequence"], f["ah.icv"]) == (0x12345678, 0, b"\x01" * 8)
    assert layer.length == 20 and not layer.findings
    assert layer.summary == "AH(spi=0x12345678,seq=0x0,icv=0x0101010101010101):"
    assert nxt is not None and (nxt.table, nxt.key, nxt.offset, nxt.end) == ("ip.proto", 17, 74, 112)
    packet = dissect(Frame(number=1, ts_ns=1744456818686354000, caplen=112, wirelen=112, linktype=1,
                           interface_id=0, data=data))
    assert packet.protocols == "eth:ethertype:ipv6:ah:udp:data"
    assert summary_line(packet.frame, packet) == (
        "1744456818.686354 IP6 2001:db8::1 > 2001:db8::2: AH(spi=0x12345678,seq=0x0,"
        "icv=0x0101010101010101): 12345 > 54321: UDP, length 30")


def test_zero_length_reads_the_sequence_in_the_next_header() -> None:
    # broken/ipv6_zero_len_ah.pcap frame 5: length 0 gives an 8-byte header, yet tshark and
    # tcpdump both read bytes 8-11 as the sequence number (0x8000fae6 = the ICMPv6 echo's first word)
    data = bytes.fromhex("3a000000000000008000fae60000001f") + b"\x1f" * 8
    layer, nxt = dissect_ah(data, 0, len(data), Context(reported_end=len(data), extra={"ip.version": 6}))
    assert layer.fields["ah.sequence"] == 0x8000FAE6 and "ah.icv" not in layer.fields
    assert layer.length == 8 and layer.summary == "AH(spi=0x00000000,seq=0x8000fae6,icv=0x):"
    assert nxt is not None and (nxt.table, nxt.key, nxt.offset) == ("ip.proto", 58, 8)


def test_short_headers() -> None:
    data = bytes.fromhex("1104000000001234")  # says 24 bytes, has 8
    layer, nxt = dissect_ah(data, 0, 8, Context(reported_end=8))
    assert nxt is None and [f.kind for f in layer.findings] == [FindingKind.MALFORMED]
    assert "ah.sequence" not in layer.fields and layer.fields["ah.spi"] == 0x1234
    assert layer.summary == "AH(spi=0x00001234, [|ah]"
    # cut by the snapshot length: truncated, not malformed
    layer, nxt = dissect_ah(data, 0, 8, Context(reported_end=64))
    assert nxt is None and [f.kind for f in layer.findings] == [FindingKind.TRUNCATED]
    layer, nxt = dissect_ah(b"\x11", 0, 1, Context(reported_end=1))
    assert nxt is None and not layer.fields and layer.findings and layer.summary == "AH [|ah]"


def _allowed(d: Diff) -> bool:
    # a zero-length ICV (length 0 or 1): tshark prints "<MISSING>", pcapkit leaves the field out
    if d.field == "ah.icv" and d.ours is None and d.theirs == "<MISSING>":
        return True
    # ICMPv6 echo bodies: tshark names them "data", pcapkit's icmpv6 layer holds them
    return d.field == "frame.protocols" and bool(d.ours) and d.theirs == f"{d.ours}:data"


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", AH_FILES, ids=corpus_id)
def test_ah_fields_match_tshark(path: Path) -> None:
    if not path.exists():
        pytest.skip("corpus missing")
    assert any("ah" in row.get("frame.protocols", "").split(":")
               for row in tshark_fields(path, ["frame.protocols"])), "no AH in this file any more"
    result = compare_file(path, fields=(*NAMES, "frame.protocols", "udp.srcport", "udp.length",
                                        "icmpv6.type", "icmpv6.checksum.status"))
    result.diffs = [d for d in result.diffs if not _allowed(d)]
    assert result.compared > 0
    assert not result.diffs, result.report()


# --- packets built here ----------------------------------------------------------------

SRC6 = ipaddress.IPv6Address("2001:db8::1").packed
DST6 = ipaddress.IPv6Address("2001:db8::2").packed
FIN6 = ipaddress.IPv6Address("2001:db8::99").packed
MID6 = ipaddress.IPv6Address("2001:db8::50").packed
SRC4, DST4 = bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2))


def _csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _udp(src: bytes, dst: bytes, payload: bytes = b"hello") -> bytes:
    length = 8 + len(payload)
    head = struct.pack("!HHHH", 1000, 2000, length, 0) + payload
    if len(src) == 16:
        ph = src + dst + struct.pack("!I", length) + b"\0\0\0\x11"
    else:
        ph = src + dst + struct.pack("!BBH", 0, 17, length)
    return head[:6] + struct.pack("!H", _csum(ph + head) or 0xFFFF) + head[8:]


def _icmp6_echo(src: bytes, dst: bytes) -> bytes:
    body = struct.pack("!BBHHH", 128, 0, 0, 7, 1) + b"ping"
    ph = src + dst + struct.pack("!I", len(body)) + b"\0\0\0\x3a"
    return body[:2] + struct.pack("!H", _csum(ph + body)) + body[4:]


def _ip6(nxt: int, payload: bytes) -> bytes:
    ip = struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + SRC6 + DST6 + payload
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x86\xdd" + ip


def _ip4(proto: int, payload: bytes) -> bytes:
    h = struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0) + SRC4 + DST4
    h = h[:10] + struct.pack("!H", _csum(h)) + h[12:]
    return b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\x08\x00" + h + payload


def _ah(nxt: int, length: int, icv: bytes = b"", spi: int = 0x1234, seq: int = 7, reserved: int = 0) -> bytes:
    return struct.pack("!BBHII", nxt, length, reserved, spi, seq) + icv


def _write_pcap(path: Path, frames: list[bytes]) -> Path:
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame)
    return path


AH_FRAMES = [
    _ip6(51, _ah(17, 1) + _udp(SRC6, DST6)),                                   # ICV of 0 bytes
    _ip4(51, _ah(17, 4, b"\xaa" * 12) + _udp(SRC4, DST4)),                     # IPv4, UDP
    _ip4(51, _ah(1, 4, b"\xaa" * 12) + bytes.fromhex("0800f7fd00010001")),     # IPv4, ICMP echo
    _ip6(51, _ah(60, 4, b"\xbb" * 12) + bytes((17, 0, 1, 4, 0, 0, 0, 0)) + _udp(SRC6, DST6)),  # then dstopts
    _ip6(51, _ah(17, 9, b"\xbb" * 12) + _udp(SRC6, DST6)),                     # length past the packet
    _ip6(51, _ah(17, 4, b"\xbb" * 12)[:10]),                                   # packet ends in the SPI
    _ip6(51, _ah(59, 4, b"\xbb" * 12)),                                        # no next header
    _ip4(51, _ah(99, 4, b"\xaa" * 12) + b"xyz"),                               # unknown protocol
    _ip6(51, _ah(17, 4, b"\xcc" * 12, 0xDEADBEEF, 0xFFFFFFFF, 0x1234) + _udp(SRC6, DST6)),  # reserved set
    _ip6(44, bytes((51, 0, 0, 0, 0, 0, 0, 9)) + _ah(58, 4, b"\xdd" * 12) + _icmp6_echo(SRC6, DST6)),  # atomic frag
    _ip6(51, _ah(41, 4, b"\xee" * 12) + _ip6(17, _udp(SRC6, DST6))[14:]),     # tunnel mode
]
# tcpdump 4.99 does not go on into an IPv6 extension header after AH (" ip-proto-60 21")
SUMMARY_DIFFERS = {4}


@requires_tshark
@pytest.mark.tshark
def test_built_ah_packets_match_tshark(tmp_path: Path) -> None:
    path = _write_pcap(tmp_path / "ah.pcap", AH_FRAMES)
    result = compare_file(path, fields=(*NAMES, "frame.protocols", "udp.srcport", "udp.checksum.status",
                                        "icmp.type", "icmpv6.checksum.status", "ipv6.dstopts.nxt"))
    result.diffs = [d for d in result.diffs if not _allowed(d)]
    assert result.compared > 60
    assert not result.diffs, result.report()
    packets = list(dissect_file(path))
    kinds = [[f.kind for f in p.findings] for p in packets]
    assert kinds[4] == [FindingKind.MALFORMED] and kinds[5] == [FindingKind.MALFORMED]
    assert not any(kinds[i] for i in (0, 1, 2, 3, 6, 7, 8, 9, 10))


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    built = _write_pcap(tmp_path / "ah.pcap", AH_FRAMES)
    compared = 0
    for path in [*AH_FILES, built]:
        if not path.exists():
            continue
        lines = subprocess.run(["tcpdump", "-n", "-tt", "-r", str(path)], capture_output=True, text=True,
                               check=False).stdout.splitlines()
        packets = list(dissect_file(path))
        assert len(lines) == len(packets)
        for number, (line, packet) in enumerate(zip(lines, packets, strict=True), 1):
            if packet.layer("ah") is None or (path == built and number in SUMMARY_DIFFERS):
                continue
            assert summary_line(packet.frame, packet) == line, f"{corpus_id(path)} frame {number}"
            compared += 1
    assert compared >= 12


# --- the routing header's final destination in the pseudo-header (ipv6.py) ---------------

def _routing(rtype: int, segleft: int) -> bytes:
    """A routing header naming FIN6 as the final destination (17 = UDP follows)."""
    if rtype == 0:  # two addresses, the last is the final destination
        return bytes((17, 4, 0, segleft, 0, 0, 0, 0)) + MID6 + FIN6
    if rtype == 2:  # home address
        return bytes((17, 2, 2, segleft, 0, 0, 0, 0)) + FIN6
    if rtype == 4:  # SRH: segment list[0] is the final segment
        return bytes((17, 4, 4, segleft, 1, 0, 0, 0)) + FIN6 + MID6
    # type 3 (RPL): CmprI 8, CmprE 4, two addresses (8 + 12 bytes) and 4 bytes of padding;
    # the final destination is DST6's first 4 bytes + the last address's 12
    return bytes((17, 3, 3, segleft, 0x84, 0x40, 0, 0)) + MID6[8:] + FIN6[4:] + b"\0" * 4


def _final(rtype: int) -> bytes:
    return DST6[:4] + FIN6[4:] if rtype == 3 else FIN6


ROUTED = [(rtype, segleft, to_final) for rtype in (0, 2, 3, 4) for segleft in (0, 1)
          for to_final in (True, False)]


@requires_tshark
@pytest.mark.tshark
def test_routing_final_destination_checksums_match_tshark(tmp_path: Path) -> None:
    frames = []
    for rtype, segleft, to_final in ROUTED:
        dst = _final(rtype) if to_final else DST6
        frames.append(_ip6(43, _routing(rtype, segleft) + _udp(SRC6, dst)))
        rh = bytearray(_routing(rtype, segleft))
        rh[0] = 58
        frames.append(_ip6(43, bytes(rh) + _icmp6_echo(SRC6, dst)))
    path = _write_pcap(tmp_path / "routing.pcap", frames)
    names = ["udp.checksum.status", "icmpv6.checksum.status", "ipv6.routing.type", "ipv6.routing.segleft"]
    theirs = tshark_fields(path, names, options=("udp.check_checksum:TRUE",))
    packets = list(dissect_file(path, DissectSession(check_checksums=True)))
    assert len(theirs) == len(packets) == 2 * len(ROUTED)
    good = 0
    for number, (packet, row) in enumerate(zip(packets, theirs, strict=True), 1):
        fields = packet.fields()
        for name in names:
            ours = fields.get(name)
            assert (None if ours is None else str(ours)) == row.get(name), (number, name, ours, row)
        good += row.get("udp.checksum.status", row.get("icmpv6.checksum.status")) == "1"
    assert good == len(ROUTED)  # half of them: the other half checksummed with the wrong address


@requires_tshark
@pytest.mark.tshark
def test_option_past_the_packet_ends_it_as_in_tshark(tmp_path: Path) -> None:
    """An option running past its header but not past the packet: tshark goes on to the next
    header; past the packet: its exception ends the dissection (ipv6.py does the same)."""
    frames = [
        _ip6(60, bytes((17, 0, 1, 10)) + b"\0" * 4 + _udp(SRC6, DST6)),     # PadN past the header
        _ip6(60, bytes((17, 0, 1, 100)) + b"\0" * 4 + _udp(SRC6, DST6)),    # ... and past the packet
        _ip6(0, bytes((17, 0, 0x1E, 10)) + b"\0" * 4 + _udp(SRC6, DST6)),   # unknown option, hop-by-hop
        _ip6(0, bytes((17, 0, 0x1E, 90)) + b"\0" * 4 + _udp(SRC6, DST6)),
    ]
    path = _write_pcap(tmp_path / "options.pcap", frames)
    result = compare_file(path, prefixes=("ipv6.", "udp.", "frame.protocols"))
    assert result.compared > 50
    assert not result.diffs, result.report()
    assert [p.protocols.endswith(":udp:data") for p in dissect_file(path)] == [True, False, True, False]


# --- never raise -------------------------------------------------------------------------

@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 64), st.sampled_from([4, 6]))
def test_random_bytes_never_raise(data: bytes, extra: int, version: int) -> None:
    start = time.perf_counter()
    layer, nxt = dissect_ah(data, 0, len(data), Context(reported_end=len(data) + extra,
                                                        extra={"ip.version": version}))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    if len(data) < 12:
        assert layer.findings and nxt is None
    if nxt is not None:
        assert nxt.offset == layer.length <= len(data) and not layer.findings
    for name in layer.fields:
        assert name in NAMES


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(54, 111), st.integers(0, 255)), max_size=6), st.integers(54, 112))
def test_mutated_frames_never_raise(flips: list[tuple[int, int]], cut: int) -> None:
    """The transport-mode frame with bytes of its AH/UDP part changed and cut short, through the
    whole chain: findings at worst, never an exception, and a summary line."""
    data = bytearray(TRANSPORT_MODE)
    for at, value in flips:
        data[at] = value
    frame = Frame(number=1, ts_ns=0, caplen=cut, wirelen=112, linktype=1, interface_id=0, data=bytes(data[:cut]))
    packet = dissect(frame, DissectSession(check_checksums=True))
    assert "ah" in packet.protocols.split(":")
    assert summary_line(frame, packet).startswith("0.000000 IP6 2001:db8::1 > 2001:db8::2: AH")
