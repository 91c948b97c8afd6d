"""Reading a capture for the segment source: its record batches, filtered and decoded
(in a second thread for a big file: :func:`pcapkit.capture.readahead.read_ahead`), and
what reading found besides them (:class:`ReadFacts`)."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.errors import PcapkitError
from pcapkit.frame import Frame
from pcapkit.tcpflow.segments.table import I64, Source

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.columnar.decode import Columns


class ReadFacts:
    """What reading a capture found besides its segments (see :class:`SegmentTable`)."""

    def __init__(self) -> None:
        self.frames = 0
        self.first_ts = self.last_ts = 0
        self.snaplen: int | None = None
        self.error: PcapkitError | None = None


def read_batches(source: Source, facts: ReadFacts, filter: str | None, mark: str | None, strict: bool,
          chunk_packets: int, byte_range: tuple[int, int] | None, read_ahead: bool | None,
          select: RecordSelect | None = None) -> Iterator[tuple[RecordBatch, np.ndarray, Columns, np.ndarray | None]]:
    """The decoded record batches of ``source`` that hold a record the filter keeps:
    (records, their frame numbers, their columns, the ``mark`` answers), ``facts``
    updated before each; a read error ends them (raised when ``strict`` or nothing was
    readable, else kept in ``facts``). See :func:`pcapkit.tcpflow.segments.segment_table`
    for the arguments."""
    from pcapkit.capture import readahead
    from pcapkit.capture.batch import (
        DEFAULT_CHUNK_BYTES,
        CaptureFiles,
        FilesRead,
        iter_records,
        records_across,
    )

    keep = _Matcher(filter) if filter and filter.strip() else None
    marker = _Matcher(mark) if mark and mark.strip() else None
    batches: Iterable[tuple[RecordBatch, np.ndarray]]
    ahead = False
    files_read = FilesRead()  # (of several files: what ended one before the next)
    if isinstance(source, (str, PathLike, CaptureFiles)):
        options: dict[str, Any] = {"chunk_bytes": DEFAULT_CHUNK_BYTES, "max_packets": chunk_packets}
        records = (records_across(source, files_read, **options) if isinstance(source, CaptureFiles)
                   else iter_records(str(source), byte_range=byte_range, **options))
        batches = ((rb, np.arange(rb.first_number, rb.first_number + len(rb), dtype=I64)) for rb in records)
        if read_ahead is not None:
            ahead = read_ahead
        elif isinstance(source, CaptureFiles):
            ahead = sum(_size(path) for path in source.paths) >= READ_AHEAD_BYTES
        else:
            ahead = worth_reading_ahead(source)
    else:
        batches = _frame_batches(source, chunk_packets)
    decoded = _decoded(batches, keep, marker, select)
    readable = False  # (records were read: a filter or a bucket may have kept none of them)
    try:
        for batch_snaplen, rb, numbers, cols, matched in (readahead.read_ahead(decoded) if ahead else decoded):
            readable = True
            if batch_snaplen and facts.snaplen is None:
                facts.snaplen = batch_snaplen
            if cols is None:
                continue
            if facts.frames == 0:
                facts.first_ts = int(rb.ts_ns[0])
            facts.frames += len(rb)
            facts.last_ts = int(rb.ts_ns[-1])
            yield rb, numbers, cols, matched
    except PcapkitError as exc:
        if strict or not readable or exc is files_read.unreadable:
            raise  # nothing readable (or asked to): the error is the answer
        facts.error = exc
    if files_read.damage and facts.error is None:
        if strict:
            raise files_read.damage[0]
        facts.error = files_read.damage[0]  # (the first: what a reader of the files one after the other reports first)


# which records of a decoded batch to keep (a conversation bucket's: see
# pcapkit.tcpflow.segments.buckets), from the records and their columns
RecordSelect = Callable[["RecordBatch", "Columns"], np.ndarray]

# what _decoded makes of a record batch: (the file's snapshot length, the batch's records
# the filter kept, their frame numbers, their decoded columns or None when it kept none,
# the ``mark`` expression's answer per record or None)
Decoded = tuple[int, "RecordBatch", np.ndarray, "Columns | None", "np.ndarray | None"]

READ_AHEAD_BYTES = 16 << 20  # files from this size are read and decoded in a second thread


def _size(path: str) -> int:
    """The size of a regular file (0 for anything else, or a file that cannot be read)."""
    try:
        info = os.stat(path)
    except OSError:
        return 0  # (the reader reports it)
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


def worth_reading_ahead(source: str | PathLike[str]) -> bool:
    """Whether a capture file is big enough for :func:`read_ahead` (at least
    :data:`READ_AHEAD_BYTES`: a few batches), and a regular file (a pipe is read here)."""
    return _size(os.fspath(source)) >= READ_AHEAD_BYTES


def _decoded(batches: Iterable[tuple[RecordBatch, np.ndarray]], keep: _Matcher | None,
             marker: _Matcher | None, select: RecordSelect | None = None) -> Iterator[Decoded]:
    """The batches filtered and decoded: everything done to a batch that needs no other
    batch (so it can run ahead, in another thread: see :func:`segment_table`)."""
    from pcapkit.columnar.decode import decode_batch

    for rb, numbers in batches:
        snaplen = rb.snaplen
        if keep is not None:
            rb, numbers = _subset(rb, numbers, keep(rb))
        cols = decode_batch(rb) if len(rb) else None
        if select is not None and cols is not None:
            chosen = select(rb, cols)
            if not chosen.all():
                rb, numbers = _subset(rb, numbers, chosen)
                cols = cols.take(chosen) if len(rb) else None
        if cols is None:
            yield snaplen, rb, numbers, None, None
            continue
        yield snaplen, rb, numbers, cols, marker(rb) if marker is not None else None


class _Matcher:
    """A tcpdump expression run over record batches (compiled once per link type)."""

    def __init__(self, expr: str) -> None:
        from pcapkit.capture.bpf import FilterPrograms

        self.programs = FilterPrograms(expr)

    def __call__(self, rb: RecordBatch) -> np.ndarray:
        from pcapkit.capture.bpf import match_records

        return np.asarray(match_records(self.programs, rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.linktype))


def _subset(rb: RecordBatch, numbers: np.ndarray, keep: np.ndarray) -> tuple[RecordBatch, np.ndarray]:
    """The records of ``rb`` that ``keep`` marks (their frame numbers stay)."""
    import dataclasses

    if bool(keep.all()):
        return rb, numbers
    return dataclasses.replace(rb, data_off=rb.data_off[keep], caplen=rb.caplen[keep], wirelen=rb.wirelen[keep],
                               ts_ns=rb.ts_ns[keep], linktype=rb.linktype[keep],
                               interface_id=rb.interface_id[keep]), numbers[keep]


def _frame_batches(frames: Iterable[Frame], chunk_packets: int) -> Iterator[tuple[RecordBatch, np.ndarray]]:
    from pcapkit.capture.batch import frames_batch

    chunk: list[Frame] = []
    for frame in frames:
        chunk.append(frame)
        if len(chunk) >= chunk_packets:
            yield frames_batch(chunk, chunk[0].number), np.array([f.number for f in chunk], dtype=I64)
            chunk = []
    if chunk:
        yield frames_batch(chunk, chunk[0].number), np.array([f.number for f in chunk], dtype=I64)
