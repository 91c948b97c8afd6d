"""Shared checks for the link-layer dissectors added for issue 10 (PPP, Cisco HDLC, FDDI,
Token Ring, IPoIB, Juniper, radiotap/802.11, the IPv6 mobility/HIP/Shim6 headers).

Each check runs an oracle on a file and compares it with pcapkit: ``tshark -T fields``
for the fields (through fieldcompare), ``frame.protocols`` as a prefix, ``tcpdump -e`` for
the link-layer summaries, ``tshark -Y tcp`` for the TCP frames. Built frames are written
to a pcap with :func:`write_pcap` so that the same oracles judge them.
"""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS
from fieldcompare import assert_matches_tshark, dissect_all
from oracle import tshark_fields

requires_tcpdump = pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")


def corpus_of_linktype(linktype: int) -> list[Path]:
    """Corpus files whose INDEX.tsv link-type column is ``linktype`` (and only it)."""
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        return []
    out = []
    for line in index.read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) > 2 and cols[2].split(" ")[0] == str(linktype) and "," not in cols[2]:
            out.append(CORPUS / cols[0])
    return out


def write_pcap(path: Path, linktype: int, frames: Iterable[bytes | tuple[bytes, int]]) -> Path:
    """A little-endian microsecond pcap; a frame given as (bytes, wirelen) was snapped."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for number, item in enumerate(frames):
            data, wirelen = item if isinstance(item, tuple) else (item, len(item))
            f.write(struct.pack("<IIII", 1_600_000_000 + number, 0, len(data), wirelen))
            f.write(data)
    return path


def assert_protocols_prefix(path: Path, skip: Callable[[int], bool] = lambda n: False) -> int:
    """pcapkit's frame.protocols (without a final ":data") is tshark's or a prefix of it at a
    ':' boundary, frame by frame; returns the number of frames compared."""
    ours = [p.protocols for p in dissect_all(path)]
    theirs = [r.get("frame.protocols", "") for r in tshark_fields(path, ["frame.protocols"])]
    assert len(ours) == len(theirs)
    compared = 0
    for number, (mine, tshark) in enumerate(zip(ours, theirs, strict=True), 1):
        if skip(number):
            continue
        known = mine[:-len(":data")] if mine.endswith(":data") else mine
        assert known and (tshark == known or tshark.startswith(known + ":")), \
            f"{path.name} frame {number}: pcapkit {mine!r}, tshark {tshark!r}"
        compared += 1
    return compared


def assert_fields_match(path: Path, prefixes: Sequence[str], skip: Callable[[int], bool] = lambda n: False) -> None:
    """Every field of ``prefixes`` pcapkit emits equals tshark's (frames ``skip`` names aside)."""
    assert_matches_tshark(path, prefixes=prefixes, allowed=lambda d: skip(d.frame))


def tcpdump_lines(path: Path, tmp_path: Path) -> list[str]:
    """``tcpdump -n -e``: one line per frame, the timestamp cut off (hex-dump continuation
    lines of payloads tcpdump does not decode dropped)."""
    source = path
    if path.suffix == ".gz":
        source = tmp_path / path.stem
        source.write_bytes(gzip.decompress(path.read_bytes()))
    out = subprocess.run(["tcpdump", "-n", "-e", "-r", str(source)], capture_output=True, text=True,
                         errors="replace", check=False).stdout.splitlines()
    return [line.split(" ", 1)[1] if " " in line else "" for line in out if line[:1] not in ("\t", " ")]


def layer_of(packet: Any, protocol: str) -> Any:
    layer = packet.layer(protocol)
    assert layer is not None, f"frame {packet.frame.number}: no {protocol} layer in {packet.protocols}"
    return layer


def check_summaries(path: Path, tmp_path: Path, expected: Callable[[Any], Sequence[str]],
                    skip: Callable[[int], bool] = lambda n: False) -> int:
    """Each frame's tcpdump -e line starts with one of ``expected(packet)`` (texts built
    from the layers' summaries; one ending in "$" must be the whole line); returns the
    number of frames compared."""
    lines = tcpdump_lines(path, tmp_path)
    packets = dissect_all(path)
    assert len(lines) == len(packets), "tcpdump printed a line per frame"
    compared = 0
    for line, packet in zip(lines, packets, strict=True):
        if skip(packet.frame.number):
            continue
        options = [text for text in expected(packet) if text]
        assert any(line.strip() == text[:-1].strip() if text.endswith("$") else line.startswith(text)
                   for text in options), \
            f"frame {packet.frame.number}: tcpdump {line!r}, pcapkit {options}"
        compared += 1
    return compared


_TCP_FIELDS = ("frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport",
               "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len")


def assert_tcp_frames_match(path: Path) -> int:
    """The frames tshark shows TCP in are exactly those whose dissection has a tcp layer,
    with the same addresses, ports and raw sequence numbers; returns their number. (A tcp
    layer cut before its ports is no TCP frame: tshark names "tcp" in frame.protocols
    there, but adds no tcp item, so ``-Y tcp`` does not match it either.)"""
    theirs = {int(r["frame.number"]): r for r in tshark_fields(path, list(_TCP_FIELDS), display_filter="tcp")}
    ours: dict[int, dict[str, str]] = {}
    for packet in dissect_all(path):
        tcp = packet.layer("tcp")
        if tcp is None or "tcp.srcport" not in tcp.fields:
            continue
        index = packet.layers.index(tcp)
        net = next(layer for layer in reversed(packet.layers[:index]) if layer.protocol in ("ip", "ipv6"))
        values: dict[str, str] = {}
        for name in _TCP_FIELDS[1:]:
            layer = net if name.startswith("ip") else tcp
            value = layer.fields.get(name)
            if value is not None:
                values[name] = str(value)
        ours[packet.frame.number] = values
    assert sorted(ours) == sorted(theirs), \
        f"TCP frames: pcapkit only {sorted(set(ours) - set(theirs))[:10]}, tshark only {sorted(set(theirs) - set(ours))[:10]}"
    for number, values in ours.items():
        row = theirs[number]
        for name, value in values.items():
            # tshark joins the occurrences of a field (IP in ICMP errors, tunnels): the last is the TCP's
            shown = row.get(name, "").split(",")[-1]
            assert value == shown, f"{path.name} frame {number} {name}: pcapkit {value}, tshark {shown}"
    return len(ours)
