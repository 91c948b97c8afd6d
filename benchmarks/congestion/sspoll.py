#!/usr/bin/env python3
"""BBR's mode over time: poll ``ss -tinH`` for one socket, and parse what was polled.

tcp_probe has no BBR mode; ``ss -ti`` prints BBR's ``pacing_gain`` and ``cwnd_gain``
(Linux's BBR v1: startup 2.89/2.89, drain 0.35/2.89, probe-bw cycling 1.25, 0.75, 1
with cwnd_gain 2, probe-rtt 1/1). Run as a script inside the sender's namespace:

    sspoll.py --sport 40001 --interval 0.01 --out FILE    (until SIGTERM)

Each poll writes ``# T1 T2`` (realtime ns before and after ``ss``) then ss's lines;
:func:`parse_polls` turns the file into (time_ns, mode) samples stamped at the midpoint.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import time
from pathlib import Path

_GAINS = re.compile(r"bbr:\([^)]*pacing_gain:([\d.]+)[^)]*cwnd_gain:([\d.]+)")


def bbr_mode(pacing_gain: float, cwnd_gain: float) -> str:
    """The BBR v1 mode that sets these gains."""
    if pacing_gain > 2.0:
        return "startup"
    if pacing_gain < 0.5:
        return "drain"
    if abs(pacing_gain - 1.0) < 0.01 and abs(cwnd_gain - 1.0) < 0.01:
        return "probe-rtt"
    return "probe-bw"


def parse_polls(text: str) -> list[tuple[int, str]]:
    """(midpoint time_ns, mode) for every poll that showed the socket's BBR gains."""
    samples: list[tuple[int, str]] = []
    stamp = 0
    established = ready = False
    for line in text.splitlines():
        if line.startswith("# "):
            t1, t2 = (int(x) for x in line[2:].split())
            stamp = (t1 + t2) // 2
            continue
        if line[:1] not in ("", " ", "\t"):
            # a socket's first line: its state (before ESTAB, BBR is not set up yet and
            # shows gains of 1/1, as in probe-rtt)
            established = line.split()[0] == "ESTAB"
            continue
        m = _GAINS.search(line)
        if m and stamp and established:
            mode = bbr_mode(float(m.group(1)), float(m.group(2)))
            # until its first ACK of data, BBR (in startup since bbr_init) shows gains 1/1
            ready = ready or mode != "probe-rtt"
            samples.append((stamp, mode if ready else "startup"))
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sport", type=int, required=True)
    ap.add_argument("--interval", type=float, default=0.01)
    ap.add_argument("--out", required=True)
    ap.add_argument("--duration", type=float, default=120.0)
    args = ap.parse_args()
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    deadline = time.monotonic() + args.duration
    with Path(args.out).open("w") as out:
        while not stopping and time.monotonic() < deadline:
            t1 = time.time_ns()
            proc = subprocess.run(["ss", "-tinHn", f"sport = :{args.sport}"], capture_output=True, text=True,
                                  timeout=5, check=False)
            t2 = time.time_ns()
            out.write(f"# {t1} {t2}\n{proc.stdout}")
            time.sleep(max(0.0, args.interval - (time.time_ns() - t1) / 1e9))


if __name__ == "__main__":
    main()
