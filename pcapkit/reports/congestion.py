"""Congestion behaviour of every TCP sender in a capture: cwnd, ssthresh, phase, what
limits it, loss events and the congestion-control algorithm (the model:
:mod:`pcapkit.tcpflow.ccmodel`).

``congestion_segments(source, stream=None)``: one row per data segment (a segment with
payload, tshark's ``tcp.len > 0``; a retransmission too), in capture order:
``frame.number``, ``frame.time_epoch``, ``tcp.stream``, ``tcp.srcport``, ``tcp.dstport``,
``cwnd_bytes`` (the sender's window estimate when it sent the segment), ``ssthresh_bytes``
(empty until the model has seen it set: a loss, the end of slow start, BBR's drain),
``phase`` and ``limited_by`` (see :data:`PHASES`, :data:`LIMITS`).

``congestion_summary(source)``: one row per stream and sending direction (a direction
that sent data; a stream with none gets one row, ``unknown``, from the side that
opened it): ``cc_algorithm`` (``reno``, ``cubic``, ``bbr`` or ``unknown``, then with the
``reason``), ``confidence`` (0..1), ``loss_events`` = ``fast_retransmits`` + ``rtos``,
the share of the sending time spent in each phase (``share_<phase>``, the time from a
data segment to the next one counted in the first one's phase), ``mean_cwnd_bytes``
(over the data segments), ``data_segments`` and ``vantage``: ``sender`` or ``receiver``,
the end the capture was taken near, from its handshake (``sender`` when the capture has
none); a receiver-side capture is read in the sender's order
(:mod:`pcapkit.tcpflow.ccvantage`), which needs TCP timestamps to be exact.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import Column, ColumnTable, concat_tables
from pcapkit.reports.typed_rows import typed_columns
from pcapkit.tcpflow.analysed import AnalysedSegments, analyse_table
from pcapkit.tcpflow.ccmodel import (
    CWND,
    LIMITED_BY,
    LIMITS,
    PHASE,
    PHASES,
    SSTHRESH,
    CongestionModel,
    ModelColumns,
    columns_identification,
    model_columns,
    model_direction,
)
from pcapkit.tcpflow.congestion import analyse_direction, scan_table
from pcapkit.tcpflow.segment import RST, SYN, Segment

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from pcapkit.reports.tcp import PathOrFrames
    from pcapkit.tcpflow.segments import SegmentTable

__all__ = ["LIMITS", "PHASES", "SEGMENT_COLUMNS", "SUMMARY_COLUMNS", "congestion_models", "congestion_segment_table",
           "congestion_segments", "congestion_summary", "congestion_summary_table", "iter_congestion_models"]

SEGMENT_COLUMNS: dict[str, str] = {
    "frame.number": "Int64",
    "frame.time_epoch": "datetime64[ns]",
    "tcp.stream": "Int64",
    "tcp.srcport": "Int64",
    "tcp.dstport": "Int64",
    "cwnd_bytes": "int64",
    "ssthresh_bytes": "Int64",
    "phase": "string",
    "limited_by": "string",
}

SUMMARY_COLUMNS: dict[str, str] = {
    "tcp.stream": "Int64",
    "tcp.srcport": "Int64",
    "tcp.dstport": "Int64",
    "cc_algorithm": "string",
    "confidence": "float64",
    "loss_events": "Int64",
    "fast_retransmits": "Int64",
    "rtos": "Int64",
    **{f"share_{p.replace('-', '_')}": "float64" for p in PHASES},
    "mean_cwnd_bytes": "float64",
    "data_segments": "Int64",
    "vantage": "string",
    "reason": "string",
}


_BATCH_ROWS = 65_536  # segment rows made Python values together (streams never split)


def _carries_data(table: SegmentTable) -> np.ndarray:
    """Per row: a segment that sends data (payload, not a reset): what makes its direction
    a sender (:func:`_senders`, :func:`_table_senders`)."""
    return (table.seglen > 0) & ((table.flags & RST) == 0)


def _rows_of(an: AnalysedSegments, stream: int | set[int] | None, with_data: bool | None) -> np.ndarray:
    """Mask of the rows of ``stream`` (one, a set, or every stream); ``with_data`` True or
    False keeps only the streams that do or do not carry data (None: both)."""
    streams = an.stream
    wanted = streams >= 0
    if stream is not None:
        chosen = np.fromiter(stream if isinstance(stream, set) else (stream,), dtype=np.int64)
        wanted &= np.isin(streams, chosen)
    if with_data is not None:
        sending = np.isin(streams, np.unique(streams[wanted & _carries_data(an.segments)]))
        wanted &= sending if with_data else ~sending
    return wanted


def _stream_segments(an: AnalysedSegments, stream: int | set[int] | None, *, data_only: bool = False,
                     ) -> Iterator[tuple[int, list[Segment]]]:
    """(tcp.stream, its segments in order) of every stream, or of ``stream`` (one or a set),
    in stream order; with ``data_only``, only the streams that carry data. Consecutive
    streams are taken from the table together, about ``_BATCH_ROWS`` rows at a time: one
    selection and one pass of Python values per batch, not per stream (a million
    one-packet streams, one at a time, took hours)."""
    streams = an.stream
    rows = np.flatnonzero(_rows_of(an, stream, True if data_only else None))
    if not rows.size:
        return
    order = rows[np.argsort(streams[rows], kind="stable")]
    ids = streams[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # (where each stream begins in order)
    batch_starts = starts[np.r_[True, np.diff(starts // _BATCH_ROWS) != 0]]
    for begin, end in zip(batch_starts.tolist(), [*batch_starts[1:].tolist(), len(order)], strict=True):
        batch = np.sort(order[begin:end])
        buckets: dict[int, list[Segment]] = {}
        for st, segment in zip(streams[batch].tolist(), an.segments.select(batch).segments(), strict=True):
            buckets.setdefault(st, []).append(segment)
        for st in sorted(buckets):
            yield st, buckets.pop(st)


def _senders(segs: list[Segment]) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """(sender, receiver) of each direction that carries data, in order of its first data."""
    out: dict[tuple[tuple[str, int], tuple[str, int]], None] = {}
    for s in segs:
        if s.seglen > 0 and not s.flags & RST:
            out.setdefault(((s.src, s.sport), (s.dst, s.dport)), None)
    return list(out)


def congestion_models(source: PathOrFrames | AnalysedSegments, stream: int | set[int] | None = None, *,
                      data_only: bool = False,
                      ) -> list[tuple[int, CongestionModel | None, tuple[tuple[str, int], tuple[str, int]]]]:
    """(tcp.stream, model, (sender, receiver)) per stream and sending direction; a stream
    without data: (stream, None, (opener, other side)), unless ``data_only``."""
    return list(iter_congestion_models(source, stream, data_only=data_only))


def _streams_of(source: PathOrFrames | AnalysedSegments) -> AnalysedSegments:
    """The segments of ``source`` with their ``tcp.stream``: all the models read of the TCP
    analysis (they follow each sender themselves), so only that is kept (a million
    segments: 0.2 GB less than every tcp.analysis column)."""
    from pcapkit.tcpflow.segments import segment_table

    if isinstance(source, AnalysedSegments):
        return source
    return analyse_table(segment_table(source), outputs=("stream",))


def iter_congestion_models(source: PathOrFrames | AnalysedSegments, stream: int | set[int] | None = None, *,
                           data_only: bool = False,
                           ) -> Iterator[tuple[int, CongestionModel | None, tuple[tuple[str, int], tuple[str, int]]]]:
    """:func:`congestion_models` one at a time, so that a caller keeps what it needs of a
    stream's models and lets them go (the models of a million segments, all held: 0.9 GB).
    The models' Python values, made from :class:`Segment` values; the reports read each
    model as arrays instead (:func:`_direction_models`), and tests compare the two."""
    from pcapkit.reports.memory import release_memory

    an = _streams_of(source)
    if not len(an):
        return
    for st, segs in _stream_segments(an, stream, data_only=data_only):
        if len(segs) >= _BATCH_ROWS:  # (the last big stream's objects are gone: their pages go back)
            release_memory()
        pairs = _senders(segs)
        if not pairs:
            first = next((s for s in segs if s.flags & SYN), segs[0])
            yield st, None, ((first.src, first.sport), (first.dst, first.dport))
        for sender, receiver in pairs:
            yield st, model_direction(analyse_direction(segs, sender, receiver)), (sender, receiver)


def _sorted_by(table: ColumnTable, name: str) -> ColumnTable:
    """``table``'s rows in order of the column ``name`` (stable; never missing)."""
    key = table[name].values
    if key.shape[0] < 2 or bool((key[1:] >= key[:-1]).all()):
        return table
    return table.take(np.argsort(key, kind="stable"))


def congestion_segments(source: PathOrFrames | AnalysedSegments, stream: int | None = None) -> pd.DataFrame:
    """One row per data segment (see the module doc), in frame order."""
    return congestion_segment_table(source, stream).to_pandas()


def congestion_segment_table(source: PathOrFrames | AnalysedSegments, stream: int | None = None) -> ColumnTable:
    """:func:`congestion_segments` as a :class:`~pcapkit.columnar.column_table.ColumnTable`
    (what the CLI formats, without pandas), from each sender's model as columns
    (:func:`_direction_models`): per sender its rows' arrays, joined once and put in frame
    order; ``phase`` and ``limited_by`` as codes into their names (formatted once each).
    ``attrs``: the input's ``pcapkit.error`` (a cut or damaged file) and ``warnings``."""
    an = _streams_of(source)
    attrs = _input_attrs(an)
    parts = [_segment_arrays(st, model, sport, dport) for st, model, sport, dport in _direction_models(an, stream)]
    if not parts:
        return typed_columns({name: [] for name in SEGMENT_COLUMNS}, SEGMENT_COLUMNS, attrs)
    arrays = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
    del parts
    frames = arrays["frame.number"]
    if frames.shape[0] > 1 and not bool((frames[1:] >= frames[:-1]).all()):
        order = np.argsort(frames, kind="stable")
        arrays = {name: values[order] for name, values in arrays.items()}
    unset = arrays["ssthresh_bytes"] < 0
    columns = {name: Column(values, None, SEGMENT_COLUMNS[name]) for name, values in arrays.items()}
    columns["ssthresh_bytes"] = Column(np.where(unset, 0, arrays["ssthresh_bytes"]), unset, "Int64")
    columns["phase"] = Column(arrays["phase"], None, "string", texts=_PHASE_NAMES)
    columns["limited_by"] = Column(arrays["limited_by"], None, "string", texts=_LIMIT_NAMES)
    return ColumnTable({name: columns[name] for name in SEGMENT_COLUMNS}, attrs, rows=frames.shape[0])


def _input_attrs(an: AnalysedSegments) -> dict[str, Any]:
    """What a report says of its input, as the other TCP reports: the analysis' warnings and
    the error that stopped the reading (a cut or damaged file: the rows are those before it)."""
    attrs: dict[str, Any] = {"warnings": list(an.warnings)}
    if an.segments.error is not None:
        attrs["pcapkit.error"] = str(an.segments.error)
    return attrs


def _direction_models(source: PathOrFrames | AnalysedSegments, stream: int | None,
                      ) -> Iterator[tuple[int, ModelColumns, int, int]]:
    """(tcp.stream, the model as columns, sender's port, receiver's port) of each sending
    direction of the streams that carry data (or of ``stream``), in stream order, each
    direction in order of its first data: :func:`iter_congestion_models` with data_only,
    the scan reading the segment table's columns (rows of one connection) and the model
    kept as arrays (a million segments as Python values took three quarters of the time)."""
    from pcapkit.reports.memory import release_memory
    from pcapkit.tcpflow import jit

    an = _streams_of(source)
    if not len(an):
        return
    table, text = an.segments, an.segments.addresses
    compiled = jit.use_compiled(None)  # (once: asked per pass, it cost a tenth of a small connection's model)
    for st, rows in _data_stream_rows(an, stream):
        if rows.shape[0] >= _BATCH_ROWS:  # (the last big stream's arrays are gone: their pages go back)
            release_memory()
        for (s_code, s_port), (r_code, r_port) in _table_senders(table, rows):
            dc = scan_table(table, (s_code, s_port), (r_code, r_port), rows, compiled=compiled)
            yield st, model_columns(dc, (text[s_code], s_port), (text[r_code], r_port), compiled=compiled), \
                s_port, r_port
            del dc


def _data_stream_rows(an: AnalysedSegments, stream: int | None) -> Iterator[tuple[int, np.ndarray]]:
    """(tcp.stream, its rows of the segment table, in order) of each stream that carries
    data (or of ``stream``), in stream order."""
    rows = np.flatnonzero(_rows_of(an, stream, True))
    order = rows[np.argsort(an.stream[rows], kind="stable")]
    ids = an.stream[order]
    bounds = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1], True]) if ids.shape[0] else np.zeros(1, np.int64)
    for begin, end in itertools.pairwise(bounds.tolist()):
        yield int(ids[begin]), order[begin:end]


_PHASE_NAMES = np.array(PHASES, dtype=object)
_LIMIT_NAMES = np.array(LIMITS, dtype=object)


def _segment_arrays(st: int, model: ModelColumns, sport: int, dport: int) -> dict[str, np.ndarray]:
    """The rows of :func:`congestion_segment_table` of one sender: int64 arrays (ssthresh
    -1 where unset; phase and limited_by as indexes in PHASES and LIMITS)."""
    n = model.frame.shape[0]
    rows = model.rows
    return {"frame.number": model.frame, "frame.time_epoch": model.ts_ns, "tcp.stream": np.full(n, st, np.int64),
            "tcp.srcport": np.full(n, sport, np.int64), "tcp.dstport": np.full(n, dport, np.int64),
            "cwnd_bytes": rows[:, CWND].copy(), "ssthresh_bytes": rows[:, SSTHRESH].copy(),
            "phase": rows[:, PHASE].copy(), "limited_by": rows[:, LIMITED_BY].copy()}


def phase_shares(model: CongestionModel) -> dict[str, float]:
    """The share of the sending time (first to last data segment) spent in each phase."""
    index = {p: i for i, p in enumerate(PHASES)}
    return _phase_shares(np.array([e.ts_ns for e in model.segments], dtype=np.int64),
                         np.array([index[e.phase] for e in model.segments], dtype=np.int64))


def _phase_shares(ts_ns: np.ndarray, phase: np.ndarray) -> dict[str, float]:
    """:func:`phase_shares` of data segments sent at ``ts_ns`` in the phases ``phase``
    (indexes in PHASES): the time from each to the next one counted in the first one's
    phase (never negative); one segment, or no time: all in the first one's phase."""
    per_phase = np.zeros(len(PHASES), np.int64)
    np.add.at(per_phase, phase[:-1], np.maximum(np.diff(ts_ns), 0))
    spent = dict(zip(PHASES, per_phase.tolist(), strict=True))
    total = sum(spent.values())
    if total == 0:
        if phase.shape[0]:
            spent[PHASES[int(phase[0])]] = 1
        total = max(sum(spent.values()), 1)
    return {p: spent[p] / total for p in PHASES}


def _quiet_streams(an: AnalysedSegments, stream: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tcp.stream, srcport, dstport) of the opener (its first SYN, else its first segment)
    of each stream (or of ``stream``) that carries no data, in stream order: what
    :func:`congestion_models` gives as (stream, None, (opener, other side)), from columns."""
    streams, table = an.stream, an.segments
    rows = np.flatnonzero(_rows_of(an, stream, False))
    order = rows[np.argsort(streams[rows], kind="stable")]
    ids, first = np.unique(streams[order], return_index=True)
    opener = order[first]
    syns = order[(table.flags[order] & SYN) != 0]
    syn_ids, syn_first = np.unique(streams[syns], return_index=True)
    opener[np.searchsorted(ids, syn_ids)] = syns[syn_first]
    return ids, table.sport[opener], table.dport[opener]


def _quiet_summary(ids: np.ndarray, sport: np.ndarray, dport: np.ndarray) -> ColumnTable:
    """The summary rows of the streams without data (:func:`_quiet_streams`: ``unknown``,
    "no data segments"), built as columns: a SYN flood's million streams cost arrays, not
    a million rows of Python values."""
    n = len(ids)
    none = np.ones(n, dtype=bool)

    def ints(values: np.ndarray) -> Column:
        return Column(values.astype(np.int64), None, "Int64")

    def texts(value: str | None) -> Column:
        return Column(np.full(n, value, dtype=object), none if value is None else None, "string")

    columns: dict[str, Column] = {
        "tcp.stream": ints(ids), "tcp.srcport": ints(sport), "tcp.dstport": ints(dport),
        "cc_algorithm": texts("unknown"), "confidence": Column(np.zeros(n), None, "float64"),
        "loss_events": ints(np.zeros(n)), "fast_retransmits": ints(np.zeros(n)), "rtos": ints(np.zeros(n)),
        **{f"share_{p.replace('-', '_')}": Column(np.full(n, np.nan), None, "float64") for p in PHASES},
        "mean_cwnd_bytes": Column(np.full(n, np.nan), None, "float64"), "data_segments": ints(np.zeros(n)),
        "vantage": texts(None), "reason": texts("no data segments"),
    }
    return ColumnTable({name: columns[name] for name in SUMMARY_COLUMNS}, rows=n)


def congestion_summary(source: PathOrFrames | AnalysedSegments, stream: int | None = None) -> pd.DataFrame:
    """One row per stream and sending direction (see the module doc)."""
    return congestion_summary_table(source, stream).to_pandas()


def congestion_summary_table(source: PathOrFrames | AnalysedSegments, stream: int | None = None) -> ColumnTable:
    """:func:`congestion_summary` as a :class:`~pcapkit.columnar.column_table.ColumnTable`
    (what the CLI formats, without pandas); ``attrs`` as :func:`congestion_segment_table`'s."""
    an = _streams_of(source)
    attrs = _input_attrs(an)
    values: dict[str, list[Any]] = {name: [] for name in SUMMARY_COLUMNS}
    for st, model, sport, dport in _direction_models(an, stream):
        ident, n = model.identification, model.frame.shape[0]
        row: dict[str, Any] = {
            "tcp.stream": st, "tcp.srcport": sport, "tcp.dstport": dport, "cc_algorithm": ident.algorithm,
            "confidence": ident.confidence, "loss_events": model.loss_events,
            "fast_retransmits": model.fast_retransmits, "rtos": model.rtos,
            "mean_cwnd_bytes": int(model.rows[:, CWND].sum()) / n if n else None, "data_segments": n,
            "vantage": model.vantage, "reason": ident.reason}
        row.update({f"share_{p.replace('-', '_')}": v for p, v in _phase_shares(model.ts_ns, model.rows[:, PHASE]).items()})
        for name, v in row.items():
            values[name].append(v)
        del model  # (before the next is made: the loop variable would hold it meanwhile)
    quiet_streams = _quiet_streams(an, stream) if len(an) else None
    del an, source  # (what the tables are built from is all that is needed now: a SYN flood's is large)
    table = typed_columns(values, SUMMARY_COLUMNS)
    if quiet_streams is not None and len(quiet_streams[0]):
        quiet = _quiet_summary(*quiet_streams)
        # (a stream either carries data or not: ordering by stream keeps each one's directions in order)
        table = _sorted_by(concat_tables([table, quiet]), "tcp.stream") if len(table) else quiet
    table.attrs = attrs
    return table


def bulk_algorithms(an: AnalysedSegments) -> dict[int, str]:
    """Per tcp.stream: the algorithm of the direction that sent the most data segments
    (``flows``' ``cc_algorithm``). Only streams with enough data for the model to say
    anything are modelled (the others are ``unknown``): a capture of many small
    connections costs nothing more."""
    if not len(an):
        return {}
    out = dict.fromkeys(range(int(an.stream.max()) + 1), "unknown")
    out.update(modelled_algorithms(an))
    return out


def modelled_algorithms(an: AnalysedSegments) -> dict[int, str]:
    """:func:`bulk_algorithms` of the streams the model is run over only (the others are
    ``unknown``): a dict the size of the streams with data, not of all streams. Each
    direction is scanned and identified over columns
    (:func:`pcapkit.tcpflow.ccmodel.columns_identification`): no Python value per segment."""
    from pcapkit.tcpflow.ccident import MIN_SEGMENTS

    out: dict[int, str] = {}
    if not len(an):
        return out
    segs = an.segments
    data = np.flatnonzero(segs.seglen > 0)
    # data segments per (stream, sending endpoint): the busiest direction of each stream
    stream, src, sport = an.stream[data], segs.src[data], segs.sport[data]
    order = np.lexsort((sport, src, stream))
    stream, src, sport = stream[order], src[order], sport[order]
    del order
    starts = np.flatnonzero(np.r_[True, (stream[1:] != stream[:-1]) | (src[1:] != src[:-1])
                                  | (sport[1:] != sport[:-1])])
    counts = np.diff(np.r_[starts, stream.shape[0]])
    busy = {int(st) for st in stream[starts[counts >= MIN_SEGMENTS]].tolist()}
    del stream, src, sport
    if not busy:
        return out
    best: dict[int, int] = {}
    text = segs.addresses
    for st, rows in _stream_rows(an, busy):
        for (s_code, s_port), (r_code, r_port) in _table_senders(segs, rows):
            columns = scan_table(segs, (s_code, s_port), (r_code, r_port), rows)
            if columns.sent.shape[0] > best.get(st, -1):
                best[st] = columns.sent.shape[0]
                out[st] = columns_identification(columns, (text[s_code], s_port), (text[r_code], r_port)).algorithm
            del columns
    return out


def _stream_rows(an: AnalysedSegments, streams: set[int]) -> Iterator[tuple[int, np.ndarray]]:
    """(tcp.stream, its rows of the segment table, in order) of each of ``streams``, in order."""
    if len(streams) <= 8:  # (a pass over the stream column each: cheaper than sorting it)
        for st in sorted(streams):
            yield st, np.flatnonzero(an.stream == st)
        return
    order = np.argsort(an.stream, kind="stable")
    bounds = np.searchsorted(an.stream[order], np.arange(int(an.stream.max()) + 2))
    for st in sorted(streams):
        yield st, order[bounds[st]:bounds[st + 1]]


def _table_senders(table: SegmentTable, rows: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """:func:`_senders` of the rows ``rows`` of ``table`` as (address code, port) pairs:
    (sender, receiver) of each direction that carries data, in order of its first data."""
    rows = rows[(table.seglen[rows] > 0) & ((table.flags[rows] & RST) == 0)]  # (as _carries_data)
    if not rows.size:
        return []
    src = table.src[rows].astype(np.int64) * 65536 + table.sport[rows]
    dst = table.dst[rows].astype(np.int64) * 65536 + table.dport[rows]
    order = np.lexsort((dst, src))  # (stable: each pair's first row comes first)
    a, b = src[order], dst[order]
    first = np.sort(order[np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]])
    return [((int(src[i] >> 16), int(src[i] & 0xFFFF)), (int(dst[i] >> 16), int(dst[i] & 0xFFFF)))
            for i in first.tolist()]
