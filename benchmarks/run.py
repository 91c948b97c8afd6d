"""Throughput of pcapkit against its peers, in one run on one capture.

    .venv/bin/python benchmarks/run.py benchmarks/data/bench-1M.pcap [-o benchmarks/RESULTS.md]

Every row runs in its own process (so peak memory is that row's own, read with
``os.wait4``). Python rows time only the work (imports done first, numba's compiled
kernels loaded from its cache by a warm-up on a tiny file); command-line rows (tshark,
tcptrace) are timed as the whole process, which is how one uses them. Slow tools run on
a cut (the first N packets, made with ``tcpdump -c N -w``). Rows whose module is missing
are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

HEADER_FIELDS = ["frame.number", "frame.time_epoch", "frame.len", "eth.src", "eth.dst", "eth.type",
                 "ip.src", "ip.dst", "ip.proto", "ip.ttl", "ip.id", "ip.len", "tcp.srcport", "tcp.dstport",
                 "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value", "tcp.len",
                 "tcp.hdr_len", "tcp.options.mss_val", "tcp.options.wscale.shift",
                 "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr"]
ANALYSIS_FIELDS = ["frame.number", "tcp.stream", "tcp.seq", "tcp.ack", "tcp.analysis.ack_rtt",
                   "tcp.analysis.bytes_in_flight", "tcp.analysis.retransmission",
                   "tcp.analysis.duplicate_ack", "tcp.analysis.lost_segment"]


# --------------------------------------------------------------------------------------
# workers: each returns the number of packets it handled; the parent times and measures

def w_read_bytes(path: str) -> int:
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(32 << 20)
            if not b:
                break
            n += len(b)
    return -n  # bytes, not packets


def w_columnar(path: str, use_numba: bool = True, backend: str = "numpy_nullable") -> tuple[int, int]:
    from pcapkit.columnar.api import read_packets

    df = read_packets(path, use_numba=use_numba, dtype_backend=backend)
    return len(df), int(df.memory_usage(deep=True, index=False).sum())


def w_columnar_arrow(path: str) -> tuple[int, int]:
    return w_columnar(path, backend="pyarrow")


def w_columnar_struct(path: str) -> tuple[int, int]:
    return w_columnar(path, use_numba=False)


def w_columnar_stream(path: str) -> int:
    """Streaming (iter_batches, 64k packets per batch): memory bounded by the batch."""
    from pcapkit.columnar.api import iter_batches

    n = 0
    for df in iter_batches(path, 1 << 16):
        n += len(df)
    return n


def w_perpacket(path: str) -> int:
    from pcapkit.dissect.driver import dissect_file

    n = 0
    for pkt in dissect_file(path):
        pkt.fields()
        n += 1
    return n


def w_dpkt(path: str) -> int:
    import dpkt

    rows = []
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            row: tuple[Any, ...] = (ts, len(buf), eth.src, eth.dst, eth.type)
            if isinstance(ip, dpkt.ip.IP):
                row += (ip.src, ip.dst, ip.p, ip.ttl, ip.id, ip.len)
                tcp = ip.data
                if isinstance(tcp, dpkt.tcp.TCP):
                    row += (tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.flags, tcp.win,
                            dpkt.tcp.parse_opts(tcp.opts))
            rows.append(row)
    return len(rows)


def w_scapy(path: str) -> int:
    from scapy.all import IP, TCP, Ether, PcapReader  # type: ignore[import-not-found]

    rows = []
    for pkt in PcapReader(path):
        row: tuple[Any, ...] = (pkt.time, len(pkt))
        if Ether in pkt:
            row += (pkt[Ether].src, pkt[Ether].dst, pkt[Ether].type)
        if IP in pkt:
            ip = pkt[IP]
            row += (ip.src, ip.dst, ip.proto, ip.ttl, ip.id, ip.len)
        if TCP in pkt:
            t = pkt[TCP]
            row += (t.sport, t.dport, t.seq, t.ack, int(t.flags), t.window, t.options)
        rows.append(row)
    return len(rows)


def w_pyshark(path: str) -> int:
    import pyshark

    rows = []
    cap = pyshark.FileCapture(path, keep_packets=False)
    try:
        for pkt in cap:
            row: tuple[Any, ...] = (pkt.sniff_timestamp, pkt.length)
            if hasattr(pkt, "ip"):
                row += (pkt.ip.src, pkt.ip.dst, pkt.ip.proto)
            if hasattr(pkt, "tcp"):
                row += (pkt.tcp.srcport, pkt.tcp.dstport, pkt.tcp.seq_raw, pkt.tcp.flags)
            rows.append(row)
    finally:
        cap.close()
    return len(rows)


def w_tshark_fields(path: str) -> int:
    import io

    import pandas as pd

    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=f"]
    for f in HEADER_FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    df = pd.read_csv(io.BytesIO(out), sep="\t", header=None, names=HEADER_FIELDS, low_memory=False)
    return len(df)


def w_tcp_frames(path: str) -> int:
    from pcapkit.reports.tcp import tcp_frames

    return len(tcp_frames(path))


def w_tcp_frames_cold(path: str) -> int:
    """tcp_frames as the first call of a process: numba imported and the compiled TCP
    engine loaded from numba's on-disk cache inside the timing (compiling from scratch,
    once per machine, is measured apart: NUMBA_CACHE_DIR set to an empty directory)."""
    return w_tcp_frames(path)


def w_tcp_frames_python(path: str) -> int:
    """tcp_frames with the TCP analysis interpreted (PCAPKIT_NO_NUMBA=1): the code the
    compiled row runs, run by CPython (the columnar reader keeps its numba walk)."""
    os.environ["PCAPKIT_NO_NUMBA"] = "1"
    from pcapkit.reports.tcp import tcp_frames

    return len(tcp_frames(path))


WORKERS = {name[2:]: fn for name, fn in globals().items() if name.startswith("w_")}


def worker_main(name: str, path: str) -> None:
    fn = WORKERS[name]
    if name.startswith("columnar"):
        # load numba's cached kernels (not for the no-numba row) and pandas before timing
        from pcapkit.columnar.api import read_packets

        small = REPO / "captures"
        warm = next(iter(sorted(small.glob("*.pcap"))), None)
        if warm is not None:
            read_packets(warm, use_numba=False if name == "columnar_struct" else None)
    elif name == "tcp_frames":
        # load numba's cached kernels (columnar + TCP engine) and pandas before timing
        from pcapkit.reports.tcp import tcp_frames

        warm = next(iter(sorted((REPO / "captures").glob("*.pcap"))), None)
        if warm is not None:
            tcp_frames(warm)
    elif name in ("perpacket", "tcp_frames_cold", "tcp_frames_python"):
        import pandas  # noqa: F401
    t0 = time.perf_counter()
    n = fn(path)
    dt = time.perf_counter() - t0
    table_bytes = None
    if isinstance(n, tuple):
        n, table_bytes = n
    print(json.dumps({"n": n, "seconds": dt, "table_bytes": table_bytes}))


# --------------------------------------------------------------------------------------
# the parent

def run_child(argv: list[str], *, python_worker: bool) -> dict[str, Any]:
    """Run argv; return seconds (worker's own timing or wall time), peak RSS, output."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    # the child is already reaped by communicate(); peak RSS of the largest child so far
    # is in RUSAGE_CHILDREN, so each row runs from a fresh parent via run_isolated()
    res: dict[str, Any] = {"rc": proc.returncode, "wall": wall, "stderr": err.decode(errors="replace")[-400:]}
    if python_worker and proc.returncode == 0:
        info = json.loads(out.decode().strip().splitlines()[-1])
        res.update(info)
    else:
        res["stdout_lines"] = out.count(b"\n")
    return res


def run_isolated(argv: list[str], *, python_worker: bool) -> dict[str, Any]:
    """Fork a small parent per row so that RUSAGE_CHILDREN is this row's peak RSS."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        import resource

        res = run_child(argv, python_worker=python_worker)
        res["maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        os.write(w, json.dumps(res).encode())
        os.close(w)
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks))


def cut(path: str, n: int, tmp: str) -> str:
    out = os.path.join(tmp, f"cut-{n}.pcap")
    subprocess.run(["tcpdump", "-r", path, "-c", str(n), "-w", out], check=True,
                   capture_output=True)
    return out


def count_packets(path: str) -> int:
    out = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if "Number of packets" in line:
            return int(line.split(":")[1].strip())
    raise RuntimeError("capinfos gave no packet count")


def startup_times(repeat: int = 7) -> dict[str, float]:
    """Median wall time of `import pcapkit` and `pcapkit --help` (fresh interpreters)."""
    import statistics

    out = {}
    cases = {
        "python -c 'import pcapkit'": [sys.executable, "-c", "import pcapkit"],
        "pcapkit --help": [sys.executable, "-m", "pcapkit", "--help"],
        "python -c 'pass' (interpreter alone)": [sys.executable, "-c", "pass"],
    }
    for label, argv in cases.items():
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True, cwd=REPO)
            times.append(time.perf_counter() - t0)
        out[label] = statistics.median(times)
    return out


def e2e_section(path: str, repeat: int) -> list[str]:
    """Each command as a whole process against its C tool (bench_e2e.py), as markdown."""
    sys.path.insert(0, str(HERE))
    import bench_e2e

    lines = ["## End to end: each command against its C tool", "",
             f"`benchmarks/bench_e2e.py --data DIR --big {os.path.basename(path)} --others --every-command --repeat {repeat}`; "
             "ratios are pcapkit / C tool.", "",
             *bench_e2e.section(os.path.dirname(path), [os.path.basename(path)], bench_e2e.DEFAULT_SMALL,
                                None, repeat, others=True, every=True)]
    # the same run: export --table tcp in one process and on Dask clusters of 1 and 2 workers
    dask = subprocess.run([sys.executable, str(HERE / "bench_dask.py"), path, "--rounds", str(max(repeat, 1))],
                          capture_output=True, text=True, check=True, cwd=REPO)
    return [*lines, "", "### Dask: `export --table tcp`, one process against 1 and 2 worker processes", "",
            f"`benchmarks/bench_dask.py {os.path.basename(path)} --rounds {max(repeat, 1)}`:", "",
            *dask.stdout.splitlines()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("capture", nargs="?")
    ap.add_argument("-o", "--output", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--scapy-cut", type=int, default=20_000)
    ap.add_argument("--pyshark-cut", type=int, default=2_000)
    ap.add_argument("--perpacket-cut", type=int, default=100_000)
    ap.add_argument("--e2e-repeat", type=int, default=1,
                    help="Runs of each whole command against its C tool (benchmarks/bench_e2e.py) "
                         "on the capture and a small lab trace; 0: leave that section out.")
    ap.add_argument("--e2e-only", action="store_true", help="Only the end-to-end section.")
    ap.add_argument("--worker", nargs=2, metavar=("NAME", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return 0
    path = os.path.abspath(args.capture)
    if args.e2e_only:
        Path(args.output).write_text("\n".join(e2e_section(path, max(args.e2e_repeat, 1))) + "\n",
                                     encoding="utf-8")
        return 0
    load_before = os.getloadavg()
    total = count_packets(path)
    size = os.path.getsize(path)
    py = sys.executable
    me = os.path.abspath(__file__)
    rows: list[dict[str, Any]] = []
    env_note = []
    with tempfile.TemporaryDirectory() as tmp:
        cuts = {n: cut(path, n, tmp) for n in {args.scapy_cut, args.pyshark_cut, args.perpacket_cut}}

        def py_row(label: str, name: str, file: str, n_expected: int, what: str) -> None:
            argv = [py, me, "--worker", name, file]
            res = run_isolated(argv, python_worker=True)
            # the capture as given on the command line (relative), never this machine's path
            shown = args.capture if file == path else f"first {n_expected:,} packets"
            cmd = f"{os.path.relpath(py, REPO)} benchmarks/run.py --worker {name} <{shown}>"
            rows.append({"label": label, "what": what, "res": res, "n": n_expected, "cmd": cmd})
            print(label, json.dumps({k: v for k, v in res.items() if k != 'stderr'}), file=sys.stderr)

        def cli_row(label: str, argv: list[str], n: int, what: str) -> None:
            if shutil.which(argv[0]) is None:
                rows.append({"label": label, "what": what, "res": {"rc": -1, "stderr": "not installed"},
                             "n": n, "cmd": " ".join(argv)})
                return
            res = run_isolated(argv, python_worker=False)
            res["seconds"] = res["wall"]
            res["n"] = n
            shown = " ".join(shlex.quote(a) if a != path else "<capture>" for a in argv)
            rows.append({"label": label, "what": what, "res": res, "n": n, "cmd": shown})
            print(label, json.dumps({k: v for k, v in res.items() if k != 'stderr'}), file=sys.stderr)

        py_row("read the file's bytes", "read_bytes", path, total, "baseline: 32 MiB reads")
        py_row("**pcapkit columnar** (numba)", "columnar", path, total, "header fields -> DataFrame")
        py_row("pcapkit columnar, pyarrow dtypes", "columnar_arrow", path, total,
               "same, dtype_backend='pyarrow'")
        py_row("pcapkit columnar, no numba", "columnar_struct", path, total, "same, struct offset walk")
        py_row("pcapkit columnar, streaming", "columnar_stream", path, total,
               "iter_batches(64k), nothing kept")
        try:
            import pcapkit.dissect.driver
            py_row("pcapkit per-packet dissect", "perpacket", cuts[args.perpacket_cut],
                   args.perpacket_cut, "dissect() + fields(), all layers")
        except ImportError:
            env_note.append("pcapkit.dissect.driver missing: per-packet row skipped")
        py_row("dpkt", "dpkt", path, total, "eth/ip/tcp + options per packet")
        try:
            import scapy  # noqa: F401
            py_row("scapy", "scapy", cuts[args.scapy_cut], args.scapy_cut, "PcapReader + layer fields")
        except ImportError:
            env_note.append("scapy missing: row skipped")
        py_row("pyshark", "pyshark", cuts[args.pyshark_cut], args.pyshark_cut, "FileCapture, a few fields")
        py_row("tshark -T fields -> pandas", "tshark_fields", path, total,
               f"{len(HEADER_FIELDS)} header fields, read_csv")
        try:
            import pcapkit.reports.tcp  # noqa: F401
            py_row("**pcapkit tcp_frames**", "tcp_frames", path, total,
                   "full TCP analysis -> DataFrame (compiled engine, warm)")
            py_row("pcapkit tcp_frames, first call", "tcp_frames_cold", path, total,
                   "same, numba import + cached kernels in the timing")
            py_row("pcapkit tcp_frames, interpreted analysis", "tcp_frames_python", path, total,
                   "same, PCAPKIT_NO_NUMBA=1: the analysis run by CPython")
        except ImportError:
            env_note.append("pcapkit.reports.tcp missing: TCP analysis row skipped")
        tshark_an = ["tshark", "-n", "-r", path, "-T", "fields"]
        for f in ANALYSIS_FIELDS:
            tshark_an += ["-e", f]
        cli_row("tshark TCP analysis", tshark_an, total, "tcp.analysis.* fields to text")
        cli_row("tcptrace -l -r", ["tcptrace", "-l", "-r", path], total, "per-connection stats + RTT")

    startup = startup_times()
    env_note.append("load average (1/5/15 min) before: {:.1f}/{:.1f}/{:.1f}, after: {:.1f}/{:.1f}/{:.1f} "
                    "(other jobs share the machine: compare ratios within this run)".format(
                        *load_before, *os.getloadavg()))
    write_results(args.output, path, total, size, rows, env_note, startup)
    if args.e2e_repeat > 0:
        with open(args.output, "a", encoding="utf-8") as out:
            out.write("\n" + "\n".join(e2e_section(path, args.e2e_repeat)) + "\n")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def _rate(row: dict[str, Any]) -> float | None:
    res = row["res"]
    if res.get("rc") != 0 or not res.get("seconds"):
        return None
    n = row["n"]
    return float(n) / float(res["seconds"])


def write_results(output: str, path: str, total: int, size: int, rows: list[dict[str, Any]],
                  notes: list[str], startup: dict[str, float]) -> None:
    by = {r["label"]: r for r in rows}
    dpkt_rate = _rate(by["dpkt"]) if "dpkt" in by else None
    tshark_rate = _rate(by["tshark -T fields -> pandas"]) if "tshark -T fields -> pandas" in by else None
    bytes_rate = _rate(by["read the file's bytes"])
    lines = [
        "# pcapkit benchmark",
        "",
        f"Capture: `{os.path.relpath(path, REPO)}` — {total:,} packets, {size / 1e6:.1f} MB, a real TCP "
        "transfer between two network namespaces made by `benchmarks/make_capture.py` "
        "(iperf3, MSS 300, 4 streams, tcpdump -w).",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared), Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. One run of "
        "`.venv/bin/python benchmarks/run.py benchmarks/data/bench-1M.pcap`; every row in its own process; "
        "peak RSS is that process's. Python rows time the work after imports; tshark/tcptrace rows "
        "time the whole command.",
        "",
        "| tool | what | packets | seconds | packets/s | × dpkt | × tshark fields | peak RSS MB | table B/pkt |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        res = r["res"]
        rate = _rate(r)
        if r["label"] == "read the file's bytes" and rate is not None:
            rate_s = f"{size / res['seconds'] / 1e6:,.0f} MB/s"
            lines.append(f"| {r['label']} | {r['what']} | — | {res['seconds']:.2f} | {rate_s} | | | "
                         f"{res.get('maxrss_kb', 0) / 1024:.0f} | |")
            continue
        if rate is None:
            lines.append(f"| {r['label']} | {r['what']} | | | skipped/failed: "
                         f"{res.get('stderr', '').strip().splitlines()[-1:] } | | | | |")
            continue
        xd = f"{rate / dpkt_rate:.1f}" if dpkt_rate else ""
        xt = f"{rate / tshark_rate:.1f}" if tshark_rate else ""
        tb = res.get("table_bytes")
        tb_s = f"{tb / r['n']:.0f}" if tb else ""
        lines.append(f"| {r['label']} | {r['what']} | {r['n']:,} | {res['seconds']:.2f} | {rate:,.0f} | "
                     f"{xd} | {xt} | {res.get('maxrss_kb', 0) / 1024:.0f} | {tb_s} |")
    col = by.get("**pcapkit columnar** (numba)")
    if col and bytes_rate and _rate(col):
        lines += ["", f"Columnar decoding takes {col['res']['seconds'] / by['read the file' + chr(39) + 's bytes']['res']['seconds']:.1f}× "
                  "the time of reading the file's bytes."]
    lines += ["", "Start-up (median of 7 fresh processes, wall time):", ""]
    for label, secs in startup.items():
        lines.append(f"- `{label}`: {secs:.3f} s")
    lines += ["", "Exact commands (workers are functions in benchmarks/run.py):", ""]
    for r in rows:
        lines.append(f"- {r['label']}: `{r['cmd']}`")
    if notes:
        lines += ["", "Notes: " + "; ".join(notes)]
    Path(output).write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
