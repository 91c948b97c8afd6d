"""Which TCP segments of a record batch the driver hands to tshark's HTTP heuristic: those
whose captured payload holds :data:`pcapkit.dissect.http.HEURISTIC_MARK` (the driver's
``data.find`` before :func:`pcapkit.dissect.http.heuristic_start`). The fast paths that
skip dissecting a segment (:mod:`pcapkit.columnar.protocols`, the application reports'
frame selection) dissect these instead.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np

from pcapkit.capture.record_batch import RecordBatch
from pcapkit.columnar.columns import TCP_OFFSET, Columns
from pcapkit.dissect.http import HEURISTIC_MARK


def heuristic_rows(rb: RecordBatch, cols: Columns, candidates: np.ndarray) -> np.ndarray:
    """Of the ``candidates`` rows (a mask; TCP decoded by the columns), those whose captured
    payload holds :data:`HEURISTIC_MARK` whole. One ``bytes.find`` scan from row to row: at
    most two searches per row, whatever the bytes."""
    out = np.zeros(cols.n, dtype=bool)
    length = _column(cols, "tcp.len")
    rows = np.flatnonzero(candidates & (length > 0))
    if rows.size == 0:
        return out
    frame = rb.data_off[rows].astype(np.int64)
    start = frame + _column(cols, TCP_OFFSET)[rows] + _column(cols, "tcp.hdr_len")[rows]
    end = np.minimum(frame + rb.caplen[rows], start + length[rows])
    order = np.argsort(start, kind="stable")
    rows, start, end = rows[order], start[order], end[order]
    lo = int(start[0])
    raw = rb.buf[lo:int(end.max())].tobytes()
    if raw.find(HEURISTIC_MARK) < 0:
        return out
    starts, ends = (start - lo).tolist(), (end - lo).tolist()
    at = 0
    while at < len(starts):
        hit = raw.find(HEURISTIC_MARK, starts[at])
        if hit < 0:
            break
        k = bisect_right(starts, hit) - 1      # the last row starting at or before the hit
        if hit + len(HEURISTIC_MARK) <= ends[k]:
            out[rows[k]] = True
        at = k + 1
    return out


def _column(cols: Columns, name: str) -> np.ndarray:
    """A decoded column as int64 (0 where the batch has none)."""
    values = cols.values.get(name)
    return np.zeros(cols.n, dtype=np.int64) if values is None else values.astype(np.int64)
