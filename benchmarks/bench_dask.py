"""Scale-out: ``export --table tcp`` (and the packets table) of a directory of captures, in
one process and on a local Dask cluster of 1 and 2 worker processes, same run.

    .venv/bin/python benchmarks/bench_dask.py benchmarks/data/bench-1M.pcap [--pieces 8] [--rounds 2]

The capture is cut into ``--pieces`` files (``editcap -c``) in a temporary directory (table
``tcp-one-file``: the tcp table of the capture itself, one input, which the Dask engine
cuts into byte ranges). Each
cluster is started, then warmed up on a small capture (workers import pandas and load
numba's kernels), then timed; cluster start-up is reported apart. Every export is checked
against the single-process one (identical Parquet). Reports wall seconds (median of the
rounds) and the speed-up over one process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
WARM = REPO / "captures" / "tcp-upload.pcap"


def _export(files: list[str], out: str, table: str, client: Any) -> float:
    from pcapkit.reports.dask_engine import export_dask
    from pcapkit.reports.export import export_local

    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    if client is None:
        res = export_local(files, out + "/", table)
    else:
        res = export_dask(files, out + "/", table, client=client)
    dt = time.perf_counter() - t0
    assert not res.errors, res.errors
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tables", default="tcp,tcp-one-file,packets")
    args = ap.parse_args()
    import pandas as pd

    from pcapkit.reports.dask_engine import local_client
    from pcapkit.reports.export import export_local

    count = subprocess.run(["capinfos", "-c", "-M", args.capture], capture_output=True, text=True, check=True,
                           timeout=600).stdout
    total = int(next(line for line in count.splitlines() if "Number of packets" in line).split(":")[1])
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        per = -(-total // args.pieces)
        subprocess.run(["editcap", "-c", str(per), args.capture, str(src / "piece.pcap")], check=True,
                       capture_output=True, timeout=600)
        files = sorted(str(p) for p in src.iterdir())
        export_local([str(WARM)], os.path.join(tmp, "warm") + "/", "tcp")  # this process's imports/kernels
        times: dict[tuple[str, str], list[float]] = {}
        starts: dict[str, float] = {}
        clients: dict[str, Any] = {"one process": None}
        for workers in (1, 2):
            t0 = time.perf_counter()
            c = local_client(n_workers=workers)
            starts[f"{workers} worker(s)"] = time.perf_counter() - t0
            c.run(export_local, [str(WARM)], os.path.join(tmp, f"warm{workers}") + "/", "tcp")
            clients[f"Dask, {workers} worker process{'es' if workers > 1 else ''}"] = c
        try:
            for _ in range(args.rounds):
                for table in args.tables.split(","):
                    ref = None
                    for label, c in clients.items():
                        out = os.path.join(tmp, "out")
                        inputs, what = ([args.capture], "tcp") if table == "tcp-one-file" else (files, table)
                        times.setdefault((table, label), []).append(_export(inputs, out, what, c))
                        got = pd.read_parquet(out)
                        if ref is None:
                            ref = got
                        else:
                            pd.testing.assert_frame_equal(got, ref)
        finally:
            for c in clients.values():
                if c is not None:
                    cluster = c.cluster
                    c.close()
                    cluster.close()
    print(f"{len(files)} captures of about {per:,} packets ({total:,} in all); load average before: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("cluster start-up (s): " + ", ".join(f"{k} {v:.1f}" for k, v in starts.items()))
    print("| table | engine | wall s (median) | all rounds | speed-up vs one process |")
    print("|---|---|---:|---|---:|")
    for table in args.tables.split(","):
        base = statistics.median(times[(table, "one process")])
        for label in clients:
            ts = times[(table, label)]
            med = statistics.median(ts)
            print(f"| {table} | {label} | {med:.2f} | {', '.join(f'{t:.2f}' for t in ts)} | {base / med:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
