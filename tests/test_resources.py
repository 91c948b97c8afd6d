"""Small hostile inputs must not stall pcapkit: work per packet is bounded.

Each case runs a command in a subprocess with a generous time limit (a quadratic
algorithm takes minutes to hours on these inputs; the figures are in
benchmarks/RESULTS.md, not here) and checks that the answer is whole and the limits
that applied are reported.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from pcapkit.capture.writer import PcapWriter
from pcapkit.frame import Frame

ETH = bytes.fromhex("020000000002" "020000000001" "0800")


def _ipv4(ident: int, frag: int, payload: bytes, proto: int = 6) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, frag, 64, proto, 0,
                       bytes([10, 0, (ident >> 16) & 0xFF, 1]), bytes([10, 0, 0, 2])) + payload


def _pcap(path: Path, packets: list[bytes], step_ns: int = 1000) -> Path:
    with PcapWriter(path, linktype=1) as w:
        for i, pkt in enumerate(packets, 1):
            data = ETH + pkt
            w.write(Frame(i, 1_700_000_000_000_000_000 + i * step_ns, len(data), len(data), 1, 0, data))
    return path


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout,
                          check=False)


@pytest.mark.slow
def test_200000_incomplete_fragments(tmp_path: Path) -> None:
    """200,000 first fragments that never complete (the reassembler once visited every
    pending datagram on every fragment: killed after 25 minutes)."""
    n = 200_000
    path = _pcap(tmp_path / "frags.pcap", [_ipv4(i, 0x2000, b"\x00" * 24) for i in range(n)])
    proc = _run(["-c", f"""
import pcapkit, sys
from pcapkit.reports.tcp import tcp_frames
df = pcapkit.read_packets({str(path)!r})
assert len(df) == {n}, len(df)
assert int(df["ip.flags.mf"].sum()) == {n}
assert len(tcp_frames({str(path)!r})) == 0
print("ok")
"""], timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def _ip(payload: bytes, proto: int) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                       bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + payload


def test_tcp_inside_400_nested_ip_in_ip_is_analysed(tmp_path: Path) -> None:
    """tshark analyses TCP at the bottom of 400 IP-in-IP headers; so do tcp and flows
    (the dissection once stopped at 256 layers, without saying so)."""
    from pcapkit.reports.flows import flows
    from pcapkit.reports.tcp import tcp_frames

    pkt = _ip(struct.pack("!HHIIBBHHH", 1234, 80, 1, 0, 0x50, 0x02, 8192, 0, 0), 6)
    for _ in range(399):
        pkt = _ip(pkt, 4)
    path = _pcap(tmp_path / "deep.pcap", [pkt])
    tcp = tcp_frames(path)
    assert tcp["tcp.srcport"].tolist() == [1234] and tcp["tcp.stream"].tolist() == [0]
    conv = flows(path)
    assert conv["proto"].tolist() == ["tcp"] and conv["packets"].tolist() == [1]


def test_the_layer_limit_is_a_finding(tmp_path: Path) -> None:
    """5,000 nested VLAN tags end the dissection at the layer limit, with a finding."""
    from pcapkit.dissect.driver import MAX_LAYERS, dissect

    data = ETH[:12] + bytes.fromhex("81000001") * 5000 + b"\x08\x00" + _ip(b"", 59)
    packet = dissect(Frame(1, 0, len(data), len(data), 1, 0, data))
    assert len(packet.layers) == MAX_LAYERS
    assert any("limit" in f.reason for f in packet.findings)


def _tcp(seq: int, ack: int, flags: int, payload: bytes = b"", sport: int = 1234, dport: int = 80) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65535, 0, 0) + payload


@pytest.mark.parametrize("command", ["tcp", "handshakes", "rtt", "flows"])
def test_every_report_command_says_when_a_limit_cut_the_analysis(tmp_path: Path, command: str) -> None:
    """10,050 segments never acknowledged pass tshark's TCP_MAX_UNACKED_SEGMENTS (10,000):
    the analysis stops tracking them, as tshark does, and every command that rests on it
    says so on standard error, naming the stream and the frame."""
    packets = [_ip(_tcp(999, 0, 0x02), 6), _ip(_tcp(4999, 1000, 0x12, sport=80, dport=1234), 6),
               _ip(_tcp(1000, 5000, 0x10), 6)]
    packets += [_ip(_tcp(1000 + 10 * i, 5000, 0x18, b"x" * 10), 6) for i in range(10_050)]
    path = _pcap(tmp_path / "unacked.pcap", packets)
    proc = _run(["-m", "pcapkit", command, str(path), "--format", "csv", "-o", str(tmp_path / "out.csv")],
                timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pcapkit: warning: max_unacked=10000 unacknowledged segments reached in tcp.stream 0 at frame" \
        in proc.stderr, proc.stderr[-2000:]
    assert (tmp_path / "out.csv").stat().st_size > 0
