"""IP over InfiniBand (LINKTYPE_IPOIB 242): tshark on the corpus file and on built frames
(unicast and global-route pseudo headers), tcpdump -e for the summaries."""

from __future__ import annotations

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

FILES = corpus_of_linktype(242)
PREFIXES = ("ipoib.", "ip.", "ipv6.", "arp.")

# formats/ipoib.pcap frame 1 (first 48 bytes), tcpdump -n -e:
#   IPOIB, ethertype IPv4 (0x0800), length 128: 192.168.56.10 > 192.168.56.24: ICMP echo request, ...
VECTOR = ("00000000000000000000000000000000 2fa3000a80000550 fe800000000000000010e000664ab451 08000000 45000054"
          .replace(" ", ""))
_DGID = bytes.fromhex("fe800000000000000010e000664ab451")
_UNICAST = bytes(20) + bytes.fromhex("80000550") + _DGID
_GRH = bytes.fromhex("6a5b1234 00abcdef".replace(" ", "")) + bytes(range(16)) + _DGID
# an ARP request over InfiniBand (hardware type 32, 20-byte addresses)
_ARP = bytes.fromhex("0020080014040001") + bytes(range(20)) + bytes.fromhex("c0a8380a") + bytes(20) + bytes.fromhex("c0a83818")
_IP = bytes.fromhex("45000028000100004006 66cd0a0000010a00000204d20050000000010000000050022000 00000000"
                    .replace(" ", ""))


def built_frames() -> list[bytes | tuple[bytes, int]]:
    return [_UNICAST + bytes.fromhex("08000000") + _IP, _GRH + bytes.fromhex("08000000") + _IP,
            bytes.fromhex("0001") + _UNICAST[2:] + bytes.fromhex("08000000") + _IP,
            _UNICAST + bytes.fromhex("08060000") + _ARP, _UNICAST + bytes.fromhex("80350000") + _ARP,
            _UNICAST + bytes.fromhex("12340000") + bytes(28), _UNICAST + bytes.fromhex("08001234") + _IP,
            _UNICAST + bytes.fromhex("0800"), _UNICAST + bytes.fromhex("080000"), _UNICAST[:30], _GRH[:3],
            (_UNICAST + bytes.fromhex("08"), 100)]


def test_hex_vector() -> None:
    p = packet(VECTOR, 242, wirelen=128)
    f = p.fields()
    assert f["ipoib.daddr.qpn"] == 0x550 and f["ipoib.dgid"] == "fe80::10:e000:664a:b451"
    assert f["ipoib.type"] == 0x0800 and f["ipoib.reserved"] == 0
    assert p.protocols.startswith("ipoib:ip")  # no "ethertype" in between, as tshark
    assert p.layer("ipoib").summary == "IPOIB, ethertype IPv4 (0x0800)"


def test_other_types_end_the_frame() -> None:
    """tshark hands only IPv4, IPv6, ARP and RARP on; nothing, not even "data", else."""
    assert packet((_UNICAST + bytes.fromhex("12340000") + bytes(28)).hex(), 242).protocols == "ipoib"


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) > 0


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "ipoib.pcap", 242, built_frames())
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) == len(built_frames())


def _summary(p: Any) -> list[str]:
    text = layer_of(p, "ipoib").summary
    return [f"{text}, length {p.frame.wirelen}: ", f"{text}$"]


@requires_tcpdump
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    frames = [f for f in built_frames() if not isinstance(f, tuple)]
    path = write_pcap(tmp_path / "ipoib.pcap", 242, frames)
    assert check_summaries(path, tmp_path, _summary) == len(frames)


@requires_tcpdump
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_summaries_match_tcpdump(path: Path, tmp_path: Path) -> None:
    assert check_summaries(path, tmp_path, _summary) > 0
