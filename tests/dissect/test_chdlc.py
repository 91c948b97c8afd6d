"""Cisco HDLC (LINKTYPE_C_HDLC 104) and SLARP: tshark on the corpus file and built frames,
tcpdump -e for the summaries, a hex vector under its tcpdump line."""

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

from pcapkit.dissect.base import FindingKind

FILES = corpus_of_linktype(104)
PREFIXES = ("chdlc.", "slarp.", "ip.", "ipv6.", "mpls.", "eth.")

# bgp/BGP_redist.pcap frame 1 (first 16 bytes), tcpdump -n -e:
#   unicast, ethertype MPLS unicast (0x8847), length 163: MPLS (label 18, tc 6, [S], ttl 254) 2.2.2.2.179 > ...
VECTOR = "0f00884700012dfe45c0009b93cc4000"

_IP = bytes.fromhex("450000280001000040066 6cd0a0000010a00000204d20050000000010000000050022000 00000000"
                    .replace(" ", ""))
_IP6 = bytes.fromhex("60000000001406402001 0db8000000000000000000000001 20010db8000000000000000000000002"
                     .replace(" ", "")) + _IP[20:]


def built_frames() -> list[bytes | tuple[bytes, int]]:
    slarp = [bytes.fromhex(h.replace(" ", "")) for h in (
        "8f008035 00000000 0a000001 ffffff00 0000", "0f008035 00000001 0a000001 ffffff00 0000",
        "8f008035 00000002 00000010 0000000f ffff 00010203", "8f008035 00000002 00000010 0000000f 1234 0001",
        "8f008035 00000007 00000010", "8f008035 00000002 0000", "8f008035 00000002 00000010 00000001",
        "8f008035 00000002 00000010 00000001 ff", "8f008035 00000001 0a000001", "8f008035 00000001 0a000001 ff")]
    frames: list[bytes | tuple[bytes, int]] = [
        b"\x0f\x00\x08\x00" + _IP, b"\x0f\x00\x86\xdd" + _IP6, b"\x0f\x00\x88\x47\x00\x00\x11\x40" + _IP,
        b"\x8f\x00\x88\x48\x00\x00\x11\x40" + _IP, b"\x0f\x00\x65\x58" + bytes.fromhex("00112233445566778899aabb0800") + _IP,
        b"\x0f\x00\x12\x34" + bytes(20), b"\x0f\x00\x08\x06" + bytes(28), b"\x0f\x00\xfe\xfe\x81" + bytes(10),
        b"\x0f\x00\xfe\xfe\x00" + bytes(10), b"\x0f\x05\x08\x00" + _IP, b"\xff\x00\x08\x00" + _IP,
        b"\x0f\x00\x08\x00", b"\x0f\x00\x08", (b"\x0f\x00", 60), (b"\x0f\x00\x08\x00", 44), *slarp,
    ]
    return frames


def test_hex_vector() -> None:
    p = packet(VECTOR, 104, wirelen=163)
    f = p.fields()
    assert (f["chdlc.address"], f["chdlc.control"], f["chdlc.protocol"]) == (0x0F, 0, 0x8847)
    assert f["mpls.label"] == 18 and f["mpls.exp"] == 6 and f["mpls.ttl"] == 254
    assert p.protocols.startswith("chdlc:mpls:ip")
    assert p.layer("chdlc").summary == "unicast, ethertype MPLS unicast (0x8847)"


def test_slarp_keepalive() -> None:
    # tcpdump -e: bcast, ethertype Reverse ARP (0x8035), length 22: SLARP (length: 18), keepalive:
    #   mineseen=0x00000010, yourseen=0x0000000f, reliability=0xffff, link uptime=0d0h0m0s
    p = packet("8f008035 00000002 00000010 0000000f ffff 00010203", 104)
    f = p.fields()
    assert (f["slarp.ptype"], f["slarp.mysequence"], f["slarp.yoursequence"], f["slarp.reliability"]) == (2, 16, 15, 0xFFFF)
    assert p.protocols == "chdlc:slarp" and not p.findings
    assert p.layer("slarp").summary == ("SLARP (length: 18), keepalive: mineseen=0x00000010, "
                                        "yourseen=0x0000000f, reliability=0xffff, link uptime=0d0h1m6s")


def test_slarp_bad_reliability_is_malformed() -> None:
    p = packet("8f008035 00000002 00000010 0000000f 1234", 104)
    assert [f.kind for f in p.findings] == [FindingKind.MALFORMED]


def test_corpus_has_the_chdlc_file() -> None:
    if not FILES:
        pytest.skip("no corpus")
    assert len(FILES) >= 1


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) > 0


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "chdlc.pcap", 104, built_frames())
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) > 20


def _summary(p: Any) -> list[str]:
    chdlc = layer_of(p, "chdlc")
    slarp = p.layer("slarp")
    text = f"{chdlc.summary}, length {p.frame.wirelen}: "
    return [text + slarp.summary if slarp is not None else text, f"{chdlc.summary}$"]


@requires_tcpdump
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    frames = [f for f in built_frames() if not isinstance(f, tuple)]
    path = write_pcap(tmp_path / "chdlc.pcap", 104, frames)
    assert check_summaries(path, tmp_path, _summary) == len(frames)


@requires_tcpdump
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_summaries_match_tcpdump(path: Path, tmp_path: Path) -> None:
    assert check_summaries(path, tmp_path, _summary) > 0
