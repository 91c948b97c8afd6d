"""The answers scored by accuracy.py: pcapkit's congestion model and tshark's nearest answer.

* ``api``: :mod:`pcapkit.reports.congestion` (``congestion_segments``/``congestion_summary``).
  (The flight-label heuristic this benchmark first scored was replaced by that model; its
  figures on set2 stay in README.md, measured before it was deleted.)
* ``tshark``: ``tcp.analysis.bytes_in_flight`` per data segment as a cwnd proxy.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

SegmentsFn = Callable[[str], pd.DataFrame]
SummaryFn = Callable[[str], pd.DataFrame]

def pick(model: str = "api") -> tuple[str, SegmentsFn, SummaryFn]:
    """(name, segments, summary) of the model scored (only ``api`` exists now)."""
    if model not in ("api", "auto"):
        raise ValueError(f"unknown model {model!r}: the heuristic was replaced by pcapkit.reports.congestion")
    from pcapkit.reports import congestion

    return "pcapkit.reports.congestion", congestion.congestion_segments, congestion.congestion_summary


def tshark_bytes_in_flight(path: str | Path, sport: int) -> pd.DataFrame:
    """tshark's bytes in flight per data segment from port ``sport``: frame.number, bif."""
    proc = subprocess.run(["tshark", "-r", str(path), "-n", "-Y", f"tcp.srcport == {sport} && tcp.len > 0",
                           "-T", "fields", "-e", "frame.number", "-e", "tcp.analysis.bytes_in_flight"],
                          capture_output=True, text=True, timeout=600, check=True)
    frames, bif = [], []
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        frames.append(int(parts[0]))
        bif.append(float(parts[1]) if len(parts) > 1 and parts[1] else np.nan)
    return pd.DataFrame({"frame.number": np.array(frames, dtype="int64"), "tshark_bif": np.array(bif)})
