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
