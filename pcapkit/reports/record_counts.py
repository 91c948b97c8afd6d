"""The record counts behind ``pcapkit stats`` on a classic pcap file (packets, data size,
captured size, first and last time, time order, cut-short captured lengths), without a
Frame per record: from record batches (:func:`pcap_counts`), or, where the records come
in runs of equal size, run by run from strided views of the file (:func:`pcap_counts_by_runs`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

_Counts = tuple[int, int, int, int | None, int | None, bool, int | None, int | None]
MIN_RUN = 16  # records per run of equal-sized records below which the record walk is cheaper


def pcap_counts_by_runs(name: str) -> _Counts | None:
    """:func:`pcap_counts` for a plain pcap file whose records come in runs of equal
    size (generated traffic, floods, fixed snap lengths), without walking every record:
    a run of records of caplen ``c`` lies at a fixed stride ``16 + c``, so the caplen
    words at that stride are read as one strided array and the run ends at the first
    one that differs (each record found where the one before it ends, as the walk would
    find it); the counted fields of each run are read the same way. None (the caller
    walks the records) for anything else: damage, another record layout (modified pcap,
    swapped lengths, padding), a caplen over the link type's maximum, short runs."""
    import mmap

    import numpy as np

    from pcapkit.capture.batch import _pcap_times
    from pcapkit.capture.linktypes import max_snaplen
    from pcapkit.capture.pcap import FILE_HEADER_LEN, MAGICS, parse_file_header
    from pcapkit.errors import CaptureFileError

    with open(name, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        header = f.read(FILE_HEADER_LEN)
        if size <= FILE_HEADER_LEN or header[:4] not in MAGICS:  # (a gzip file, for one)
            return None
        try:
            h = parse_file_header(header, name)
        except CaptureFileError:
            return None
        if h.record_header_len != 16 or h.lengths_swapped != "no" or h.padding:
            return None
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            buf = np.frombuffer(mm, dtype=np.uint8)
            try:
                return _count_runs(buf, FILE_HEADER_LEN, size, h.byte_order, max_snaplen(h.linktype),
                                   h.nanosecond, _pcap_times)
            finally:
                del buf  # (the map closes only once no array points into it)


def _count_runs(buf: Any, pos: int, size: int, order: str, limit: int, nanosecond: bool,
                pcap_times: Callable[..., Any]) -> _Counts | None:
    """The counts of the records from ``pos`` to ``size`` in runs (see :func:`pcap_counts_by_runs`)."""
    import numpy as np

    u32 = np.dtype(order + "u4")

    def words(at: int, stride: int, n: int) -> np.ndarray:
        return np.ndarray((n,), dtype=u32, buffer=buf, offset=at, strides=(stride,)).astype(np.int64)

    runs: list[tuple[int, int, int]] = []  # (first record's offset, stride, records)
    records = 0
    while pos < size:
        if pos + 16 > size:
            return None
        c = int(words(pos + 8, 16, 1)[0])
        stride = 16 + c
        if c > limit or pos + stride > size:
            return None
        most = (size - pos) // stride
        n, look = 1, 64
        while n < most:  # how many records of caplen c follow, looked at in growing steps
            ahead = words(pos + n * stride + 8, stride, min(look, most - n))
            differ = np.flatnonzero(ahead != c)
            if differ.size:
                n += int(differ[0])
                break
            n += ahead.size
            look *= 4
        runs.append((pos, stride, n))
        records += n
        pos += n * stride
        if len(runs) > 64 and records < MIN_RUN * len(runs):
            return None
    packets = wire = cap = 0
    tmin: int | None = None
    tmax: int | None = None
    prev: int | None = None
    order_ok = True
    smin: int | None = None
    smax: int | None = None
    for start, stride, n in runs:
        c = stride - 16
        ts = pcap_times(words(start, stride, n), words(start + 4, stride, n), nanosecond)
        wlen = words(start + 12, stride, n)
        packets += n
        wire += int(wlen.sum())
        cap += c * n
        if (prev is not None and int(ts[0]) < prev) or bool((ts[1:] < ts[:-1]).any()):
            order_ok = False
        prev = int(ts[-1])
        low, high = int(ts.min()), int(ts.max())
        tmin = low if tmin is None else min(tmin, low)
        tmax = high if tmax is None else max(tmax, high)
        if bool((wlen > c).any()):
            smin = c if smin is None else min(smin, c)
            smax = c if smax is None else max(smax, c)
    return packets, wire, cap, tmin, tmax, order_ok, smin, smax


def pcap_counts(name: str) -> tuple[int, int, int, int | None, int | None, bool, int | None, int | None] | None:
    """What :func:`pcapkit.reports.capinfo.capture_info` counts over the records of a
    classic pcap file (packets, data size, captured size, first and last time, time order, smallest and largest
    cut-short captured length), from record batches (:func:`pcapkit.capture.batch.iter_records`:
    the same records and times as the reader's, as columns); None when the file is
    damaged (the per-frame pass then reports the damage as before)."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.errors import CaptureFileError

    packets = wire = cap = 0
    tmin: int | None = None
    tmax: int | None = None
    prev: int | None = None
    order = True
    smin: int | None = None
    smax: int | None = None
    try:
        for batch in iter_records(name):
            if not len(batch):
                continue
            ts = batch.ts_ns
            packets += len(batch)
            wire += int(batch.wirelen.sum())
            cap += int(batch.caplen.sum())
            if (prev is not None and int(ts[0]) < prev) or bool((ts[1:] < ts[:-1]).any()):
                order = False
            prev = int(ts[-1])
            low, high = int(ts.min()), int(ts.max())
            tmin = low if tmin is None else min(tmin, low)
            tmax = high if tmax is None else max(tmax, high)
            short = batch.caplen[batch.caplen < batch.wirelen]
            if short.size:
                smin = int(short.min()) if smin is None else min(smin, int(short.min()))
                smax = int(short.max()) if smax is None else max(smax, int(short.max()))
    except CaptureFileError:
        return None
    return packets, wire, cap, tmin, tmax, order, smin, smax
