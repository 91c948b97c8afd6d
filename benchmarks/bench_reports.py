"""The TCP reports end to end (tcp, handshakes, rtt, flows, tcptrace, plot, lab) on one
capture, this checkout against another checkout of pcapkit in the same run.

    .venv/bin/python benchmarks/bench_reports.py benchmarks/data/bench-1M.pcap --ref ../old-checkout

Each row runs the report's Python API in a fresh process (``PYTHONPATH`` pointing at the
checkout; pcapkit, numpy, pandas and numba's cached kernels are imported and warmed on a
tiny capture first, so the timing is the report's own work), and reads the process's
peak RSS from ``os.wait4``. Rows of the two checkouts alternate, ``--repeat`` times.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

# report name -> Python statements run on ``path`` (a str); each leaves ``result``
REPORTS = {
    "tcp": "from pcapkit.reports.tcp import tcp_frames\nresult = tcp_frames(path)",
    "handshakes": "from pcapkit.reports.handshakes import handshakes\nresult = handshakes(path)",
    "rtt": "from pcapkit.reports.rtt import rtt_samples\nresult = rtt_samples(path)",
    "flows": "from pcapkit.reports.flows import flows\nresult = flows(path)",
    "tcptrace": "from pcapkit.tcpflow.tcptrace import tcptrace_stats\nresult = tcptrace_stats(path)",
    "plot": ("import matplotlib\nmatplotlib.use('Agg')\nfrom pcapkit.reports.plots import plot\n"
             "result = plot(path, 'cwnd', stream=1)\nresult.savefig(os.devnull, format='png')"),
    "lab": "from pcapkit.reports.lab import lab_tcp\nresult = lab_tcp(path)",
}

CHILD = """
import os, sys, time, json, warnings
warnings.simplefilter("ignore")
path, warm = sys.argv[1], sys.argv[2]
import numpy, pandas, pcapkit
{imports}
for path_ in (warm,):
    path, real = path_, path
    try:
{warm_body}
    except Exception:
        pass
    path = real
t0, c0 = time.perf_counter(), time.process_time()
{body}
print(json.dumps({{"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0,
                  "rows": len(result) if hasattr(result, "__len__") else 0}}))
"""


def _indent(code: str, n: int) -> str:
    return "\n".join(" " * n + line for line in code.splitlines())


def run(checkout: Path, report: str, path: str, warm: str) -> dict[str, float]:
    code = REPORTS[report]
    src = CHILD.format(imports="", warm_body=_indent(code, 8), body=code)
    env = dict(os.environ, PYTHONPATH=str(checkout))
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", src, path, warm], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=str(checkout))
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if status != 0:
        return {"error": 1.0, "wall": wall, "maxrss_mb": usage.ru_maxrss / 1024, "stderr": err[-300:]}  # type: ignore[dict-item]
    info = json.loads(out.strip().splitlines()[-1])
    return {"seconds": info["seconds"], "cpu": info["cpu"], "rows": info["rows"], "wall": wall,
            "maxrss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture")
    ap.add_argument("--ref", type=Path, help="another pcapkit checkout to compare with, in the same run")
    ap.add_argument("--reports", default=",".join(REPORTS), help="comma-separated: " + ",".join(REPORTS))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--warm", default=str(REPO / "captures" / "tcp-download.pcapng"))
    ap.add_argument("--json", type=Path, help="write the raw results here")
    args = ap.parse_args()
    capture, warm = str(Path(args.capture).resolve()), str(Path(args.warm).resolve())
    checkouts = [("this", REPO)] + ([("ref", args.ref.resolve())] if args.ref else [])
    results: dict[str, dict[str, list[dict[str, float]]]] = {}
    for _ in range(args.repeat):
        for report in args.reports.split(","):
            for name, checkout in checkouts:
                r = run(checkout, report, capture, warm)
                results.setdefault(report, {}).setdefault(name, []).append(r)
                print(f"{report:11s} {name:5s} {r.get('seconds', float('nan')):8.2f} s "
                      f"{r.get('cpu', float('nan')):8.2f} s CPU "
                      f"{r['maxrss_mb']:7.0f} MB{'  ERROR ' + str(r.get('stderr')) if 'error' in r else ''}",
                      flush=True)
    load = os.getloadavg()
    # CPU seconds (user + system of the report's work) are the figure to compare on a shared
    # machine: wall time there depends on what else runs
    print("\n| report | this: s | this: CPU s | this: peak RSS MB |"
          + (" ref: s | ref: CPU s | ref: peak RSS MB | ref / this (CPU) |" if args.ref else ""))
    print("|---|---:|---:|---:|" + ("---:|---:|---:|---:|" if args.ref else ""))
    for report, by in results.items():
        this = [r for r in by["this"] if "seconds" in r]
        line = (f"| {report} | {statistics.median(r['seconds'] for r in this):.2f} |"
                f" {statistics.median(r['cpu'] for r in this):.2f} |"
                f" {max(r['maxrss_mb'] for r in by['this']):.0f} |") if this else f"| {report} | error | | |"
        if args.ref:
            ref = [r for r in by["ref"] if "seconds" in r]
            if ref and this:
                ref_cpu = statistics.median(r["cpu"] for r in ref)
                line += (f" {statistics.median(r['seconds'] for r in ref):.2f} | {ref_cpu:.2f} |"
                         f" {max(r['maxrss_mb'] for r in by['ref']):.0f} |"
                         f" {ref_cpu / statistics.median(r['cpu'] for r in this):.1f} |")
            else:
                line += " error | | | |"
        print(line)
    print(f"\nload average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
