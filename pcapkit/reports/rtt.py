"""RTT samples and their summary, two ways.

``method="wireshark"``: tshark's ``tcp.analysis.ack_rtt`` -- every ACK that lands
exactly on the end of an unacknowledged segment, timed from that segment's FIRST
transmission (no Karn's rule; zero RTTs are not shown by tshark and not kept here).

``method="karn"``: tcptrace's rule (from pcapkit's model of tcptrace 6.6.7,
:mod:`pcapkit.tcpflow.tcptrace`; ``tcp.analysis.acks_frame`` is then empty) -- an ACK equal to the end of a not yet acked
segment gives a sample unless that segment was retransmitted (ambiguous) or an earlier
segment covered by the same ACK was sent later than it (post-loss ACK).

Each sample row carries the RFC 6298 estimator after that sample, per stream and data
direction (alpha 1/8, beta 1/4; the first sample R sets SRTT = R, RTTVAR = R/2): the
``srtt`` column is the Kurose & Ross lab's EstimatedRTT.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.tcpflow.segment import FIN, SYN

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.reports.tcp import PathOrFrames
    from pcapkit.tcpflow.engine import FrameAnalysis

METHODS = ("wireshark", "karn")

SAMPLE_COLUMNS: dict[str, str] = {
    "tcp.stream": "Int64",
    "data_src": "string",
    "data_dst": "string",
    "frame.number": "Int64",
    "tcp.analysis.acks_frame": "Int64",
    "frame.time_epoch": "datetime64[ns]",
    "tcp.ack": "Int64",
    "tcp.analysis.ack_rtt": "float64",
    "srtt": "float64",
    "rttvar": "float64",
}

SUMMARY_COLUMNS: dict[str, str] = {
    "tcp.stream": "Int64",
    "data_src": "string",
    "data_dst": "string",
    "count": "Int64",
    "min": "float64",
    "mean": "float64",
    "median": "float64",
    "p95": "float64",
    "max": "float64",
    "stdev": "float64",
    "srtt": "float64",
    "rttvar": "float64",
}


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _wireshark_samples(records: Iterable[FrameAnalysis]) -> list[tuple[Any, ...]]:
    out = []
    for r in records:
        if r.ack_rtt is not None and r.acks_frame is not None:
            s = r.segment
            out.append((r.stream, _ep(s.dst, s.dport), _ep(s.src, s.sport), s.frame_number,
                        r.acks_frame, s.ts_ns, r.ack, r.ack_rtt))
    return out


class _KarnDir:
    __slots__ = ("acked", "seen_hi", "segs")

    def __init__(self) -> None:
        # unacked segments by end sequence (relative): end -> [seq, frame, first ts, last ts, retransmitted]
        self.segs: dict[int, list[Any]] = {}
        self.acked = 0
        self.seen_hi: int | None = None


def _karn_samples(records: Iterable[FrameAnalysis]) -> list[tuple[Any, ...]]:
    """tcptrace's RTT sampling, on relative (unwrapped per direction) sequence numbers."""
    state: dict[tuple[int, str, int], _KarnDir] = {}
    out = []
    for r in records:
        s = r.segment
        if r.short:
            continue
        key = (r.stream, s.src, s.sport)
        fwd = state.get(key)
        if fwd is None:
            fwd = state[key] = _KarnDir()
        length = s.seglen + (1 if s.flags & (SYN | FIN) else 0)
        if length:
            start, end = r.seq, r.seq + length
            entry = fwd.segs.get(end)
            overlaps = fwd.seen_hi is not None and start < fwd.seen_hi
            if entry is not None:
                entry[3] = s.ts_ns
                entry[4] = True
            else:
                if overlaps:  # bytes seen before: mark every stored segment it overlaps
                    for e_end, e in fwd.segs.items():
                        if e[0] < end and start < e_end:
                            e[4] = True
                fwd.segs[end] = [start, s.frame_number, s.ts_ns, s.ts_ns, overlaps]
            if fwd.seen_hi is None or end > fwd.seen_hi:
                fwd.seen_hi = end
        if s.flags & 0x010:
            rev = state.get((r.stream, s.dst, s.dport))
            if rev is None or not rev.segs:
                continue
            ack = r.ack
            if ack <= rev.acked:
                continue
            entry = rev.segs.get(ack)
            covered = [(e_end, e) for e_end, e in rev.segs.items() if e_end <= ack]
            # no sample for a retransmitted segment (ambiguous), nor for a post-loss ack
            # (an earlier covered segment was sent after this one)
            if entry is not None and not entry[4] and \
                    not any(e[3] > entry[3] for e_end, e in covered if e_end != ack):
                    out.append((r.stream, _ep(s.dst, s.dport), _ep(s.src, s.sport), s.frame_number,
                                entry[1], s.ts_ns, ack, s.ts_ns - entry[2]))
            for e_end, _ in covered:
                del rev.segs[e_end]
            rev.acked = ack
    return out


def _tcptrace_samples(path: PathOrFrames, records: list[FrameAnalysis]) -> list[tuple[Any, ...]]:
    """Karn samples from pcapkit's tcptrace model (checked against tcptrace 6.6.7) when it
    is available; otherwise from :func:`_karn_samples`."""
    try:
        from pcapkit.tcpflow.tcptrace import analyze
    except ImportError:  # pragma: no cover - the tcptrace model is part of the package
        return _karn_samples(records)
    if not isinstance(path, (str, PathLike)):
        return _karn_samples(records)
    by_frame = {r.segment.frame_number: r for r in records}
    out = []
    for conn in analyze(path):
        for d, other in ((conn.a2b, conn.b2a), (conn.b2a, conn.a2b)):
            for frame, _ts_us, rtt_us in d.rtt_samples:
                rec = by_frame.get(frame)
                if rec is None:
                    continue
                out.append((rec.stream, _ep(d.host, d.port), _ep(other.host, other.port), frame, None,
                            rec.segment.ts_ns, rec.ack, round(rtt_us * 1000)))
    out.sort(key=lambda row: (row[3], row[1]))
    return out


def rtt_samples(path: PathOrFrames, stream: int | None = None, method: str = "wireshark") -> pd.DataFrame:
    """One row per RTT sample (see module doc); ``tcp.analysis.ack_rtt`` in float seconds."""
    import pandas as pd

    from pcapkit.reports.tcp import _column, run_engine

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    engine, records = run_engine(path)
    recs: Iterable[FrameAnalysis] = records
    if stream is not None:
        recs = (r for r in records if r.stream == stream)
    if method == "wireshark":
        raw = _wireshark_samples(recs)
    else:
        raw = _tcptrace_samples(path, list(recs))
    est: dict[tuple[int, str], tuple[float, float]] = {}
    rows = []
    for st, dsrc, ddst, frame, acked, ts, ack, rtt_ns in raw:
        rtt = rtt_ns / 1e9
        prev = est.get((st, dsrc))
        if prev is None:
            srtt, rttvar = rtt, rtt / 2
        else:
            srtt0, var0 = prev
            rttvar = 0.75 * var0 + 0.25 * abs(srtt0 - rtt)
            srtt = 0.875 * srtt0 + 0.125 * rtt
        est[(st, dsrc)] = (srtt, rttvar)
        rows.append((st, dsrc, ddst, frame, acked, ts, ack, rtt, srtt, rttvar))
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in SAMPLE_COLUMNS]
    df = pd.DataFrame({name: _column(list(values), dtype)
                       for (name, dtype), values in zip(SAMPLE_COLUMNS.items(), cols, strict=True)})
    df.attrs["warnings"] = list(engine.warnings)
    df.attrs["method"] = method
    return df


def summarize(samples: pd.DataFrame) -> pd.DataFrame:
    """Per stream and data direction: count, min, mean, median, p95, max, stdev and the
    final SRTT/RTTVAR of a samples table."""
    import pandas as pd

    from pcapkit.reports.tcp import _column

    rows = []
    if len(samples):
        for (st, dsrc, ddst), g in samples.groupby(["tcp.stream", "data_src", "data_dst"], sort=True):
            v = [float(x) for x in g["tcp.analysis.ack_rtt"]]
            ordered = sorted(v)
            # p95: nearest-rank percentile
            rank = max(1, -(-95 * len(ordered) // 100))
            rows.append((int(str(st)), dsrc, ddst, len(v), ordered[0], statistics.fmean(v),
                         statistics.median(v), ordered[rank - 1], ordered[-1],
                         statistics.stdev(v) if len(v) > 1 else None,
                         float(g["srtt"].iloc[-1]), float(g["rttvar"].iloc[-1])))
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in SUMMARY_COLUMNS]
    df = pd.DataFrame({name: _column(list(values), dtype)
                       for (name, dtype), values in zip(SUMMARY_COLUMNS.items(), cols, strict=True)})
    df.attrs.update(samples.attrs)
    return df


def rtt_summary(path: PathOrFrames, stream: int | None = None, method: str = "wireshark") -> pd.DataFrame:
    """:func:`summarize` of :func:`rtt_samples`."""
    return summarize(rtt_samples(path, stream=stream, method=method))
