"""Conversation buckets of records: which records of a capture one task of a partitioned
report reads (the flows and rtt tables on Dask: :func:`pcapkit.reports.conversations.bucket_report`).

A record's bucket is a hash of the unordered pair of its outermost IP header's addresses
(records without one: bucket 0), so every record of a conversation -- TCP, UDP, ICMP or
other IP, its fragments too -- falls in the same bucket, in every process. The addresses
come from the decoded columns; the records the columnar decoder left to the dissectors
are dissected here, as the packet facts of :mod:`pcapkit.tcpflow.segments.dissected` are.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np

from pcapkit.tcpflow.segments.columns import address_columns
from pcapkit.tcpflow.segments.dissected import _packet_row

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns
    from pcapkit.tcpflow.segments.reading import RecordSelect


def conversation_select(bucket: int, buckets: int) -> RecordSelect:
    """The records of bucket ``bucket`` of ``buckets`` (see the module doc)."""
    if not 0 <= bucket < buckets:
        raise ValueError(f"bucket {bucket} is not one of {buckets}")

    def select(rb: RecordBatch, cols: Columns) -> np.ndarray:
        return record_buckets(rb, cols, buckets) == bucket

    return select


def record_buckets(rb: RecordBatch, cols: Columns, buckets: int) -> np.ndarray:
    """The bucket of each record of a decoded batch."""
    n = len(rb)
    keys = np.zeros((n, 6), dtype=np.uint64)  # (src version, high, low, dst version, high, low)
    v4 = cols.valid["ip.src"] if "ip.src" in cols.valid else np.zeros(n, bool)
    v6 = cols.valid["ipv6.src.hi"] if "ipv6.src.hi" in cols.valid else np.zeros(n, bool)
    ip = v4 | v6
    keys[:, :3] = address_columns(cols, slice(None), v4, "ip.src", "ipv6.src")
    keys[:, 3:] = address_columns(cols, slice(None), v4, "ip.dst", "ipv6.dst")
    for row in np.flatnonzero(cols.fallback).tolist():  # (left to the dissectors: their outermost IP header)
        pair = _dissected_pair(rb, row)
        ip[row] = pair is not None
        if pair is not None:
            keys[row] = pair
    out = np.zeros(n, dtype=np.int64)
    rows = np.flatnonzero(ip)
    if not rows.size:
        return out
    src, dst = keys[rows, :3], keys[rows, 3:]
    # (the pair unordered: the lower address first, comparing version, high, then low)
    src_first = _less_or_equal(src, dst)
    pairs = np.where(src_first[:, None], np.hstack([src, dst]), np.hstack([dst, src]))
    distinct, inverse = np.unique(pairs, axis=0, return_inverse=True)
    hashes = np.array([zlib.crc32(p.tobytes()) % buckets for p in distinct], dtype=np.int64)
    out[rows] = hashes[inverse.reshape(-1)]
    return out


def _less_or_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row by row, whether key ``a`` sorts before or equal to key ``b`` (columns compared
    in order)."""
    out = np.ones(a.shape[0], dtype=bool)
    decided = np.zeros(a.shape[0], dtype=bool)
    for k in range(a.shape[1]):
        lower, higher = a[:, k] < b[:, k], a[:, k] > b[:, k]
        out[~decided & higher] = False
        decided |= lower | higher
    return out


def _dissected_pair(rb: RecordBatch, row: int) -> tuple[int, ...] | None:
    """The address keys of the outermost IP header of one record, dissected: the
    addresses its packet facts have (:func:`~pcapkit.tcpflow.segments.dissected._packet_row`)."""
    from pcapkit.capture.batch import frame_at
    from pcapkit.dissect.driver import dissect

    frame = frame_at(rb, row)
    facts = _packet_row(frame, dissect(frame).layers)
    return None if facts is None else (*facts[1], *facts[2])
