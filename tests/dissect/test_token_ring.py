"""Token Ring (LINKTYPE_IEEE802_5 6): tshark on the corpus file and on built source-routed
frames, tcpdump -e for the summaries, a hex vector under its tcpdump line."""

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

FILES = corpus_of_linktype(6)
PREFIXES = ("tr.", "llc.", "ip.")

# broken/tcp.pcap frame 2 (first 22 bytes), tcpdump -n -e:
#   10 40 00:01:fa:68:c4:67 > 68:00:19:69:95:8b, length 72: LLC, dsap SNAP (0xaa) Individual, ...
VECTOR = "104068001969958b0001fa68c467aaaa0300000008 00".replace(" ", "")
_DST, _SRC, _SRC_ROUTED = (bytes.fromhex(h) for h in ("68001969958b", "0001fa68c467", "8001fa68c467"))
_SNAP_IP = bytes.fromhex("aaaa030000000800 45000028000100004006 66cd0a0000010a00000204d200500000000100000000"
                         "5002200000000000".replace(" ", ""))


def built_frames() -> list[bytes | tuple[bytes, int]]:
    """Plain, source-routed with routing fields of 0-31 bytes, MAC and reserved frames, short."""
    frames: list[bytes | tuple[bytes, int]] = [b"\x10\x40" + _DST + _SRC + _SNAP_IP]
    for rif in (2, 3, 4, 5, 6, 8, 18, 30, 31):
        control = bytes([0xC0 | rif, 0xB0])
        frames.append(b"\x10\x40" + _DST + _SRC_ROUTED + control + bytes(range(1, rif - 1)) + _SNAP_IP)
    frames += [b"\x10\x00" + _DST + _SRC + bytes(20), b"\x10\x80" + _DST + _SRC + bytes(20),
               b"\xff\x5f" + _DST + _SRC + _SNAP_IP, b"\x10\x40" + _DST + _SRC + b"\xaa\xaa\x03",
               b"\x10\x40" + _DST + _SRC, b"\x10\x40" + _DST + _SRC_ROUTED + b"\x06",
               b"\x10\x40" + _DST + _SRC_ROUTED + b"\x06\xb0\x00", (b"\x10\x40" + _DST + _SRC_ROUTED + b"\x08\xb0", 80)]
    return frames


def test_hex_vector() -> None:
    p = packet(VECTOR, 6, wirelen=72)
    f = p.fields()
    assert f["tr.ac"] == 0x10 and f["tr.frame"] is True and f["tr.fc"] == 0x40 and f["tr.frame_type"] == 1
    assert f["tr.dst"] == "68:00:19:69:95:8b" and f["tr.src"] == ["00:01:fa:68:c4:67"] * 2
    assert f["tr.sr"] is False and f["llc.type"] == 0x0800
    assert p.layer("tr").summary == "10 40 00:01:fa:68:c4:67 > 68:00:19:69:95:8b"


def test_routing_information() -> None:
    frame = b"\x10\x40" + _DST + _SRC_ROUTED + bytes.fromhex("0890 0011 0022 0030") + _SNAP_IP
    f = packet(frame.hex(), 6).fields()
    assert f["tr.src"] == ["80:01:fa:68:c4:67", "00:01:fa:68:c4:67"]  # as sent, without the routing bit
    assert (f["tr.rif_bytes"], f["tr.max_frame_size"], f["tr.direction"]) == (8, 16, 128)
    assert f["tr.rif"] == "001-1-002-2-003" and f["tr.rif.ring"] == [1, 2, 3] and f["tr.rif.bridge"] == [1, 2]


def test_fourteen_bytes_show_nothing() -> None:
    """tshark reads byte 14 (the routing length) before it adds a field."""
    p = packet((b"\x10\x40" + _DST + _SRC).hex(), 6)
    assert p.layer("tr").fields == {} and p.findings[0].kind == FindingKind.MALFORMED


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) > 0


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "tr.pcap", 6, built_frames())
    # dissect_llc (ethernet.py) shows no field of an LLC header shorter than 3 bytes, tshark
    # shows the DSAP/SSAP it has: frame 14's LLC is compared on the corpus instead
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) == len(built_frames())


def _summary(p: Any) -> list[str]:
    text = layer_of(p, "tr").summary
    head = " ".join(text.split(" ")[:5])  # "10 40 src > dst", then the route tcpdump prints after the length
    return [f"{head}, length {p.frame.wirelen}:{text[len(head):]}", f"{text}$"]


@requires_tcpdump
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    frames = [f for f in built_frames() if not isinstance(f, tuple)]
    path = write_pcap(tmp_path / "tr.pcap", 6, frames)
    assert check_summaries(path, tmp_path, _summary) == len(frames)


@requires_tcpdump
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_summaries_match_tcpdump(path: Path, tmp_path: Path) -> None:
    assert check_summaries(path, tmp_path, _summary) > 0
