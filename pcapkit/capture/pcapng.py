"""pcapng files: read (several sections, either byte order) and write.

A file is a sequence of blocks: type u32, total length u32, body, total length u32
again. Read here: Section Header (0x0A0D0D0A, byte-order magic 0x1A2B3C4D, version
1.0; 1.2 is accepted as Wireshark does), Interface Description (1), obsolete Packet
(2), Simple Packet (3), Name Resolution (4, skipped), Interface Statistics (5),
Enhanced Packet (6), Decryption Secrets (10, skipped), Custom (0xBAD, 0x40000BAD)
and any unknown block type (skipped).

As in Wireshark 4.0, custom blocks are records of their own: each is delivered as
a :class:`~pcapkit.frame.Frame` with ``linktype`` :data:`LINKTYPE_CUSTOM_BLOCK` (-1),
``interface_id`` -1 and the bytes after the Private Enterprise Number as data, so
frame numbers stay the same as tshark's. systemd Journal Export blocks (9) likewise,
with ``linktype`` :data:`LINKTYPE_SYSTEMD_JOURNAL` (-2), the entry as data and the
time of its ``__REALTIME_TIMESTAMP`` field. A negative linktype means "not a packet". Simple Packet Blocks carry no time stamp:
their frames have ``ts_ns`` 0 and their numbers are in ``reader.untimed_frames``.

Time stamps: units per second from ``if_tsresol`` (10**k, or 2**k when the top bit
is set; default 10**6), plus ``if_tsoffset`` seconds. Conversion to ns is exactly
Wireshark's (floor of the fraction, computed in unsigned 64-bit arithmetic); the
exact value is in ``Frame.ts_exact`` when the resolution is finer than 1 ns.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from fractions import Fraction
from typing import BinaryIO

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.reader import (
    ByteSource,
    CaptureReader,
    Interface,
    InterfaceStatistics,
    Section,
)
from pcapkit.capture.writer import CaptureWriter
from pcapkit.errors import (
    CaptureFileError,
    CaptureWriteError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
    UnsupportedVersionError,
)
from pcapkit.frame import Frame

SHB_TYPE = 0x0A0D0D0A
SHB_TYPE_BYTES = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = 0x1A2B3C4D
IDB, PB, SPB, NRB, ISB, EPB, DSB = 1, 2, 3, 4, 5, 6, 0x0A
CB_COPY, CB_NOCOPY = 0x00000BAD, 0x40000BAD

LINKTYPE_CUSTOM_BLOCK = -1
LINKTYPE_SYSTEMD_JOURNAL = -2
SJE = 9
MIN_SJE_ENTRY = 23  # len("__REALTIME_TIMESTAMP=") + a digit + "\n"

MIN_BLOCK_SIZE = 12
MIN_SHB_SIZE = 28
MIN_IDB_SIZE = 20
MIN_EPB_SIZE = 32
MIN_SPB_SIZE = 16
MIN_PB_SIZE = 32
MIN_ISB_SIZE = 24
MAX_BLOCK_SIZE = MIN_EPB_SIZE + 128 * 1024 * 1024 + 131072

U64 = (1 << 64) - 1

OPT_ENDOFOPT, OPT_COMMENT = 0, 1


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def units_per_second(tsresol: int) -> int:
    """Time units per second of an ``if_tsresol`` byte, as Wireshark computes it."""
    exponent = tsresol & 0x7F
    if tsresol & 0x80:
        return 1 << exponent if exponent < 64 else U64
    return 10 ** exponent if exponent < 20 else U64


def ts_to_ns(ts: int, units: int, tsoffset: int) -> int:
    """Wireshark's conversion of a pcapng time stamp to ns (unsigned 64-bit arithmetic)."""
    secs = ts // units
    if secs >= 1 << 63:  # Wireshark keeps seconds in a signed 64-bit time_t
        secs -= 1 << 64
    nsecs = (((ts % units) * 1_000_000_000) & U64) // units
    return (secs + tsoffset) * 1_000_000_000 + nsecs


def parse_options(body: bytes, start: int, end: int, order: str) -> list[tuple[int, bytes]]:
    """Options ``(code, value)`` in ``body[start:end]``; raises ValueError(reason) when damaged."""
    out: list[tuple[int, bytes]] = []
    pos = start
    unpack = struct.Struct(order + "HH").unpack_from
    while pos < end:
        if end - pos < 4:
            raise ValueError("pcapng: Not enough data for option header")
        code, length = unpack(body, pos)
        pos += 4
        if length > end - pos:
            raise ValueError(f"pcapng: Not enough data to handle option of length {length}")
        if code == OPT_ENDOFOPT:
            break
        out.append((code, body[pos:pos + length]))
        pos += min(_pad4(length), end - pos)
    return out


def _text(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("utf-8", "replace")


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
                    self._fail(TruncatedFileError("pcapng: file ends inside a block header",
                                                  path=self.path, offset=offset), at_open)
                return None
            data, pos = src.data, src.pos
            if data[pos:pos + 4] == SHB_TYPE_BYTES:
                if not self._read_shb(offset, at_open):
                    return None
                continue
            btype, tlen = struct.unpack_from(self._order + "II", data, pos)
            if tlen < MIN_BLOCK_SIZE:
                self._fail(MalformedRecordError(
                    f"pcapng: total block length {tlen} of block is too small (< {MIN_BLOCK_SIZE})",
                    path=self.path, offset=offset), at_open)
                return None
            if tlen % 4:
                self._fail(MalformedRecordError(
                    f"pcapng: total block length {tlen} is not a multiple of 4",
                    path=self.path, offset=offset), at_open)
                return None
            if tlen > MAX_BLOCK_SIZE:
                self._fail(MalformedRecordError(
                    f"pcapng: total block length {tlen} is too large (> {MAX_BLOCK_SIZE})",
                    path=self.path, offset=offset), at_open)
                return None
            if not src.fill(tlen):
                self._fail(TruncatedFileError(
                    f"pcapng: file ends inside a block of {tlen} bytes (type 0x{btype:x})",
                    path=self.path, offset=offset), at_open)
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
        if not src.fill(12):
            self._fail(TruncatedFileError("pcapng: file ends inside a section header",
                                          path=self.path, offset=offset), at_open)
            return False
        data, pos = src.data, src.pos
        bom = data[pos + 8:pos + 12]
        if bom == b"\x4d\x3c\x2b\x1a":
            order = "<"
        elif bom == b"\x1a\x2b\x3c\x4d":
            order = ">"
        else:
            cls = UnknownFormatError if not self.sections else MalformedRecordError
            self._fail(cls(f"pcapng: unknown byte-order magic number 0x{bom.hex()}",
                           path=self.path, offset=offset + 8), at_open or not self.sections)
            return False
        (tlen,) = struct.unpack_from(order + "I", data, pos + 4)
        if tlen < MIN_SHB_SIZE:
            self._fail(MalformedRecordError(
                f"pcapng: total block length {tlen} of an SHB is less than the minimum SHB size {MIN_SHB_SIZE}",
                path=self.path, offset=offset), at_open or not self.sections)
            return False
        if not src.fill(16):
            self._fail(TruncatedFileError("pcapng: file ends inside a section header",
                                          path=self.path, offset=offset), at_open or not self.sections)
            return False
        data, pos = src.data, src.pos
        major, minor = struct.unpack_from(order + "HH", data, pos + 12)
        if not (major == 1 and minor in (0, 2)):
            self._fail(UnsupportedVersionError(f"pcapng: unknown SHB version {major}.{minor}",
                                               path=self.path, offset=offset + 12),
                       at_open or not self.sections)
            return False
        if tlen % 4 or tlen > MAX_BLOCK_SIZE:
            self._fail(MalformedRecordError(f"pcapng: bad total block length {tlen} of an SHB",
                                            path=self.path, offset=offset), at_open or not self.sections)
            return False
        if not src.fill(tlen):
            self._fail(TruncatedFileError(f"pcapng: file ends inside a section header of {tlen} bytes",
                                          path=self.path, offset=offset), at_open or not self.sections)
            return False
        data, pos = src.data, src.pos
        (trailer,) = struct.unpack_from(order + "I", data, pos + tlen - 4)
        body = data[pos + 8:pos + tlen - 4]
        if trailer != tlen:
            self._fail(MalformedRecordError(
                f"pcapng: total block lengths (first {tlen} and second {trailer}) don't match",
                path=self.path, offset=offset), at_open or not self.sections)
            return False
        (section_length,) = struct.unpack_from(order + "q", body, 8)
        try:
            options = parse_options(body, 16, len(body), order)
        except ValueError as exc:
            self._fail(MalformedRecordError(str(exc), path=self.path, offset=offset),
                       at_open or not self.sections)
            return False
        src.pos = pos + tlen
        section = Section(byte_order=order, version=(major, minor), offset=offset,
                          section_length=section_length)
        for code, value in options:
            if code == OPT_COMMENT:
                section.comments.append(_text(value))
            elif code == 2:
                section.hardware = _text(value)
            elif code == 3:
                section.os = _text(value)
            elif code == 4:
                section.user_appl = _text(value)
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
        order = self._order
        if len(body) + 12 < MIN_IDB_SIZE:
            self._fail(MalformedRecordError(
                f"pcapng: total block length {len(body) + 12} of an IDB is less than the minimum IDB size {MIN_IDB_SIZE}",
                path=self.path, offset=offset), at_open)
            return False
        linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
        try:
            options = parse_options(body, 8, len(body), order)
        except ValueError as exc:
            self._fail(MalformedRecordError(str(exc), path=self.path, offset=offset), at_open)
            return False
        iface = Interface(linktype=linktype, snaplen=snaplen, section=len(self.sections) - 1)
        for code, value in options:
            if code == OPT_COMMENT:
                iface.comments.append(_text(value))
            elif code == 2:
                iface.name = _text(value)
            elif code == 3:
                iface.description = _text(value)
            elif code == 9 and len(value) == 1:
                iface.tsresol_raw = value[0]
                iface.tsresol = units_per_second(value[0])
            elif code == 14 and len(value) == 8:
                (iface.tsoffset,) = struct.unpack(order + "q", value)
            elif code == 13 and len(value) == 1:
                iface.fcslen = value[0]
            elif code == 11 and value:
                iface.filter = _text(value[1:])
            elif code == 12:
                iface.os = _text(value)
        self.interfaces.append(iface)
        self._units.append(iface.tsresol)
        return True

    def _handle_isb(self, body: bytes, offset: int) -> None:
        if len(body) + 12 < MIN_ISB_SIZE:
            self._damage(MalformedRecordError(
                f"pcapng: total block length {len(body) + 12} of an ISB is too small (< {MIN_ISB_SIZE})",
                path=self.path, offset=offset))
            return
        order = self._order
        iid, hi, lo = struct.unpack_from(order + "III", body, 0)
        gid = self._first + iid
        units, tsoff = (self.interfaces[gid].tsresol, self.interfaces[gid].tsoffset) \
            if gid < len(self.interfaces) else (1_000_000, 0)
        stats = InterfaceStatistics(interface_id=gid, section=len(self.sections) - 1,
                                    ts_ns=ts_to_ns((hi << 32) | lo, units, tsoff))
        options = self._options(body, 12, offset)
        if options is None:
            return
        for code, value in options:
            if code == OPT_COMMENT:
                stats.comments.append(_text(value))
            elif code in (2, 3) and len(value) == 8:
                h, lw = struct.unpack(order + "II", value)
                t = ts_to_ns((h << 32) | lw, units, tsoff)
                if code == 2:
                    stats.starttime_ns = t
                else:
                    stats.endtime_ns = t
            elif 4 <= code <= 8 and len(value) == 8:
                (v,) = struct.unpack(order + "Q", value)
                setattr(stats, ("ifrecv", "ifdrop", "filteraccept", "osdrop", "usrdeliv")[code - 4], v)
        self.interface_stats.append(stats)

    # -- frames -----------------------------------------------------------------------
    def _iface(self, iid: int, offset: int) -> Interface | None:
        gid = self._first + iid
        if gid >= len(self.interfaces) or iid < 0:
            self._damage(MalformedRecordError(
                f"pcapng: interface index {iid} is not less than section interface count "
                f"{len(self.interfaces) - self._first}", path=self.path, offset=offset))
            return None
        return self.interfaces[gid]

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
                        if units == 1_000_000:
                            yield Frame(number, (ts + tsoffset * 1_000_000) * 1000, caplen, wirelen,
                                        linktype, iid, data[pos + 28:pos + 28 + caplen], None, None,
                                        len(self.sections) - 1)
                        else:
                            yield Frame(number, ts_to_ns(ts, units, tsoffset), caplen, wirelen, linktype,
                                        iid, data[pos + 28:pos + 28 + caplen], None,
                                        Fraction(ts, units) + tsoffset if units > 1_000_000_000 else None,
                                        len(self.sections) - 1)
                        continue
            block = self._read_block()
            if block is None:
                return
            btype, body, offset = block
            order = self._order
            if btype in (EPB, PB):
                blen = len(body) + 12
                if blen < (MIN_EPB_SIZE if btype == EPB else MIN_PB_SIZE):
                    self._damage(MalformedRecordError(
                        f"pcapng: total block length {blen} of an {'EPB' if btype == EPB else 'PB'} is too small",
                        path=self.path, offset=offset))
                    return
                if btype == EPB:
                    if epb_head.format[0] != order:
                        epb_head = struct.Struct(order + "IIIII")
                    iid, hi, lo, caplen, wirelen = epb_head.unpack_from(body, 0)
                else:
                    iid, _drops, hi, lo, caplen, wirelen = struct.unpack_from(order + "HHIIII", body, 0)
                iface = self._iface(iid, offset)
                if iface is None:
                    return
                limit = max_snaplen(iface.linktype)
                if caplen > limit:
                    self._damage(MalformedRecordError(
                        f"pcapng: cap_len {caplen} is larger than {limit}", path=self.path, offset=offset))
                    return
                if 20 + _pad4(caplen) > len(body):
                    self._damage(MalformedRecordError(
                        f"pcapng: total block length {blen} is too small for {caplen} bytes of packet data",
                        path=self.path, offset=offset))
                    return
                comment = None
                if len(body) > 20 + _pad4(caplen):
                    options = self._options(body, 20 + _pad4(caplen), offset)
                    if options is None:
                        return
                    comments = [_text(v) for c, v in options if c == OPT_COMMENT]
                    if comments:
                        comment = "\n".join(comments)
                units = iface.tsresol
                ts = (hi << 32) | lo
                if units == 1_000_000:
                    ts_ns = (ts + iface.tsoffset * 1_000_000) * 1000
                    exact = None
                else:
                    ts_ns = ts_to_ns(ts, units, iface.tsoffset)
                    exact = Fraction(ts, units) + iface.tsoffset if units > 1_000_000_000 else None
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
                entry = body
                end = len(entry)
                while end > 0 and entry[end - 1] == 0:
                    end -= 1
                entry = entry[:end]
                if len(entry) < MIN_SJE_ENTRY:
                    self._damage(MalformedRecordError(
                        f"pcapng: entry length {len(entry)} is too small (< {MIN_SJE_ENTRY})",
                        path=self.path, offset=offset))
                    return
                number += 1
                self.frames_read = number
                at = entry.find(b"__REALTIME_TIMESTAMP=")
                digits = b""
                if at >= 0:
                    tail = entry[at + 21:at + 21 + 24]
                    n = 0
                    while n < len(tail) and 48 <= tail[n] <= 57:
                        n += 1
                    digits = tail[:n]
                if digits and int(digits) < 1 << 64:
                    ts_ns = int(digits) * 1000
                else:
                    ts_ns = 0
                    self.untimed_frames.add(number)
                yield Frame(number, ts_ns, len(entry), len(entry), LINKTYPE_SYSTEMD_JOURNAL, -1, entry,
                            None, None, len(self.sections) - 1)
            elif btype == NRB:
                self.name_resolution_blocks += 1
            else:
                self.skipped_blocks[btype] = self.skipped_blocks.get(btype, 0) + 1


# -- writer ---------------------------------------------------------------------------
def _opt(code: int, value: bytes, order: str) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\x00" * (_pad4(len(value)) - len(value))


def _options_blob(opts: list[bytes], order: str) -> bytes:
    if not opts:
        return b""
    return b"".join(opts) + struct.pack(order + "HH", 0, 0)


class PcapngWriter(CaptureWriter):
    """Write a pcapng file: one SHB, an IDB per interface (``if_tsresol`` 9: ns), EPBs
    with their comments, optional ISBs.

    Interfaces are declared with :meth:`add_interface` (returns its id) or created on
    demand from a frame's ``interface_id``/``linktype``.
    """

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, *, byte_order: str = "<",
                 comment: str | None = None, user_appl: str = "pcapkit",
                 snaplen: int = 262144) -> None:
        if byte_order not in ("<", ">"):
            raise CaptureWriteError(f"byte order must be '<' or '>', not {byte_order!r}")
        self._open(target)
        self.order = byte_order
        self.snaplen = snaplen
        self.interfaces: list[int] = []
        self.count = 0
        opts = []
        if comment:
            opts.append(_opt(OPT_COMMENT, comment.encode(), byte_order))
        opts.append(_opt(4, user_appl.encode(), byte_order))
        body = struct.pack(byte_order + "IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _options_blob(opts, byte_order)
        self._block(SHB_TYPE, body)

    def _write(self, b: bytes) -> None:
        try:
            self._f.write(b)
        except OSError as exc:
            raise CaptureWriteError(f"write failed: {exc.strerror or exc}") from None

    def _block(self, btype: int, body: bytes) -> None:
        tlen = 12 + len(body)
        self._write(struct.pack(self.order + "II", btype, tlen) + body + struct.pack(self.order + "I", tlen))

    def add_interface(self, linktype: int, *, snaplen: int | None = None, name: str | None = None) -> int:
        if not 0 <= linktype <= 0xFFFF:
            raise CaptureWriteError(f"link type {linktype} does not fit in 16 bits")
        o = self.order
        opts = []
        if name:
            opts.append(_opt(2, name.encode(), o))
        opts.append(_opt(9, bytes([9]), o))
        body = struct.pack(o + "HHI", linktype, 0, self.snaplen if snaplen is None else snaplen)
        self._block(IDB, body + _options_blob(opts, o))
        self.interfaces.append(linktype)
        return len(self.interfaces) - 1

    def write(self, frame: Frame) -> None:
        """Append one frame as an EPB (time in ns, comment kept)."""
        iid = max(frame.interface_id, 0)
        while len(self.interfaces) <= iid:
            self.add_interface(frame.linktype if frame.linktype >= 0 else 1)
        if frame.ts_ns < 0 or frame.ts_ns > U64:
            raise CaptureWriteError(f"frame {frame.number}: time {frame.ts_ns} ns does not fit in pcapng")
        o = self.order
        data = frame.data
        ts = frame.ts_ns
        body = struct.pack(o + "IIIII", iid, ts >> 32, ts & 0xFFFFFFFF, len(data), frame.wirelen)
        body += data + b"\x00" * (_pad4(len(data)) - len(data))
        if frame.comment:
            body += _options_blob([_opt(OPT_COMMENT, frame.comment.encode(), o)], o)
        self._block(EPB, body)
        self.count += 1

    def write_statistics(self, interface_id: int, ts_ns: int, *, ifrecv: int | None = None,
                         ifdrop: int | None = None) -> None:
        """An Interface Statistics Block."""
        o = self.order
        opts = []
        if ifrecv is not None:
            opts.append(_opt(4, struct.pack(o + "Q", ifrecv), o))
        if ifdrop is not None:
            opts.append(_opt(5, struct.pack(o + "Q", ifdrop), o))
        body = struct.pack(o + "III", interface_id, ts_ns >> 32, ts_ns & 0xFFFFFFFF)
        self._block(ISB, body + _options_blob(opts, o))

