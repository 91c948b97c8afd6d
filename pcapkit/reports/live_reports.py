"""The reports of a live capture, row by row as each row becomes final.

Packets arrive in batches (a ring block of a live capture, or a few records of a pipe).
:class:`LiveAnalysis` turns each batch into segments with the one segment source
(:func:`pcapkit.tcpflow.segments.segment_table`) and feeds them, one
:class:`~pcapkit.tcpflow.segment.Segment` at a time, to one
:class:`~pcapkit.tcpflow.engine.TcpEngine` that lives as long as the capture: the
same sans-I/O engine, in the same order, as the file reports run. Each batch comes out
as :class:`~pcapkit.tcpflow.analysed.AnalysedSegments` (the engine's
:class:`~pcapkit.tcpflow.engine.FrameAnalysis` records laid out as the analysis'
columns), and the producers below derive their rows from it with the file reports'
own builders, so a live row and a file row are the same row:

- :class:`TcpRows`: every frame's analysis row (:func:`pcapkit.reports.tcp.analysis_table`);
- :class:`HandshakeRows`: a stream's handshake row when its third packet (the client's
  ACK) arrives, or a RST, an idle timeout or the end of the capture settles it
  (:func:`pcapkit.reports.handshakes.handshake_rows` over the rows that decide it);
- :class:`RttRows`: an RTT sample when its ACK arrives, with the RFC 6298 and lab
  estimators carried from sample to sample (:mod:`pcapkit.reports.rtt`'s columns);
- :class:`FlowRows` (:mod:`pcapkit.reports.live_flows`): a conversation when it ends.

What is not carried across batches: IP fragments are reassembled within a batch only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.proto.seq import seq_diff
from pcapkit.tcpflow import flags as fl
from pcapkit.tcpflow.analysed import TCP_MAX_UNACKED_SEGMENTS, AnalysedSegments
from pcapkit.tcpflow.analysis import AnalysisResult
from pcapkit.tcpflow.engine import FrameAnalysis, TcpEngine
from pcapkit.tcpflow.segment import ACK, FIN, RST, SYN
from pcapkit.tcpflow.segments import SegmentTable, segment_table
from pcapkit.tcpflow.segments.table import INT_COLUMNS, MAX_SACK_BLOCKS

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.frame import Frame

__all__ = ["REPORTS", "HandshakeRows", "LiveAnalysis", "LiveBatch", "RttRows", "TcpRows", "concat_analysed"]

REPORTS = ("handshakes", "rtt", "tcp", "flows")

# the analysis' output columns in AnalysisResult order (after warnings, n_conversations)
_RESULT_FIELDS = ("stream", "seq", "ack", "nxtseq", "window_size", "scalefactor", "aflags", "acks_frame", "ack_rtt",
                  "irtt", "bif", "push", "dupack_num", "dupack_frame", "rto", "rto_frame", "time_relative",
                  "time_delta", "have")


@dataclass(eq=False)
class LiveBatch:
    """One batch of packets, analysed: its frames, the segment table (with the packet
    table when flows are wanted) and the analysed tshark view of its segments."""

    frames: list[Frame]
    table: SegmentTable
    analysed: AnalysedSegments


def _result(records: list[FrameAnalysis], warnings: list[str], nconv: int) -> AnalysisResult:
    """The engine's records as the analysis' columns (the ``have`` bits from which
    optional values are present)."""
    cols: dict[str, list[int]] = {name: [] for name in _RESULT_FIELDS}
    for r in records:
        have = ((fl.H_ACKS_FRAME if r.acks_frame is not None else 0) | (fl.H_ACK_RTT if r.ack_rtt is not None else 0)
                | (fl.H_IRTT if r.initial_rtt is not None else 0) | (fl.H_BIF if r.bytes_in_flight is not None else 0)
                | (fl.H_PUSH if r.push_bytes_sent is not None else 0) | (fl.H_DUPACK if r.dupack_num is not None else 0)
                | (fl.H_RTO if r.rto is not None else 0) | (fl.H_SHORT if r.short else 0)
                | (fl.H_LIMITED if r.limited else 0))
        for name, value in (("stream", r.stream), ("seq", r.seq), ("ack", r.ack), ("nxtseq", r.nxtseq),
                            ("window_size", r.window_size), ("scalefactor", r.scalefactor), ("aflags", r.flags),
                            ("acks_frame", r.acks_frame), ("ack_rtt", r.ack_rtt), ("irtt", r.initial_rtt),
                            ("bif", r.bytes_in_flight), ("push", r.push_bytes_sent), ("dupack_num", r.dupack_num),
                            ("dupack_frame", r.dupack_frame), ("rto", r.rto), ("rto_frame", r.rto_frame),
                            ("time_relative", r.time_relative), ("time_delta", r.time_delta), ("have", have)):
            cols[name].append(0 if value is None else value)
    arrays = [np.asarray(cols[name], dtype=np.int64) for name in _RESULT_FIELDS]
    return AnalysisResult(list(warnings), nconv, *arrays)


class LiveAnalysis:
    """One TCP engine for a whole capture, fed batch after batch (see the module doc).
    ``packets``: also build the packet table (flows count every IP packet)."""

    def __init__(self, *, packets: bool = False, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
                 max_conversations: int | None = None) -> None:
        self.engine = TcpEngine(max_unacked=max_unacked, max_conversations=max_conversations)
        self.packets = packets
        # endpoint pair (lower endpoint first) -> time of its latest segment
        self._last: dict[tuple[tuple[str, int], tuple[str, int]], int] = {}

    def expire(self, now_ns: int, idle_ns: int) -> int:
        """Give back the engine's state of the conversations idle for ``idle_ns``
        (bounded memory; one that comes back later starts a new tcp.stream). Returns how
        many were let go."""
        idle = [pair for pair, ts in self._last.items() if now_ns - ts >= idle_ns]
        for pair in idle:
            del self._last[pair]
            self.engine.forget(*pair)
        return len(idle)

    @property
    def warnings(self) -> list[str]:
        return self.engine.warnings

    def feed(self, frames: list[Frame]) -> LiveBatch:
        """Analyse the frames of one batch (in capture order, numbered by the capture)."""
        table = segment_table(frames, packets=self.packets)
        view = table.tshark_view()
        feed = self.engine.feed
        records: list[FrameAnalysis] = []
        kept: list[int] = []
        last = self._last
        for i, seg in enumerate(view.segments()):
            a, b = (seg.src, seg.sport), (seg.dst, seg.dport)
            last[(a, b) if a <= b else (b, a)] = seg.ts_ns
            rec = feed(seg)
            if rec is not None:  # (None: cut by max_conversations)
                records.append(rec)
                kept.append(i)
        if len(kept) != len(view):
            view = view.select(np.asarray(kept, dtype=np.int64))
        result = _result(records, self.engine.warnings, self.engine.stream_count)
        return LiveBatch(frames, table, AnalysedSegments(view, result, list(result.warnings)))


def concat_analysed(pieces: list[AnalysedSegments]) -> AnalysedSegments:
    """Rows of several batches as one :class:`AnalysedSegments` (address codes renumbered
    into one address list)."""
    texts: dict[str, int] = {}
    cols: dict[str, list[np.ndarray]] = {name: [] for name in INT_COLUMNS}
    sack_l, sack_r = [], []
    results: dict[str, list[np.ndarray]] = {name: [] for name in _RESULT_FIELDS}
    for an in pieces:
        segs = an.segments
        remap = np.asarray([texts.setdefault(t, len(texts)) for t in segs.addresses] or [0], dtype=np.int64)
        for name in INT_COLUMNS:
            values = getattr(segs, name)
            cols[name].append(remap[values] if name in ("src", "dst") and values.size else values)
        sack_l.append(segs.sack_l)
        sack_r.append(segs.sack_r)
        for name in _RESULT_FIELDS:
            results[name].append(np.asarray(getattr(an.result, name)))
    empty = np.zeros(0, dtype=np.int64)
    joined: dict[str, Any] = {name: np.concatenate(v) if v else empty for name, v in cols.items()}
    table = SegmentTable(**joined,
                         sack_l=np.concatenate(sack_l) if sack_l else np.zeros((0, MAX_SACK_BLOCKS), np.int64),
                         sack_r=np.concatenate(sack_r) if sack_r else np.zeros((0, MAX_SACK_BLOCKS), np.int64),
                         addresses=list(texts))
    warnings = pieces[-1].warnings if pieces else []
    result = AnalysisResult(list(warnings), 0, *[np.concatenate(v) if v else empty for v in results.values()])
    return AnalysedSegments(table, result, list(warnings))


def _frame_of_rows(an: AnalysedSegments, rows: Iterable[int]) -> AnalysedSegments:
    return an.select(np.asarray(sorted(rows), dtype=np.int64))


# -- tcp ------------------------------------------------------------------------------


class TcpRows:
    """tshark's analysis row of every TCP frame, as the batch is analysed."""

    def feed(self, batch: LiveBatch) -> pd.DataFrame:
        from pcapkit.reports.tcp import analysis_table

        return analysis_table(batch.analysed)

    def finish(self) -> pd.DataFrame | None:
        return None


# -- handshakes -----------------------------------------------------------------------


@dataclass(eq=False)
class _Pending:
    """The rows that decide a stream's handshake, kept until it is settled."""

    pieces: list[AnalysedSegments]
    synack_seen: bool = False
    client: tuple[str, int] | None = None   # (address, port) of the SYN's sender
    last_ts: int = 0


class HandshakeRows:
    """A stream's handshake row as soon as it is settled: the client's ACK after the
    SYN-ACK (established), a RST, ``idle_ns`` without a packet, or the end of the
    capture. The rows that decide it (the stream's first row, every SYN or RST, and
    after a SYN-ACK the ACKs without SYN or RST) are kept until then, and nothing after:
    a stream takes a few rows of memory, however long it lasts."""

    def __init__(self, idle_ns: int = 300 * 10**9) -> None:
        self.idle_ns = idle_ns
        self._pending: dict[int, _Pending] = {}
        # streams already reported -> time of their latest segment (let go when idle:
        # the engine then gives a returning pair a new tcp.stream)
        self._done: dict[int, int] = {}

    def feed(self, batch: LiveBatch) -> pd.DataFrame | None:
        an = batch.analysed
        if not len(an):
            return None
        stream = an.stream.tolist()
        flags = an.segments.flags.tolist()
        ts = an.segments.ts_ns.tolist()
        texts = an.segments.addresses
        src, sport = an.segments.src.tolist(), an.segments.sport.tolist()
        dst, dport = an.segments.dst.tolist(), an.segments.dport.tolist()
        keep: dict[int, list[int]] = {}
        decide: dict[int, int] = {}  # stream -> its first row in the batch that may settle it
        for i, (st, f) in enumerate(zip(stream, flags, strict=True)):
            if st in self._done:
                self._done[st] = ts[i]
                continue
            pend = self._pending.get(st)
            if pend is None:
                pend = self._pending[st] = _Pending([])
            pend.last_ts = ts[i]
            rows = keep.setdefault(st, [])
            first = not pend.pieces and not rows
            me = (texts[src[i]], sport[i])
            if f & (SYN | ACK) == SYN and pend.client is None:
                pend.client = me
            elif f & (SYN | ACK) == (SYN | ACK):
                if pend.client is None:
                    pend.client = (texts[dst[i]], dport[i])
                pend.synack_seen = pend.synack_seen or pend.client == (texts[dst[i]], dport[i])
            if first or f & (SYN | RST) or (pend.synack_seen and f & ACK):
                rows.append(i)
                # (the client's ACK after the SYN-ACK, or a RST, may settle it: ask the report)
                if f & RST or (pend.synack_seen and f & ACK and not f & (SYN | RST) and me == pend.client):
                    decide.setdefault(st, i)
        for st, rows in keep.items():
            if rows:
                self._pending[st].pieces.append(_frame_of_rows(an, rows))
        settled = []
        for st, i in decide.items():
            row = self._established(st, an, i) if not flags[i] & RST else None
            if row is None:
                row = self._row(st)
            if row is not None and (row["outcome"] == "established" or self._has_rst(st)):
                settled.append(row)
                self._finish(st)
        return self._frame(settled)

    def _established(self, st: int, an: AnalysedSegments, i: int) -> dict[str, Any] | None:
        """The row of a stream opened by a SYN whose client has just sent its first ACK
        after the SYN-ACK (row ``i`` of ``an``): the report's row of the SYN and RST rows
        (the handshake's every field but the ACK's), with the ACK's frame, time and the
        initial RTT the engine put on it. (The report's search for the ACK among many
        rows is a pandas merge: 10-30 ms for a row whose packet is known here.)"""
        from pcapkit.reports.handshakes import handshake_rows

        pend = self._pending[st]
        first = pend.pieces[0].segments.flags
        if not first.size or not first[0] & SYN:
            return None
        control = [p.select((p.segments.flags & (SYN | RST)) != 0) for p in pend.pieces]
        rows = handshake_rows(concat_analysed([p for p in control if len(p)]))
        if len(rows) != 1 or rows[0]["outcome"] != "incomplete":
            return None
        row = rows[0]
        have = int(np.asarray(an.result.have)[i])
        if row["tcp.analysis.initial_rtt"] is None and have & fl.H_IRTT:
            irtt = int(np.asarray(an.result.irtt)[i])
            row["tcp.analysis.initial_rtt"] = irtt / 1e9 if irtt else None
        row.update({"ack_frame": int(an.segments.frame[i]), "ack_time": int(an.segments.ts_ns[i]),
                    "outcome": "established"})
        return row

    def _has_rst(self, st: int) -> bool:
        return any(bool((p.segments.flags & RST).any()) for p in self._pending[st].pieces)

    def _row(self, st: int) -> dict[str, Any] | None:
        from pcapkit.reports.handshakes import handshake_rows

        pend = self._pending[st]
        if not pend.pieces:
            return None
        rows = handshake_rows(concat_analysed(pend.pieces))
        return rows[0] if rows else None

    def _finish(self, st: int) -> None:
        self._done[st] = self._pending.pop(st).last_ts

    def expire(self, now_ns: int) -> pd.DataFrame | None:
        """Settle the streams idle for ``idle_ns`` at ``now_ns``."""
        old = [st for st, p in self._pending.items() if now_ns - p.last_ts >= self.idle_ns]
        for st in [st for st, ts in self._done.items() if now_ns - ts >= self.idle_ns]:
            del self._done[st]
        return self._settle(old)

    def finish(self) -> pd.DataFrame | None:
        return self._settle(sorted(self._pending))

    def _settle(self, streams: list[int]) -> pd.DataFrame | None:
        rows = []
        for st in streams:
            row = self._row(st)
            if row is not None:
                rows.append(row)
            self._finish(st)
        return self._frame(rows)

    @staticmethod
    def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame | None:
        if not rows:
            return None
        import pandas as pd

        from pcapkit.reports.handshakes import COLUMNS
        from pcapkit.reports.tcp import column

        return pd.DataFrame({name: column([r[name] for r in rows], dtype) for name, dtype in COLUMNS.items()})


# -- rtt ------------------------------------------------------------------------------


def _ep(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


class RttRows:
    """tshark's ``tcp.analysis.ack_rtt`` samples as their ACKs arrive, each with the
    columns of :func:`pcapkit.reports.rtt.rtt_samples` (``method="wireshark"``): the
    acknowledged segment's payload length, the RFC 6298 SRTT/RTTVAR and the lab's
    EstimatedRTT after the sample. Per stream it keeps the estimators and the ends of
    the segments not yet acknowledged (pruned by each ACK)."""

    def __init__(self, idle_ns: int = 300 * 10**9) -> None:
        from pcapkit.reports.rtt import ALPHA

        self.alpha = ALPHA
        self.idle_ns = idle_ns
        self._last: dict[int, int] = {}   # stream -> time of its latest segment
        # (stream, sender endpoint) -> {end seq: payload length (-1: a SYN)}
        self._ends: dict[tuple[int, str], dict[int, int]] = {}
        self.estimators: dict[tuple[int, str], tuple[float, float]] = {}
        self._lab: dict[tuple[int, str], float] = {}

    def forget(self, streams: Iterable[int]) -> None:
        """Drop the state of streams that ended (bounded memory)."""
        gone = set(streams)
        for st in gone:
            self._last.pop(st, None)
        for d in (self._ends, self.estimators, self._lab):
            for key in [k for k in d if k[0] in gone]:
                del d[key]

    def feed(self, batch: LiveBatch) -> pd.DataFrame | None:
        an = batch.analysed
        if not len(an):
            return None
        segs, res = an.segments, an.result
        texts = segs.addresses
        both = fl.H_ACK_RTT | fl.H_ACKS_FRAME
        rows = []
        alpha = self.alpha
        for (st, src, sport, dst, dport, frame, ts, seq, ack_raw, f, seglen, have, acks_frame, ack_rel,
             rtt_ns) in zip(an.stream.tolist(), segs.src.tolist(), segs.sport.tolist(), segs.dst.tolist(),
                            segs.dport.tolist(), segs.frame.tolist(), segs.ts_ns.tolist(), segs.seq.tolist(),
                            segs.ack.tolist(), segs.flags.tolist(), segs.seglen.tolist(),
                            np.asarray(res.have).tolist(), np.asarray(res.acks_frame).tolist(),
                            np.asarray(res.ack).tolist(), np.asarray(res.ack_rtt).tolist(), strict=True):
            me, peer = _ep(texts[src], sport), _ep(texts[dst], dport)
            self._last[st] = ts
            if f & ACK:
                ends = self._ends.get((st, peer))
                length = ends.get(ack_raw) if ends else None
                if have & both == both:
                    rtt = rtt_ns / 1e9
                    key = (st, peer)
                    prev = self.estimators.get(key)
                    if prev is None:
                        srtt, rttvar = rtt, rtt / 2
                    else:
                        rttvar = 0.75 * prev[1] + 0.25 * abs(prev[0] - rtt)
                        srtt = (1 - alpha) * prev[0] + alpha * rtt
                    self.estimators[key] = (srtt, rttvar)
                    estimated: float | None = None
                    if length is not None and length > 0:
                        before = self._lab.get(key)
                        estimated = self._lab[key] = rtt if before is None else (1 - alpha) * before + alpha * rtt
                    rows.append((st, peer, me, frame, acks_frame, ts, ack_rel, rtt,
                                 None if length is None else max(length, 0), srtt, rttvar, estimated))
                if ends:
                    # (an ACK never times a segment that ends before it again)
                    for end in [e for e in ends if seq_diff(e, ack_raw) < 0]:
                        del ends[end]
            if seglen > 0 or f & (SYN | FIN):
                end = (seq + max(seglen, 0) + (1 if f & SYN else 0) + (1 if f & FIN else 0)) % (1 << 32)
                self._ends.setdefault((st, me), {})[end] = -1 if f & SYN else seglen
        if not rows:
            return None
        import pandas as pd

        from pcapkit.reports.rtt import SAMPLE_COLUMNS
        from pcapkit.reports.tcp import column

        values = list(zip(*rows, strict=True))
        return pd.DataFrame({name: column(list(v), dtype)
                             for (name, dtype), v in zip(SAMPLE_COLUMNS.items(), values, strict=True)})

    def expire(self, now_ns: int) -> pd.DataFrame | None:
        """Forget the streams idle for ``idle_ns`` (their estimators start again if they
        come back: the file report would carry them on)."""
        self.forget([st for st, ts in self._last.items() if now_ns - ts >= self.idle_ns])
        return None

    def finish(self) -> pd.DataFrame | None:
        return None
