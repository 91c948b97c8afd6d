"""The tcp table of captures on Dask workers, partitioned by file (or byte range) and then
by conversation, with only numpy columns moving between workers.

1. One task per unit (a file, or a byte range of one: :mod:`pcapkit.capture.ranges`)
   makes the unit's segment table and splits the rows tshark analyses into buckets by a
   hash of the conversation (the unordered pair of address text and port, the same
   number in every process) -- :func:`unit_parts`. The parts stay on the workers.
2. One task per bucket joins its parts of every unit, frames numbered on across the
   units (:func:`pcapkit.reports.conversations.concat_tables`), runs the analysis and
   builds its rows of the tcp table -- :func:`bucket_frame`.
3. :func:`pcapkit.reports.conversations.combine` numbers the streams in order of their
   first frame and puts the rows back in frame order: the single-process table.
"""

from __future__ import annotations

import operator
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.tcpflow.segments import SegmentTable

Unit = tuple[str, tuple[int, int] | None]


def conversation_buckets(table: SegmentTable, buckets: int) -> np.ndarray:
    """The bucket of each row: a hash of its unordered (address, port) pair that does not
    depend on the table (address texts hashed with CRC-32)."""
    text_hash = np.array([zlib.crc32(a.encode()) for a in table.addresses] or [0], dtype=np.uint64)
    one = text_hash[table.src] * np.uint64(65_599) + table.sport.astype(np.uint64)
    two = text_hash[table.dst] * np.uint64(65_599) + table.dport.astype(np.uint64)
    lo, hi = np.minimum(one, two), np.maximum(one, two)
    # splitmix64's finaliser: conversations differing in one port bit land anywhere
    x = lo * np.uint64(0x9E3779B97F4A7C15) ^ hi
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xFF51AFD7ED558CCD)
    x ^= x >> np.uint64(33)
    x *= np.uint64(0xC4CEB9FE1A85EC53)
    x ^= x >> np.uint64(33)
    return (x % np.uint64(buckets)).astype(np.int64)


def unit_parts(unit: Unit, buckets: int) -> list[SegmentTable]:
    """The rows tshark analyses in one unit, one table per bucket (each keeps the unit's
    frame count, so joining all units' parts of a bucket numbers frames on)."""
    from pcapkit.reports.conversations import file_segments

    view = file_segments(*unit).tshark_view()
    which = conversation_buckets(view, buckets)
    return [view.select(np.flatnonzero(which == b)) for b in range(buckets)]


def bucket_frame(parts: Sequence[SegmentTable]) -> tuple[pd.DataFrame, dict[int, int]]:
    """A bucket's rows of the tcp table (from its part of every unit, in unit order) and
    each of its streams' first frame."""
    from pcapkit.reports.conversations import concat_tables
    from pcapkit.reports.tcp import analysis_table
    from pcapkit.tcpflow.analysed import analyse_table

    df = analysis_table(analyse_table(concat_tables(parts)))
    if len(df) == 0:
        return df, {}
    first = df.groupby("tcp.stream")["frame.number"].min()
    return df, {int(str(k)): int(v) for k, v in first.items()}


def tcp_table(client: Any, units: Sequence[Unit], buckets: int) -> pd.DataFrame:
    """The tcp table of ``units`` (in order, as one capture) on the workers of ``client``."""
    from pcapkit.reports.conversations import combine

    made = [client.submit(unit_parts, unit, buckets, pure=False) for unit in units]
    parts = [[client.submit(operator.getitem, m, b) for m in made] for b in range(buckets)]
    frames = client.gather([client.submit(bucket_frame, p, pure=False) for p in parts])
    return combine(frames, "tcp")
