"""Make a ~1M-packet REAL TCP capture between two network namespaces (needs root).

Two namespaces joined by a veth pair (10.77.0.1 <-> 10.77.0.2, nothing outside them),
an iperf3 transfer with a small MSS so that many segments flow, captured with
``tcpdump -w`` on the sender's veth until ``--packets`` packets are written (bounded
by ``--seconds``). The file goes to benchmarks/data/ (git-ignored); only this script
is kept in the repository.

    sudo .venv/bin/python benchmarks/make_capture.py --packets 1000000
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NS_A, NS_B = "pcapkit-bench-a", "pcapkit-bench-b"
IP_A, IP_B = "10.77.0.1", "10.77.0.2"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), check=check, capture_output=True, text=True)


def teardown() -> None:
    for ns in (NS_A, NS_B):
        sh("ip", "netns", "del", ns, check=False)


def setup() -> None:
    teardown()
    sh("ip", "netns", "add", NS_A)
    sh("ip", "netns", "add", NS_B)
    sh("ip", "link", "add", "pkb-a", "type", "veth", "peer", "name", "pkb-b")
    sh("ip", "link", "set", "pkb-a", "netns", NS_A)
    sh("ip", "link", "set", "pkb-b", "netns", NS_B)
    for ns, dev, ip in ((NS_A, "pkb-a", IP_A), (NS_B, "pkb-b", IP_B)):
        sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
        sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        # real segments on the wire: no TSO/GSO/GRO aggregation on the veth
        sh("ip", "netns", "exec", ns, "ethtool", "-K", dev, "tso", "off", "gso", "off", "gro", "off",
           check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=int, default=100, help="upper bound on the transfer time")
    ap.add_argument("--mss", type=int, default=300)
    ap.add_argument("--streams", type=int, default=4, help="parallel TCP connections")
    ap.add_argument("-o", "--output", default=str(HERE / "data" / "bench-1M.pcap"))
    args = ap.parse_args()
    for tool in ("ip", "iperf3", "tcpdump"):
        if shutil.which(tool) is None:
            print(f"{tool} not found", file=sys.stderr)
            return 1
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    setup()
    server = dump = None
    try:
        server = subprocess.Popen(["ip", "netns", "exec", NS_B, "iperf3", "-s", "-1", "-B", IP_B],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dump = subprocess.Popen(["ip", "netns", "exec", NS_A, "tcpdump", "-i", "pkb-a", "-n", "-B", "65536",
                                 "-c", str(args.packets), "-w", str(out), "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        client = subprocess.Popen(["ip", "netns", "exec", NS_A, "iperf3", "-c", IP_B, "-B", IP_A,
                                   "-M", str(args.mss), "-P", str(args.streams), "-t", str(args.seconds)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + args.seconds + 10
        while dump.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        client.terminate()
        client.wait(timeout=10)
        if dump.poll() is None:
            dump.terminate()
        _, err = dump.communicate(timeout=10)
        print(err.strip(), file=sys.stderr)
    finally:
        if server is not None and server.poll() is None:
            server.terminate()
        teardown()
    print(f"wrote {out} ({out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
