"""Scale-out: ``export --table tcp`` in one process and on a local Dask cluster of 1 and 2
worker processes, same run, on (a) a directory of captures (the capture cut into
``--pieces`` files with ``editcap -c``) and (b) the capture itself, one file that the Dask
engine cuts into byte ranges.

    .venv/bin/python benchmarks/bench_dask.py benchmarks/data/bench-1M.pcap [--pieces 8] [--rounds 3]

Each cluster is started (start-up reported apart), then warmed up: the same export runs
once on a small capture and once on two pieces, so every worker has imported pandas and
pyarrow and loaded numba's compiled kernels before anything is timed; this process warms
up the same way for the single-process export. The engines are then run in turn, round by
round (the load of a shared machine changes). Every export of the first round is read
back and checked identical to the single-process one.

The single-process export runs in this process, with glibc's heap set as the workers'
(``dask_engine.WORKER_HEAP``; ``--default-heap``: as pcapkit sets it), but for the number
of arenas: the workers' one arena gives their task thread the main thread's heap, which
the single-process export has already; this process also runs the clusters' schedulers in
threads, which would share it.

Reported per export: wall seconds; CPU seconds (user + system) of this process (the
driver: for Dask it holds the scheduler too) and of each worker; the wall speed-up over
one process; and the CPU speed-up: the single-process CPU time over the busiest
process's CPU time in the Dask run (what the wall speed-up would be on idle cores); and the
speed-up over the 1-worker cluster (the scaling the issue measured). Before and after, two
processes spin for 0.5 CPU s each against one: how many cores two processes of this
session get at the moment (a wall speed-up cannot exceed it); and two processes export
the tcp table of one piece at once against one alone: how many cores two processes get for
this work, which touches memory as spinning does not (two busy cores of a virtual machine
slow each other down).
"""

from __future__ import annotations

import argparse
import os
import resource
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
ONE = "one process"


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _spin(seconds: float) -> None:
    t = time.process_time()
    while time.process_time() - t < seconds:
        pass


def parallel_capacity(seconds: float = 0.5) -> float:
    """How many cores two processes of this session get now: two processes each spinning
    ``seconds`` of CPU, against one (2.0 on idle cores; with other sessions busy, Linux's
    autogroup shares the CPU between sessions, and two processes get what one gets)."""
    import multiprocessing

    def run(n: int) -> float:
        t0 = time.perf_counter()
        procs = [multiprocessing.Process(target=_spin, args=(seconds,)) for _ in range(n)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        return time.perf_counter() - t0

    return 2 * run(1) / run(2)


# one process exporting the tcp table of one piece, ``rounds`` times once the clock passes
# ``start`` (so two of them start together), printing each export's wall seconds
_WORKLOAD = """
import sys, tempfile, time
from pcapkit.reports.export import export_local
piece, start, rounds = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
with tempfile.TemporaryDirectory() as out:
    export_local([piece], out + "/", "tcp")
    while time.time() < start:
        time.sleep(0.001)
    for _ in range(rounds):
        t0 = time.perf_counter()
        export_local([piece], out + "/", "tcp")
        print(time.perf_counter() - t0)
"""


def workload_capacity(piece: str, rounds: int = 5, turns: int = 2) -> float:
    """How many cores two processes get for this work: the tcp export of one piece, in one
    process alone against two at once, each ``rounds`` times (medians). Unlike the spinning
    of :func:`parallel_capacity` it touches memory as the export does; where two busy
    cores slow each other down (shared caches, memory bandwidth, a host's hyperthreads),
    this is the wall speed-up two workers could reach on work that splits perfectly. One
    and two processes take ``turns`` turns each, alternately (a shared machine's load
    changes)."""
    def run(n: int) -> list[float]:
        start = time.time() + 3.0  # (after the imports and the warm-up export)
        procs = [subprocess.Popen([sys.executable, "-c", _WORKLOAD, piece, str(start), str(rounds)],
                                  stdout=subprocess.PIPE, text=True) for _ in range(n)]
        return [float(x) for p in procs for x in p.communicate(timeout=600)[0].split()]

    alone: list[float] = []
    paired: list[float] = []
    for _ in range(turns):
        alone += run(1)
        paired += run(2)
    return 2 * statistics.median(alone) / statistics.median(paired)


def export(files: list[str], out: str, client: Any) -> tuple[float, float, list[float]]:
    """Wall s, this process's CPU s and each worker's CPU s of one tcp export into ``out``."""
    from pcapkit.reports.dask_engine import export_dask
    from pcapkit.reports.export import export_local

    shutil.rmtree(out, ignore_errors=True)
    before = client.run(cpu_seconds) if client is not None else {}
    c0, t0 = cpu_seconds(), time.perf_counter()
    if client is None:
        res = export_local(files, out + "/", "tcp")
    else:
        res = export_dask(files, out + "/", "tcp", client=client)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    after = client.run(cpu_seconds) if client is not None else {}
    assert not res.errors, res.errors
    return wall, cpu, [after[w] - before[w] for w in sorted(before)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--pieces", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workers", default="1,2", help="cluster sizes to run (comma-separated)")
    ap.add_argument("--default-heap", action="store_true",
                    help="run the single-process export with glibc's heap as pcapkit sets it, not as the "
                         "workers have it (dask_engine.WORKER_HEAP)")
    args = ap.parse_args()
    from pcapkit.reports.dask_engine import WORKER_HEAP

    heap = {k: v for k, v in WORKER_HEAP.items() if k != "MALLOC_ARENA_MAX"}
    if not args.default_heap and any(os.environ.get(k) != v for k, v in heap.items()):
        # (glibc reads these when the process starts: the same heap for the one process as for the workers)
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **heap})
    import logging

    import pandas as pd

    from pcapkit.reports.dask_engine import export_dask, local_client
    from pcapkit.reports.export import export_local

    logging.getLogger("distributed").setLevel(logging.WARNING)
    load = os.getloadavg()
    capacity = [parallel_capacity()]
    work_capacity: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        count = subprocess.run(["capinfos", "-c", "-M", args.capture], capture_output=True, text=True,
                               check=True, timeout=600).stdout
        total = int(next(line for line in count.splitlines() if "Number of packets" in line).split(":")[1])
        per = -(-total // args.pieces)
        subprocess.run(["editcap", "-c", str(per), args.capture, str(src / "piece.pcap")], check=True,
                       capture_output=True, timeout=600)
        files = sorted(str(p) for p in src.iterdir())
        inputs = {f"(a) {len(files)} captures": files, "(b) one file, byte ranges": [args.capture]}
        work_capacity.append(workload_capacity(files[0]))
        warm = os.path.join(tmp, "warm")
        export_local([str(WARM)], warm + "/", "tcp")
        export_local(files[:2], warm + "/", "tcp")
        clients: dict[str, Any] = {ONE: None}
        starts: dict[str, float] = {}
        for n in (int(x) for x in args.workers.split(",")):
            t0 = time.perf_counter()
            c = local_client(n_workers=n)
            starts[f"{n} worker(s)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            export_dask([str(WARM)], warm + "/", "tcp", client=c)
            export_dask(files[:2], warm + "/", "tcp", client=c)
            starts[f"{n} worker(s) warm-up"] = time.perf_counter() - t0
            clients[f"Dask, {n} worker process{'es' if n > 1 else ''}"] = c
        runs: dict[tuple[str, str], list[tuple[float, float, list[float]]]] = {}
        try:
            for round_ in range(args.rounds):
                for what, files_in in inputs.items():
                    ref = None
                    for label, c in clients.items():
                        out = os.path.join(tmp, "out")
                        runs.setdefault((what, label), []).append(export(files_in, out, c))
                        if round_ > 0:
                            continue  # (same code, same input: checked once)
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
        work_capacity.append(workload_capacity(files[0]))
    capacity.append(parallel_capacity())
    print(f"{len(files)} captures of about {per:,} packets ({total:,} in all), {args.rounds} rounds; load average "
          f"before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print("cores two processes of this session got (two spinning against one), before / after: "
          + " / ".join(f"{c:.2f}" for c in capacity))
    print("cores two processes got for the work (the tcp export of one piece, two at once against one), "
          "before / after: " + " / ".join(f"{c:.2f}" for c in work_capacity))
    print("single-process heap: " + ("pcapkit's default" if args.default_heap else
                                     " ".join(f"{k}={v}" for k, v in heap.items())))
    print("cluster start-up and warm-up (s): " + ", ".join(f"{k} {v:.1f}" for k, v in starts.items()))
    print("| input | engine | wall s (median) | all rounds | driver CPU s | worker CPU s | wall speed-up | CPU speed-up | over 1 worker |")
    print("|---|---|---:|---|---:|---|---:|---:|---:|")
    for what in inputs:
        base_wall = statistics.median(r[0] for r in runs[(what, ONE)])
        base_cpu = statistics.median(r[1] for r in runs[(what, ONE)])
        one_worker = [label for label in clients if "1 worker" in label]
        worker_wall = statistics.median(r[0] for r in runs[(what, one_worker[0])]) if one_worker else None
        for label in clients:
            rs = runs[(what, label)]
            wall = statistics.median(r[0] for r in rs)
            driver = statistics.median(r[1] for r in rs)
            workers = [statistics.median(r[2][i] for r in rs) for i in range(len(rs[0][2]))]
            busiest = max([driver, *workers])
            print(f"| {what} | {label} | {wall:.2f} | {', '.join(f'{r[0]:.2f}' for r in rs)} | {driver:.2f} | "
                  f"{', '.join(f'{w:.2f}' for w in workers) or '-'} | {base_wall / wall:.2f}x | "
                  f"{base_cpu / busiest:.2f}x | "
                  + (f"{worker_wall / wall:.2f}x |" if worker_wall is not None and label != ONE else "- |"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
