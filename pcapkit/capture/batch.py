"""Record batches: the records of a capture file located in large chunks, as columns.

The file is read in chunks of ``chunk_bytes`` (plain files are memory-mapped, gzip
files are decompressed chunk by chunk); the records inside a chunk are located by a
compiled walk (:mod:`pcapkit.capture.record_walk`) that fills numpy arrays. No
per-packet Python object is built: a :class:`RecordBatch` holds the chunk plus columns
(data offset, caplen, wirelen, timestamp in ns, link type, interface id).

Headers are read by the same code as the record readers: the pcap file header by
:func:`pcapkit.capture.pcap.parse_file_header`, pcapng sections and interfaces by
:mod:`pcapkit.capture.pcapng_blocks` (time stamps converted as Wireshark does; the pcapng
walk is :mod:`pcapkit.capture.batch_pcapng`, which checks each block as the record reader
does, so both read the same records of a damaged file). Other
formats (snoop, ERF) go through :func:`pcapkit.capture.files.open_capture` and are
packed into batches (:func:`frames_batch`).

Memory is bounded by the chunk size: a record that crosses the chunk end is carried
into the next chunk (the chunk grows only when one record is bigger than it).

Errors are :class:`pcapkit.errors.CaptureFileError` subclasses carrying the path and
the byte offset (in the decompressed stream). Records before the error are delivered
first; the error is raised when the walk reaches it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.capture import pcapng_blocks as ng
from pcapkit.capture.chunks import ChunkStream
from pcapkit.capture.files import open_capture
from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.pcap import (
    FILE_HEADER_LEN,
    MAGICS,
    parse_file_header,
    record_cut,
    record_header_cut,
)
from pcapkit.capture.record_batch import (
    NO_TIME as NO_TIME,  # (where the batches' readers look for it)
)
from pcapkit.capture.record_batch import RecordBatch
from pcapkit.capture.record_walk import _walk_pcap_struct as walk_pcap_interpreted
from pcapkit.capture.record_walk import kernels
from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
)
from pcapkit.frame import Frame

if TYPE_CHECKING:
    from pcapkit.capture.reader import CaptureLayout

STOPPED_EARLY = 3  # a decoder's walk (iter_records' ``decoder``) stopped at its own limit before max_packets
DEFAULT_CHUNK_BYTES = 32 << 20


def iter_records(path: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES, max_packets: int = 1 << 20,
                 use_numba: bool | None = None, byte_range: tuple[int, int] | None = None,
                 decoder: Any = None, layout: CaptureLayout | None = None) -> Iterator[RecordBatch]:
    """Batches of records of a capture file (pcap / pcapng, optionally gzip-compressed, in
    chunks; snoop and ERF through the record reader), in order. ``byte_range``: only the
    records in bytes [start, end) of a plain pcap file (``start`` on a record boundary, see
    :func:`pcapkit.capture.ranges.byte_ranges`), numbered from 1.

    ``decoder``: decodes each pcap record while the walk has its bytes in the cache (one
    pass over memory instead of two: :class:`pcapkit.columnar.fastpath.RecordDecoder`):
    ``decoder.walker(linktype)`` replaces the compiled walk, ``decoder.take(n)`` becomes
    the batch's ``decoded``. Used when the compiled walk runs; other formats ignore it.
    ``layout``: filled with a pcapng file's sections, interfaces and statistics."""
    try:
        st = ChunkStream(path, chunk_bytes)
    except OSError as exc:
        raise CaptureFileError(exc.strerror or str(exc), path=path) from None
    try:
        st.ensure(4)
        if len(st.buf) < 4:  # (the record reader's words: pcapkit.capture.files)
            if st.error is not None:
                raise UnknownFormatError(f"gzip: {st.error}", path=path, offset=0)
            if not len(st.buf):
                raise TruncatedFileError("empty file (no capture file header)", path=path, offset=0)
            raise TruncatedFileError("file ends inside the capture file header", path=path, offset=0)
        magic = bytes(st.buf[:4])
        if magic == ng.SHB_TYPE_BYTES:
            from pcapkit.capture.batch_pcapng import pcapng_batches

            yield from pcapng_batches(st, max_packets, use_numba, layout)
        elif magic in MAGICS:
            yield from _pcap_batches(st, max_packets, use_numba, byte_range, decoder)
        elif byte_range is not None:
            raise ValueError(f"{path}: only a pcap file can be read by byte range")
        else:
            st.close()
            yield from _reader_batches(path, max_packets)
    except CaptureFileError as exc:
        exc.after_header = exc.after_header or st.header_done
        raise
    finally:
        st.close()


class BatchFrames:
    """The records of a batch as :class:`~pcapkit.frame.Frame` objects, one row at a time,
    for the per-packet paths: the batch's columns are turned into Python values once (such
    a path may build a Frame for every row), the bytes are copied per frame."""

    __slots__ = ("buf", "caplen", "data_off", "first_number", "interface_id", "linktype", "pcapng", "ts_ns",
                 "wirelen")

    def __init__(self, rb: RecordBatch) -> None:
        self.buf = rb.buf
        self.data_off, self.caplen, self.wirelen = rb.data_off.tolist(), rb.caplen.tolist(), rb.wirelen.tolist()
        self.ts_ns, self.linktype = rb.ts_ns.tolist(), rb.linktype.tolist()
        self.interface_id = rb.interface_id.tolist()
        self.first_number, self.pcapng = rb.first_number, rb.pcapng

    def frame(self, row: int) -> Frame:
        off, cap, ts_ns = self.data_off[row], self.caplen[row], self.ts_ns[row]
        return Frame(self.first_number + row, 0 if ts_ns == NO_TIME else ts_ns, cap, self.wirelen[row],
                     self.linktype[row], self.interface_id[row], self.buf[off:off + cap].tobytes())


def frame_at(rb: RecordBatch, row: int) -> Frame:
    """Row ``row`` of ``rb`` as a Frame, without converting the rest of the batch: the record
    reader's Frame (a simple packet block's missing time is 0 there, a custom block's
    interface -1)."""
    off, cap, ts_ns = int(rb.data_off[row]), int(rb.caplen[row]), int(rb.ts_ns[row])
    return Frame(rb.first_number + row, 0 if ts_ns == NO_TIME else ts_ns, cap, int(rb.wirelen[row]),
                 int(rb.linktype[row]), int(rb.interface_id[row]), rb.buf[off:off + cap].tobytes())


@dataclass(frozen=True)
class CaptureFiles:
    """Capture files read as one capture (``export``'s inputs analysed together): their
    records in order, frames numbered on across the files (:func:`records_across`). Not
    iterable, unlike frames: code that does not know it fails rather than take it for
    frames."""

    paths: tuple[str, ...]


@dataclass
class FilesRead:
    """What :func:`records_across` met besides records."""

    damage: list[CaptureFileError] = field(default_factory=list)  # what ended a file after some of its records
    unreadable: CaptureFileError | None = None  # what it raised: a file of which nothing was readable


def records_across(files: CaptureFiles, read: FilesRead, **options: Any) -> Iterator[RecordBatch]:
    """The record batches of ``files``, one file after the other, frames numbered on
    across them (``options``: :func:`iter_records`'). A file's damage ends that file's
    records only: the error goes to ``read.damage`` and the next file is read. A file of
    which nothing is readable (missing, not a capture, cut inside its first record) raises
    its error (also kept as ``read.unreadable``), as the file read alone does."""
    offset = 0
    for path in files.paths:
        count = 0
        try:
            for rb in iter_records(path, **options):
                count += len(rb)
                yield replace(rb, first_number=rb.first_number + offset) if offset else rb
        except CaptureFileError as exc:
            if not count:
                read.unreadable = exc
                raise
            read.damage.append(exc)
        offset += count


def frames_numbered(path: str | CaptureFiles, numbers: np.ndarray) -> Iterator[Frame]:
    """The frames of ``path`` numbered ``numbers`` (ascending), in order, from the record
    batches: the other records are located by the walk and never made Frames (a report
    that dissects one frame in six builds a sixth of them). The batch reader's
    :class:`~pcapkit.errors.CaptureFileError` (a damaged file) comes after the frames
    before the damage; of several files, the damage of one (reported by the first
    reading) ends that file's frames only."""
    at = 0
    batches = records_across(path, FilesRead()) if isinstance(path, CaptureFiles) else iter_records(path)
    for rb in batches:
        if at == numbers.shape[0]:
            return
        stop = int(np.searchsorted(numbers, rb.first_number + len(rb), side="left"))
        for number in numbers[at:stop].tolist():
            yield frame_at(rb, number - rb.first_number)
        at = stop


def frames_batch(frames: list[Frame], first_number: int, has_interface: bool = False) -> RecordBatch:
    """Frames packed into one batch (their data laid end to end in one buffer)."""
    data = [f.data for f in frames]
    cap = np.array([len(d) for d in data], dtype=np.int64)
    off = np.zeros(len(data), dtype=np.int64)
    if len(data) > 1:
        off[1:] = np.cumsum(cap)[:-1]
    buf = np.frombuffer(b"".join(data), dtype=np.uint8)
    return RecordBatch(buf, off, cap, np.array([f.wirelen for f in frames], np.int64),
                       np.array([f.ts_ns for f in frames], np.int64),
                       np.array([f.linktype for f in frames], np.int32),
                       np.array([f.interface_id for f in frames], np.int32), first_number, 0,
                       pcapng=has_interface)


def _reader_batches(path: str, max_packets: int) -> Iterator[RecordBatch]:
    """Other formats (Sun snoop, ERF) through the record reader, in batches."""
    chunk: list[Frame] = []
    number = 1
    with open_capture(path) as reader:
        has_if = reader.format == "erf"  # ERF records carry an interface, as pcapng's do
        for frame in reader:
            chunk.append(frame)
            if len(chunk) >= max_packets:
                yield frames_batch(chunk, number, has_if)
                number += len(chunk)
                chunk = []
        damage = reader.damage
    if chunk:
        yield frames_batch(chunk, number, has_if)
    if damage is not None:  # raised after the packets before it, as the pcap and pcapng walks do
        raise damage


# --------------------------------------------------------------------------------------
# pcap

_SWAP_CODES = {"no": 0, "yes": 1, "maybe": 2}  # the walks' ``swap`` argument


def _pcap_batches(st: ChunkStream, max_packets: int, use_numba: bool | None,
                  byte_range: tuple[int, int] | None = None, decoder: Any = None) -> Iterator[RecordBatch]:
    if not st.ensure(FILE_HEADER_LEN):
        raise TruncatedFileError("file ends inside the pcap file header", path=st.path,
                                 offset=len(st.buf))
    h = parse_file_header(bytes(st.buf[:FILE_HEADER_LEN]), st.path)
    st.header_done = True
    big = h.byte_order == ">"
    e = h.byte_order
    hdrlen = h.record_header_len
    swap = _SWAP_CODES[h.lengths_swapped]
    limit = max_snaplen(h.linktype)
    st.consume(FILE_HEADER_LEN)
    if byte_range is not None:
        st.restrict(*byte_range)
    walk, _ = kernels(use_numba)
    if decoder is not None and (h.padding or walk is walk_pcap_interpreted):
        decoder = None
    if decoder is not None:
        walk = decoder.walker(h.linktype)
    number = 1
    while True:
        arr = np.frombuffer(st.buf, dtype=np.uint8)
        cap_n = max(1, min(max_packets, arr.shape[0] // 16 + 1))
        off = np.empty(cap_n, np.int64)
        sec = np.empty(cap_n, np.int64)
        frac = np.empty(cap_n, np.int64)
        cap = np.empty(cap_n, np.int64)
        wlen = np.empty(cap_n, np.int64)
        n, pos, status = walk(arr, 0, big, hdrlen, swap, limit, cap_n, off, sec, frac, cap, wlen)
        decoded = None if decoder is None else decoder.take(n)
        if n:
            off, cap, wlen = off[:n], cap[:n], wlen[:n]
            if h.padding:  # AIX FDDI: bytes before the frame
                cut = np.minimum(cap, h.padding)
                off, cap, wlen = off + cut, cap - cut, np.maximum(wlen - h.padding, 0)
            yield RecordBatch(arr, off, cap, wlen, _pcap_times(sec[:n], frac[:n], h.nanosecond),
                              np.full(n, h.linktype, np.int32), np.zeros(n, np.int32), number,
                              st.base + pos, snaplen=h.snaplen, decoded=decoded)
            number += n
        if status == 1:
            incl, orig = struct.unpack_from(e + "II", st.buf, pos + 8)
            if swap == 1 or (swap == 2 and incl > orig):
                incl = orig
            raise MalformedRecordError(f"pcap: File has {incl}-byte packet, bigger than maximum of {limit}",
                                       path=st.path, offset=st.base + pos)
        st.consume(pos)
        if (n == cap_n or status == STOPPED_EARLY) and len(st.buf) >= hdrlen:
            continue  # stopped at max_packets (or the decoder's own limit) with records left in the chunk
        if st.eof:
            if len(st.buf) >= hdrlen:
                incl, orig = struct.unpack_from(e + "II", st.buf, 8)
                if swap == 1 or (swap == 2 and incl > orig):
                    incl = orig
                raise record_cut(st.path, st.base, incl, st.base + len(st.buf), st.error)
            if st.buf or st.error is not None:
                raise record_header_cut(st.path, st.base, st.error)
            return
        need = hdrlen
        if len(st.buf) >= 16:
            c, d = struct.unpack_from(e + "II", st.buf, 8)
            if swap == 1 or (swap == 2 and c > d):
                c = d
            need = hdrlen + c
        st.fill(need - len(st.buf))


def _pcap_times(sec: np.ndarray, frac: np.ndarray, nanosecond: bool) -> np.ndarray:
    """Record times in ns, as Wireshark computes them: a fraction past one second is
    kept, as ns, in a signed 32-bit int."""
    scale = 1 if nanosecond else 1000
    ts = sec * 1_000_000_000 + frac * scale
    bad = frac >= (1_000_000_000 if nanosecond else 1_000_000)
    if bad.any():
        nsecs = (frac[bad] * scale) & 0xFFFFFFFF
        ts[bad] = sec[bad] * 1_000_000_000 + np.where(nsecs >= 1 << 31, nsecs - (1 << 32), nsecs)
    return ts
