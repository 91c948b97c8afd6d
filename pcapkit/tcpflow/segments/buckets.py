"""Conversation buckets of records: which records of a capture one task of a partitioned
report reads (the flows and rtt tables on Dask: :func:`pcapkit.reports.conversations.bucket_report`).

A record's bucket is a hash of the unordered pair of its outermost IP header's addresses
(each address's CRC-32, the lower first; records without one: bucket 0), so every record of a conversation -- TCP, UDP, ICMP or
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
    hashes = AddressHashes()

    def select(rb: RecordBatch, cols: Columns) -> np.ndarray:
        return record_buckets(rb, cols, buckets, hashes) == bucket

    return select


class AddressHashes:
    """The CRC-32 of each address met, by the address's (version, high, low) key: the
    addresses are numbered as the segment source numbers them (:class:`~pcapkit.tcpflow.segments.KeyIds`:
    a batch's distinct addresses looked up, not each record's) and each one is hashed once."""

    def __init__(self) -> None:
        from pcapkit.tcpflow.segments import KeyIds

        self.ids = KeyIds()
        self.hashes = np.zeros(0, dtype=np.uint64)

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        """The hash of each address key (the rows of ``keys``)."""
        ids = self.ids(keys)
        known = self.hashes.shape[0]
        if len(self.ids.ids) > known:
            new = list(self.ids.ids)[known:]
            self.hashes = np.concatenate([self.hashes, np.array(
                [zlib.crc32(np.array(key, dtype=np.uint64).tobytes()) for key in new], dtype=np.uint64)])
        return self.hashes[ids]


def record_buckets(rb: RecordBatch, cols: Columns, buckets: int, hashes: AddressHashes | None = None) -> np.ndarray:
    """The bucket of each record of a decoded batch: its two addresses' hashes, the lower
    one first, as one 64-bit number modulo ``buckets`` (``hashes``: the addresses hashed in
    earlier batches)."""
    hashes = AddressHashes() if hashes is None else hashes
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
    if rows.size:
        a, b = hashes(keys[rows, :3]), hashes(keys[rows, 3:])
        pair = (np.minimum(a, b) << np.uint64(32)) | np.maximum(a, b)
        out[rows] = (pair % np.uint64(buckets)).astype(np.int64)
    return out


def _dissected_pair(rb: RecordBatch, row: int) -> tuple[int, ...] | None:
    """The address keys of the outermost IP header of one record, dissected: the
    addresses its packet facts have (:func:`~pcapkit.tcpflow.segments.dissected._packet_row`)."""
    from pcapkit.capture.batch import frame_at
    from pcapkit.dissect.driver import dissect

    frame = frame_at(rb, row)
    facts = _packet_row(frame, dissect(frame).layers)
    return None if facts is None else (*facts[1], *facts[2])
