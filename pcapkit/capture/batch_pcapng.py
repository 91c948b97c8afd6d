"""The pcapng part of :func:`pcapkit.capture.batch.iter_records`: sections, interfaces and
packet blocks located in chunks, runs of Enhanced Packet Blocks walked by the compiled walk
(:mod:`pcapkit.capture.record_walk`) and checked as the record reader
(:mod:`pcapkit.capture.pcapng`) checks each block, so that both read the same records of a
damaged file: the batches stop with an error where the reader stops with a warning.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from pcapkit.capture import pcapng_blocks as ng
from pcapkit.capture.chunks import ChunkStream
from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.reader import CaptureLayout, Interface
from pcapkit.capture.record_batch import NO_TIME, RecordBatch
from pcapkit.capture.record_walk import kernels
from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
)
from pcapkit.frame import TS_NS_MAX


@dataclass(slots=True)
class _Section:
    order: str
    index: int  # (in the file)
    first: int  # (the index of its first interface among every section's)
    ifaces: list[Interface] = field(default_factory=list)


def pcapng_batches(st: ChunkStream, max_packets: int, use_numba: bool | None,
                   layout: CaptureLayout | None = None) -> Iterator[RecordBatch]:
    """The record batches of a pcapng stream; ``layout``, when given, is filled as the
    blocks go by. The record reader reads on past a damaged statistics block (ISB) and
    keeps its warning, which it reports first: such a block's error is raised once every
    record is delivered (or in place of a later error)."""
    damaged: list[MalformedRecordError] = []
    try:
        yield from _batches(st, max_packets, use_numba, damaged, CaptureLayout() if layout is None else layout)
    except CaptureFileError:
        if damaged:
            raise damaged[0] from None
        raise
    if damaged:
        raise damaged[0]


def _batches(st: ChunkStream, max_packets: int, use_numba: bool | None,
             damaged: list[MalformedRecordError], layout: CaptureLayout) -> Iterator[RecordBatch]:
    _, walk_epb = kernels(use_numba)
    section: _Section | None = None
    number = 1
    while True:
        if not st.ensure(8):
            if st.buf or st.error is not None:
                raise _with_stream_error(ng.block_header_cut(st.path, st.base), st)
            return
        if bytes(st.buf[:4]) == ng.SHB_TYPE_BYTES:
            section = _read_section(st, layout, first=section is None)
            continue
        if section is None:
            raise UnknownFormatError("pcapng file does not start with a section header",
                                     path=st.path, offset=st.base)
        e = section.order
        btype, blen = struct.unpack_from(e + "II", st.buf, 0)
        bad = ng.block_length_error(st.path, st.base, blen)
        if bad is not None:
            raise bad
        if btype == ng.EPB:
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
            if status == 1 and pos == 0:
                raise _bad_epb(st, section, st.buf[:blen])
            st.consume(pos)  # (a bad EPB after the run: checked from the top as the first of the next)
            continue
        if not st.ensure(blen):
            raise _with_stream_error(ng.block_cut(st.path, st.base, blen, btype), st)
        block = st.buf[:blen]
        (trailer,) = struct.unpack_from(e + "I", block, blen - 4)
        if trailer != blen:
            raise _lengths_differ(st, blen, trailer, st.base)
        try:
            if btype == ng.IDB:
                iface = ng.parse_interface(bytes(block[8:blen - 4]), e, section.index)
                section.ifaces.append(iface)
                layout.interfaces.append(iface)
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
            elif btype == ng.ISB:
                try:
                    layout.interface_stats.append(ng.parse_statistics(bytes(block[8:blen - 4]), e, layout.interfaces,
                                                                      section.first, section.index))
                except ValueError as exc:  # (the reader reads on: see pcapng_batches)
                    damaged.append(MalformedRecordError(str(exc), path=st.path, offset=st.base))
            # other blocks (NRB, DSB, ...) carry no packets
        except ValueError as exc:  # (the reader's words: its parsers raise these)
            raise MalformedRecordError(str(exc), path=st.path, offset=st.base) from None
        except struct.error as exc:
            raise MalformedRecordError(f"pcapng block type 0x{btype:x} is damaged ({exc})",
                                       path=st.path, offset=st.base) from None
        st.consume(blen)


def _bad_epb(st: ChunkStream, section: _Section, block: bytes | memoryview) -> MalformedRecordError:
    """The record reader's error for an EPB the walk stopped at (its captured length runs
    past the block, or the block is shorter than an EPB), from its checks in its order."""
    e, blen = section.order, len(block)
    (trailer,) = struct.unpack_from(e + "I", block, blen - 4)
    if trailer != blen:
        return _lengths_differ(st, blen, trailer, st.base)
    bad = ng.packet_block_too_small(st.path, st.base, ng.EPB, blen)
    if bad is None:
        iid, _hi, _lo, caplen = struct.unpack_from(e + "IIII", block, 8)
        bad = ng.packet_block_error(st.path, st.base, blen, iid, caplen, section.ifaces)
    assert bad is not None  # (the walk stops only at such a block)
    return bad


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
        error = ng.packet_block_error(st.path, offset, int(blen[j]), int(ifc[j]), int(cap[j]), section.ifaces)
        if error is not None:
            return j, error
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


def _read_section(st: ChunkStream, layout: CaptureLayout, first: bool) -> _Section:
    """The section header block at the stream's position, read and checked as the record
    reader reads it (:func:`pcapkit.capture.pcapng_blocks.read_section_header`: the same
    errors), added to ``layout`` and consumed."""
    st.ensure(16)
    tlen = ng.section_header_length(st.buf[:12])
    if tlen is not None and ng.section_length_error(st.path, st.base, tlen) is None:
        st.ensure(tlen)  # (as much of it as there is: a cut block is read_section_header's error)
    try:
        # (16 bytes at least: a length below that is read_section_header's error, not a cut)
        header, order, tlen = ng.read_section_header(st.buf[:max(tlen or 0, 16)], st.path, st.base, first)
    except TruncatedFileError as exc:
        raise _with_stream_error(exc, st) from None
    layout.sections.append(header)
    st.header_done = True
    st.consume(tlen)
    return _Section(order, len(layout.sections) - 1, len(layout.interfaces))


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
        # the record reader's checks, in its order and words
        bad = ng.packet_block_too_small(st.path, st.base, ng.PB, len(block))
        if bad is not None:
            raise bad
        ifc0, _drops, hi, lo, c, wire = struct.unpack_from(e + "HHIIII", body, 0)
        doff, raw_ts = 28, (hi << 32) | lo
        bad = ng.packet_block_error(st.path, st.base, len(block), ifc0, c, section.ifaces)
        if bad is not None:
            raise bad
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

