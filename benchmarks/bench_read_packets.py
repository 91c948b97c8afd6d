"""``pcapkit.read_packets`` against the dpkt field loop (and, optionally, an older pcapkit
tree), on the same file, in the same run, rounds interleaved.

    .venv/bin/python benchmarks/bench_read_packets.py benchmarks/data/bench-1M.pcap \
        [--rounds 3] [--old-tree DIR] [--dpkt-cut 300000]

Every measurement runs in a fresh process: imports and a warm-up on a small capture
(numba's cached kernels loaded) come first, then the timed call. A row reports the
median over the rounds of the work's wall and CPU seconds (user + system of the process
while working), packets/s on CPU time, the table's ``memory_usage(deep=True)`` per packet
and the process's peak RSS. ``--old-tree DIR``: a directory holding an older ``pcapkit``
package (``git archive main pcapkit | tar -x -C DIR``), run the same way. The dpkt loop
(benchmarks/run.py's, eth/ip/tcp fields and options into a list of tuples) runs on the
first ``--dpkt-cut`` packets (it takes about 30x longer); its rate is per packet.
"of which absent fields": the bytes per packet of the columns no packet of the file has
(each still costs its dtype's width: the declared dtype is kept).
"held B/pkt": the memory the table holds, each buffer counted once. ``memory_usage`` counts
an Arrow buffer once per column and chunk that refers to it: with pyarrow dtypes the
columns no packet has are slices of one all-null array per column (a batch long), and
that array's validity bitmap and values share one buffer, so ``memory_usage`` counts
their full width for every row while the table holds one batch's worth.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WARM = REPO / "captures" / "tcp-upload.pcap"


def _work(kind: str, path: str) -> dict[str, Any]:
    """In the child: warm up, then time one call."""
    backend = kind.split(":", 1)[1] if ":" in kind else None
    if kind == "dpkt":
        sys.path.insert(0, str(HERE))
        from run import w_dpkt  # the loop of the main benchmark

        def call() -> tuple[int, int | None, int | None, int | None]:
            return w_dpkt(path), None, None, None
    else:
        from pcapkit.columnar.api import read_packets

        kw = {} if backend is None else {"dtype_backend": backend}
        read_packets(WARM, **kw)

        def call() -> tuple[int, int | None, int | None, int | None]:
            df = read_packets(path, **kw)
            usage = df.memory_usage(deep=True, index=False)
            absent = [name for name in df.columns if bool(df[name].isna().all())]
            return len(df), int(usage.sum()), int(usage[absent].sum()), held_bytes(df)
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    n, table, absent, held = call()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"n": n, "wall": wall, "cpu": cpu, "table": table, "absent": absent, "held": held, "maxrss_mb": r1.ru_maxrss / 1024}


def held_bytes(df: Any) -> int:
    """The bytes ``df``'s columns hold, each Arrow buffer once (by address: the slices of
    one array and the validity and values of an all-null array share theirs); numpy-backed
    columns as ``memory_usage(deep=True)`` counts them (they share nothing)."""
    import pandas as pd

    buffers: dict[int, int] = {}
    other = 0
    for name in df.columns:
        array = df[name].array
        if not isinstance(array, pd.arrays.ArrowExtensionArray):
            other += int(df[name].memory_usage(deep=True, index=False))
            continue
        for chunk in array.__arrow_array__().chunks:
            for buf in chunk.buffers():
                if buf is not None:
                    buffers[buf.address] = max(buffers.get(buf.address, 0), buf.size)
    return other + sum(buffers.values())


def _child(kind: str, path: str, tree: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=tree)
    argv = [sys.executable, __file__, "--child", kind, path]
    out = subprocess.run(argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=900, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture", nargs="?")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--old-tree")
    ap.add_argument("--dpkt-cut", type=int, default=300_000)
    ap.add_argument("--backends", default="numpy_nullable,pyarrow")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_work(*args.child)))
        return 0
    path = os.path.abspath(args.capture)
    load = os.getloadavg()
    rows: dict[str, list[dict[str, Any]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cut = os.path.join(tmp, "cut.pcap")
        subprocess.run(["tcpdump", "-r", path, "-c", str(args.dpkt_cut), "-w", cut], check=True,
                       capture_output=True, timeout=300)
        runs: list[tuple[str, str, str, str]] = [(f"dpkt loop (first {args.dpkt_cut} packets)", "dpkt", cut,
                                                  str(REPO))]
        for backend in args.backends.split(","):
            if args.old_tree:
                runs.append((f"old read_packets, {backend}", f"rp:{backend}", path, args.old_tree))
            runs.append((f"read_packets, {backend}", f"rp:{backend}", path, str(REPO)))
        for _ in range(args.rounds):
            for label, kind, file, tree in runs:
                rows.setdefault(label, []).append(_child(kind, file, tree))
    dpkt_rate = statistics.median(r["n"] / r["cpu"] for r in rows[runs[0][0]])
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("| what | packets | wall s | CPU s | packets/s (CPU) | x dpkt | table B/pkt | of which absent fields | "
          "held B/pkt | peak RSS MB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, res in rows.items():
        n = res[0]["n"]
        cpu = statistics.median(r["cpu"] for r in res)
        wall = statistics.median(r["wall"] for r in res)
        rate = n / cpu
        table = f"{res[0]['table'] / n:.1f}" if res[0]["table"] else ""
        absent = f"{res[0]['absent'] / n:.1f}" if res[0].get("absent") is not None else ""
        held = f"{res[0]['held'] / n:.1f}" if res[0].get("held") else ""
        rss = statistics.median(r["maxrss_mb"] for r in res)
        print(f"| {label} | {n:,} | {wall:.2f} | {cpu:.2f} | {rate:,.0f} | {rate / dpkt_rate:.1f} | {table} | "
              f"{absent} | {held} | {rss:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
