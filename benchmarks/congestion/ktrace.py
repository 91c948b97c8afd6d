"""The sender kernel's congestion state from tracefs: ``tcp:tcp_probe`` and
``tcp:tcp_cong_state_set`` in a private trace instance.

One kernel serves every namespace, so one tracefs sees every socket; a filter on the
flow's own ports (unique per flow) keeps only the sender's data socket. The instance
runs on the ``tai`` clock and :func:`clock_offset_ns` measures that clock against the
realtime clock the capture is stamped with, by writing markers into the instance
between two realtime reads: a marker's stamp minus the reads' midpoint is the offset
(the write takes a few µs; the narrowest samples are kept).

tcp_probe fires when the socket receives a segment, before processing it; its values
are the state after the previous ACK, i.e. the state the data segments sent since then
were sent under (see truth.py). tcp_cong_state_set fires on each ca_state change.
"""

from __future__ import annotations

import contextlib
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

TRACEFS = Path("/sys/kernel/tracing")
SSTHRESH_UNSET = 2147483647

_LINE = re.compile(r"^\s*.+?\s+\[\d+\]\s+\S+\s+(\d+)\.(\d+):\s+(\w+):\s+(.*)$")
_FIELD = re.compile(r"(\w+)=(\S+)")


def tracefs_available() -> bool:
    """Root and the tcp events (mounts tracefs when it is not mounted yet)."""
    if os.geteuid() != 0:
        return False
    if not (TRACEFS / "events").exists():
        subprocess.run(["mount", "-t", "tracefs", "nodev", str(TRACEFS)], capture_output=True,
                       timeout=10, check=False)
    return (TRACEFS / "events" / "tcp" / "tcp_probe").exists()


@dataclass
class Probe:
    time_ns: int          # tai clock (the caller subtracts the measured offset)
    src: str
    dest: str
    snd_una: int
    snd_nxt: int
    snd_cwnd: int
    ssthresh: int
    srtt_us: int
    ca_state: int         # the latest tcp_cong_state_set before this probe (0 Open at first)


@dataclass
class CongState:
    time_ns: int
    state: int


class TraceInstance:
    """A private tracefs instance, removed by :meth:`close` (call it from ``finally``)."""

    def __init__(self, name: str, buffer_kb: int = 32768) -> None:
        self.path = TRACEFS / "instances" / name
        self.path.mkdir()
        self._write("trace_clock", "tai")
        self._write("buffer_size_kb", str(buffer_kb))

    def _write(self, rel: str, value: str) -> None:
        (self.path / rel).write_text(value + "\n")

    def enable(self, sport: int, dport: int) -> None:
        # the sender's socket only: its local port is the client's, its remote the server's
        flt = f"sport == {sport} && dport == {dport}"
        for event in ("tcp_probe", "tcp_cong_state_set"):
            self._write(f"events/tcp/{event}/filter", flt)
            self._write(f"events/tcp/{event}/enable", "1")
        self._write("tracing_on", "1")

    def clock_offset_ns(self, samples: int = 40) -> tuple[int, int]:
        """(trace clock - realtime) in ns and the uncertainty (half the narrowest write)."""
        marker = self.path / "trace_marker"
        reads: list[tuple[int, int, int]] = []
        fd = os.open(marker, os.O_WRONLY)
        try:
            for i in range(samples):
                r1 = time.time_ns()
                os.write(fd, f"pkcc-sync {i}\n".encode())
                r2 = time.time_ns()
                reads.append((i, r1, r2))
        finally:
            os.close(fd)
        stamps = {}
        for line in (self.path / "trace").read_text().splitlines():
            m = _LINE.match(line)
            if m and "pkcc-sync" in m.group(4):
                stamps[int(m.group(4).split()[-1])] = int(m.group(1)) * 10**9 + int(m.group(2).ljust(9, "0")[:9])
        widths = sorted((r2 - r1, i) for i, r1, r2 in reads if i in stamps)
        best = [i for _, i in widths[: max(1, len(widths) // 4)]]
        offsets = [stamps[i] - (reads[i][1] + reads[i][2]) // 2 for i in best]
        return int(statistics.median(offsets)), widths[0][0] // 2 + 500  # + µs print rounding

    def overruns(self) -> int:
        total = 0
        for stats in (self.path / "per_cpu").glob("cpu*/stats"):
            m = re.search(r"^overrun:\s*(\d+)", stats.read_text(), re.M)
            total += int(m.group(1)) if m else 0
        return total

    def read(self) -> str:
        """The instance's whole trace as text (tracing stops)."""
        self._write("tracing_on", "0")
        return (self.path / "trace").read_text()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._write("tracing_on", "0")
        for event in ("tcp_probe", "tcp_cong_state_set"):
            with contextlib.suppress(OSError):
                self._write(f"events/tcp/{event}/enable", "0")
        with contextlib.suppress(OSError):
            self.path.rmdir()


def parse_trace(text: str) -> tuple[list[Probe], list[CongState]]:
    """Probes (each with the ca_state in force, by the trace's own order) and state changes."""
    probes: list[Probe] = []
    changes: list[CongState] = []
    ca_state = 0
    for line in text.splitlines():
        m = _LINE.match(line)
        if not m or m.group(3) not in ("tcp_probe", "tcp_cong_state_set"):
            continue
        ts = int(m.group(1)) * 10**9 + int(m.group(2).ljust(9, "0")[:9])
        f = dict(_FIELD.findall(m.group(4)))
        if m.group(3) == "tcp_cong_state_set":
            ca_state = int(f["cong_state"])
            changes.append(CongState(ts, ca_state))
            continue
        probes.append(Probe(ts, f["src"], f["dest"], int(f["snd_una"], 16), int(f["snd_nxt"], 16),
                            int(f["snd_cwnd"]), int(f["ssthresh"]), int(f["srtt"]), ca_state))
    return probes, changes
