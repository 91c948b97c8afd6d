"""Each pcapkit command as a user runs it (a whole process) against the C tool that gives
the same answer, on the same file, interleaved in one run.

    .venv/bin/python benchmarks/bench_e2e.py --data benchmarks/data [--big bench-100k.pcap]
        [--small LAB_TRACE] [--commands read,flows,...] [--others] [--every-command] [--repeat 3]
        [-o table.md]

Every process writes its standard output to /dev/null and is reaped with ``os.wait4``:
the table gives its wall time, its CPU seconds (user + system) and its peak RSS
(``ru_maxrss``). pcapkit runs as ``python -m pcapkit`` with this checkout first on
``PYTHONPATH``; numba's on-disk cache is warmed first by one untimed run of each command on
the small file and on a 30,000-packet cut of the first big one (big enough for the compiled
kernels), so the figures are those of a user's second run, not of the first-ever compile.
Pairs run alternately (pcapkit, C tool, pcapkit, ...) so that the load of the shared
machine falls on both; the ratio columns are pcapkit / C tool (below 1: pcapkit is
faster). Values are medians over ``--repeat`` runs.
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
from dataclasses import dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_SMALL = "labs/tcp-ethereal-trace-1"  # 213 frames, in the shared corpus
WARM_PACKETS = 30_000  # a cut of this many packets of a benchmark capture: over 4 MB
# pcapkit tcp's columns that are not Wireshark fields (tshark cannot print them)
NOT_TSHARK_FIELDS = {"analysis_limited"}
TSHARK_TCP_PREFS = ["-o", "tcp.analyze_sequence_numbers:TRUE", "-o", "tcp.calculate_timestamps:TRUE"]


@dataclass
class Pair:
    """One command of pcapkit and the C tool's command for the same answer (``{}`` is the file)."""

    name: str
    pcapkit: list[str]
    c_tool: list[str]
    # the command's own traces (relative to $PCAPKIT_CORPUS): ``{}`` is the first, ``{2}`` the
    # second; none: the file the table is about
    inputs: tuple[str, ...] = ()

    def argv(self, side: str, path: str) -> list[str]:
        words = self.pcapkit if side == "pcapkit" else self.c_tool
        head = [sys.executable, "-m", "pcapkit"] if side == "pcapkit" else []
        files = {"{}": path, **{f"{{{i + 1}}}": corpus_path(name) for i, name in enumerate(self.inputs) if i}}
        if self.inputs:
            files["{}"] = corpus_path(self.inputs[0])
        return head + [files.get(w, w) for w in words]

    def shown(self, side: str) -> str:
        words = self.pcapkit if side == "pcapkit" else self.c_tool
        fields = [w for i, w in enumerate(words) if i and words[i - 1] == "-e"]
        if len(fields) > 8:  # the tcp table's columns: named once, below the table
            first = words.index("-e")
            what = "pcapkit tcp's CSV columns" if self.name == "tcp" else "listed in bench_e2e.py"
            words = [*words[:first], f"-e ... ({len(fields)} fields: {what})"]
        names = {"{}": "FILE", EXPORT_TARGET: "OUT.parquet",
                 **{f"{{{i + 1}}}": Path(n).name for i, n in enumerate(self.inputs)}}
        return " ".join((["pcapkit"] if side == "pcapkit" else []) + [names.get(w, w) for w in words])


def corpus_path(name: str) -> str:
    """``name`` as given when it exists, else relative to $PCAPKIT_CORPUS (default: the shared
    corpus next to the repository)."""
    return name if os.path.exists(name) else os.path.join(
        os.environ.get("PCAPKIT_CORPUS", str(REPO.parent / "shared" / "corpus")), name)


@dataclass
class Run:
    wall: float
    cpu: float
    maxrss_mb: float
    rc: int


def tcp_table_fields(small: str) -> list[str]:
    """The Wireshark fields of ``pcapkit tcp --format csv`` (its CSV header), so tshark prints
    the same columns."""
    out = subprocess.run([sys.executable, "-m", "pcapkit", "tcp", "--format", "csv", small],
                         capture_output=True, text=True, check=True, env=_env(), timeout=600).stdout
    header = out.splitlines()[0].split(",")
    return [f for f in header if f not in NOT_TSHARK_FIELDS]


def pairs(tcp_fields: list[str]) -> dict[str, Pair]:
    """The big-file pairs: each command against the C tool the issue names."""
    fields = [w for f in tcp_fields for w in ("-e", f)]
    return {
        "read": Pair("read", ["read", "{}"], ["tcpdump", "-nr", "{}"]),
        "flows": Pair("flows", ["flows", "{}"], ["tshark", "-n", "-q", "-z", "conv,tcp", "-r", "{}"]),
        "tcp": Pair("tcp", ["tcp", "--format", "csv", "{}"],
                    ["tshark", "-n", *TSHARK_TCP_PREFS, "-r", "{}", "-Y", "tcp", "-T", "fields",
                     "-E", "separator=,", "-E", "header=y", *fields]),
        # (-n as pcapkit's: without it tcptrace looks up a name per address, which dominates
        # on many connections)
        "tcptrace": Pair("tcptrace", ["tcptrace", "{}"], ["tcptrace", "-n", "-lr", "{}"]),
        "stats": Pair("stats", ["stats", "{}"], ["capinfos", "{}"]),
    }


def small_pairs(tcp_fields: list[str]) -> dict[str, Pair]:
    """The small-file pairs: every command against tshark's (or the C tool's) same answer."""
    big = pairs(tcp_fields)
    return {
        "read": Pair("read", ["read", "{}"], ["tshark", "-n", "-r", "{}"]),
        "flows": big["flows"],
        "tcp": big["tcp"],
        "tcptrace": big["tcptrace"],
        "stats": Pair("stats", ["stats", "{}"], ["tshark", "-n", "-q", "-z", "io,phs", "-r", "{}"]),
        "handshakes": Pair("handshakes", ["handshakes", "{}"],
                           ["tshark", "-n", *TSHARK_TCP_PREFS, "-r", "{}", "-Y", "tcp.flags.syn==1", "-T",
                            "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.flags",
                            "-e", "tcp.options.mss_val", "-e", "tcp.options.wscale.shift"]),
        "rtt": Pair("rtt", ["rtt", "{}"],
                    ["tshark", "-n", *TSHARK_TCP_PREFS, "-r", "{}", "-Y", "tcp.analysis.ack_rtt", "-T",
                     "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.analysis.ack_rtt"]),
        "lab tcp": Pair("lab tcp", ["lab", "tcp", "{}"],
                        ["tshark", "-n", *TSHARK_TCP_PREFS, "-r", "{}", "-Y", "tcp", "-T", "fields",
                         "-e", "frame.number", "-e", "tcp.seq", "-e", "tcp.len", "-e", "tcp.analysis.ack_rtt",
                         "-e", "tcp.window_size", "-e", "tcp.analysis.retransmission"]),
    }


def _fields(*names: str) -> list[str]:
    return [w for name in names for w in ("-e", name)]


EXPORT_TARGET = os.path.join(tempfile.gettempdir(), "pcapkit-bench-e2e-export.parquet")


def other_pairs() -> dict[str, Pair]:
    """Every other report command on a small capture, each on the Kurose & Ross trace its lab
    is about, against one tshark run for the same answer (the fields or statistics the
    command's table is made of)."""
    tcp, lab = DEFAULT_SMALL, "labs/"
    return {
        "expert": Pair("expert", ["expert", "{}"], ["tshark", "-n", "-q", "-z", "expert", "-r", "{}"], (tcp,)),
        "iostat": Pair("iostat", ["iostat", "{}"], ["tshark", "-n", "-q", "-z", "io,stat,1", "-r", "{}"], (tcp,)),
        "congestion": Pair("congestion", ["congestion", "{}"],
                           ["tshark", "-n", *TSHARK_TCP_PREFS, "-r", "{}", "-Y", "tcp", "-T", "fields",
                            *_fields("frame.number", "tcp.stream", "tcp.analysis.bytes_in_flight")], (tcp,)),
        "show": Pair("show", ["show", "{}"], ["tshark", "-n", "-V", "-r", "{}"], (tcp,)),
        "export": Pair("export", ["export", "--table", "packets", "-o", EXPORT_TARGET, "{}"],
                       ["tshark", "-n", "-r", "{}", "-T", "fields", "-E", "separator=,", "-E", "header=y",
                        *_fields("frame.number", "frame.time_epoch", "frame.len", "eth.src", "eth.dst", "ip.src",
                                 "ip.dst", "ip.proto", "ip.ttl", "tcp.srcport", "tcp.dstport", "tcp.seq_raw",
                                 "tcp.ack_raw", "tcp.flags", "tcp.len", "udp.srcport", "udp.dstport")], (tcp,)),
        "dns": Pair("dns", ["dns", "{}"],
                    ["tshark", "-n", "-r", "{}", "-Y", "dns", "-T", "fields",
                     *_fields("frame.number", "dns.qry.name", "dns.qry.type", "dns.flags.response", "dns.a",
                              "dns.time")], (lab + "dns-ethereal-trace-2",)),
        "http": Pair("http", ["http", "{}"],
                     ["tshark", "-n", "-r", "{}", "-Y", "http", "-T", "fields",
                      *_fields("frame.number", "http.request.method", "http.request.uri", "http.response.code",
                               "http.content_length", "http.time")], (lab + "http-ethereal-trace-4",)),
        "lab intro": Pair("lab intro", ["lab", "intro", "{}"],
                          ["tshark", "-n", "-r", "{}", "-z", "io,phs", "-T", "fields",
                           *_fields("frame.number", "frame.time_relative", "frame.protocols", "ip.src", "ip.dst",
                                    "http.request.method", "http.response.code")], (lab + "http-ethereal-trace-1",)),
        "lab http": Pair("lab http", ["lab", "http", "{}"],
                         ["tshark", "-n", "-r", "{}", "-Y", "http", "-T", "fields",
                          *_fields("frame.number", "ip.src", "ip.dst", "http.request.version", "http.response.code",
                                   "http.last_modified", "http.content_length", "http.user_agent",
                                   "http.accept_language")], (lab + "http-ethereal-trace-1",)),
        "lab dns": Pair("lab dns", ["lab", "dns", "{}"],
                        ["tshark", "-n", "-r", "{}", "-Y", "dns", "-T", "fields",
                         *_fields("frame.number", "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "dns.qry.name",
                                  "dns.qry.type", "dns.resp.name", "dns.a", "dns.ns", "dns.count.answers")],
                        (lab + "dns-ethereal-trace-2",)),
        "lab udp": Pair("lab udp", ["lab", "udp", "{}"],
                        ["tshark", "-n", "-r", "{}", "-Y", "udp", "-T", "fields",
                         *_fields("frame.number", "ip.proto", "udp.srcport", "udp.dstport", "udp.length",
                                  "udp.checksum")], (lab + "udp-wireshark-trace.pcap",)),
        "lab ip": Pair("lab ip", ["lab", "ip", "{}"],
                       ["tshark", "-n", "-r", "{}", "-Y", "icmp or ip.flags.mf==1 or ip.frag_offset>0", "-T", "fields",
                        *_fields("frame.number", "ip.src", "ip.dst", "ip.ttl", "ip.id", "ip.len", "ip.flags.mf",
                                 "ip.frag_offset", "ip.proto", "ip.hdr_len", "ip.dsfield", "icmp.type")],
                       (lab + "ip-ethereal-trace-1",)),
        "lab icmp": Pair("lab icmp", ["lab", "icmp", "{}"],
                         ["tshark", "-n", "-r", "{}", "-Y", "icmp", "-T", "fields",
                          *_fields("frame.number", "ip.src", "ip.dst", "icmp.type", "icmp.code", "icmp.ident",
                                   "icmp.seq", "icmp.checksum")], (lab + "icmp-ethereal-trace-1",)),
        "lab dhcp": Pair("lab dhcp", ["lab", "dhcp", "{}"],
                         ["tshark", "-n", "-r", "{}", "-Y", "dhcp", "-T", "fields",
                          *_fields("frame.number", "udp.srcport", "udp.dstport", "dhcp.option.dhcp", "dhcp.id",
                                   "dhcp.ip.your", "dhcp.option.dhcp_server_id", "dhcp.option.router",
                                   "dhcp.option.subnet_mask", "dhcp.option.domain_name_server",
                                   "dhcp.option.ip_address_lease_time", "eth.src")],
                         (lab + "dhcp-ethereal-trace-1",)),
        "lab tls": Pair("lab tls", ["lab", "tls", "{}"],
                        ["tshark", "-n", "-r", "{}", "-Y", "tls", "-T", "fields",
                         *_fields("frame.number", "tls.record.content_type", "tls.record.version",
                                  "tls.record.length", "tls.handshake.type")], (lab + "ssl-ethereal-trace-1",)),
        "lab ethernet-arp": Pair("lab ethernet-arp", ["lab", "ethernet-arp", "{}"],
                                 ["tshark", "-n", "-r", "{}", "-Y", "http or arp", "-T", "fields",
                                  *_fields("frame.number", "eth.src", "eth.dst", "eth.type", "arp.opcode",
                                           "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.proto_ipv4")],
                                 (lab + "ethernet-ethereal-trace-1",)),
        "lab wifi": Pair("lab wifi", ["lab", "wifi", "{}"],
                         ["tshark", "-n", "-r", "{}", "-Y", "wlan", "-T", "fields",
                          *_fields("frame.number", "wlan.fc.type_subtype", "wlan.bssid", "wlan.ssid", "wlan.sa",
                                   "wlan.da", "wlan.ta", "wlan.ra")], (lab + "Wireshark_802_11.pcap",)),
        # two traces: tshark reads one file per run, so its side is two runs in one shell
        "lab nat": Pair("lab nat", ["lab", "nat", "{}", "{2}"],
                        ["sh", "-c", 'for f in "$0" "$1"; do tshark -n -r "$f" -Y http -T fields '
                         + " ".join(_fields("frame.number", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport",
                                            "http.request.method", "http.response.code")) + "; done",
                         "{}", "{2}"], (lab + "NAT_home_side.pcap", lab + "NAT_ISP_side.pcap")),
    }


# every report command on the big capture, for its peak RSS (issue 13: each <= 1 GB) and its
# time against the tool that gives the same answer (issue 13's title: every command)
EVERY_COMMAND = [["read"], ["stats"], ["stats", "--hierarchy"], ["flows"], ["tcp", "--format", "csv"], ["tcptrace"],
                 ["handshakes"], ["rtt"], ["rtt", "--summary"], ["lab", "tcp"], ["expert"], ["iostat"], ["congestion"],
                 ["congestion", "--summary"], ["dns"], ["http"], ["export", "--table", "packets", "-o", EXPORT_TARGET],
                 ["export", "--table", "tcp", "-o", EXPORT_TARGET], ["export", "--table", "flows", "-o", EXPORT_TARGET]]
# the commands the first table times against their C tool already
MAIN_TABLE = {"read", "stats", "flows", "tcp --format csv", "tcptrace"}


def counterparts(tcp_fields: list[str]) -> dict[str, Pair]:
    """The C tool's command for each of :data:`EVERY_COMMAND` outside :data:`MAIN_TABLE`, on
    the big file (the pairs of the small-file tables, without their own traces)."""
    small, other = small_pairs(tcp_fields), other_pairs()
    big = pairs(tcp_fields)
    chosen = {
        "stats --hierarchy": small["stats"], "handshakes": small["handshakes"], "rtt": small["rtt"],
        "rtt --summary": small["rtt"], "lab tcp": small["lab tcp"], "expert": other["expert"],
        "iostat": other["iostat"], "congestion": other["congestion"], "congestion --summary": other["congestion"],
        "dns": other["dns"], "http": other["http"], "export --table packets": other["export"],
        "export --table tcp": big["tcp"], "export --table flows": big["flows"],
    }
    return {name: replace(pair, inputs=()) for name, pair in chosen.items()}


def memory_section(path: str, tcp_fields: list[str]) -> list[str]:
    """One run of every report command on ``path`` (wall, CPU and peak RSS), and one of the
    C tool that gives the same answer (tshark's statistics or fields) where the first table
    does not have it."""
    theirs = counterparts(tcp_fields)
    lines = [f"Every report command on `{Path(path).name}`, one run each (peak RSS: the target is 1 GB), "
             "and one run of the tool that gives the same answer:", "",
             "| command | s | CPU s | peak RSS MB | exit | C tool | s | CPU s | pcapkit / C (wall) | pcapkit / C (CPU) |",
             "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for words in EVERY_COMMAND:
        run = measure([sys.executable, "-m", "pcapkit", *words, path])
        shown = " ".join("OUT.parquet" if w == EXPORT_TARGET else w for w in words)
        key = " ".join(w for w in words if w not in ("-o", EXPORT_TARGET))
        print(f"{Path(path).name} {shown}: {run.wall:.2f} s, {run.maxrss_mb:.0f} MB, rc {run.rc}", file=sys.stderr)
        row = f"| `pcapkit {shown} FILE` | {run.wall:.2f} | {run.cpu:.2f} | {run.maxrss_mb:.0f} | {run.rc} |"
        pair = theirs.get(key)
        if pair is not None and shutil.which(pair.c_tool[0]) is not None:
            c = measure(pair.argv("c", path))
            print(f"{Path(path).name} {key} C tool: {c.wall:.2f} s", file=sys.stderr)
            row += (f" `{pair.shown('c')}` | {c.wall:.2f} | {c.cpu:.2f} | {run.wall / c.wall:.2f} "
                    f"| {run.cpu / max(c.cpu, 1e-3):.2f} |")
        else:
            row += (" (first table) |" if key in MAIN_TABLE else " (none) |") + " | | | |"
        lines.append(row)
    return lines


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("COLUMNS", "200")
    return env


def measure(argv: list[str], timeout: float = 1800.0) -> Run:
    """Run argv to /dev/null; its wall time, CPU seconds and peak RSS (os.wait4)."""
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=null, stderr=null, env=_env(), cwd=REPO)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen quiet
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def bench(file: str, chosen: dict[str, Pair], repeat: int, log: bool = True) -> list[tuple[Pair, Run, Run]]:
    """Median pcapkit and C-tool runs of each pair, alternating within each repeat."""
    runs: dict[str, dict[str, list[Run]]] = {n: {"pcapkit": [], "c": []} for n in chosen}
    for _ in range(repeat):
        for name, pair in chosen.items():
            for side in ("pcapkit", "c"):
                if side == "c" and shutil.which(pair.c_tool[0]) is None:
                    continue
                run = measure(pair.argv(side, file))
                runs[name][side].append(run)
                if log:
                    print(f"{Path(file).name} {name} {side}: {run.wall:.2f} s, {run.cpu:.2f} CPU s, "
                          f"{run.maxrss_mb:.0f} MB, rc {run.rc}", file=sys.stderr)
    return [(chosen[n], _median(r["pcapkit"]), _median(r["c"])) for n, r in runs.items()]


def _median(runs: list[Run]) -> Run:
    if not runs:
        return Run(float("nan"), float("nan"), float("nan"), -1)
    return Run(statistics.median(r.wall for r in runs), statistics.median(r.cpu for r in runs),
               max(r.maxrss_mb for r in runs), max(abs(r.rc) for r in runs))


def table(title: str, results: list[tuple[Pair, Run, Run]], label: bool = False) -> list[str]:
    """The markdown table; ``label``: a first column naming each pair (its traces)."""
    lines = [f"{title}", "",
             ("| what " if label else "") + "| command | pcapkit s | CPU s | peak RSS MB | C tool | s | CPU s | peak RSS MB "
             "| pcapkit / C (wall) | pcapkit / C (CPU) |",
             ("|---" if label else "") + "|---|---:|---:|---:|---|---:|---:|---:|---:|---:|"]
    for pair, mine, theirs in results:
        note = "" if mine.rc == 0 else f" (exit {mine.rc})"
        lines.append(
            (f"| {pair.name} " if label else "") + f"| `{pair.shown('pcapkit')}`{note} | {mine.wall:.2f} | {mine.cpu:.2f} | {mine.maxrss_mb:.0f} "
            f"| `{pair.shown('c')}` | {theirs.wall:.2f} | {theirs.cpu:.2f} | {theirs.maxrss_mb:.0f} "
            f"| {mine.wall / theirs.wall:.2f} | {mine.cpu / max(theirs.cpu, 1e-3):.2f} |")
    return lines


def section(data: str, big: list[str], small: str, commands: list[str] | None, repeat: int,
            others: bool = False, every: bool = False) -> list[str]:
    """The markdown section: one table per big file, one for the small file (``small`` empty:
    none; the default small file still names tcp's columns and warms the caches), and with
    ``others`` one for every other report command, each on its own lab trace."""
    skip_small, small = not small, small or DEFAULT_SMALL
    small_path = corpus_path(small)
    fields = tcp_table_fields(small_path)
    load_before = os.getloadavg()
    # warm the OS's file cache and numba's on-disk cache: one untimed run of each command on
    # the small file and on a cut of the first big one past the size where the compiled
    # kernels run (pcapkit.capture.compiled), so no timed run compiles
    with tempfile.TemporaryDirectory() as tmp:
        warm = [small_path]
        if big:
            warm.append(os.path.join(tmp, "warm.pcap"))
            subprocess.run(["tcpdump", "-r", os.path.join(data, big[0]), "-c", str(WARM_PACKETS), "-w", warm[1]],
                           capture_output=True, check=True, timeout=600)
        for file in warm:
            for pair in small_pairs(fields).values():
                measure(pair.argv("pcapkit", file))
        if others:
            for pair in other_pairs().values():
                measure(pair.argv("pcapkit", small_path))
    lines: list[str] = []
    for name in big:
        path = os.path.join(data, name)
        chosen = {n: p for n, p in pairs(fields).items() if commands is None or n in commands}
        lines += [*table(f"`{name}` (whole processes, median of {repeat}):", bench(path, chosen, repeat)), ""]
        if every:
            lines += [*memory_section(path, fields), ""]
    chosen = {n: p for n, p in small_pairs(fields).items() if (commands is None or n in commands) and not skip_small}
    if chosen:
        lines += [*table(f"`{Path(small_path).name}`, {_frames(small_path)} frames (median of {repeat}):", bench(small_path, chosen, repeat)), ""]
    chosen = {n: p for n, p in other_pairs().items() if others and (commands is None or n in commands)}
    if chosen:
        title = ("Every other report command on a small trace (FILE: the trace named in parentheses, "
                 f"its frames; median of {repeat}):")
        results = bench(small_path, chosen, repeat)
        named = [(replace(pair, name=f"{pair.name} ({', '.join(_trace(i) for i in pair.inputs)})"), mine, theirs)
                 for pair, mine, theirs in results]
        lines += [*table(title, named, label=True), ""]
    lines.append("Load average (1/5/15 min) before: {:.1f}/{:.1f}/{:.1f}, after: {:.1f}/{:.1f}/{:.1f}.".format(
        *load_before, *os.getloadavg()))
    return lines


def _trace(name: str) -> str:
    return f"{Path(name).name}, {_frames(corpus_path(name))}"


def _frames(path: str) -> str:
    out = subprocess.run(["capinfos", "-c", "-M", path], capture_output=True, text=True, timeout=60).stdout
    for line in out.splitlines():
        if "Number of packets" in line:
            return line.split(":")[1].strip()
    return "?"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(HERE / "data"), help="Directory of the benchmark captures.")
    ap.add_argument("--big", default="bench-100k.pcap",
                    help="Comma-separated capture names in --data (e.g. bench-100k.pcap,bench-1M.pcap); "
                         "'' for none.")
    ap.add_argument("--small", default=DEFAULT_SMALL,
                    help="The small capture (a path, or relative to $PCAPKIT_CORPUS); '' for no small-file table.")
    ap.add_argument("--commands", default=None,
                    help="Comma-separated: read,flows,tcp,tcptrace,stats,handshakes,rtt,lab tcp (default all).")
    ap.add_argument("--others", action="store_true",
                    help="Also every other report command (expert, iostat, dns, http, the labs...), each on its "
                         "own lab trace, against tshark.")
    ap.add_argument("--every-command", action="store_true",
                    help="Also one run of every report command on each big capture, for its peak RSS, and of "
                         "the tool that gives the same answer.")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--format", choices=["markdown"], default="markdown")
    ap.add_argument("-o", "--output", default=None, help="Write the table here (default: stdout).")
    args = ap.parse_args()
    commands = [c.strip() for c in args.commands.split(",")] if args.commands else None
    big = [b for b in args.big.split(",") if b]
    lines = section(args.data, big, args.small, commands, args.repeat, args.others, args.every_command)
    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
