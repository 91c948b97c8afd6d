"""Record batches: the records of a capture file located in large chunks, as columns.

The file is read in chunks of ``chunk_bytes`` (plain files are memory-mapped, gzip
files are decompressed chunk by chunk); the records inside a chunk are located by a
compiled walk (:mod:`pcapkit.capture.record_walk`) that fills numpy arrays. No
per-packet Python object is built: a :class:`RecordBatch` holds the chunk plus columns
(data offset, caplen, wirelen, timestamp in ns, link type, interface id).

Headers are read by the same code as the record readers: the pcap file header by
:func:`pcapkit.capture.pcap.parse_file_header`, pcapng sections and interfaces by
:mod:`pcapkit.capture.pcapng_blocks` (time stamps converted as Wireshark does). Other
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
from dataclasses import dataclass, field
from typing import Any

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
from pcapkit.capture.reader import Interface
from pcapkit.capture.record_walk import _walk_pcap_struct as walk_pcap_interpreted
from pcapkit.capture.record_walk import kernels
from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
    UnsupportedVersionError,
)
from pcapkit.frame import TS_NS_MAX, Frame

NO_TIME = np.iinfo(np.int64).min  # becomes NaT: the record has no timestamp
STOPPED_EARLY = 3  # a decoder's walk (iter_records' ``decoder``) stopped at its own limit before max_packets
DEFAULT_CHUNK_BYTES = 32 << 20


@dataclass(slots=True)
class RecordBatch:
    """Records located in one chunk. ``data_off`` indexes ``buf``."""

    buf: np.ndarray            # uint8, the chunk
    data_off: np.ndarray       # int64, start of each record's captured bytes in buf
    caplen: np.ndarray         # int64
    wirelen: np.ndarray        # int64
    ts_ns: np.ndarray          # int64 ns since the epoch
    linktype: np.ndarray       # int32 LINKTYPE_* per record
    interface_id: np.ndarray   # int32 (pcapng interface index; 0 for pcap)
    first_number: int          # frame.number of the first record (1-based)
    end_offset: int = 0        # bytes of the (decompressed) file consumed after this batch
    pcapng: bool = False       # records come from a pcapng file (frame.interface_id exists)
    snaplen: int = 0           # the pcap file header's snapshot length (0: none, or pcapng)
    decoded: Any = None        # what iter_records' ``decoder`` made of the records while walking them

    def __len__(self) -> int:
        return int(self.data_off.shape[0])

    def select(self, rows: np.ndarray) -> RecordBatch:
        """The records ``rows`` as a batch of their own (the same buffer; not ``decoded``)."""
        return RecordBatch(self.buf, self.data_off[rows], self.caplen[rows], self.wirelen[rows], self.ts_ns[rows],
                           self.linktype[rows], self.interface_id[rows], self.first_number, self.end_offset,
                           self.pcapng, self.snaplen)


def iter_records(path: str, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES, max_packets: int = 1 << 20,
                 use_numba: bool | None = None, byte_range: tuple[int, int] | None = None,
                 decoder: Any = None) -> Iterator[RecordBatch]:
    """Batches of records of a capture file (pcap / pcapng, optionally gzip-compressed, in
    chunks; snoop and ERF through the record reader), in order. ``byte_range``: only the
    records in bytes [start, end) of a plain pcap file (``start`` on a record boundary, see
    :func:`pcapkit.capture.ranges.byte_ranges`), numbered from 1.

    ``decoder``: decodes each pcap record while the walk has its bytes in the cache (one
    pass over memory instead of two: :class:`pcapkit.columnar.fastpath.RecordDecoder`):
    ``decoder.walker(linktype)`` replaces the compiled walk, ``decoder.take(n)`` becomes
    the batch's ``decoded``. Used when the compiled walk runs; other formats ignore it."""
    try:
        st = ChunkStream(path, chunk_bytes)
    except OSError as exc:
        raise CaptureFileError(exc.strerror or str(exc), path=path) from None
    try:
        st.ensure(4)
        if len(st.buf) < 4:
            raise TruncatedFileError("file is too short to be a capture file", path=path, offset=0)
        magic = bytes(st.buf[:4])
        if magic == ng.SHB_TYPE_BYTES:
            yield from _pcapng_batches(st, max_packets, use_numba)
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
        off, cap = self.data_off[row], self.caplen[row]
        return Frame(self.first_number + row, self.ts_ns[row], cap, self.wirelen[row], self.linktype[row],
                     max(0, self.interface_id[row]), self.buf[off:off + cap].tobytes())


def frame_at(rb: RecordBatch, row: int) -> Frame:
    """Row ``row`` of ``rb`` as a Frame, without converting the rest of the batch."""
    off, cap = int(rb.data_off[row]), int(rb.caplen[row])
    return Frame(rb.first_number + row, int(rb.ts_ns[row]), cap, int(rb.wirelen[row]), int(rb.linktype[row]),
                 max(0, int(rb.interface_id[row])), rb.buf[off:off + cap].tobytes())


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


# --------------------------------------------------------------------------------------
# pcapng

@dataclass(slots=True)
class _Section:
    order: str
    ifaces: list[Interface] = field(default_factory=list)


def _pcapng_batches(st: ChunkStream, max_packets: int, use_numba: bool | None) -> Iterator[RecordBatch]:
    _, walk_epb = kernels(use_numba)
    section: _Section | None = None
    number = 1
    while True:
        if not st.ensure(8):
            if st.buf or st.error is not None:
                raise _with_stream_error(ng.block_header_cut(st.path, st.base), st)
            return
        if bytes(st.buf[:4]) == ng.SHB_TYPE_BYTES:
            if not st.ensure(12):
                raise TruncatedFileError("file ends inside a section header", path=st.path, offset=st.base)
            e = ng.byte_order(bytes(st.buf[8:12]))
            if e is None:
                raise UnknownFormatError("pcapng section header has a bad byte-order magic",
                                         path=st.path, offset=st.base + 8)
        elif section is None:
            raise UnknownFormatError("pcapng file does not start with a section header",
                                     path=st.path, offset=st.base)
        else:
            e = section.order
        btype, blen = struct.unpack_from(e + "II", st.buf, 0)
        bad = ng.block_length_error(st.path, st.base, blen) if btype != ng.SHB_TYPE else None
        if bad is not None:
            raise bad
        if btype == ng.EPB and section is not None:
            # a run of EPBs: the kernel walks as many as the chunk holds
            if not st.ensure(blen):
                raise _with_stream_error(ng.block_cut(st.path, st.base, blen, btype), st)
            arr = np.frombuffer(st.buf, dtype=np.uint8)
            cap_n = max(1, min(max_packets, arr.shape[0] // 32 + 1))
            off = np.empty(cap_n, np.int64)
            ifc = np.empty(cap_n, np.int64)
            tsraw = np.empty(cap_n, np.int64)
            cap = np.empty(cap_n, np.int64)
            wlen = np.empty(cap_n, np.int64)
            n, pos, status = walk_epb(arr, 0, e == ">", cap_n, off, ifc, tsraw, cap, wlen)
            good, damage = _checked_epbs(st, section, arr, off[:n], ifc[:n], cap[:n], pos)
            if good:
                yield _packet_batch(st, section, arr, off[:good], ifc[:good], tsraw[:good], cap[:good],
                                    wlen[:good], number, st.base + (pos if good == n else int(off[good]) - 28))
                number += good
            if damage is not None:
                raise damage
            if status == 1:
                raise MalformedRecordError("enhanced packet block is inconsistent (captured length "
                                           "exceeds block)", path=st.path, offset=st.base + pos)
            st.consume(pos)
            continue
        if not st.ensure(blen):
            raise _with_stream_error(ng.block_cut(st.path, st.base, blen, btype), st)
        block = st.buf[:blen]
        (trailer,) = struct.unpack_from(e + "I", block, blen - 4)
        if trailer != blen:
            raise _lengths_differ(st, blen, trailer, st.base)
        try:
            if btype == ng.SHB_TYPE:
                section = _read_section(block, e, st)
                st.header_done = True
            elif section is None:
                raise UnknownFormatError("pcapng block before the section header", path=st.path,
                                         offset=st.base)
            elif btype == ng.IDB:
                section.ifaces.append(ng.parse_interface(bytes(block[8:blen - 4]), e, 0))
            elif btype in (ng.SPB, ng.PB):
                yield _one_packet(st, section, btype, block, number)
                number += 1
            elif btype in (ng.CB_COPY, ng.CB_NOCOPY):
                # custom blocks: tshark 4.0 shows each as a frame of its data (no time, no
                # interface); we keep them as rows so frame numbers agree
                size = blen - 16
                one = np.ones(1, np.int64)
                yield RecordBatch(np.frombuffer(block, dtype=np.uint8), one * 12, one * size, one * size,
                                  one * NO_TIME, np.full(1, ng.LINKTYPE_CUSTOM_BLOCK, np.int32),
                                  np.full(1, -1, np.int32), number, st.base + blen, pcapng=True)
                number += 1
            elif btype == ng.SJE:
                # systemd journal entries: frames of their own in tshark 4.0, as in the reader
                entry, realtime = ng.journal_entry(bytes(block[8:blen - 4]))
                one = np.ones(1, np.int64)
                arr = np.frombuffer(entry, dtype=np.uint8)
                yield RecordBatch(arr, one * 0, one * len(entry), one * len(entry),
                                  one * (NO_TIME if realtime is None else realtime),
                                  np.full(1, ng.LINKTYPE_SYSTEMD_JOURNAL, np.int32),
                                  np.full(1, -1, np.int32), number, st.base + blen, pcapng=True)
                number += 1
            # other blocks (NRB, ISB, DSB, ...) carry no packets (the record reader reads on after a
            # damaged ISB too: it only warns)
        except (struct.error, ValueError) as exc:
            raise MalformedRecordError(f"pcapng block type 0x{btype:x} is damaged ({exc})",
                                       path=st.path, offset=st.base) from None
        st.consume(blen)


def _lengths_differ(st: ChunkStream, blen: int, trailer: int, offset: int) -> MalformedRecordError:
    return MalformedRecordError(f"pcapng: total block lengths (first {blen} and second {trailer}) don't match",
                                path=st.path, offset=offset)


def _checked_epbs(st: ChunkStream, section: _Section, arr: np.ndarray, off: np.ndarray, ifc: np.ndarray,
                  cap: np.ndarray, end: int) -> tuple[int, MalformedRecordError | None]:
    """Of a run of EPBs the walk located (data at ``off``, the run ending at ``end``), how
    many come before the first one the record reader (:mod:`pcapkit.capture.pcapng`) would
    refuse, and its error: a trailing block length that differs, an interface the section
    does not have, a captured length beyond the link type's limit, options it cannot parse.
    Both readers then read the same records of a damaged file."""
    n = off.shape[0]
    if n == 0:
        return 0, None
    start = off - 28
    blen = np.empty(n, np.int64)
    blen[:-1] = start[1:] - start[:-1]
    blen[-1] = end - start[-1]
    at = (start + blen - 4)[:, None] + np.arange(4)
    octets = arr[at].astype(np.int64)
    weights = np.array([1 << 24, 1 << 16, 1 << 8, 1] if section.order == ">" else [1, 1 << 8, 1 << 16, 1 << 24],
                       np.int64)
    trailer = octets @ weights
    nif = len(section.ifaces)
    known = ifc < nif
    limits = np.array([max_snaplen(i.linktype) for i in section.ifaces] or [0], np.int64)
    too_long = known & (cap > limits[np.minimum(ifc, max(nif - 1, 0))])
    with_options = blen > 32 + ((cap + 3) & ~3)
    bad = (trailer != blen) | ~known | too_long | with_options
    if not bool(bad.any()):
        return n, None
    for j in np.flatnonzero(bad).tolist():
        offset = st.base + int(start[j])
        if trailer[j] != blen[j]:
            return j, _lengths_differ(st, int(blen[j]), int(trailer[j]), offset)
        if not known[j]:
            return j, MalformedRecordError(f"pcapng: interface index {int(ifc[j])} is not less than section "
                                           f"interface count {nif}", path=st.path, offset=offset)
        if too_long[j]:
            return j, MalformedRecordError(f"pcapng: cap_len {int(cap[j])} is larger than "
                                           f"{int(limits[ifc[j]])}", path=st.path, offset=offset)
        body = arr[int(start[j]) + 8:int(start[j] + blen[j]) - 4].tobytes()
        try:
            ng.parse_options(body, 20 + ng.pad4(int(cap[j])), len(body), section.order)
        except ValueError as exc:
            return j, MalformedRecordError(str(exc), path=st.path, offset=offset)
    return n, None


def _with_stream_error(exc: TruncatedFileError, st: ChunkStream) -> TruncatedFileError:
    """``exc`` with what ended a compressed stream early, as the record reader words it."""
    if st.error is None:
        return exc
    return TruncatedFileError(f"{exc.reason} ({st.error})", path=exc.path, offset=exc.offset)


def _read_section(block: bytes | memoryview, e: str, st: ChunkStream) -> _Section:
    """A new section: its version checked and its options parsed as the reader does."""
    body = bytes(block[8:len(block) - 4])
    version = struct.unpack_from(e + "HH", body, 4)
    if version not in ng.SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(f"pcapng section version {version[0]}.{version[1]} is not supported",
                                      path=st.path, offset=st.base + 12)
    ng.parse_section(body, e, version, st.base)
    return _Section(e)


def _one_packet(st: ChunkStream, section: _Section, btype: int, block: bytes | memoryview,
                number: int) -> RecordBatch:
    """A Simple Packet Block (no time stamp) or an obsolete Packet Block, as one batch."""
    e = section.order
    body = block[8:len(block) - 4]
    if btype == ng.SPB:
        if not section.ifaces:
            raise MalformedRecordError("pcapng: SPB appeared before any IDBs in the section",
                                       path=st.path, offset=st.base)
        if len(body) < 4:
            raise MalformedRecordError("pcapng: SPB too small", path=st.path, offset=st.base)
        wire = struct.unpack_from(e + "I", body, 0)[0]
        iface = section.ifaces[0]
        # the record reader's rule (Wireshark's): the interface's snap length cuts the packet
        c = wire if iface.snaplen == 0 or wire <= iface.snaplen else iface.snaplen
        if c > max_snaplen(iface.linktype) or 4 + c > len(body):
            raise MalformedRecordError(f"pcapng: total block length {len(body) + 12} of SPB is too small for {c} "
                                       "bytes of packet data", path=st.path, offset=st.base)
        doff, ifc0, raw_ts = 12, 0, 0
    else:
        ifc0, _drops, hi, lo, c, wire = struct.unpack_from(e + "HHIIII", body, 0)
        doff, raw_ts = 28, (hi << 32) | lo
        if 20 + ng.pad4(c) > len(body):
            raise MalformedRecordError("packet block captured length exceeds block",
                                       path=st.path, offset=st.base)
        if ifc0 < len(section.ifaces) and c > max_snaplen(section.ifaces[ifc0].linktype):
            raise MalformedRecordError(f"pcapng: cap_len {c} is larger than "
                                       f"{max_snaplen(section.ifaces[ifc0].linktype)}", path=st.path, offset=st.base)
        if len(body) > 20 + ng.pad4(c):
            try:
                ng.parse_options(bytes(body), 20 + ng.pad4(c), len(body), e)
            except ValueError as exc:
                raise MalformedRecordError(str(exc), path=st.path, offset=st.base) from None
    batch = _packet_batch(st, section, np.frombuffer(block, dtype=np.uint8), np.array([doff], np.int64),
                          np.array([ifc0], np.int64), np.array([raw_ts], np.uint64).view(np.int64),
                          np.array([c], np.int64), np.array([wire], np.int64), number,
                          st.base + len(block))
    if btype == ng.SPB:
        batch.ts_ns[:] = NO_TIME  # simple packet blocks carry no timestamp
    return batch


def _packet_batch(st: ChunkStream, section: _Section, arr: np.ndarray, off: np.ndarray, ifc: np.ndarray,
                  tsraw: np.ndarray, cap: np.ndarray, wlen: np.ndarray, number: int,
                  end_offset: int) -> RecordBatch:
    n = off.shape[0]
    nif = len(section.ifaces)
    if nif == 0 or int(ifc.max()) >= nif:
        bad = int(ifc.max())
        raise MalformedRecordError(f"packet refers to interface {bad}, but only {nif} are defined",
                                   path=st.path, offset=end_offset)
    lt_table = np.array([i.linktype for i in section.ifaces], np.int32)
    ts = np.empty(n, np.int64)
    if nif == 1:
        ts[:] = _pcapng_times(tsraw, section.ifaces[0])
    else:
        for k, iface in enumerate(section.ifaces):
            sel = ifc == k
            if sel.any():
                ts[sel] = _pcapng_times(tsraw[sel], iface)
    return RecordBatch(arr, off, cap, wlen, ts, lt_table[ifc], ifc.astype(np.int32), number, end_offset,
                       pcapng=True)


def _pcapng_times(raw: np.ndarray, iface: Interface) -> np.ndarray:
    """Raw 64-bit time stamps (int64 bit patterns) -> ns, as
    :func:`pcapkit.capture.pcapng_blocks.ts_to_ns` computes each (unsigned 64-bit
    arithmetic, seconds as a signed 64-bit time_t)."""
    units = iface.tsresol
    u = raw.astype(np.uint64)
    room = TS_NS_MAX - abs(iface.tsoffset) * 1_000_000_000  # (a hostile offset leaves none: every time exactly)
    if room < 0:
        ns = np.zeros(u.shape[0], np.int64)
        safe = np.zeros(u.shape[0], bool)
    elif 1_000_000_000 % units == 0:  # µs, ns, 2^-k for k <= 9: exact multiples
        per = 1_000_000_000 // units
        ns = u.astype(np.int64) * per
        safe = u <= np.uint64(room // per)
    else:
        perr = np.uint64(units)
        secs = (u // perr).astype(np.int64)
        nsecs = ((u % perr) * np.uint64(1_000_000_000)) // perr
        ns = secs * 1_000_000_000 + nsecs.astype(np.int64)
        safe = (u // perr) <= np.uint64(max(room // 1_000_000_000 - 1, 0))
    if iface.tsoffset and room >= 0:
        ns = ns + iface.tsoffset * 1_000_000_000
    if not bool(safe.all()):  # times that overflow int64 ns: exactly, then saturated, as the reader does
        for i in np.nonzero(~safe)[0].tolist():
            ns[i] = ng.frame_time(int(u[i]), units, iface.tsoffset)[0]
    return ns

