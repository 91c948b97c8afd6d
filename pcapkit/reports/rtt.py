"""RTT samples and their summary, two ways.

``method="wireshark"``: tshark's ``tcp.analysis.ack_rtt`` -- every ACK that lands
exactly on the end of an unacknowledged segment, timed from that segment's FIRST
transmission (no Karn's rule; zero RTTs are not shown by tshark and not kept here).

``method="karn"``: tcptrace's rule (from pcapkit's model of tcptrace 6.6.7,
:mod:`pcapkit.tcpflow.tcptrace`; ``tcp.analysis.acks_frame`` is then empty) -- an ACK equal to the end of a not yet acked
segment gives a sample unless that segment was retransmitted (ambiguous) or an earlier
segment covered by the same ACK was sent later than it (post-loss ACK).

Each sample row carries, per stream and data direction:

- ``srtt`` / ``rttvar``: the RFC 6298 estimator after that sample (alpha 1/8, beta 1/4;
  the first sample R sets SRTT = R, RTTVAR = R/2), fed with EVERY sample, the SYN's
  (timed by the SYN-ACK) and a bare FIN's included;
- ``acked_len``: the payload bytes of the segment the ACK acknowledges (the latest
  earlier segment of the stream from the ACK's receiver that ends at the ACK number);
- ``estimated_rtt``: the Kurose & Ross TCP lab's EstimatedRTT, fed only with the
  samples of data segments (``acked_len`` > 0, no SYN): the first one sets it, then
  EstimatedRTT = 0.875 * EstimatedRTT + 0.125 * SampleRTT; empty on the other rows.
  The two estimators differ exactly where the lab's question does: the lab starts from
  the first data segment, not from the handshake.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import ColumnTable, column_from_list
from pcapkit.tcpflow.analysed import AnalysedSegments, analyse_table
from pcapkit.tcpflow.segment import FIN, SYN
from pcapkit.tcpflow.segments import SegmentTable, segment_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.reports.tcp import PathOrFrames

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
    "acked_len": "Int64",
    "srtt": "float64",
    "rttvar": "float64",
    "estimated_rtt": "float64",
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
    "estimated_rtt": "float64",
}

# the lab's EstimatedRTT = (1 - ALPHA) * EstimatedRTT + ALPHA * SampleRTT (RFC 6298's alpha)
ALPHA = 0.125


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _wireshark_samples(an: AnalysedSegments) -> list[tuple[Any, ...]]:
    """(stream, data src, data dst, frame, acked frame, time, ack, rtt ns) of every
    frame that shows tcp.analysis.ack_rtt."""
    from pcapkit.tcpflow.flags import H_ACK_RTT, H_ACKS_FRAME

    res = an.result
    have = np.asarray(res.have)
    both = H_ACK_RTT | H_ACKS_FRAME
    rows = np.nonzero((have & both) == both)[0]
    segs = an.segments
    texts = segs.addresses
    return [(st, _ep(texts[d], dp), _ep(texts[s], sp), fr, acked, ts, ack, rtt)
            for st, d, dp, s, sp, fr, acked, ts, ack, rtt in zip(
                an.stream[rows].tolist(), segs.dst[rows].tolist(), segs.dport[rows].tolist(),
                segs.src[rows].tolist(), segs.sport[rows].tolist(), segs.frame[rows].tolist(),
                np.asarray(res.acks_frame)[rows].tolist(), segs.ts_ns[rows].tolist(),
                np.asarray(res.ack)[rows].tolist(), np.asarray(res.ack_rtt)[rows].tolist(), strict=True)]


def _tcptrace_samples(table: SegmentTable, an: AnalysedSegments, stream: int | None) -> list[tuple[Any, ...]]:
    """Karn samples from pcapkit's model of tcptrace 6.6.7 (:mod:`pcapkit.tcpflow.tcptrace`,
    checked against ``tcptrace -l -r``), labelled with tshark's tcp.stream of the ACK."""
    from pcapkit.tcpflow.tcptrace import connection_table
    from pcapkit.tcpflow.tcptrace.layout import S_DIR, S_FRAME, S_RTT

    tt = connection_table(table)
    s = tt.samples[np.argsort(tt.samples[:, S_DIR], kind="stable")]  # by connection and direction
    frames = an.segments.frame
    # the tshark row of each ACK (the last one of its frame), if tshark analysed it
    row = np.searchsorted(frames, s[:, S_FRAME], side="right") - 1
    keep = (row >= 0) & (frames[np.maximum(row, 0)] == s[:, S_FRAME])
    if stream is not None:
        keep &= an.stream[np.maximum(row, 0)] == stream
    s, row = s[keep], row[keep]
    texts = tt.addresses
    host, port = tt.dirs["host"].tolist(), tt.dirs["port"].tolist()
    acks = np.asarray(an.result.ack)[row].tolist()
    out = [(st, _ep(texts[host[d]], port[d]), _ep(texts[host[d ^ 1]], port[d ^ 1]), frame, None, ts, ack,
            round(rtt_us * 1000))
           for st, d, frame, ts, ack, rtt_us in zip(an.stream[row].tolist(), s[:, S_DIR].tolist(),
                                                     s[:, S_FRAME].tolist(), an.segments.ts_ns[row].tolist(), acks,
                                                     s[:, S_RTT].astype(np.float64).tolist(), strict=True)]
    out.sort(key=lambda r: (r[3], r[1]))
    return out


def _acked_lengths(an: AnalysedSegments, ack_frames: list[int]) -> list[int | None]:
    """For each ACK frame (sorted): the payload length of the segment it acknowledges --
    the latest earlier segment of its stream, sent by the ACK's receiver, whose end
    (seq + len, +1 for SYN or FIN) equals the ACK number -- as -1 when that segment is a
    SYN (the handshake, not data), None when there is no such segment.

    (An as-of join: per ACK, the last segment of the same stream, sender, port and end
    in an earlier frame, found by one binary search over the segments sorted by
    (stream, sender, port, end) key and frame.)"""
    segs = an.segments
    if not ack_frames:
        return []
    frames = np.asarray(ack_frames, dtype=np.int64)
    row = np.searchsorted(segs.frame, frames, side="right") - 1  # the ACK's row (the last of its frame)
    flags = segs.flags
    end = (segs.seq + segs.seglen + ((flags & SYN) != 0) + ((flags & FIN) != 0)) % (1 << 32)
    # only segments that take sequence space can be acknowledged (a pure ACK "ends" where it starts)
    takes = np.nonzero((segs.seglen > 0) | ((flags & (SYN | FIN)) != 0))[0]
    if not takes.shape[0]:
        return [None] * frames.shape[0]
    keys = np.stack([np.concatenate([an.stream[row], an.stream[takes]]),
                     np.concatenate([segs.dst[row], segs.src[takes]]),
                     np.concatenate([segs.dport[row], segs.sport[takes]]),
                     np.concatenate([segs.ack[row], end[takes]])], axis=1).astype(np.int64)
    # each row's rank among the distinct rows (np.unique(keys, axis=0)'s inverse, which
    # sorts the rows as bytes: a tenth of rtt --summary on many short connections)
    order = np.lexsort(keys.T[::-1])
    ordered = keys[order]
    starts = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
    key = np.empty(keys.shape[0], np.int64)
    key[order] = np.cumsum(starts) - 1
    ack_key, sent_key = key[:frames.shape[0]], key[frames.shape[0]:]
    sent_frame = segs.frame[takes].astype(np.int64)
    span = int(max(int(sent_frame.max()), int(frames.max()))) + 1
    sent_at = sent_key * span + sent_frame
    order = np.argsort(sent_at, kind="stable")
    found = np.searchsorted(sent_at[order], ack_key * span + frames, side="left") - 1  # (an earlier frame)
    hit = order[np.maximum(found, 0)]
    ok = (found >= 0) & (sent_key[hit] == ack_key)
    length = np.where((flags[takes] & SYN) != 0, -1, segs.seglen[takes])[hit]
    return [int(v) if good else None for v, good in zip(length.tolist(), ok.tolist(), strict=True)]


def rtt_samples(path: PathOrFrames, stream: int | None = None, method: str = "wireshark") -> pd.DataFrame:
    """One row per RTT sample (see module doc); ``tcp.analysis.ack_rtt`` in float seconds."""
    return rtt_table(path, stream, method).to_pandas()


def rtt_table(path: PathOrFrames, stream: int | None = None, method: str = "wireshark") -> ColumnTable:
    """:func:`rtt_samples` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI formats, without pandas)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    from pcapkit.reports.memory import release_memory

    table = segment_table(path)
    release_memory()  # (the reader's batches: free pages the analysis might not reuse)
    return _samples(analyse_table(table), stream, method, table)


def analysed_samples(an: AnalysedSegments, stream: int | None = None, method: str = "wireshark",
                     table: SegmentTable | None = None) -> pd.DataFrame:
    """:func:`rtt_samples` of segments already analysed (``table``, the segment table
    they were analysed from, is needed by ``method="karn"`` only)."""
    return _samples(an, stream, method, table).to_pandas()


def _samples(an: AnalysedSegments, stream: int | None, method: str, table: SegmentTable | None) -> ColumnTable:
    if method == "wireshark":
        picked = an if stream is None else an.select(an.stream == stream)
        raw = _wireshark_samples(picked)
    else:
        if table is None:
            raise ValueError("method='karn' needs the segment table")
        raw = _tcptrace_samples(table, an, stream)
    acked_len = _acked_lengths(an, [r[3] for r in raw])
    est: dict[tuple[int, str], tuple[float, float]] = {}
    lab: dict[tuple[int, str], float] = {}
    rows = []
    for (st, dsrc, ddst, frame, acked, ts, ack, rtt_ns), length in zip(raw, acked_len, strict=True):
        rtt = rtt_ns / 1e9
        prev = est.get((st, dsrc))
        if prev is None:
            srtt, rttvar = rtt, rtt / 2
        else:
            srtt0, var0 = prev
            rttvar = 0.75 * var0 + 0.25 * abs(srtt0 - rtt)
            srtt = (1 - ALPHA) * srtt0 + ALPHA * rtt
        est[(st, dsrc)] = (srtt, rttvar)
        estimated: float | None = None
        if length is not None and length > 0:
            before = lab.get((st, dsrc))
            estimated = lab[(st, dsrc)] = rtt if before is None else (1 - ALPHA) * before + ALPHA * rtt
        rows.append((st, dsrc, ddst, frame, acked, ts, ack, rtt, None if length is None else max(length, 0), srtt,
                     rttvar, estimated))
    return _table(rows, SAMPLE_COLUMNS, {"warnings": list(an.warnings), "method": method,
                                         **_error(an.segments.error if table is None else table.error)})


def _error(error: object) -> dict[str, str]:
    return {} if error is None else {"pcapkit.error": str(error)}


def _table(rows: list[tuple[Any, ...]], columns: dict[str, str], attrs: dict[str, Any]) -> ColumnTable:
    """The table of ``rows`` (tuples of Python values, None where missing) of ``columns``."""
    cols: list[tuple[Any, ...]] = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return ColumnTable({name: column_from_list(values, dtype)
                        for (name, dtype), values in zip(columns.items(), cols, strict=True)}, attrs)


def summarize(samples: pd.DataFrame) -> pd.DataFrame:
    """Per stream and data direction: count, min, mean, median, p95, max, stdev of the
    samples, the final RFC 6298 SRTT/RTTVAR and the final lab EstimatedRTT
    (``estimated_rtt``; see the module doc for how the two differ)."""
    return summary_table(ColumnTable.from_pandas(samples)).to_pandas()


def summary_table(samples: ColumnTable) -> ColumnTable:
    """:func:`summarize` of a table of samples, as a table."""
    groups: dict[tuple[Any, ...], list[int]] = {}
    keys = [samples[name].texts_at().tolist() for name in ("tcp.stream", "data_src", "data_dst")]
    for i, key in enumerate(zip(*keys, strict=True)):
        groups.setdefault(key, []).append(i)
    rtts, srtts, rttvars, estimated = (samples[name].texts_at().tolist()
                                       for name in ("tcp.analysis.ack_rtt", "srtt", "rttvar", "estimated_rtt"))
    rows = []
    for (st, dsrc, ddst), at in sorted(groups.items(), key=lambda kv: kv[0]):
        v = [float(rtts[i]) for i in at]
        ordered = sorted(v)
        n = len(ordered)
        rank = max(1, -(-95 * n // 100))  # p95: nearest-rank percentile
        half = n // 2
        median = ordered[half] if n % 2 else (ordered[half - 1] + ordered[half]) / 2
        mean = math.fsum(v) / n  # (statistics.fmean)
        present = [estimated[i] for i in at if estimated[i] is not None and estimated[i] == estimated[i]]
        rows.append((int(st), dsrc, ddst, n, ordered[0], mean, median, ordered[rank - 1], ordered[-1],
                     _sample_stdev(v, mean) if n > 1 else None,
                     float(srtts[at[-1]]), float(rttvars[at[-1]]), float(present[-1]) if present else None))
    return _table(rows, SUMMARY_COLUMNS, samples.attrs)


def _sample_stdev(values: list[float], mean: float) -> float:
    """The sample standard deviation (n - 1) of ``values`` about their ``mean``: two passes,
    each summed exactly (as pandas' ``std`` to within an ulp or two; statistics.stdev's
    exact fractions took a quarter of ``rtt --summary`` on many short connections)."""
    return math.sqrt(math.fsum((x - mean) * (x - mean) for x in values) / (len(values) - 1))


def rtt_summary(path: PathOrFrames, stream: int | None = None, method: str = "wireshark") -> pd.DataFrame:
    """:func:`summarize` of :func:`rtt_samples`."""
    return summarize(rtt_samples(path, stream=stream, method=method))
