"""One ground-truth flow: an iperf3 upload over a NetPath, captured at the sender, with the
sender kernel's state written beside the capture.

Files written for flow NAME:
  NAME.pcap        tcpdump on the sender's interface, snaplen 128 (headers), ns stamps
  NAME.receiver.pcap  the same connection captured on the receiver's interface (after the
                   bottleneck: delayed, queued, some segments dropped), for scoring a model
                   on receiver-side captures (truth.label_receiver_segments)
  NAME.truth.csv   one row per tcp_probe of the sender's data socket (see FIELDS)
  NAME.castate.csv every change of the socket's ca_state (time_ns, ca_state): the exact
                   moment a timer (RTO) changed it, which no probe shows
  NAME.json        every parameter, the seed, mss, addresses and ports, what was measured
"""

from __future__ import annotations

import csv
import json
import os
import platform
import select
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ktrace import SSTHRESH_UNSET, Probe, TraceInstance, parse_trace
from netpath import RECEIVER_IF, SENDER_IF, NetPath
from sspoll import parse_polls

SSPOLL = Path(__file__).resolve().parent / "sspoll.py"
FIELDS = ("time_ns", "snd_una", "snd_nxt", "snd_cwnd", "ssthresh", "srtt_us", "ca_state", "bbr_mode")
SNAPLEN = 128


@dataclass
class FlowParams:
    name: str
    algorithm: str
    seed: int             # the set's seed
    flow_seed: int        # this flow's relay (random loss) seed
    rtt_ms: float
    loss_percent: float
    rate_mbit: float
    queue_bdp: float
    queue_bytes: int
    duration_s: float
    timestamps: bool
    sack: bool
    client_port: int
    server_port: int


def _wait_for(proc: subprocess.Popen[bytes], text: bytes, timeout: float) -> bytes:
    """Read ``proc``'s stderr until ``text`` shows (tcpdump's "listening on")."""
    assert proc.stderr is not None
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.1)
        if ready:
            chunk = os.read(proc.stderr.fileno(), 4096)
            if not chunk:
                break
            seen += chunk
    if text not in seen:
        raise RuntimeError(f"{proc.args!r} did not start: {seen.decode(errors='replace')}")
    return seen


def run_flow(p: FlowParams, index: int, out_dir: Path, keep_raw: bool = False) -> dict[str, object]:
    """Run flow ``p`` on path number ``index``; write its three files; return its json."""
    path = NetPath(index)
    tmp = out_dir / f".{p.name}.work"
    tmp.mkdir(parents=True, exist_ok=True)
    pcap = out_dir / f"{p.name}.pcap"
    rx_pcap = out_dir / f"{p.name}.receiver.pcap"
    trace: TraceInstance | None = None
    try:
        path.build(timestamps=p.timestamps, sack=p.sack)
        path.bottleneck(rate_bps=int(p.rate_mbit * 1e6), queue_bytes=p.queue_bytes)
        path.start_relay(one_way_delay_ms=p.rtt_ms / 2, loss_percent=p.loss_percent, seed=p.flow_seed,
                         duration_s=p.duration_s + 30, stats_path=tmp / "relay.json")
        path.start(path.in_receiver("iperf3", "-s", "-1", "-B", path.receiver_addr, "-p", str(p.server_port)),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        trace = TraceInstance(f"pkcc{os.getpid()}x{index}")  # the name is in the json too
        offset_before = trace.clock_offset_ns()
        trace.enable(p.client_port, p.server_port)
        dump = path.start(path.in_sender("tcpdump", "-i", SENDER_IF, "-s", str(SNAPLEN), "-B", "16384",
                                         "--time-stamp-precision=nano", "-n", "-w", str(pcap),
                                         f"tcp port {p.server_port}"),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(dump, b"listening on", 10.0)
        rx_dump = path.start(path.in_receiver("tcpdump", "-i", RECEIVER_IF, "-s", str(SNAPLEN), "-B", "16384",
                                              "--time-stamp-precision=nano", "-n", "-w", str(rx_pcap),
                                              f"tcp port {p.server_port}"),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait_for(rx_dump, b"listening on", 10.0)
        poller = None
        if p.algorithm == "bbr":
            poller = path.start(path.in_sender(sys.executable, str(SSPOLL), "--sport", str(p.client_port),
                                               "--interval", "0.01", "--out", str(tmp / "ss.txt"),
                                               "--duration", str(p.duration_s + 30)))
        time.sleep(0.3)  # the iperf3 server listens by now
        client = subprocess.run(path.in_sender("iperf3", "-c", path.receiver_addr, "-p", str(p.server_port),
                                               "--cport", str(p.client_port), "-t", f"{p.duration_s:.1f}",
                                               "-C", p.algorithm, "-J", "--connect-timeout", "5000"),
                                capture_output=True, text=True, timeout=p.duration_s + 30, check=False)
        # tcpdump hands a ring block over when it fills or after 1 s (its -timeout): wait for
        # the last one, so that it writes every frame the kernel gave it
        time.sleep(1.5)
        if poller is not None:
            path.stop(poller)
        path.stop(dump, signal.SIGINT)
        path.stop(rx_dump, signal.SIGINT)
        assert dump.stderr is not None and rx_dump.stderr is not None
        dump_report = dump.stderr.read().decode(errors="replace")
        rx_report = rx_dump.stderr.read().decode(errors="replace")
        offset_after = trace.clock_offset_ns()
        overruns = trace.overruns()
        (tmp / "trace.txt").write_text(trace.read())
    finally:
        if trace is not None:
            trace.close()
        path.close()
    iperf = json.loads(client.stdout) if client.stdout.strip().startswith("{") else {}
    if client.returncode != 0 or "error" in iperf:
        raise RuntimeError(f"{p.name}: iperf3 failed: {iperf.get('error', client.stderr.strip())}")
    probes, changes = parse_trace((tmp / "trace.txt").read_text())
    counts, rx_counts = _tcpdump_counts(dump_report), _tcpdump_counts(rx_report)
    for side, c in (("sender", counts), ("receiver", rx_counts)):
        if c.get("dropped by kernel", 0) or c.get("captured") != c.get("received by filter"):
            raise RuntimeError(f"{p.name}: the {side}'s capture lost frames: {c}")
    offset = (offset_before[0] + offset_after[0]) // 2
    sender = f"{path.sender_addr}:{p.client_port}"
    probes = [pr for pr in probes if pr.src == sender]
    modes = parse_polls((tmp / "ss.txt").read_text()) if p.algorithm == "bbr" else []
    write_truth(out_dir / f"{p.name}.truth.csv", probes, offset, modes)
    with (out_dir / f"{p.name}.castate.csv").open("w", newline="") as f:
        csv.writer(f).writerows([("time_ns", "ca_state"), *((c.time_ns - offset, c.state) for c in changes)])
    relay = json.loads((tmp / "relay.json").read_text()) if (tmp / "relay.json").exists() else {}
    meta: dict[str, object] = {
        **asdict(p),
        "mss": sender_mss(pcap, path.sender_addr),
        "client": {"addr": path.sender_addr, "port": p.client_port},
        "server": {"addr": path.receiver_addr, "port": p.server_port},
        "clock_offset_ns": offset, "clock_offset_uncertainty_ns": max(offset_before[1], offset_after[1]),
        "clock_offset_drift_ns": offset_after[0] - offset_before[0],
        "probes": len(probes), "ca_state_changes": len(changes), "ss_samples": len(modes),
        "trace_overruns": overruns, "tcpdump": counts, "tcpdump_receiver": rx_counts, "relay": relay,
        "iperf3": _iperf_summary(iperf), "kernel": platform.release(), "snaplen": SNAPLEN,
        "namespaces": [path.sender_ns, path.relay_ns, path.receiver_ns],
        "trace_instance": f"pkcc{os.getpid()}x{index}",
    }
    (out_dir / f"{p.name}.json").write_text(json.dumps(meta, indent=1) + "\n")
    if not keep_raw:
        for leftover in tmp.iterdir():
            leftover.unlink()
        tmp.rmdir()
    return meta


def write_truth(path: Path, probes: list[Probe], offset_ns: int, modes: list[tuple[int, str]]) -> None:
    """The truth CSV: probe times moved onto the capture's clock; the BBR mode of the
    latest ss poll at or before each probe (empty before the first poll and for
    loss-based senders)."""
    k = 0
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        for pr in probes:
            t = pr.time_ns - offset_ns
            while k < len(modes) and modes[k][0] <= t:
                k += 1
            mode = modes[k - 1][1] if k else ""
            ssthresh = "" if pr.ssthresh >= SSTHRESH_UNSET else pr.ssthresh
            w.writerow((t, pr.snd_una, pr.snd_nxt, pr.snd_cwnd, ssthresh, pr.srtt_us, pr.ca_state, mode))


def sender_mss(pcap: Path, sender_addr: str) -> int:
    """The sender's segment size: its largest TCP payload (offloads are off, so every full
    segment is exactly the socket's mss)."""
    from pcapkit.reports.tcp import tcp_frames

    df = tcp_frames(pcap)
    sent = df[df["ip.src"].astype(str) == sender_addr]
    return int(sent["tcp.len"].max()) if len(sent) else 0


def _tcpdump_counts(report: str) -> dict[str, int]:
    counts = {}
    for line in report.splitlines():
        words = line.split()
        if len(words) >= 3 and words[0].isdigit() and "packets" in words[1]:
            counts[" ".join(words[2:])] = int(words[0])
    return counts


def _iperf_summary(iperf: dict[str, object]) -> dict[str, object]:
    end = iperf.get("end", {})
    assert isinstance(end, dict)
    sent, received = end.get("sum_sent", {}), end.get("sum_received", {})
    return {"sent_bits_per_second": sent.get("bits_per_second"), "retransmits": sent.get("retransmits"),
            "received_bits_per_second": received.get("bits_per_second"),
            "sender_tcp_congestion": end.get("sender_tcp_congestion")}
