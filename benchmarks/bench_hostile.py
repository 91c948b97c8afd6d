"""Every command on the hostile inputs (GitHub issue 11): wall time and peak RSS, next to
the reference tool that gives the same answer, in the same run.

    .venv/bin/python benchmarks/bench_hostile.py [--data benchmarks/data] [--inputs syns,frags,ooo]
        [--commands flows,tcp,...] [--ref ../other-checkout] [--no-tools]

The inputs are made by ``benchmarks/make_hostile.py``: ``syns.pcap`` (1,000,000 one-SYN
flows), ``frags.pcap`` (200,000 first IP fragments that never complete), ``ooo.pcap``
(one connection, 100,000 out-of-order segments with holes).

Each row runs the command as a user runs it: the CLI in a fresh process
(``python -m pcapkit CMD FILE``, its default output format; ``lab-tcp`` is ``lab tcp FILE``,
``export-tcp`` is ``export FILE --table tcp -o SCRATCH/tcp.parquet``), standard output to
/dev/null; the time is the whole process's wall time and the peak RSS its
``ru_maxrss`` (``os.wait4``). The reference commands, run the same way (each command
line once per input: rows with the same reference share its figures):

- tcp, handshakes, rtt, lab-tcp, export-tcp: tshark's TCP analysis,
  ``tshark -n -r FILE -T fields`` with tcp.stream, seq/ack, the tcp.analysis fields
  (ack_rtt, initial_rtt, bytes_in_flight, the flags);
- flows: ``tshark -n -q -r FILE -z conv,tcp``;
- tcptrace: ``tshark -n -q -r FILE -z conv,tcp`` for the target (issue 11 measures every
  command against tshark's time), and ``tcptrace -l -r FILE`` itself, shown in a second
  table (a C program that reads these files in a tenth of a second);
- read: ``tshark -n -r FILE`` (one line per packet); show: ``tshark -n -V -r FILE``
  (the tree of every packet);
- stats: ``capinfos FILE``; stats-hierarchy: ``tshark -z io,phs``; expert: ``tshark -z expert``;
  iostat: ``tshark -z io,stat,1``; dns, http: tshark's ``-Y dns|http`` fields; congestion, plot,
  report, export-rtt: tshark's TCP analysis; export-flows: ``-z conv,tcp``; export-packets:
  tshark's address/port fields; the labs other than tcp: ``tshark -n -r FILE``.

It prints a markdown table: pcapkit's wall seconds, CPU seconds and MB, the reference's,
the ratios (pcapkit / reference; on a shared machine the CPU ratio is the steadier one)
and whether the row meets issue 11's target (under 1 GB peak RSS, at most 3x the
reference's wall time; a command that refuses the input with one line on stderr, exit
status 1 and no traceback -- ``lab tcp`` on a file without an answerable connection --
counts as finished). ``--ref`` adds another pcapkit checkout's figures
(run interleaved, same rows).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

INPUTS = ("syns", "frags", "ooo")
COMMANDS = ("flows", "tcp", "handshakes", "rtt", "tcptrace", "lab-tcp", "export-tcp")
# (--commands may name these too; the last ones write a file, so --format does not apply)
MORE_COMMANDS = ("read", "stats", "show", "stats-hierarchy", "congestion", "expert", "dns", "http", "iostat",
                 "lab-intro", "lab-ip", "lab-udp", "lab-dns", "lab-http", "plot", "report", "export-flows",
                 "export-rtt", "export-packets")
TARGET_MB, TARGET_RATIO = 1024, 3.0  # issue 11: under 1 GB, within 3x the reference tool's time

_TSHARK_TCP = ["tshark", "-n", "-r", "{file}", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream",
               "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.nxtseq", "-e", "tcp.window_size",
               "-e", "tcp.analysis.ack_rtt", "-e", "tcp.analysis.initial_rtt",
               "-e", "tcp.analysis.bytes_in_flight", "-e", "tcp.analysis.acks_frame",
               "-e", "tcp.analysis.retransmission", "-e", "tcp.analysis.out_of_order",
               "-e", "tcp.analysis.lost_segment", "-e", "tcp.analysis.duplicate_ack_num",
               "-e", "tcp.analysis.ack_lost_segment"]
REFERENCE: dict[str, list[str]] = {
    "tcp": _TSHARK_TCP,
    "handshakes": _TSHARK_TCP,
    "rtt": _TSHARK_TCP,
    "lab-tcp": _TSHARK_TCP,
    "export-tcp": _TSHARK_TCP,
    "flows": ["tshark", "-n", "-q", "-r", "{file}", "-z", "conv,tcp"],
    "tcptrace": ["tshark", "-n", "-q", "-r", "{file}", "-z", "conv,tcp"],
    "read": ["tshark", "-n", "-r", "{file}"],
    "show": ["tshark", "-n", "-V", "-r", "{file}"],
    "stats": ["capinfos", "{file}"],
    "stats-hierarchy": ["tshark", "-n", "-q", "-r", "{file}", "-z", "io,phs"],
    "congestion": _TSHARK_TCP,  # (its cwnd proxy: tshark's bytes in flight)
    "plot": _TSHARK_TCP,
    "report": _TSHARK_TCP,
    "export-flows": ["tshark", "-n", "-q", "-r", "{file}", "-z", "conv,tcp"],
    "export-rtt": _TSHARK_TCP,
    "export-packets": ["tshark", "-n", "-r", "{file}", "-T", "fields", "-e", "frame.number", "-e", "ip.src",
                       "-e", "ip.dst", "-e", "tcp.srcport", "-e", "tcp.dstport"],
    "expert": ["tshark", "-n", "-q", "-r", "{file}", "-z", "expert"],
    "dns": ["tshark", "-n", "-r", "{file}", "-Y", "dns", "-T", "fields", "-e", "dns.qry.name", "-e", "dns.time"],
    "http": ["tshark", "-n", "-r", "{file}", "-Y", "http", "-T", "fields", "-e", "http.host", "-e", "http.time"],
    "iostat": ["tshark", "-n", "-q", "-r", "{file}", "-z", "io,stat,1"],
    # (the labs: tshark reading every packet once, the least any answer costs it)
    **{f"lab-{lab}": ["tshark", "-n", "-r", "{file}"] for lab in ("intro", "ip", "udp", "dns", "http")},
}
# a second reference shown beside the target's: the C tool of the same name
ALSO: dict[str, list[str]] = {"tcptrace": ["tcptrace", "-l", "-r", "{file}"]}


def measure(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 3600) -> dict[str, float]:
    """Wall seconds, CPU seconds (user + system), peak RSS (MB) and exit status of ``argv``,
    its output to /dev/null (killed after ``timeout`` seconds)."""
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=null, stderr=subprocess.PIPE, env=env, cwd=cwd)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        assert proc.stderr is not None
        err = proc.stderr.read()  # (small: drained so a chatty tool never blocks)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = err.decode(errors="replace")
    refused = proc.returncode == 1 and "Traceback" not in text and len(text.strip().splitlines()) == 1
    out = {"seconds": wall, "cpu": usage.ru_utime + usage.ru_stime, "mb": usage.ru_maxrss / 1024,
           "status": float(proc.returncode), "refused": float(refused)}
    if proc.returncode != 0:
        sys.stderr.write(f"{' '.join(argv)}: exit {proc.returncode}: {text[-500:]}\n")
    return out


def pcapkit_argv(command: str, file: str, scratch: Path, fmt: str | None = None) -> list[str]:
    """The command line of ``command`` on ``file`` (``lab-tcp``: ``lab tcp``; ``export-tcp``:
    ``export --table tcp`` to a Parquet file in ``scratch``), in output format ``fmt``."""
    if command.startswith("export-"):
        table = command.removeprefix("export-")
        return [sys.executable, "-m", "pcapkit", "export", file, "--table", table, "-o", str(scratch / f"{table}.parquet")]
    special = {"stats-hierarchy": ["stats", file, "--hierarchy"], "iostat": ["iostat", file, "-i", "1"],
               "plot": ["plot", file, "-o", str(scratch / "plot.png")],
               "report": ["report", file, "-o", str(scratch / "report.html")]}
    if command in special:
        return [sys.executable, "-m", "pcapkit", *special[command]]
    argv = [sys.executable, "-m", "pcapkit", *command.split("-"), file]
    return [*argv, "--format", fmt] if fmt and command not in MORE_COMMANDS else argv


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=HERE / "data")
    ap.add_argument("--inputs", default=",".join(INPUTS))
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--ref", type=Path, help="another pcapkit checkout, run interleaved with this one")
    ap.add_argument("--no-tools", action="store_true", help="skip the reference tools (tshark, tcptrace, capinfos)")
    ap.add_argument("--format", dest="fmt", help="output format of the report commands (table, csv, json; "
                    "default: each command's own)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds before a command is killed (shown failed)")
    args = ap.parse_args()
    checkouts = [("pcapkit", REPO)] + ([("ref", args.ref.resolve())] if args.ref else [])
    rows = []
    tools: dict[tuple[str, ...], dict[str, float]] = {}  # (one run of each reference command line)
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.inputs.split(","):
            file = str((args.data / f"{name}.pcap").resolve())
            for command in args.commands.split(","):
                row: dict[str, dict[str, float]] = {}
                for label, checkout in checkouts:
                    env = dict(os.environ, PYTHONPATH=str(checkout))
                    row[label] = measure(pcapkit_argv(command, file, Path(tmp), args.fmt), env=env, cwd=checkout,
                                         timeout=args.timeout)
                if not args.no_tools:
                    tool_argv = tuple(a.replace("{file}", file) for a in REFERENCE[command])
                    if tool_argv not in tools:
                        tools[tool_argv] = measure(list(tool_argv), timeout=args.timeout)
                    row["tool"] = tools[tool_argv]
                    if command in ALSO:
                        also_argv = tuple(a.replace("{file}", file) for a in ALSO[command])
                        if also_argv not in tools:
                            tools[also_argv] = measure(list(also_argv), timeout=args.timeout)
                        row["also"] = tools[also_argv]
                rows.append((name, command, row))
                print(f"{name:6s} {command:10s} " + "  ".join(
                    f"{label} {r['seconds']:7.1f} s {r['cpu']:7.1f} cpu {r['mb']:6.0f} MB"
                    + ("" if r["status"] == 0 else " FAILED")
                    for label, r in row.items()), file=sys.stderr, flush=True)
    print(table(rows, bool(args.ref), not args.no_tools))
    also = [(name, command, row) for name, command, row in rows if "also" in row]
    if also:
        print("\nThe same rows against the C tool of the same name:\n")
        print("| input | command | pcapkit s | pcapkit CPU s | pcapkit MB | C tool | s | CPU s | MB | time ratio |")
        print("|---|---|---:|---:|---:|---|---:|---:|---:|---:|")
        for name, command, row in also:
            mine, tool = row["pcapkit"], row["also"]
            shown = " ".join(ALSO[command]).replace("{file}", "FILE")
            print(f"| {name} | {command} | {mine['seconds']:.1f} | {mine['cpu']:.1f} | {mine['mb']:.0f} | `{shown}` | "
                  f"{tool['seconds']:.1f} | {tool['cpu']:.1f} | {tool['mb']:.0f} | {mine['seconds'] / tool['seconds']:.2f} |")
    load = os.getloadavg()
    print(f"\nload average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}; {os.cpu_count()} cores")


def table(rows: list[tuple[str, str, dict[str, dict[str, float]]]], ref: bool, tools: bool) -> str:
    """The markdown table of the measured rows."""
    head = "| input | command | pcapkit s | pcapkit CPU s | pcapkit MB |"
    rule = "|---|---|---:|---:|---:|"
    if ref:
        head += " ref s | ref CPU s | ref MB |"
        rule += "---:|---:|---:|"
    if tools:
        head += (f" reference tool | tool s | tool CPU s | tool MB | time ratio | CPU ratio | RSS ratio |"
                 f" < {TARGET_MB} MB and <= {TARGET_RATIO:g}x |")
        rule += "---|---:|---:|---:|---:|---:|---:|---|"
    lines = [head, rule]

    def cell(r: dict[str, float]) -> str:
        fail = "" if r["status"] == 0 else " (refused, 1 line)" if r.get("refused") else " (failed)"
        return f" {r['seconds']:.1f}{fail} | {r['cpu']:.1f} | {r['mb']:.0f} |"

    for name, command, row in rows:
        mine = row["pcapkit"]
        line = f"| {name} | {command} |" + cell(mine)
        if ref:
            line += cell(row["ref"])
        if tools:
            tool = row["tool"]
            ratio = mine["seconds"] / tool["seconds"]
            misses = [what for what, bad in (("memory", mine["mb"] >= TARGET_MB), ("time", ratio > TARGET_RATIO),
                                             ("failed", mine["status"] != 0 and not mine.get("refused"))) if bad]
            tool_argv = REFERENCE[command]
            shown = " ".join(tool_argv if len(tool_argv) <= 3 else tool_argv[:1] + tool_argv[-2:]).replace("{file}", "FILE")
            cpu_ratio = mine["cpu"] / max(tool["cpu"], 0.01)
            line += (f" `{shown}` |" + cell(tool) + f" {ratio:.2f} | {cpu_ratio:.2f} | {mine['mb'] / tool['mb']:.2f} |"
                     + (" yes |" if not misses else f" no ({', '.join(misses)}) |"))
        lines.append(line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
