"""The answers scored by accuracy.py: pcapkit's congestion model, today's heuristic, and
tshark's nearest answer.

* ``api``: :mod:`pcapkit.reports.congestion` (``congestion_segments``/``congestion_summary``,
  issue 12 item 3), used when that module exists.
* ``heuristic``: :mod:`pcapkit.tcpflow.congestion` (flights labelled from bytes in flight),
  adapted to the same columns: its cwnd proxy is the bytes in flight at the end of the
  segment's flight; its flight labels map to phases (recovery -> fast-recovery, or
  rto-recovery when the latest loss was a timeout; slow-start and idle-restart ->
  slow-start; everything else -> congestion-avoidance) and to ``limited_by``
  (receiver-limited -> rwnd, zero-window, application-limited -> application, else
  cwnd); it has no ssthresh and names no algorithm.
* ``tshark``: ``tcp.analysis.bytes_in_flight`` per data segment as a cwnd proxy.
"""

from __future__ import annotations

import bisect
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SegmentsFn = Callable[[str], pd.DataFrame]
SummaryFn = Callable[[str], pd.DataFrame]

_PHASE = {"slow-start": "slow-start", "idle-restart": "slow-start"}
_LIMIT = {"receiver-limited": "rwnd", "zero-window": "zero-window", "application-limited": "application"}


def api_available() -> bool:
    try:
        from pcapkit.reports import congestion  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        return False
    return hasattr(congestion, "congestion_segments") and hasattr(congestion, "congestion_summary")


def pick(model: str) -> tuple[str, SegmentsFn, SummaryFn]:
    """(name, segments, summary) for ``model`` = api | heuristic | auto (api when present)."""
    if model == "auto":
        model = "api" if api_available() else "heuristic"
    if model == "api":
        from pcapkit.reports import congestion  # type: ignore[attr-defined,unused-ignore]

        return "pcapkit.reports.congestion", congestion.congestion_segments, congestion.congestion_summary
    return "heuristic (tcpflow.congestion)", heuristic_segments, heuristic_summary


def _directions(path: str) -> list[tuple[int, Any]]:
    from pcapkit.tcpflow.analysed import analyse
    from pcapkit.tcpflow.congestion import analyse_direction, largest_transfer

    an = analyse(path)
    out = []
    for stream in range(int(an.stream.max()) + 1 if len(an) else 0):
        segs = list(an.select(an.stream == stream).segments.segments())
        pair = largest_transfer(segs)
        if pair is not None:
            out.append((stream, analyse_direction(segs, *pair)))
    return out


def heuristic_segments(path: str) -> pd.DataFrame:
    rows: dict[str, list[Any]] = {k: [] for k in ("frame.number", "frame.time_epoch", "tcp.stream", "tcp.srcport",
                                                  "tcp.dstport", "cwnd_bytes", "phase", "limited_by")}
    for stream, rep in _directions(path):
        starts = [f.first_frame for f in rep.flights]
        loss_t = [lo.ts_ns for lo in rep.losses]
        for s in rep.sent:
            flight = rep.flights[bisect.bisect_right(starts, s.frame) - 1]
            phase = _PHASE.get(flight.label, "congestion-avoidance")
            if flight.label == "recovery":
                i = bisect.bisect_right(loss_t, s.ts_ns) - 1
                phase = "rto-recovery" if rep.losses[max(i, 0)].kind == "timeout" else "fast-recovery"
            for k, v in (("frame.number", s.frame), ("frame.time_epoch", s.ts_ns), ("tcp.stream", stream),
                         ("tcp.srcport", rep.sender[1]), ("tcp.dstport", rep.receiver[1]),
                         ("cwnd_bytes", flight.bytes_in_flight), ("phase", phase),
                         ("limited_by", _LIMIT.get(flight.label, "cwnd"))):
                rows[k].append(v)
    df = pd.DataFrame(rows)
    df["ssthresh_bytes"] = pd.array([pd.NA] * len(df), dtype="Int64")
    return df


def heuristic_summary(path: str) -> pd.DataFrame:
    rows = [{"tcp.stream": stream, "tcp.srcport": rep.sender[1], "tcp.dstport": rep.receiver[1],
             "cc_algorithm": "unknown", "confidence": 0.0} for stream, rep in _directions(path)]
    return pd.DataFrame(rows, columns=["tcp.stream", "tcp.srcport", "tcp.dstport", "cc_algorithm", "confidence"])


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
