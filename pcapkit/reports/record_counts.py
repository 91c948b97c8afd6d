"""The record counts behind ``pcapkit stats`` on a classic pcap file (packets, data size,
captured size, first and last time, time order, cut-short captured lengths), without a
Frame per record: from record batches (:func:`pcap_counts`), or, where the records come
in runs of equal size, run by run from strided views of the file (:func:`pcap_counts_by_runs`).
"""

from __future__ import annotations

import itertools
import operator
import os
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pcapkit.capture.reader import CaptureLayout

_Counts = tuple[int, int, int, int | None, int | None, bool, int | None, int | None]
MIN_RUN = 16  # records per run of equal-sized records below which the record walk is cheaper
# files up to this size are counted run by run with struct instead of numpy: importing numpy
# costs more than counting them (~0.1 s, on a command capinfos answers in 0.05 s)
SMALL_FILE_BYTES = 12 << 20


@dataclass
class _Fold:
    """The counts of records given as columns, a batch or a run at a time."""

    packets: int = 0
    wire: int = 0
    cap: int = 0
    tmin: int | None = None
    tmax: int | None = None
    prev: int | None = None  # (the last record's time: order across calls)
    order: bool = True
    smin: int | None = None  # (smallest and largest captured length of a record cut short)
    smax: int | None = None

    def add(self, ts: Any, wirelen: Any, caplen: Any) -> None:
        """Count records with times ``ts`` (ns), wire and captured lengths (int arrays)."""
        self.add_times(ts)
        self.add_sizes(wirelen, caplen)

    def add_times(self, ts: Any) -> None:
        """The time stamps (ns, an int array) of the next records: first, last, order."""
        if not len(ts):
            return
        if (self.prev is not None and int(ts[0]) < self.prev) or bool((ts[1:] < ts[:-1]).any()):
            self.order = False
        self.prev = int(ts[-1])
        low, high = int(ts.min()), int(ts.max())
        self.tmin = low if self.tmin is None else min(self.tmin, low)
        self.tmax = high if self.tmax is None else max(self.tmax, high)

    def add_sizes(self, wirelen: Any, caplen: Any) -> None:
        """Count packets of wire and captured lengths ``wirelen``, ``caplen`` (int arrays)."""
        if not len(wirelen):
            return
        self.packets += len(wirelen)
        self.wire += int(wirelen.sum())
        self.cap += int(caplen.sum())
        short = caplen[caplen < wirelen]
        if short.size:
            self.smin = int(short.min()) if self.smin is None else min(self.smin, int(short.min()))
            self.smax = int(short.max()) if self.smax is None else max(self.smax, int(short.max()))

    def add_records(self, ts: list[int], wirelen: list[int], caplen: list[int]) -> None:
        """:meth:`add` for records given as Python values."""
        if not ts:
            return
        self.packets += len(ts)
        self.wire += sum(wirelen)
        self.cap += sum(caplen)
        if (self.prev is not None and ts[0] < self.prev) or any(map(operator.gt, ts, ts[1:])):
            self.order = False
        self.prev = ts[-1]
        self.tmin = min(ts) if self.tmin is None else min(self.tmin, min(ts))
        self.tmax = max(ts) if self.tmax is None else max(self.tmax, max(ts))
        short = [c for c, w in zip(caplen, wirelen, strict=True) if c < w]
        if short:
            self.smin = min(short) if self.smin is None else min(self.smin, min(short))
            self.smax = max(short) if self.smax is None else max(self.smax, max(short))

    def counts(self) -> _Counts:
        return (self.packets, self.wire, self.cap, self.tmin, self.tmax, self.order, self.smin, self.smax)


def pcap_counts_by_runs(name: str) -> _Counts | None:
    """:func:`pcap_counts` for a plain pcap file whose records come in runs of equal
    size (generated traffic, floods, fixed snap lengths), without walking every record:
    a run of records of caplen ``c`` lies at a fixed stride ``16 + c``, so the caplen
    words at that stride are read as one strided array and the run ends at the first
    one that differs (each record found where the one before it ends, as the walk would
    find it); the counted fields of each run are read the same way. A file up to
    SMALL_FILE_BYTES is read with ``struct``, run by run, or a record at a time when its
    runs are short. None (the caller walks the records) for anything else: damage,
    another record layout (modified pcap, swapped lengths, padding), a caplen over the
    link type's maximum, short runs in a bigger file."""
    import mmap

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
            if size <= SMALL_FILE_BYTES:
                with memoryview(mm) as view:
                    args = (view, FILE_HEADER_LEN, size, h.byte_order, max_snaplen(h.linktype), h.nanosecond)
                    # (records of many sizes: one at a time, still without numpy or the compiled walk)
                    return _count_runs_unpacked(*args) or _count_records_unpacked(*args)
            import numpy as np

            from pcapkit.capture.batch import _pcap_times

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
    fold = _Fold()
    for start, stride, n in runs:
        fold.add(pcap_times(words(start, stride, n), words(start + 4, stride, n), nanosecond),
                 words(start + 12, stride, n), np.full(n, stride - 16, dtype=np.int64))
    return fold.counts()


def _count_runs_unpacked(view: memoryview, pos: int, size: int, order: str, limit: int,
                         nanosecond: bool) -> _Counts | None:
    """:func:`_count_runs` with ``struct`` (no numpy): each run's records unpacked at once
    (``struct.iter_unpack`` over a fixed-size record format), looked at in growing steps."""
    fold = _Fold()
    runs = records = 0
    scale, too_big = (1, 1_000_000_000) if nanosecond else (1000, 1_000_000)
    while pos < size:
        if pos + 16 > size:
            return None
        (c,) = struct.unpack_from(order + "I", view, pos + 8)
        stride = 16 + c
        if c > limit or pos + stride > size:
            return None
        record = struct.Struct(f"{order}IIII{c}x")
        most, look, n = (size - pos) // stride, 64, 0
        while n < most:  # the records of captured length c from here on
            step = min(look, most - n)
            start = pos + n * stride
            sec, frac, cap, wire = zip(*record.iter_unpack(view[start:start + step * stride]), strict=True)
            same = next(itertools.compress(itertools.count(), map(c.__ne__, cap)), step)
            if same < step:
                sec, frac, wire = sec[:same], frac[:same], wire[:same]
            if max(frac) < too_big:
                ts = [s * 1_000_000_000 + f * scale for s, f in zip(sec, frac, strict=True)]
            else:
                ts = [_record_time(s, f * scale) for s, f in zip(sec, frac, strict=True)]
            fold.add_records(ts, list(wire), [c] * len(ts))
            n += same
            if same < step:
                break
            look *= 4
        runs += 1
        records += n
        pos += n * stride
        if runs > 64 and records < MIN_RUN * runs:
            return None
    return fold.counts()


def _count_records_unpacked(view: memoryview, pos: int, size: int, order: str, limit: int,
                            nanosecond: bool) -> _Counts | None:
    """The counts of the records from ``pos`` to ``size``, one record header at a time with
    ``struct`` (a file up to SMALL_FILE_BYTES whose records are not in runs); None at the
    first record the walk refuses (cut, or a captured length over ``limit``)."""
    head = struct.Struct(order + "IIII").unpack_from
    secs: list[int] = []
    fracs: list[int] = []
    caps: list[int] = []
    wires: list[int] = []
    while pos < size:
        if pos + 16 > size:
            return None
        sec, frac, cap, wire = head(view, pos)
        if cap > limit or pos + 16 + cap > size:
            return None
        secs.append(sec)
        fracs.append(frac)
        caps.append(cap)
        wires.append(wire)
        pos += 16 + cap
    scale, too_big = (1, 1_000_000_000) if nanosecond else (1000, 1_000_000)
    fold = _Fold()
    if secs:
        if max(fracs) < too_big:
            ts = [s * 1_000_000_000 + f * scale for s, f in zip(secs, fracs, strict=True)]
        else:
            ts = [_record_time(s, f * scale) for s, f in zip(secs, fracs, strict=True)]
        fold.add_records(ts, wires, caps)
    return fold.counts()


def _record_time(sec: int, frac_ns: int) -> int:
    """A record's time as Wireshark computes it when the fraction is a second or more:
    the fraction, in ns, kept in a signed 32-bit int (as capture.batch's _pcap_times)."""
    nsecs = frac_ns & 0xFFFFFFFF
    return sec * 1_000_000_000 + (nsecs - (1 << 32) if nsecs >= 1 << 31 else nsecs)


def pcap_counts(name: str) -> _Counts | None:
    """What :func:`pcapkit.reports.capinfo.capture_info` counts over the records of a
    classic pcap file (packets, data size, captured size, first and last time, time order, smallest and largest
    cut-short captured length), from record batches (:func:`pcapkit.capture.batch.iter_records`:
    the same records and times as the reader's, as columns); None when the file is
    damaged (the per-frame pass then reports the damage as before)."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.errors import CaptureFileError

    fold = _Fold()
    try:
        for batch in iter_records(name):
            fold.add(batch.ts_ns, batch.wirelen, batch.caplen)
    except CaptureFileError:
        return None
    return fold.counts()


@dataclass
class PcapngCounts:
    """What :func:`pcapkit.reports.capinfo.capture_info` counts over a pcapng file's
    records (:func:`pcapng_counts`). ``counts``: as :func:`pcap_counts`'s, over the packets
    (sizes) and the records with a time stamp (times, order; ``order`` None when some
    record has none and no two timed records are out of order); ``records`` includes
    the records that are not packets (custom blocks, journal entries); ``per_interface``:
    packets per (section, interface id in the section)."""

    counts: tuple[int, int, int, int | None, int | None, bool | None, int | None, int | None]
    records: int
    all_timed: bool
    encapsulations: dict[int, int]
    per_interface: dict[tuple[int, int], int]
    layout: CaptureLayout  # the sections, interfaces and statistics


def pcapng_counts(name: str) -> PcapngCounts | None:
    """The counts of a pcapng file's records from record batches (the same records and
    times as the record reader's, with the sections, interfaces and statistics it would
    have read); None when the file is damaged (the per-frame pass then reports the damage)."""
    from pcapkit.capture.batch import NO_TIME, iter_records
    from pcapkit.capture.reader import CaptureLayout
    from pcapkit.errors import CaptureFileError

    layout = CaptureLayout()
    times, sizes = _Fold(), _Fold()
    records = 0
    all_timed = True
    encaps: dict[int, int] = {}
    per_iface: dict[tuple[int, int], int] = {}
    try:
        for batch in iter_records(name, layout=layout):
            records += len(batch)
            timed = batch.ts_ns != NO_TIME
            all_timed = all_timed and bool(timed.all())
            times.add_times(batch.ts_ns[timed])
            packet = batch.linktype >= 0  # (custom blocks and journal entries are records, not packets)
            sizes.add_sizes(batch.wirelen[packet], batch.caplen[packet])
            section = len(layout.sections) - 1  # (a batch never spans two sections)
            for linktype, count in _tally(batch.linktype[packet]):
                encaps[linktype] = encaps.get(linktype, 0) + count
            for interface, count in _tally(batch.interface_id[packet]):
                per_iface[(section, interface)] = per_iface.get((section, interface), 0) + count
    except CaptureFileError:
        return None
    order = times.order if not times.order or all_timed else None
    counts = (sizes.packets, sizes.wire, sizes.cap, times.tmin, times.tmax, order, sizes.smin, sizes.smax)
    return PcapngCounts(counts, records, all_timed, encaps, per_iface, layout)


def _tally(values: Any) -> list[tuple[int, int]]:
    """(value, how many times) of each distinct value of an int array."""
    import numpy as np

    found, count = np.unique(values, return_counts=True)
    return list(zip(found.tolist(), count.tolist(), strict=True))
