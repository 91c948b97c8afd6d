"""Juniper Ethernet (LINKTYPE_JUNIPER_ETHER 178): tshark on the corpus file and on built
headers (extensions, no layer 2, no magic), tcpdump -e for the summaries."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import requires_tshark
from linkcheck import (
    assert_fields_match,
    assert_protocols_prefix,
    check_summaries,
    corpus_of_linktype,
    layer_of,
    requires_tcpdump,
    write_pcap,
)
from vectors import packet

FILES = corpus_of_linktype(178)
PREFIXES = ("juniper.", "eth.", "ip.", "ipv6.", "mpls.", "ppp.", "chdlc.", "llc.")

# bgp/bgp-aigp.pcap frame 1 (first 36 bytes), tcpdump -n -e:
#   Out hlen 22, proto 0x0000, 00:50:56:8b:6d:de > 00:50:56:8b:5e:9f, ethertype IPv4 (0x0800), length 196:
#   172.16.20.5.59631 > 172.16.20.3.179: Flags [P.], ...
VECTOR = ("4d474380001003010106010e01028c0004044c0100000050568b5e9f0050568b6dde0800"
          "45c000b688f7000040067062ac101405ac101403")
_IP = bytes.fromhex("45000028000100004006 66cd0a0000010a00000204d20050000000010000000050022000 00000000"
                    .replace(" ", ""))
_IP6 = bytes.fromhex("60000000001406402001 0db8000000000000000000000001 20010db8000000000000000000000002"
                     .replace(" ", "")) + _IP[20:]
_ETH = bytes.fromhex("0050568b5e9f0050568b6dde0800") + _IP
_EXT = bytes.fromhex("030101 06010e 01028c00 04044c010000".replace(" ", ""))


def _no_l2(proto: int, payload: bytes) -> bytes:
    return b"MGC\x02" + struct.pack("<I", proto) + payload


def built_frames() -> list[bytes | tuple[bytes, int]]:
    return [
        b"MGC\x80" + struct.pack("!H", len(_EXT)) + _EXT + _ETH, b"MGC\x00" + _ETH, b"MGC\x01" + _ETH,
        b"MGC\x81" + struct.pack("!H", len(_EXT)) + _EXT + _ETH, b"XYZ\x00" + _ETH,
        b"MGC\x80" + struct.pack("!H", 9) + bytes.fromhex("050501020304050000") + _ETH,
        b"MGC\x80" + struct.pack("!H", 6) + bytes.fromhex("010401020304") + _ETH,
        b"MGC\x80" + struct.pack("!H", 7) + bytes.fromhex("81021234850312345 6".replace(" ", "")) + _ETH,
        _no_l2(2, _IP), _no_l2(6, _IP6), _no_l2(5, bytes.fromhex("00001140") + _IP), _no_l2(204, _ETH),
        _no_l2(208, bytes.fromhex("0f000800") + _IP), _no_l2(202, bytes.fromhex("aaaa030000000800") + _IP),
        _no_l2(99, _IP), _no_l2(0xFFFF0002, _IP),
        b"MGC\x82" + struct.pack("!H", len(_EXT)) + _EXT + struct.pack("<I", 2) + _IP,
        b"MGC", b"MGC\x80\x00", b"MGC\x80\x00\x10" + _EXT[:5], b"MGC\x00" + _ETH[:10],
        b"MGC\x80" + struct.pack("!H", 2) + bytes.fromhex("0301") + _ETH,
    ]


def test_hex_vector() -> None:
    p = packet(VECTOR, 178, wirelen=218)
    f = p.fields()
    assert f["juniper.magic-number"] == 0x4D4743 and f["juniper.direction"] == 0 and f["juniper.l2hdr"] == 0
    assert f["juniper.ext_total_len"] == 16
    # TLVs below type 128 are little-endian: 8c 00 is 140, 4c 01 00 00 is 332
    assert (f["juniper.ext.ifmt"], f["juniper.ext.ifle"], f["juniper.ext.ifd"], f["juniper.ext.ifl"]) == (1, 14, 140, 332)
    assert f["juniper.payload_type"] == 204 and f["eth.type"] == 0x0800 and f["ip.src"] == "172.16.20.5"
    assert p.protocols.startswith("juniper:eth:ethertype:ip")
    assert p.layer("juniper").summary == "Out hlen 22, proto 0x0000"


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) > 0


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "juniper.pcap", 178, built_frames())
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) == len(built_frames())


def _summary(p: Any) -> list[str]:
    juniper = layer_of(p, "juniper")
    eth = p.layer("eth")
    if juniper.summary.endswith("proto 0x0000") and eth is not None:
        return [f"{juniper.summary}, {eth.summary}"]
    return [juniper.summary, f"{juniper.summary}$"]


@requires_tcpdump
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    # tcpdump checks the TLV lengths otherwise ("[extension_length 3 < 5] (invalid)"):
    # frames with odd TLVs are compared with tshark only
    frames = [f for i, f in enumerate(built_frames()) if i not in (5, 7, 21) and not isinstance(f, tuple)]
    path = write_pcap(tmp_path / "juniper.pcap", 178, frames)
    assert check_summaries(path, tmp_path, _summary) == len(frames)


@requires_tcpdump
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_summaries_match_tcpdump(path: Path, tmp_path: Path) -> None:
    assert check_summaries(path, tmp_path, _summary) > 0
