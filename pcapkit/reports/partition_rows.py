"""Segment rows in transit between Dask workers (:mod:`pcapkit.reports.partitions`): the
bucket of each row's conversation, and :class:`Rows`, some per-row columns of a segment
table (narrowed to the fewest bytes that hold their values when they ship to another
worker) that join into one table again.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pcapkit.tcpflow.segments import SegmentTable

# the per-row columns each stage reads (the others are not shipped): the analysis (with
# the SACK blocks), and the tcp table (from the segments; the analysis' results apart)
ANALYSED = ("frame", "ts_ns", "src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "seglen", "wscale",
            "sack_n")
RESULT_DTYPE = np.dtype(np.int64)  # the analysis' results (pcapkit.tcpflow.analysis.run)
TABLED = ("frame", "ts_ns", "ip_version", "src", "dst", "sport", "dport", "seq", "ack", "flags", "window", "seglen")


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


def narrow(values: np.ndarray) -> np.ndarray:
    """Integers in the narrowest integer type that holds every one of them (checked: the
    minimum and maximum), to ship; other arrays as they are."""
    if values.dtype.kind not in "iu" or values.size == 0:
        return values
    lo, hi = int(values.min()), int(values.max())
    for kind, least, most in NARROW_TYPES:
        if kind.itemsize >= values.dtype.itemsize:
            break
        if least <= lo and hi <= most:
            return values.astype(kind)
    return values


NARROW_TYPES = [(np.dtype(t), int(np.iinfo(t).min), int(np.iinfo(t).max))
                for t in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32)]


@dataclass(eq=False)
class Rows:
    """Segment rows in transit between workers: some per-row columns (:data:`ANALYSED`,
    :data:`TABLED`), the SACK blocks (when the analysis reads them), the address texts
    the codes index and the frames read by the unit the rows came from."""

    columns: dict[str, np.ndarray]
    sack_l: np.ndarray
    sack_r: np.ndarray
    addresses: list[str]
    frames: int = 0
    dtypes: dict[str, np.dtype[Any]] | None = None  # (narrowed to ship: the columns' own types)

    def __len__(self) -> int:
        return int(self.columns["frame"].shape[0])

    @classmethod
    def of(cls, table: SegmentTable, rows: np.ndarray | slice, names: Sequence[str], sacks: bool = True) -> Rows:
        """The columns ``names`` of the ``rows`` (indices in the order wanted, or a slice:
        views, not copies) of ``table``, with their SACK blocks when ``sacks``."""
        if sacks:
            pos = table.sack_rows()[rows][table.sack_n[rows] > 0]
            sack_l, sack_r = table.sack_l[pos], table.sack_r[pos]
        else:
            sack_l = sack_r = table.sack_l[:0]
        return cls({name: getattr(table, name)[rows] for name in names}, sack_l, sack_r, table.addresses,
                   table.frames)

    def narrowed(self) -> Rows:
        """These rows to ship to another worker: each column in the narrowest integer
        type that holds its values (:func:`narrow`; :meth:`join` widens them again)."""
        return Rows({name: narrow(col) for name, col in self.columns.items()}, self.sack_l, self.sack_r,
                    self.addresses, self.frames, {name: col.dtype for name, col in self.columns.items()})

    @classmethod
    def join(cls, parts: Sequence[Rows]) -> Rows:
        """The rows of ``parts`` one after the other: frames numbered on by each part's
        ``frames``, address codes into one list, columns in their own types."""
        if len(parts) == 1 and parts[0].dtypes is None:
            return parts[0]
        index: dict[str, int] = {}
        columns: dict[str, list[np.ndarray]] = {name: [] for name in parts[0].columns}
        dtypes = {name: np.result_type(*((p.dtypes or {}).get(name, p.columns[name].dtype) for p in parts))
                  for name in columns}
        offset = 0
        for p in parts:
            lut = np.array([index.setdefault(a, len(index)) for a in p.addresses] or [0], dtype=np.int64)
            for name, cols in columns.items():
                col = p.columns[name]
                if name == "frame" and offset:
                    col = np.add(col, offset, dtype=dtypes[name])
                elif name in ("src", "dst"):
                    col = lut[col]
                cols.append(col)
            offset += p.frames
        return cls({name: np.concatenate(cols, dtype=dtypes[name]) for name, cols in columns.items()},
                   np.concatenate([p.sack_l for p in parts]), np.concatenate([p.sack_r for p in parts]),
                   list(index), offset)

    def table(self) -> SegmentTable:
        """As a segment table (the columns nobody downstream reads: one shared array of zeros)."""
        from pcapkit.tcpflow.segments import SegmentTable
        from pcapkit.tcpflow.segments.table import INT_COLUMNS

        zeros = np.zeros(len(self), dtype=np.int64)
        values: dict[str, Any] = {name: self.columns.get(name, zeros) for name in INT_COLUMNS}
        return SegmentTable(**values, sack_l=self.sack_l, sack_r=self.sack_r, addresses=self.addresses,
                            frames=self.frames)
