"""``pcapkit show`` prints fields as ``tshark -V`` labels them ("Source Address:
128.238.29.23") and ``-x`` as ``tshark -x`` dumps the bytes (GitHub issue 14, item 4)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_id, requires_tshark

from pcapkit.cli.show_cmd import field_specs, packet_tree, show
from pcapkit.dissect.driver import dissect_file

FILES = [CORPUS / n for n in ("labs/dhcp-ethereal-trace-1", "labs/dns-ethereal-trace-1",
                              "labs/tcp-ethereal-trace-1", "labs/ip-wireshark-trace1-1.pcapng",
                              "labs/icmp-ethereal-trace-1")]
FRAMES = 25
# fields whose tshark -V line is "Label: value" with the value tshark -T fields prints
# (others add a meaning, "Protocol: UDP (17)", "Identifier (BE): 512 (0x0200)", or a bit
# field's meaning, ".1.. .... = Don't fragment: Set")
PLAIN = ("eth.dst", "eth.src", "eth.addr", "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac",
         "arp.dst.proto_ipv4", "arp.hw.size", "arp.proto.size", "ip.version", "ip.len", "ip.ttl", "ip.src", "ip.dst",
         "ipv6.src", "ipv6.dst", "ipv6.hlim", "ipv6.plen", "udp.srcport", "udp.dstport", "udp.length", "tcp.srcport",
         "tcp.dstport", "tcp.stream", "dns.count.queries", "dns.count.answers", "dns.count.auth_rr",
         "dns.count.add_rr", "dhcp.hw.len", "dhcp.hops", "dhcp.ip.client", "dhcp.ip.your", "dhcp.ip.server",
         "dhcp.ip.relay", "dhcp.hw.mac_addr")


def tshark_trees(path: Path) -> list[set[str]]:
    """tshark -V's lines of each frame, stripped of their indentation (a bit field's line,
    "0100 .... = Version: 4", also without its bit pattern)."""
    text = subprocess.run(["tshark", "-n", "-r", str(path), "-V", "-c", str(FRAMES)], capture_output=True,
                          text=True, check=True).stdout
    frames: list[set[str]] = []
    for line in text.splitlines():
        if line.startswith("Frame "):
            frames.append(set())
        if frames:
            frames[-1].add(line.strip())
            pattern, sep, rest = line.strip().partition(" = ")
            if sep and set(pattern) <= {".", "0", "1", " "}:
                frames[-1].add(rest)
    return frames


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_labelled_lines_are_tsharks(path: Path) -> None:
    specs = field_specs()
    theirs = tshark_trees(path)
    checked = 0
    for packet, their_lines in zip(dissect_file(path), theirs, strict=False):
        labelled = packet_tree(packet, specs)
        named = packet_tree(packet, specs, labels=False)
        assert len(labelled) == len(named)
        for ours, by_name in zip(labelled, named, strict=True):
            name = by_name.strip().split(":", 1)[0]
            if name not in PLAIN:
                continue
            checked += 1
            assert ours.strip() in their_lines, f"frame {packet.frame.number} {name}: {ours.strip()!r}"
    assert checked > FRAMES


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES[:3], ids=corpus_id)
def test_hex_dump_is_tsharks(path: Path) -> None:
    """The dump after each tree equals tshark -V -x's, line for line (the tree lines,
    indented or titled, left aside)."""
    def dump(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line[:1].isalpha() and not line.startswith(" ")]

    theirs = subprocess.run(["tshark", "-n", "-r", str(path), "-V", "-x", "-c", "6"], capture_output=True,
                            text=True, check=True).stdout
    result = CliRunner().invoke(show, [str(path), "-c", "6", "-x"])
    assert result.exit_code == 0
    assert dump(result.stdout) == dump(theirs)
    assert any(line.startswith("0000  ") for line in dump(result.stdout))
