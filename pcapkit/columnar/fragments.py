"""The fragment rows of the per-packet paths, added to the reassembler in bulk.

Rows the fast path marked only because they are IPv4 fragments captured whole
(:data:`~pcapkit.columnar.decode.FRAGMENT_IP_OFFSET`) with more fragments to follow
cannot complete a datagram: runs of them go to
:meth:`~pcapkit.dissect.ipreassembly.IPReassembler.add_pending_batch` at once. The
per-packet loops (:mod:`pcapkit.columnar.perpacket`, the segment source's dissected rows)
walk their rows with :func:`walk_rows`, which hands every other row, and each fragment
the bulk add stops at, to the per-row path in file order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.dissect.fragment_bulk import FragmentRows, ipv4_fragment_rows
from pcapkit.dissect.ipreassembly import MAX_DATAGRAM

I64 = np.int64
MIN_RUN = 32            # a bulk add that stops sooner makes the next tries wait (see walk_rows)
MAX_BACKOFF = 1 << 14   # fragments handed to the per-row path before trying the bulk add again


def candidates(rb: RecordBatch, numbers: np.ndarray, rows: np.ndarray, valid: np.ndarray | None,
               ip_offset: np.ndarray | None) -> tuple[np.ndarray, FragmentRows | None]:
    """(positions in ``rows`` of the fragments that may go in bulk, their headers).

    ``numbers``: the frame number of every record of ``rb``; ``valid``, ``ip_offset``: the
    ``FRAGMENT_IP_OFFSET`` column of the batch."""
    if valid is None or ip_offset is None or rows.size == 0:
        return np.zeros(0, dtype=I64), None
    pos = np.flatnonzero(valid[rows])
    if pos.size == 0:
        return pos.astype(I64), None
    r = rows[pos]
    frags = ipv4_fragment_rows(rb.buf, rb.data_off[r] + ip_offset[r], numbers[r], rb.ts_ns[r])
    ok = frags.more & (frags.offset + frags.length <= MAX_DATAGRAM)
    if not ok.all():
        pos = pos[ok]
        frags = FragmentRows(buf=frags.buf, frame=frags.frame[ok], ts_ns=frags.ts_ns[ok], src=frags.src[ok],
                             dst=frags.dst[ok], ident=frags.ident[ok], proto=frags.proto[ok],
                             offset=frags.offset[ok], more=frags.more[ok], length=frags.length[ok],
                             data_start=frags.data_start[ok])
    return pos.astype(I64), frags if pos.size else None


def walk_rows(n: int, positions: np.ndarray, add_batch: Callable[[int, int], int], per_row: Callable[[int], Any],
              on_bulk: Callable[[int, int], Any]) -> None:
    """Visit rows ``0..n-1`` in order: ``per_row(p)`` for each row the bulk add does not
    take; for each run of consecutive candidate rows (``positions``, ascending), ``add_batch
    (lo, hi)`` on the candidates ``lo:hi``, then ``on_bulk(lo, stop)`` for those it took and
    the per-row path for the one it stopped at. A bulk add that stops within ``MIN_RUN``
    fragments (dense expiries, a full buffer) makes the next ones wait, twice as long each
    time: the per-row path costs less than a try that adds next to nothing."""
    cand = positions.tolist()
    m = len(cand)
    if m:
        breaks = np.flatnonzero(np.diff(positions) != 1) + 1
        bounds = np.concatenate(([0], breaks, [m]))
        ends = np.repeat(bounds[1:], np.diff(bounds)).tolist()
    p = e = 0
    retry_at = backoff = 0
    while p < n:
        if e < m and cand[e] == p:
            if e >= retry_at:
                end = ends[e]
                stop = add_batch(e, end)
                if stop > e:
                    on_bulk(e, stop)
                    p += stop - e
                if stop < end and stop - e < MIN_RUN:
                    backoff = min(max(2 * backoff, 1), MAX_BACKOFF)
                    retry_at = stop + 1 + backoff
                else:
                    backoff = 0
                e = stop
                if stop == end:
                    continue
            per_row(p)
            p += 1
            e += 1
            continue
        per_row(p)
        p += 1
