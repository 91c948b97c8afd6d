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
import tracemalloc
from collections.abc import Callable
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


def _syn_flood(n: int) -> list[Frame]:
    """``n`` one-SYN connections, each from its own address and port (a SYN flood)."""
    frames = []
    for i in range(n):
        tcp = struct.pack("!HHIIBBHHH", 1024 + i % 60000, 80, i, 0, 0x50, 0x02, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0,
                         bytes([10, (i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF]), bytes([10, 255, 0, 2]))
        data = ETH + ip + tcp
        frames.append(Frame(i + 1, 1_700_000_000_000_000_000 + i * 1000, len(data), len(data), 1, 0, data))
    return frames


def _peak_traced(run: Callable[[], object]) -> int:
    """The most memory numpy and Python held at once while ``run`` ran, beyond what they
    held before (tracemalloc: allocations, not the pages the system maps)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = run()
        peak = tracemalloc.get_traced_memory()[1] - base
        del result
    finally:
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("model", ["tcptrace", "zeek"])
def test_connection_models_hold_the_connections_present(model: str) -> None:
    """On a SYN flood the per-connection models allocate the records of the connections
    the capture has (one per flow), not of every connection it could have opened (once
    one per SYN on top of one per address pair: twice the records, 3.5 GB on a million
    SYNs). The bound is the models' own record sizes per connection, plus their input
    columns per segment, with a quarter to spare."""
    from pcapkit.tcpflow.jit import BLOCK_ROWS
    from pcapkit.tcpflow.segments import segment_table
    from pcapkit.tcpflow.tcptrace import connection_table
    from pcapkit.tcpflow.tcptrace import layout as tt
    from pcapkit.tcpflow.zeek import model as zk
    from pcapkit.tcpflow.zeek import zeek_table

    n = 40_000
    table = segment_table(_syn_flood(n))
    assert len(table) == n
    if model == "tcptrace":
        connection_table(table)  # (compiled before measuring: numba's own memory is not the model's)
        peak = _peak_traced(lambda: connection_table(table))
        per_connection = (tt.CONN.itemsize + 2 * tt.DIRECTION.itemsize  # records, four quadrants and the
                          + 8 * 5 * 8 + 2 * tt.SEGS_TO_REMEMBER * 2 * 8)  # hardware-dup ring per direction
        per_segment = len(tt.ROW.names or ()) * 8 + 3 * 8  # input columns; connection, direction, mark
        row_block = BLOCK_ROWS * tt.ROW.itemsize
    else:
        zeek_table(table)
        peak = _peak_traced(lambda: zeek_table(table))
        per_connection = zk.CONN.itemsize + 2 * zk.ENDPOINT.itemsize
        per_segment = len(zk.ROW.names or ()) * 8 + 8 + 6 * 2 * 8  # input columns, connection, history
        row_block = BLOCK_ROWS * zk.ROW.itemsize
    bound = 1.25 * (n * (per_connection + per_segment) + row_block)
    assert peak <= bound, f"{peak / n:.0f} bytes per one-SYN connection, bound {bound / n:.0f}"


def _reused_pairs(pairs: int, rounds: int) -> list[Frame]:
    """SYNs of ``pairs`` address/port pairs, each pair sending ``rounds`` SYNs with new
    initial sequence numbers (tcptrace opens a new connection on each), the pairs
    interleaved, with an answer (SYN-ACK) to every other one."""
    frames: list[Frame] = []
    for r in range(rounds):
        for p in range(pairs):
            a, b = bytes([10, 0, 0, p + 1]), bytes([10, 1, 0, 1])
            syn = struct.pack("!HHIIBBHHH", 2000 + p, 80, 1000 * r + p, 0, 0x50, 0x02, 65535, 0, 0)
            packets = [(a, b, syn)]
            if (r + p) % 2:
                packets.append((b, a, struct.pack("!HHIIBBHHH", 80, 2000 + p, 7, 1000 * r + p + 1, 0x50, 0x12,
                                                  65535, 0, 0)))
            for src, dst, tcp in packets:
                data = ETH + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, src, dst) + tcp
                frames.append(Frame(len(frames) + 1, 1_700_000_000_000_000_000 + len(frames) * 1000, len(data),
                                    len(data), 1, 0, data))
    return frames


@pytest.mark.parametrize("rel", ["tcp/http.dmp.gz", "tcp/bro.org.pcap", "broken/tcp.pcap",
                                 "labs/http-wireshark-trace1-1.pcapng", "broken/fuzz-2006-06-26-2594.pcap",
                                 "reused-pairs"])
def test_flows_runs_the_models_over_groups_of_connections_with_one_runs_answer(
        corpus: Path, rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """flows holds the tcptrace and Zeek models' records of a bounded number of connections
    at a time (address/port pairs, streams); grouping them (here two or three at a time)
    changes no value."""
    import pandas as pd

    from pcapkit.reports import flows as flows_module
    from pcapkit.reports import flows_tcp

    source: list[Frame] | Path = _reused_pairs(7, 4) if rel == "reused-pairs" else corpus / rel
    if isinstance(source, Path) and not source.exists():
        pytest.skip(f"{rel} not in the corpus")
    whole = flows_module.flows(source)
    assert whole["retrans_ab"].notna().sum() >= 4  # (tcptrace's columns are there to compare)
    for pairs in (2, 3):
        monkeypatch.setattr(flows_tcp, "_MODEL_CONNECTIONS", pairs)
        pd.testing.assert_frame_equal(flows_module.flows(source), whole)


@pytest.mark.slow
def test_out_of_order_segments_with_holes_stay_linear_in_every_report(tmp_path: Path) -> None:
    """100,000 out-of-order segments with holes that are never filled (benchmarks/
    make_hostile.py's ooo input): every report that walks a stream finishes. The lab's
    congestion view once rescanned every outstanding segment per segment (20,000: 28 s;
    100,000 were still running after 290 s); Zeek's history model did the same in flows."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from make_hostile import out_of_order
    finally:
        sys.path.pop(0)
    packets = list(out_of_order(100_000))
    path = _pcap(tmp_path / "ooo.pcap", packets)
    proc = _run(["-c", f"""
from pcapkit.reports.flows import flows
from pcapkit.reports.lab import lab_tcp
from pcapkit.reports.tcp import tcp_frames
from pcapkit.tcpflow.tcptrace import tcptrace_stats
path = {str(path)!r}
lab = lab_tcp(path)
assert len(tcp_frames(path)) == {len(packets)}
assert (flows(path)["proto"] == "tcp").sum() == 1
assert len(tcptrace_stats(path)) == 2
print("ok")
"""], timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


@pytest.mark.slow
def test_congestion_on_many_streams_stays_linear(tmp_path: Path) -> None:
    """300,000 one-SYN connections: ``congestion`` takes the streams from the segment table
    in batches (one selection per stream, each costing the whole table, took 12 s on 50,000
    SYNs and grew with the square: hours on a million). Every stream is in the summary, as
    ``unknown`` with the reason; the per-segment table is empty (no data)."""
    n = 300_000
    path = tmp_path / "syns.pcap"
    with PcapWriter(path, linktype=1) as w:
        for frame in _syn_flood(n):
            w.write(frame)
    proc = _run(["-m", "pcapkit", "congestion", str(path), "--summary", "--format", "csv",
                 "-o", str(tmp_path / "summary.csv")], timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import pandas as pd

    summary = pd.read_csv(tmp_path / "summary.csv")
    assert len(summary) == n and summary["tcp.stream"].tolist() == list(range(n))
    assert set(summary["cc_algorithm"]) == {"unknown"} and set(summary["reason"]) == {"no data segments"}
    proc = _run(["-m", "pcapkit", "congestion", str(path), "--format", "csv"], timeout=240)
    assert proc.returncode == 0 and proc.stdout.strip() == ",".join(
        ["frame.number", "frame.time_epoch", "tcp.stream", "tcp.srcport", "tcp.dstport", "cwnd_bytes",
         "ssthresh_bytes", "phase", "limited_by"]), proc.stdout[:500] + proc.stderr[-2000:]
