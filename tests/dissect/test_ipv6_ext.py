"""The IP protocols 135 (mobility header), 139 (HIP) and 140 (Shim6), which the TCP
extractor skipped as IPv6 extension headers: tshark 4.0 follows only Shim6 to the next
header. Built frames compared with tshark (fields, protocols, TCP frames) and tcpdump."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import requires_tshark
from fieldcompare import dissect_all
from linkcheck import (
    assert_fields_match,
    assert_protocols_prefix,
    assert_tcp_frames_match,
    requires_tcpdump,
    tcpdump_lines,
    write_pcap,
)
from vectors import packet

PREFIXES = ("mip6.", "hip.", "shim6.", "ipv6.", "ip.")
_ETH6 = bytes.fromhex("00112233445566778899aabb86dd")
_ETH4 = bytes.fromhex("00112233445566778899aabb0800")
_TCP = bytes.fromhex("04d20050000000010000000050022000 00000000".replace(" ", ""))
_SRC6 = bytes.fromhex("20010db8000000000000000000000001")
_DST6 = bytes.fromhex("20010db8000000000000000000000002")


def ipv6(nxt: int, payload: bytes) -> bytes:
    return _ETH6 + struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + _SRC6 + _DST6 + payload


def ipv4(proto: int, payload: bytes) -> bytes:
    return _ETH4 + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                               bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload


def mobility(mhtype: int, hlen: int, body: bytes, proto: int = 59) -> bytes:
    header = bytes([proto, hlen, mhtype, 0, 0, 0]) + body
    return header + bytes(max((hlen + 1) * 8 - len(header), 0))


def built_frames() -> list[bytes | tuple[bytes, int]]:
    return [
        ipv6(135, mobility(5, 1, bytes(10), proto=6) + _TCP),  # payload protocol TCP: tshark stops anyway
        ipv6(135, mobility(0, 1, bytes(2))), ipv6(135, mobility(1, 1, bytes(2) + bytes(range(8)))),
        ipv6(135, mobility(3, 2, bytes.fromhex("abcd") + bytes(16))),
        ipv6(135, mobility(5, 1, bytes.fromhex("1234d0000010"))), ipv6(135, mobility(6, 1, bytes.fromhex("03800007 0020"))),
        ipv6(135, mobility(7, 2, bytes([1, 0]) + _DST6)), ipv6(135, mobility(9, 0, b"")),
        ipv6(135, mobility(5, 0, bytes(2))), ipv6(135, bytes([59, 1, 5])), ipv6(135, bytes([59])),
        ipv6(139, bytes([6, 4, 0x81, 0x21, 0x12, 0x34, 0x00, 0x01]) + bytes(range(32)) + _TCP),
        ipv6(139, bytes([6, 4, 1])),
        ipv6(140, bytes([6, 0, 0x80, 0, 0, 0, 0, 0]) + _TCP), ipv6(140, bytes([6, 1, 0x01, 0x12, 0x34]) + bytes(11) + _TCP),
        ipv6(140, bytes([17, 0, 0x80])), ipv6(140, bytes([6, 1, 0x01, 0x12])),
        ipv6(140, bytes([0, 0, 0x80, 0, 0, 0, 0, 0]) + bytes([6, 0, 1, 4, 0, 0, 0, 0]) + _TCP),
        ipv4(135, mobility(5, 1, bytes.fromhex("12341000 0010"))), ipv4(140, bytes([6, 0, 0x80, 0, 0, 0, 0, 0]) + _TCP),
    ]


def test_mobility_header_ends_the_walk() -> None:
    p = packet(built_frames()[0].hex())
    f = p.fields()
    assert (f["mip6.proto"], f["mip6.hlen"], f["mip6.mhtype"]) == (6, 1, 5)
    assert p.protocols == "eth:ethertype:ipv6:mipv6" and p.layer("tcp") is None
    assert p.layer("mipv6").summary == "mobility: BU seq#=0 lifetime=0"


def test_shim6_goes_on_to_tcp() -> None:
    p = packet(built_frames()[13].hex())
    assert p.fields()["shim6.nxt"] == 6 and p.fields()["shim6.p"] is True
    assert p.protocols.startswith("eth:ethertype:ipv6:shim6:tcp") and p.fields()["tcp.dstport"] == 80


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "ext.pcap", 1, built_frames())
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) == len(built_frames())
    assert assert_tcp_frames_match(path) == 4  # behind Shim6 only


def _line_end(p: Any) -> list[str]:
    layer = next((p.layer(name) for name in ("mipv6", "hip", "shim6") if p.layer(name) is not None), None)
    assert layer is not None
    return [layer.summary]


@requires_tcpdump
def test_mobility_summaries_match_tcpdump(tmp_path: Path) -> None:
    """tcpdump -n decodes the mobility header (the rest of its line is pcapkit's summary)
    and prints "ip-proto-N len" for HIP and Shim6."""
    path = write_pcap(tmp_path / "ext.pcap", 1, built_frames())
    lines = tcpdump_lines(path, tmp_path)
    compared = 0
    for line, p in zip(lines, dissect_all(path), strict=True):
        text = _line_end(p)[0]
        # tcpdump ends the line with the header's text (and "(pad1)..." options with -v only)
        assert line.endswith(f": {text}") or line.endswith(f":  {text}"), f"{line!r} vs {text!r}"
        compared += 1
    assert compared == len(built_frames())
