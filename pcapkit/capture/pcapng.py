"""pcapng files, read record by record (several sections, either byte order).

Read here: Section Header (0x0A0D0D0A, byte-order magic 0x1A2B3C4D, version 1.0; 1.2
is accepted as Wireshark does), Interface Description (1), obsolete Packet (2), Simple
Packet (3), Name Resolution (4, skipped), Interface Statistics (5), Enhanced Packet
(6), Decryption Secrets (10, skipped), Custom (0xBAD, 0x40000BAD) and any unknown block
type (skipped). The block and option layout is :mod:`pcapkit.capture.pcapng_blocks`;
writing is :class:`pcapkit.capture.writer.PcapngWriter`.

As in Wireshark 4.0, custom blocks are records of their own: each is delivered as
a :class:`~pcapkit.frame.Frame` with ``linktype`` :data:`LINKTYPE_CUSTOM_BLOCK` (-1),
``interface_id`` -1 and the bytes after the Private Enterprise Number as data, so
frame numbers stay the same as tshark's. systemd Journal Export blocks (9) likewise,
with ``linktype`` :data:`LINKTYPE_SYSTEMD_JOURNAL` (-2), the entry as data and the
time of its ``__REALTIME_TIMESTAMP`` field. A negative linktype means "not a packet". Simple Packet Blocks carry no time stamp:
their frames have ``ts_ns`` 0 and their numbers are in ``reader.untimed_frames``.

Time stamps are converted to ns exactly as Wireshark does
(:func:`~pcapkit.capture.pcapng_blocks.ts_to_ns`); the exact value is in
``Frame.ts_exact`` when the resolution is finer than 1 ns.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.pcapng_blocks import (
    CB_COPY,
    CB_NOCOPY,
    EPB,
    IDB,
    ISB,
    LINKTYPE_CUSTOM_BLOCK,
    LINKTYPE_SYSTEMD_JOURNAL,
    NRB,
    OPT_COMMENT,
    PB,
    SHB_TYPE_BYTES,
    SJE,
    SPB,
    block_cut,
    block_header_cut,
    block_length_error,
    frame_time,
    journal_entry,
    option_text,
    packet_block_error,
    packet_block_too_small,
    pad4,
    parse_interface,
    parse_options,
    parse_statistics,
    read_section_header,
    section_header_length,
    section_length_error,
)
from pcapkit.capture.reader import ByteSource, CaptureReader
from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    UnknownFormatError,
)
from pcapkit.frame import Frame


class PcapngReader(CaptureReader):
    """Reader of pcapng files (see module docstring)."""

    format = "pcapng"

    def __init__(self, src: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        super().__init__(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
        self.untimed_frames: set[int] = set()
        self._order = "<"
        self._first = 0  # global index of the current section's first interface
        self._units: list[int] = []
        self.name_resolution_blocks = 0
        self.skipped_blocks: dict[int, int] = {}
        # Opening reads the first SHB and the IDBs right after it (damage there is an
        # error at open, as in Wireshark); the first other block, even a damaged one, is
        # left to the iteration.
        if not self._read_shb(0, at_open=True):  # pragma: no cover - raises
            raise UnknownFormatError("not a pcapng file", path=path, offset=0)
        while src.fill(8):
            data, pos = src.data, src.pos
            if data[pos:pos + 4] == SHB_TYPE_BYTES:
                break
            (btype,) = struct.unpack_from(self._order + "I", data, pos)
            if btype != IDB:
                break
            block = self._read_block(at_open=True)
            if block is None:  # pragma: no cover - raises at open
                break
            self._handle_idb(block[1], block[2], at_open=True)

    # -- blocks -----------------------------------------------------------------------
    def _fail(self, exc: CaptureFileError, at_open: bool) -> None:
        if at_open:
            raise exc
        self._damage(exc)

    def _read_block(self, at_open: bool = False) -> tuple[int, bytes, int] | None:
        """Next block as (type, body, offset); SHBs are handled here. None at the end
        (clean or after a recorded warning)."""
        src = self._src
        while True:
            offset = src.offset
            if not src.fill(8):
                if src.available or src.error is not None:
                    self._fail(block_header_cut(self.path, offset), at_open)
                return None
            data, pos = src.data, src.pos
            if data[pos:pos + 4] == SHB_TYPE_BYTES:
                if not self._read_shb(offset, at_open):
                    return None
                continue
            btype, tlen = struct.unpack_from(self._order + "II", data, pos)
            bad = block_length_error(self.path, offset, tlen)
            if bad is not None:
                self._fail(bad, at_open)
                return None
            if not src.fill(tlen):
                self._fail(block_cut(self.path, offset, tlen, btype), at_open)
                return None
            data, pos = src.data, src.pos
            (trailer,) = struct.unpack_from(self._order + "I", data, pos + tlen - 4)
            body = data[pos + 8:pos + tlen - 4]
            src.pos = pos + tlen
            if trailer != tlen:
                self._fail(MalformedRecordError(
                    f"pcapng: total block lengths (first {tlen} and second {trailer}) don't match",
                    path=self.path, offset=offset), at_open)
                return None
            return btype, body, offset

    def _read_shb(self, offset: int, at_open: bool) -> bool:
        src = self._src
        src.fill(16)
        tlen = section_header_length(src.data[src.pos:src.pos + 12])
        if tlen is not None and section_length_error(self.path, offset, tlen) is None:
            src.fill(tlen)  # (as much of it as there is: a cut block is read_section_header's error)
        data, pos = src.data, src.pos
        # (16 bytes at least: a length below that is read_section_header's error, not a cut)
        view = memoryview(data)[pos:pos + max(tlen or 0, 16)]
        try:
            section, order, tlen = read_section_header(view, self.path, offset, first=not self.sections)
        except CaptureFileError as exc:
            self._fail(exc, at_open or not self.sections)
            return False
        finally:
            view.release()
        src.pos = pos + tlen
        self._order = order
        self.sections.append(section)
        self._first = len(self.interfaces)
        return True

    def _options(self, body: bytes, start: int, offset: int) -> list[tuple[int, bytes]] | None:
        try:
            return parse_options(body, start, len(body), self._order)
        except ValueError as exc:
            self._damage(MalformedRecordError(str(exc), path=self.path, offset=offset))
            return None

    def _handle_idb(self, body: bytes, offset: int, at_open: bool = False) -> bool:
        try:
            iface = parse_interface(body, self._order, len(self.sections) - 1)
        except ValueError as exc:
            self._fail(MalformedRecordError(str(exc), path=self.path, offset=offset), at_open)
            return False
        self.interfaces.append(iface)
        self._units.append(iface.tsresol)
        return True

    def _handle_isb(self, body: bytes, offset: int) -> None:
        try:
            stats = parse_statistics(body, self._order, self.interfaces, self._first, len(self.sections) - 1)
        except ValueError as exc:
            self._damage(MalformedRecordError(str(exc), path=self.path, offset=offset))
            return
        self.interface_stats.append(stats)

    # -- frames -----------------------------------------------------------------------
    def _frames(self) -> Iterator[Frame]:
        number = 0
        epb_head = struct.Struct(self._order + "IIIII")
        src = self._src
        fast_key: tuple[int, int, str] = (-1, -1, "")
        ifaces: list[tuple[int, int, int, int]] = []
        head = struct.Struct(self._order + "II")
        u32 = struct.Struct(self._order + "I").unpack_from
        while True:
            # fast path: a whole EPB without options already in the buffer
            data, pos = src.data, src.pos
            if len(data) - pos >= 8 and data[pos:pos + 4] != SHB_TYPE_BYTES:
                if fast_key != (len(self.interfaces), self._first, self._order):
                    fast_key = (len(self.interfaces), self._first, self._order)
                    ifaces = [(i.linktype, i.tsresol, i.tsoffset, max_snaplen(i.linktype))
                              for i in self.interfaces[self._first:]]
                    head = struct.Struct(self._order + "II")
                    epb_head = struct.Struct(self._order + "IIIII")
                    u32 = struct.Struct(self._order + "I").unpack_from
                btype, tlen = head.unpack_from(data, pos)
                if (btype == EPB and 32 <= tlen <= len(data) - pos and not tlen & 3
                        and u32(data, pos + tlen - 4)[0] == tlen):
                    iid, hi, lo, caplen, wirelen = epb_head.unpack_from(data, pos + 8)
                    if (iid < len(ifaces) and caplen <= ifaces[iid][3]
                            and 32 + ((caplen + 3) & ~3) == tlen):
                        linktype, units, tsoffset, _ = ifaces[iid]
                        src.pos = pos + tlen
                        ts = (hi << 32) | lo
                        number += 1
                        self.frames_read = number
                        ts_ns, exact = frame_time(ts, units, tsoffset)
                        yield Frame(number, ts_ns, caplen, wirelen, linktype, iid,
                                    data[pos + 28:pos + 28 + caplen], None, exact, len(self.sections) - 1)
                        continue
            block = self._read_block()
            if block is None:
                return
            btype, body, offset = block
            order = self._order
            if btype in (EPB, PB):
                blen = len(body) + 12
                bad = packet_block_too_small(self.path, offset, btype, blen)
                if bad is not None:
                    self._damage(bad)
                    return
                if btype == EPB:
                    if epb_head.format[0] != order:
                        epb_head = struct.Struct(order + "IIIII")
                    iid, hi, lo, caplen, wirelen = epb_head.unpack_from(body, 0)
                else:
                    iid, _drops, hi, lo, caplen, wirelen = struct.unpack_from(order + "HHIIII", body, 0)
                section_ifaces = self.interfaces[self._first:]
                bad = packet_block_error(self.path, offset, blen, iid, caplen, section_ifaces)
                if bad is not None:
                    self._damage(bad)
                    return
                iface = section_ifaces[iid]
                comment = None
                if len(body) > 20 + pad4(caplen):
                    options = self._options(body, 20 + pad4(caplen), offset)
                    if options is None:
                        return
                    comments = [option_text(v) for c, v in options if c == OPT_COMMENT]
                    if comments:
                        comment = "\n".join(comments)
                units = iface.tsresol
                ts = (hi << 32) | lo
                ts_ns, exact = frame_time(ts, units, iface.tsoffset)
                number += 1
                self.frames_read = number
                yield Frame(number, ts_ns, caplen, wirelen, iface.linktype, iid,
                            body[20:20 + caplen], comment, exact, len(self.sections) - 1)
            elif btype == SPB:
                if self._first >= len(self.interfaces):
                    self._damage(MalformedRecordError(
                        "pcapng: SPB appeared before any IDBs in the section", path=self.path, offset=offset))
                    return
                iface = self.interfaces[self._first]
                if len(body) < 4:
                    self._damage(MalformedRecordError("pcapng: SPB too small", path=self.path, offset=offset))
                    return
                (wirelen,) = struct.unpack_from(order + "I", body, 0)
                caplen = wirelen if iface.snaplen == 0 or wirelen <= iface.snaplen else iface.snaplen
                if caplen > max_snaplen(iface.linktype) or 4 + caplen > len(body):
                    self._damage(MalformedRecordError(
                        f"pcapng: total block length {len(body) + 12} of SPB is too small for {caplen} bytes of packet data",
                        path=self.path, offset=offset))
                    return
                number += 1
                self.frames_read = number
                self.untimed_frames.add(number)
                yield Frame(number, 0, caplen, wirelen, iface.linktype, 0,
                            body[4:4 + caplen], None, None, len(self.sections) - 1)
            elif btype == IDB:
                if not self._handle_idb(body, offset):
                    return
            elif btype == ISB:
                self._handle_isb(body, offset)
            elif btype in (CB_COPY, CB_NOCOPY):
                if len(body) < 4:
                    self._damage(MalformedRecordError("pcapng: custom block too small",
                                                      path=self.path, offset=offset))
                    return
                data = body[4:]
                number += 1
                self.frames_read = number
                self.untimed_frames.add(number)
                yield Frame(number, 0, len(data), len(data), LINKTYPE_CUSTOM_BLOCK, -1, data,
                            None, None, len(self.sections) - 1)
            elif btype == SJE:
                try:
                    entry, realtime = journal_entry(body)
                except ValueError as exc:
                    self._damage(MalformedRecordError(str(exc), path=self.path, offset=offset))
                    return
                number += 1
                self.frames_read = number
                if realtime is None:
                    self.untimed_frames.add(number)
                yield Frame(number, realtime or 0, len(entry), len(entry), LINKTYPE_SYSTEMD_JOURNAL, -1,
                            entry, None, None, len(self.sections) - 1)
            elif btype == NRB:
                self.name_resolution_blocks += 1
            else:
                self.skipped_blocks[btype] = self.skipped_blocks.get(btype, 0) + 1
