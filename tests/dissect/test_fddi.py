"""FDDI (LINKTYPE_FDDI 10, bit-swapped addresses): tshark on the corpus file and on every
frame-control value, tcpdump -e for the summaries, a hex vector under its tcpdump line."""

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

FILES = corpus_of_linktype(10)
PREFIXES = ("fddi.", "llc.", "ip.")

# tcp/single_byte_rexmit.dmp.gz frame 1 (first 21 bytes), tcpdump -n -e:
#   async0 00:e0:34:15:60:60 > 00:00:0c:7e:59:a0, length 65: LLC, dsap SNAP (0xaa) Individual, ...
VECTOR = "5000000c7e59a000e034156060aaaa030000000800"
_ADDRS = bytes.fromhex("00000c7e59a000e034156060")
_IP = bytes.fromhex("45000028000100004006 66cd0a0000010a00000204d20050000000010000000050022000 00000000"
                    .replace(" ", ""))


def built_frames() -> list[bytes | tuple[bytes, int]]:
    """Every frame-control value with LLC/SNAP + IPv4 + TCP behind it, then short headers."""
    frames: list[bytes | tuple[bytes, int]] = [bytes([fc]) + _ADDRS + bytes.fromhex("aaaa030000000800") + _IP
                                               for fc in range(256)]
    frames += [b"\x50", b"\x50" + _ADDRS[:3], b"\x50" + _ADDRS[:6], b"\x50" + _ADDRS[:9], (b"\x50" + _ADDRS[:6], 60)]
    return frames


def test_hex_vector() -> None:
    p = packet(VECTOR, 10, wirelen=65)
    f = p.fields()
    assert f["fddi.fc"] == 0x50 and f["fddi.fc.clf"] == 5 and f["fddi.fc.prio"] == 0
    # the wire's 00:00:0c:7e:59:a0 with each byte's bits reversed, shown and hidden copy
    assert f["fddi.dst"] == ["00:00:30:7e:9a:05", "00:00:30:7e:9a:05"]
    assert f["fddi.addr"] == ["00:00:30:7e:9a:05"] * 2 + ["00:07:2c:a8:06:06"] * 2
    assert f["llc.type"] == 0x0800
    assert p.layer("fddi").summary == "async0 00:e0:34:15:60:60 > 00:00:0c:7e:59:a0"


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) > 0


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "fddi.pcap", 10, built_frames())
    assert_fields_match(path, PREFIXES)
    assert assert_protocols_prefix(path) == len(built_frames())


def _summary(p: Any) -> list[str]:
    text = layer_of(p, "fddi").summary
    return [f"{text}, length {p.frame.wirelen}: ", f"{text}$"]


@requires_tcpdump
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    frames = [f for f in built_frames() if not isinstance(f, tuple)]
    path = write_pcap(tmp_path / "fddi.pcap", 10, frames)
    assert check_summaries(path, tmp_path, _summary) == len(frames)


@requires_tcpdump
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_summaries_match_tcpdump(path: Path, tmp_path: Path) -> None:
    assert check_summaries(path, tmp_path, _summary) > 0
