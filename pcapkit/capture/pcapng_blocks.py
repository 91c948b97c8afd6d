"""The pcapng layout: block types, options, time stamps, and the bodies of the header
blocks (Section Header, Interface Description), parsed and built in one place.

A file is a sequence of blocks: type u32, total length u32, body, total length u32
again. The record reader (:mod:`pcapkit.capture.pcapng`), the record batches
(:mod:`pcapkit.capture.batch`) and the writer (:mod:`pcapkit.capture.writer`) all use
these functions, so an option or a time resolution is read the same way everywhere.

Time stamps: units per second from ``if_tsresol`` (10**k, or 2**k when the top bit is
set; default 10**6), plus ``if_tsoffset`` seconds. Conversion to ns is exactly
Wireshark's (floor of the fraction, computed in unsigned 64-bit arithmetic).
"""

from __future__ import annotations

import struct
from fractions import Fraction

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.reader import Interface, InterfaceStatistics, Section
from pcapkit.errors import (
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
    UnsupportedVersionError,
)
from pcapkit.frame import TS_NS_MAX, TS_NS_MIN, saturate_ns

SHB_TYPE = 0x0A0D0D0A
SHB_TYPE_BYTES = b"\x0a\x0d\x0d\x0a"
BYTE_ORDER_MAGIC = 0x1A2B3C4D
IDB, PB, SPB, NRB, ISB, EPB, DSB = 1, 2, 3, 4, 5, 6, 0x0A
SJE = 9  # systemd Journal Export
CB_COPY, CB_NOCOPY = 0x00000BAD, 0x40000BAD
SUPPORTED_VERSIONS = ((1, 0), (1, 2))  # 1.2 is accepted as Wireshark does

# A negative linktype means "not a packet": records tshark 4.0 numbers as frames
LINKTYPE_CUSTOM_BLOCK = -1
LINKTYPE_SYSTEMD_JOURNAL = -2
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
DEFAULT_UNITS = 1_000_000  # µs when an interface has no if_tsresol

# option codes
OPT_ENDOFOPT, OPT_COMMENT = 0, 1
SHB_HARDWARE, SHB_OS, SHB_USERAPPL = 2, 3, 4
IF_NAME, IF_DESCRIPTION, IF_TSRESOL, IF_FILTER, IF_OS, IF_FCSLEN, IF_TSOFFSET = 2, 3, 9, 11, 12, 13, 14
ISB_STARTTIME, ISB_ENDTIME = 2, 3
ISB_IFRECV, ISB_IFDROP = 4, 5
ISB_COUNTERS = ("ifrecv", "ifdrop", "filteraccept", "osdrop", "usrdeliv")  # option codes 4..8


def pad4(n: int) -> int:
    return (n + 3) & ~3


def byte_order(bom: bytes) -> str | None:
    """``"<"`` or ``">"`` from the 4 byte-order-magic bytes of an SHB; None if neither."""
    if bom == b"\x4d\x3c\x2b\x1a":
        return "<"
    if bom == b"\x1a\x2b\x3c\x4d":
        return ">"
    return None


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


def frame_time(ts: int, units: int, tsoffset: int) -> tuple[int, Fraction | None]:
    """(ns for ``Frame.ts_ns``, exact seconds for ``Frame.ts_exact`` or None) of a raw time
    stamp: the exact value is kept when the resolution is finer than 1 ns or the time is
    out of the int64 ns range (then ``ts_ns`` saturates; see :func:`pcapkit.frame.saturate_ns`)."""
    ns = (ts + tsoffset * 1_000_000) * 1000 if units == 1_000_000 else ts_to_ns(ts, units, tsoffset)
    if TS_NS_MIN <= ns <= TS_NS_MAX:
        return ns, (Fraction(ts, units) + tsoffset if units > 1_000_000_000 else None)
    return saturate_ns(ns), Fraction(ns, 1_000_000_000)


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
        pos += min(pad4(length), end - pos)
    return out


def option_text(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("utf-8", "replace")


def parse_section(body: bytes, order: str, version: tuple[int, int], offset: int) -> Section:
    """The Section of an SHB body (after type and length, before the trailer);
    raises ValueError(reason) when its options are damaged."""
    (section_length,) = struct.unpack_from(order + "q", body, 8)
    section = Section(byte_order=order, version=version, offset=offset, section_length=section_length)
    for code, value in parse_options(body, 16, len(body), order):
        if code == OPT_COMMENT:
            section.comments.append(option_text(value))
        elif code == SHB_HARDWARE:
            section.hardware = option_text(value)
        elif code == SHB_OS:
            section.os = option_text(value)
        elif code == SHB_USERAPPL:
            section.user_appl = option_text(value)
    return section


def parse_interface(body: bytes, order: str, section: int) -> Interface:
    """The Interface of an IDB body; raises ValueError(reason) when the block is too
    small or its options are damaged."""
    if len(body) + 12 < MIN_IDB_SIZE:
        raise ValueError(f"pcapng: total block length {len(body) + 12} of an IDB is less than "
                         f"the minimum IDB size {MIN_IDB_SIZE}")
    linktype, _reserved, snaplen = struct.unpack_from(order + "HHI", body, 0)
    iface = Interface(linktype=linktype, snaplen=snaplen, section=section)
    for code, value in parse_options(body, 8, len(body), order):
        if code == OPT_COMMENT:
            iface.comments.append(option_text(value))
        elif code == IF_NAME:
            iface.name = option_text(value)
        elif code == IF_DESCRIPTION:
            iface.description = option_text(value)
        elif code == IF_TSRESOL and len(value) == 1:
            iface.tsresol_raw = value[0]
            iface.tsresol = units_per_second(value[0])
        elif code == IF_TSOFFSET and len(value) == 8:
            (iface.tsoffset,) = struct.unpack(order + "q", value)
        elif code == IF_FCSLEN and len(value) == 1:
            iface.fcslen = value[0]
        elif code == IF_FILTER and value:
            iface.filter = option_text(value[1:])
        elif code == IF_OS:
            iface.os = option_text(value)
    return iface


def journal_entry(body: bytes) -> tuple[bytes, int | None]:
    """A systemd Journal Export block: the entry (trailing NULs dropped) and the time of
    its ``__REALTIME_TIMESTAMP`` field in ns (None without a usable one); raises
    ValueError(reason) when the entry is too small, as Wireshark does."""
    end = len(body)
    while end > 0 and body[end - 1] == 0:
        end -= 1
    entry = body[:end]
    if len(entry) < MIN_SJE_ENTRY:
        raise ValueError(f"pcapng: entry length {len(entry)} is too small (< {MIN_SJE_ENTRY})")
    at = entry.find(b"__REALTIME_TIMESTAMP=")
    digits = b""
    if at >= 0:
        tail = entry[at + 21:at + 21 + 24]
        n = 0
        while n < len(tail) and 48 <= tail[n] <= 57:
            n += 1
        digits = tail[:n]
    if digits and int(digits) < 1 << 64:
        return entry, int(digits) * 1000
    return entry, None


# -- building blocks (the writer) -------------------------------------------------------

def option(code: int, value: bytes, order: str) -> bytes:
    return struct.pack(order + "HH", code, len(value)) + value + b"\x00" * (pad4(len(value)) - len(value))


def options_blob(opts: list[bytes], order: str) -> bytes:
    """Encoded options followed by opt_endofopt (nothing at all when there are none)."""
    if not opts:
        return b""
    return b"".join(opts) + struct.pack(order + "HH", OPT_ENDOFOPT, 0)


def block(btype: int, body: bytes, order: str) -> bytes:
    tlen = 12 + len(body)
    return struct.pack(order + "II", btype, tlen) + body + struct.pack(order + "I", tlen)


def section_block(order: str, comment: str | None, user_appl: str) -> bytes:
    """An SHB of version 1.0 with unknown section length."""
    opts = [option(OPT_COMMENT, comment.encode(), order)] if comment else []
    opts.append(option(SHB_USERAPPL, user_appl.encode(), order))
    body = struct.pack(order + "IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + options_blob(opts, order)
    return block(SHB_TYPE, body, order)


def interface_block(linktype: int, snaplen: int, name: str | None, order: str) -> bytes:
    """An IDB with ``if_tsresol`` 9 (ns) and the interface name when given."""
    opts = [option(IF_NAME, name.encode(), order)] if name else []
    opts.append(option(IF_TSRESOL, bytes([9]), order))
    return block(IDB, struct.pack(order + "HHI", linktype, 0, snaplen) + options_blob(opts, order), order)


def packet_block(interface_id: int, ts: int, data: bytes, wirelen: int, comment: str | None,
                 order: str) -> bytes:
    """An EPB: ``ts`` in the interface's units, the data padded to 4 bytes, an optional comment."""
    body = struct.pack(order + "IIIII", interface_id, ts >> 32, ts & 0xFFFFFFFF, len(data), wirelen)
    body += data + b"\x00" * (pad4(len(data)) - len(data))
    if comment:
        body += options_blob([option(OPT_COMMENT, comment.encode(), order)], order)
    return block(EPB, body, order)


# -- the errors both pcapng readers give (the record reader and the record batches) ---------

def block_header_cut(path: str | None, offset: int) -> TruncatedFileError:
    return TruncatedFileError("pcapng: file ends inside a block header", path=path, offset=offset)


def block_cut(path: str | None, offset: int, length: int, btype: int) -> TruncatedFileError:
    return TruncatedFileError(f"pcapng: file ends inside a block of {length} bytes (type 0x{btype:x})",
                              path=path, offset=offset)


def parse_statistics(body: bytes, order: str, interfaces: list[Interface], first: int,
                     section: int) -> InterfaceStatistics:
    """The statistics of an ISB body, for interface ``first`` + its interface id among
    ``interfaces`` (every section's; ``first``: the section's first); raises
    ValueError(reason) when the block is too small or its options are damaged."""
    if len(body) + 12 < MIN_ISB_SIZE:
        raise ValueError(f"pcapng: total block length {len(body) + 12} of an ISB is too small (< {MIN_ISB_SIZE})")
    iid, hi, lo = struct.unpack_from(order + "III", body, 0)
    gid = first + iid
    units, tsoff = (interfaces[gid].tsresol, interfaces[gid].tsoffset) if gid < len(interfaces) else (1_000_000, 0)
    stats = InterfaceStatistics(interface_id=gid, section=section, ts_ns=ts_to_ns((hi << 32) | lo, units, tsoff))
    for code, value in parse_options(body, 12, len(body), order):
        if code == OPT_COMMENT:
            stats.comments.append(option_text(value))
        elif code in (ISB_STARTTIME, ISB_ENDTIME) and len(value) == 8:
            h, lw = struct.unpack(order + "II", value)
            t = ts_to_ns((h << 32) | lw, units, tsoff)
            if code == ISB_STARTTIME:
                stats.starttime_ns = t
            else:
                stats.endtime_ns = t
        elif 4 <= code < 4 + len(ISB_COUNTERS) and len(value) == 8:
            (v,) = struct.unpack(order + "Q", value)
            setattr(stats, ISB_COUNTERS[code - 4], v)
    return stats


def packet_block_too_small(path: str | None, offset: int, btype: int, blen: int) -> MalformedRecordError | None:
    """The error for an EPB or obsolete PB of total length ``blen`` too short for its header, or None."""
    if blen >= (MIN_EPB_SIZE if btype == EPB else MIN_PB_SIZE):
        return None
    return MalformedRecordError(f"pcapng: total block length {blen} of an {'EPB' if btype == EPB else 'PB'} is too small",
                                path=path, offset=offset)


def packet_block_error(path: str | None, offset: int, blen: int, iid: int, caplen: int,
                       ifaces: list[Interface]) -> MalformedRecordError | None:
    """The error for an EPB or PB of total length ``blen`` (its header long enough) that names
    interface ``iid`` of the section's ``ifaces`` and holds ``caplen`` bytes, or None: every
    reader's checks in the record reader's order (the trailer and the options apart)."""
    if iid < 0 or iid >= len(ifaces):
        reason = f"pcapng: interface index {iid} is not less than section interface count {len(ifaces)}"
    elif caplen > max_snaplen(ifaces[iid].linktype):
        reason = f"pcapng: cap_len {caplen} is larger than {max_snaplen(ifaces[iid].linktype)}"
    elif 32 + pad4(caplen) > blen:
        reason = f"pcapng: total block length {blen} is too small for {caplen} bytes of packet data"
    else:
        return None
    return MalformedRecordError(reason, path=path, offset=offset)


def section_header_length(data: bytes | memoryview) -> int | None:
    """The total length an SHB at the start of ``data`` says it has (None until its byte-order
    magic is there and known): how much of the file :func:`read_section_header` needs."""
    if len(data) < 12:
        return None
    order = byte_order(bytes(data[8:12]))
    return None if order is None else int(struct.unpack_from(order + "I", data, 4)[0])


def read_section_header(data: bytes | memoryview, path: str | None, offset: int,
                        first: bool) -> tuple[Section, str, int]:
    """The section header block at the start of ``data`` (the file's bytes from the block on,
    as many as there are up to its total length): its Section, byte order and total length.
    Raises the error that says what is wrong, the same for every reader: a cut block, a
    bad byte-order magic (:class:`UnknownFormatError` in the ``first`` section, where the
    file may not be pcapng at all), a bad length, an unknown version, damaged options."""
    if len(data) < 12:
        raise TruncatedFileError("pcapng: file ends inside a section header", path=path, offset=offset)
    bom = bytes(data[8:12])
    order = byte_order(bom)
    if order is None:
        cls = UnknownFormatError if first else MalformedRecordError
        raise cls(f"pcapng: unknown byte-order magic number 0x{bom.hex()}", path=path, offset=offset + 8)
    (tlen,) = struct.unpack_from(order + "I", data, 4)
    bad = section_length_error(path, offset, tlen)
    if bad is not None:
        raise bad
    if len(data) < 16:
        raise TruncatedFileError("pcapng: file ends inside a section header", path=path, offset=offset)
    major, minor = struct.unpack_from(order + "HH", data, 12)
    if (major, minor) not in SUPPORTED_VERSIONS:
        raise UnsupportedVersionError(f"pcapng: unknown SHB version {major}.{minor}", path=path, offset=offset + 12)
    if len(data) < tlen:
        raise TruncatedFileError(f"pcapng: file ends inside a section header of {tlen} bytes", path=path,
                                 offset=offset)
    (trailer,) = struct.unpack_from(order + "I", data, tlen - 4)
    if trailer != tlen:
        raise MalformedRecordError(f"pcapng: total block lengths (first {tlen} and second {trailer}) don't match",
                                   path=path, offset=offset)
    try:
        section = parse_section(bytes(data[8:tlen - 4]), order, (major, minor), offset)
    except ValueError as exc:
        raise MalformedRecordError(str(exc), path=path, offset=offset) from None
    return section, order, tlen


def section_length_error(path: str | None, offset: int, length: int) -> MalformedRecordError | None:
    """The error for a length a section header block cannot have, or None."""
    if length < MIN_SHB_SIZE:
        reason = f"pcapng: total block length {length} of an SHB is less than the minimum SHB size {MIN_SHB_SIZE}"
    elif length % 4 or length > MAX_BLOCK_SIZE:
        reason = f"pcapng: bad total block length {length} of an SHB"
    else:
        return None
    return MalformedRecordError(reason, path=path, offset=offset)


def block_length_error(path: str | None, offset: int, length: int) -> MalformedRecordError | None:
    """The error for a block length a pcapng block cannot have, or None."""
    if length < MIN_BLOCK_SIZE:
        reason = f"pcapng: total block length {length} of block is too small (< {MIN_BLOCK_SIZE})"
    elif length % 4:
        reason = f"pcapng: total block length {length} is not a multiple of 4"
    elif length > MAX_BLOCK_SIZE:
        reason = f"pcapng: total block length {length} is too large (> {MAX_BLOCK_SIZE})"
    else:
        return None
    return MalformedRecordError(reason, path=path, offset=offset)
