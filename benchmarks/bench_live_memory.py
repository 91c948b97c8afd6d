"""Memory of a long live report: ``pcapkit capture --report REPORT`` on a veth pair
while namespace B opens short TCP connections without pause (each a handshake, a
request, a reply and a close) and one long transfer runs beside them; the capture's
resident memory (VmRSS) is sampled every ``--every`` seconds. Flat memory means the
per-connection state is let go (flows at their end, handshakes when settled, RTT
state with its stream).

Needs root (network namespaces).

    sudo .venv/bin/python benchmarks/bench_live_memory.py [--seconds 300] [--report flows]

Prints the samples, the packets captured, the kernel's drops, and the growth between
the first sample after the warm-up (``--warmup`` seconds) and the last.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from netns import veth_pair, wait_for_line  # noqa: E402

SERVER = r"""
import socket, sys, threading
def serve(c):
    with c:
        while True:
            d = c.recv(65536)
            if not d:
                return
            if d.startswith(b"GET"):
                c.sendall(b"x" * 2000)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5300)); s.listen(512)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

CLIENTS = r"""
import socket, sys, threading, time
addr, seconds, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
def bulk():
    c = socket.create_connection((addr, 5300))
    while time.monotonic() < end:
        c.sendall(b"b" * 4096)
        time.sleep(0.01)
    c.close()
threading.Thread(target=bulk, daemon=True).start()
n = 0
while time.monotonic() < end:
    t = time.monotonic()
    c = socket.create_connection((addr, 5300))
    c.sendall(b"GET /\r\n")
    got = 0
    while got < 2000:
        got += len(c.recv(65536))
    c.close()
    n += 1
    time.sleep(max(0.0, 1 / rate - (time.monotonic() - t)))
print(n, flush=True)
"""


def rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(m.group(1)) if m else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--report", choices=("handshakes", "rtt", "tcp", "flows"), default="flows")
    ap.add_argument("--rate", type=float, default=100.0, help="short connections per second")
    ap.add_argument("--every", type=float, default=5.0)
    ap.add_argument("--warmup", type=float, default=20.0)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    with veth_pair(9) as pair:
        cap = subprocess.Popen(pair.exec_a(sys.executable, "-m", "pcapkit", "capture", "-i", pair.if_a,
                                           "--report", args.report, "--format", "csv", "--flow-timeout", "10",
                                           "tcp"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
        wait_for_line(cap, b"listening on", timeout=120)
        server = subprocess.Popen(pair.exec_b(sys.executable, "-c", SERVER, pair.addr_b), stdout=subprocess.PIPE,
                                  text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        clients = subprocess.Popen(pair.exec_a(sys.executable, "-c", CLIENTS, pair.addr_b, str(args.seconds),
                                               str(args.rate)), stdout=subprocess.PIPE, text=True)
        start = time.monotonic()
        samples: list[tuple[float, int]] = []
        try:
            while clients.poll() is None:
                time.sleep(args.every)
                t = time.monotonic() - start
                samples.append((t, rss_kib(cap.pid)))
                print(f"{t:7.1f} s  RSS {samples[-1][1] / 1024:8.1f} MiB", flush=True)
        finally:
            connections = clients.stdout.read().strip() if clients.stdout else "?"
            cap.send_signal(signal.SIGINT)
            _, err = cap.communicate(timeout=120)
            server.kill()
            server.wait()
        text = err.decode()
        captured = re.search(r"(\d+) packets? captured", text)
        dropped = re.search(r"(\d+) packets? dropped by kernel", text)
        after = [s for s in samples if s[0] >= args.warmup] or samples
        first, last = after[0], after[-1]
        n = int(captured.group(1)) if captured else 0
        print(f"report {args.report}: {args.seconds:.0f} s, {connections} short connections + 1 transfer, "
              f"{n} packets ({n / args.seconds:.0f}/s), dropped by kernel {dropped.group(1) if dropped else '?'}")
        print(f"RSS after warm-up {first[1] / 1024:.1f} MiB at {first[0]:.0f} s -> {last[1] / 1024:.1f} MiB at "
              f"{last[0]:.0f} s ({(last[1] - first[1]) / 1024:+.1f} MiB); peak {max(s[1] for s in samples) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
