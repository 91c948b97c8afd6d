"""Live-capture throughput: the highest packet rate pcapkit captures without kernel
drops on a veth pair, next to tcpdump's, on the same machine in the same run.

Needs root (network namespaces). Each step sends ``--seconds`` of 64-byte-payload UDP
frames at a fixed rate from namespace B (a raw AF_PACKET sender, paced in 1 ms ticks)
while the tool under test captures on namespace A's side with ``-w FILE udp``; the
step is lossless when the tool's "dropped by kernel" is 0 and it captured every packet
that reached the filter. Rates double until a step loses packets, then bisect.

    sudo .venv/bin/python benchmarks/bench_capture.py [--seconds 2] [--max-rate 800000]

Prints one line per step and a summary; ``--json FILE`` saves the results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from netns import VethPair, veth_pair, wait_for_line  # noqa: E402

# frames go to a MAC that is not A's: A's stack drops them right away (PACKET_OTHERHOST),
# so the kernel's cost per packet is mostly the capture itself
OTHER_HOST = "020000000001"

SENDER = r"""
# paced sender on a PACKET_TX_RING (TPACKET_V2): frames are written once into the ring;
# each 1 ms tick marks the next batch SEND_REQUEST and one send() flushes it, so the
# Python cost per packet is tiny and the sender is not the bottleneck.
import mmap, socket, struct, sys, time
import numpy as np
ifname, dst, src, rate, seconds = sys.argv[1], bytes.fromhex(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
payload = b"x" * 64
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0, 64, 17, 0, bytes([10, 99, 9, 2]), bytes([10, 99, 9, 1]))
udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0)
frame = dst + src + b"\x08\x00" + ip + udp + payload
SOL_PACKET, PACKET_VERSION, PACKET_TX_RING, PACKET_QDISC_BYPASS, TPACKET_V2 = 263, 10, 13, 20, 1
FS, BS, BN = 256, 1 << 16, 64
NF = BS // FS * BN
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.setsockopt(SOL_PACKET, PACKET_VERSION, TPACKET_V2)
s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
s.setsockopt(SOL_PACKET, PACKET_TX_RING, struct.pack("IIII", BS, BN, FS, NF))
ring = mmap.mmap(s.fileno(), BS * BN, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
s.bind((ifname, 0))
for i in range(NF):
    struct.pack_into("II", ring, i * FS + 4, len(frame), len(frame))
    ring[i * FS + 32:i * FS + 32 + len(frame)] = frame
status = np.frombuffer(ring, dtype=np.uint32)[::FS // 4]
total = int(rate * seconds)
sent = 0
head = 0
t0 = time.perf_counter()
while sent < total:
    due = min(total, int((time.perf_counter() - t0) * rate) + 1)
    k = min(due - sent, 512)
    if k > 0:
        idx = (head + np.arange(k)) % NF
        free = status[idx] == 0
        if not free.all():
            k = int(np.argmin(free))
            idx = idx[:k]
        if k:
            status[idx] = 1
            s.send(b"")
            head = (head + k) % NF
            sent += k
    if sent >= due:
        left = t0 + sent / rate - time.perf_counter()
        if left > 0.0005:
            time.sleep(left)
while (status != 0).any() and (status == 1).any():
    s.send(b"")
elapsed = time.perf_counter() - t0
print(sent, elapsed)
"""


def _stats(text: str) -> tuple[int, int, int]:
    def num(pattern: str) -> int:
        m = re.search(pattern, text)
        return int(m.group(1)) if m else -1
    return (num(r"(\d+) packets? captured"), num(r"(\d+) packets? received by filter"),
            num(r"(\d+) packets? dropped by kernel"))


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (``ip netns exec`` execs in place)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_step(pair: VethPair, tool: str, rate: int, seconds: float, outdir: str) -> dict[str, object]:
    out = os.path.join(outdir, f"{tool}.pcap")
    if tool == "tcpdump":
        cmd = pair.exec_a("tcpdump", "-i", pair.if_a, "-n", "-B", "4096", "-w", out, "udp")
    else:
        cmd = pair.exec_a(sys.executable, "-m", "pcapkit", "capture", "-i", pair.if_a,
                          "--block-size", str(1 << 20), "--block-count", "4", "-w", out, "udp")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, cwd=REPO)
    try:
        wait_for_line(proc, b"listening on", timeout=30)
        snd = subprocess.run(pair.exec_b(sys.executable, "-c", SENDER, pair.if_b,
                                         OTHER_HOST, pair.mac_b.replace(":", ""),
                                         str(rate), str(seconds)),
                             capture_output=True, text=True, check=True, timeout=seconds * 10 + 30)
        sent_s, elapsed_s = snd.stdout.split()
        time.sleep(1.3)
        cpu = _cpu_seconds(proc.pid)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    captured, received, dropped = _stats(err.decode())
    sent, elapsed = int(sent_s), float(elapsed_s)
    return {"tool": tool, "rate": rate, "sent": sent, "achieved_rate": round(sent / elapsed),
            "captured": captured, "received": received, "dropped": dropped,
            "cpu_us_per_packet": round(cpu / max(captured, 1) * 1e6, 2),
            "lossless": dropped == 0 and captured == received and received > 0}


def highest_lossless(pair: VethPair, tool: str, start: int, max_rate: int, seconds: float,
                     log: list[dict[str, object]]) -> tuple[int, bool]:
    """(highest achieved rate with no loss, whether the sender could not reach a target).

    Rates double from ``start`` until a step loses packets (or ``max_rate``), then
    bisect between the last good and the first bad target. The rate that counts is the
    one the sender achieved, not the target."""
    best, worst, limited = 0, None, False
    rate = start
    with tempfile.TemporaryDirectory() as tmp:

        def step(target: int) -> bool:
            nonlocal best, limited
            r = run_step(pair, tool, target, seconds, tmp)
            log.append(r)
            print(json.dumps(r), flush=True)
            achieved = int(str(r["achieved_rate"]))
            if achieved < target * 0.9:
                limited = True
            if r["lossless"]:
                best = max(best, achieved)
            return bool(r["lossless"])

        while rate <= max_rate:
            if not step(rate):
                worst = rate
                break
            rate *= 2
        if worst is not None:
            lo, hi = worst // 2, worst
            while hi - lo > max(10000, lo // 8):
                mid = (lo + hi) // 2
                if step(mid):
                    lo = mid
                else:
                    hi = mid
    return best, limited


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--start", type=int, default=25_000)
    ap.add_argument("--max-rate", type=int, default=800_000)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_capture.py needs root (network namespaces)")
    log: list[dict[str, object]] = []
    with veth_pair(9) as pair:
        results = {tool: highest_lossless(pair, tool, args.start, args.max_rate, args.seconds, log)
                   for tool in ("tcpdump", "pcapkit")}
    print(f"highest lossless rate, {args.seconds:g} s of 106-byte frames on veth, 4 MiB ring:")
    for tool, (rate, limited) in results.items():
        cpu = [float(str(r["cpu_us_per_packet"])) for r in log if r["tool"] == tool and r["lossless"]]
        note = "  (the sender could not go faster: a lower bound)" if limited else ""
        print(f"  {tool:8s} {rate:>9,d} packets/s   CPU {min(cpu) if cpu else float('nan'):.2f} "
              f"us/packet{note}")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "steps": log}, indent=1))


if __name__ == "__main__":
    main()
