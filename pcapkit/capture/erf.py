"""Endace ERF (Extensible Record Format) files, read as Wireshark's wiretap/erf.c does.

An ERF file has no file header and no magic number: it is a sequence of records,
each a 16-byte header::

    0   ts      8  little-endian; upper 32 bits seconds, lower 32 bits binary fraction
    8   type    1  record type (bits 0-6); bit 7: extension headers follow
    9   flags   1  bits 0-1 capture interface, 2 varying length, 3 truncated,
                   4 rx error, 5 DS error, 6-7 reserved
    10  rlen    2  big-endian, whole record length including this header
    12  lctr    2  big-endian, loss counter (or color)
    14  wlen    2  big-endian, length of the packet on the wire

then 8-byte extension headers while bit 7 of the previous type byte is set, then a
type-specific subheader (2 bytes offset/pad for the Ethernet types, 4 bytes for the
multi-channel and AAL2 types), then the packet.

As in wiretap, the ERF header, extension headers and subheader are a pseudo-header:
``frame.cap_len`` is ``min(wlen, rlen - 16 - extension headers - subheader)`` and
``frame.len`` is ``wlen``; ``Frame.data`` holds only those captured packet bytes (so
``caplen == len(data)`` as for every other format) and ``Frame.linktype`` is
LINKTYPE_ERF (197, ``frame.encap_type`` 98). Padding records (type 48) are skipped.
Time stamps are converted to ns rounding half up, as wiretap does.

Format detection (:func:`looks_like_erf`) is wiretap's ``erf_open`` heuristic: the
first records (up to 20) must have rlen >= 16, a type other than 0, time stamps that
do not go back more than a second nor jump more than a year, and room for their
extension headers and subheader.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO

from pcapkit.capture.reader import ByteSource, CaptureReader, Interface, Section
from pcapkit.errors import MalformedRecordError
from pcapkit.frame import Frame

LINKTYPE_ERF = 197
HEADER_LEN = 16
EXT_HEADER_LEN = 8

TYPE_PAD = 48
TYPE_META = 27
# record types with a 2-byte offset/pad subheader before the Ethernet frame
ETH_TYPES = frozenset({2, 11, 16, 20})          # ETH, COLOR_ETH, DSM_COLOR_ETH, COLOR_HASH_ETH
# record types with a 4-byte multi-channel (or AAL2) subheader: MC_HDLC, MC_RAW, MC_ATM,
# MC_RAW_CHANNEL, MC_AAL5, MC_AAL2, COLOR_MC_HDLC_POS, AAL2
MC_TYPES = frozenset({5, 6, 7, 8, 9, 12, 17, 18})

# extension header types (bits 0-6 of the first byte) that carry a source id / host id
EXT_FLOW_ID = 16
EXT_HOST_ID = 17

RECORDS_FOR_CHECK = 20
MIN_RECORDS_FOR_CHECK = 3
MAX_PACKET = 262144  # WTAP_MAX_PACKET_SIZE_STANDARD

_HEADER = struct.Struct("<QBBHHH")


def _unpack(buf: bytes, pos: int) -> tuple[int, int, int, int, int, int]:
    ts, rtype, flags, rlen, lctr, wlen = _HEADER.unpack_from(buf, pos)
    # rlen, lctr, wlen are big-endian
    return ts, rtype, flags, _swap16(rlen), _swap16(lctr), _swap16(wlen)


def _swap16(v: int) -> int:
    return ((v & 0xFF) << 8) | (v >> 8)


def erf_ts_ns(ts: int) -> int:
    """ERF 64-bit time stamp -> integer ns since the epoch, rounded as wiretap does
    (fraction * 10^9 / 2^32, half up).

    >>> erf_ts_ns(0x3B2658A218531100)
    992368802095017493
    """
    secs = ts >> 32
    frac = ((ts & 0xFFFFFFFF) * 1_000_000_000) & 0xFFFFFFFFFFFFFFFF
    frac = (frac + ((frac & 0x80000000) << 1)) & 0xFFFFFFFFFFFFFFFF
    return secs * 1_000_000_000 + (frac >> 32)


def subheader_len(rtype: int) -> int:
    """Bytes of the type-specific subheader after the extension headers."""
    t = rtype & 0x7F
    if t in ETH_TYPES:
        return 2
    if t in MC_TYPES:
        return 4
    return 0


def looks_like_erf(data: bytes) -> bool:
    """wiretap's erf_open heuristic over a whole file's (or the first 1.3 MB's) bytes."""
    return sniff(lambda start, n: data[start:start + n])


def sniff(peek: Callable[[int, int], bytes]) -> bool:
    """wiretap's erf_open heuristic. ``peek(start, n)`` returns the file's bytes
    [start, start + n), fewer at the end of the file; it is asked only for the first
    20 records (at most 20 * 64 KiB)."""

    def present(end: int) -> bool:   # the file holds at least ``end`` bytes
        return end <= 0 or len(peek(end - 1, 1)) == 1

    pos = 0
    prev_ts = 0
    valid_prev = False
    for i in range(RECORDS_FOR_CHECK):
        header = peek(pos, HEADER_LEN)
        if not header:
            break  # end of file: every record checked, accept
        if len(header) < HEADER_LEN:
            # a header cut short: accept only when enough records were checked
            return i >= MIN_RECORDS_FOR_CHECK
        ts, rtype, _flags, rlen, _lctr, _wlen = _unpack(header, 0)
        if rlen < HEADER_LEN:
            return False
        packet_size = rlen - HEADER_LEN
        if rtype & 0x7F == TYPE_PAD:
            if not present(pos + rlen) and i < MIN_RECORDS_FOR_CHECK:
                return False
            pos += rlen
            continue
        if rtype & 0x7F == 0:
            return False
        if ts < prev_ts and (prev_ts - ts) >> 32 > 1:
            return False
        if valid_prev and ts > prev_ts and (ts - prev_ts) >> 32 > 3600 * 24 * 365:
            return False
        prev_ts = ts
        p = pos + HEADER_LEN
        t = rtype
        while t & 0x80:
            ext = peek(p, EXT_HEADER_LEN)
            if len(ext) < EXT_HEADER_LEN or packet_size < EXT_HEADER_LEN:
                return False
            packet_size -= EXT_HEADER_LEN
            t = ext[0]
            p += EXT_HEADER_LEN
        sub = subheader_len(rtype)
        if sub:
            if not present(p + sub) or packet_size < sub:
                return False
            packet_size -= sub
            p += sub
        if not present(p + packet_size) and i < MIN_RECORDS_FOR_CHECK:
            return False  # record cut short before enough records were checked
        pos = p + packet_size
        valid_prev = True
    return True


class ErfReader(CaptureReader):
    """Endace ERF records as frames (see the module docstring)."""

    format = "erf"

    def __init__(self, src: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        super().__init__(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
        self.sections.append(Section(byte_order="<", version=(0, 0)))
        # wiretap gives each (host id, source id, interface number) an interface id in
        # order of first appearance
        self._if_ids: dict[tuple[int, int, int], int] = {}

    @property
    def snaplen(self) -> int | None:
        """None: an ERF file has no header, so no snapshot length (wiretap sets 0; the
        interfaces it makes say 65535)."""
        return None

    def _interface_id(self, host_id: int, source_id: int, if_num: int) -> int:
        key = (host_id, source_id, if_num)
        iid = self._if_ids.get(key)
        if iid is None:
            iid = len(self._if_ids)
            self._if_ids[key] = iid
            port = chr(ord("A") + if_num)
            name = f"Port {port} (ERF Interface {if_num})"
            self.interfaces.append(Interface(linktype=LINKTYPE_ERF, snaplen=65535, name=name,
                                             description=name, tsresol=1_000_000_000,
                                             tsresol_raw=9))
        return iid

    def _frames(self) -> Iterator[Frame]:
        src = self._src
        number = 0
        while True:
            if not src.fill(HEADER_LEN):
                if src.available or src.error is not None:
                    self._truncated("an ERF record header")
                return
            offset = src.offset
            ts, rtype, flags, rlen, _lctr, wlen = _unpack(src.data, src.pos)
            if rlen <= HEADER_LEN and rtype & 0x7F != TYPE_PAD:
                self._damage(MalformedRecordError("erf: File has 0 byte packet" if rlen == HEADER_LEN
                                                  else f"erf: record length {rlen} < header length 16",
                                                  path=self.path, offset=offset))
                return
            if not src.fill(max(rlen, HEADER_LEN)):
                self._truncated(f"an ERF record (record at offset {offset})", src.offset + src.available)
                return
            base = src.pos
            record = src.data[base:base + max(rlen, HEADER_LEN)]
            src.pos = base + max(rlen, HEADER_LEN)
            if rtype & 0x7F == TYPE_PAD:
                continue
            skip = 0
            t = rtype
            host_id = 0
            source_id = 0
            host_found = False
            while t & 0x80:
                p = HEADER_LEN + skip
                if p + EXT_HEADER_LEN > len(record):
                    self._damage(MalformedRecordError(
                        "erf: extension headers run past the record length", path=self.path, offset=offset + p))
                    return
                ext = int.from_bytes(record[p:p + EXT_HEADER_LEN], "big")
                skip += EXT_HEADER_LEN
                t = record[p]
                kind = t & 0x7F
                if kind in (EXT_HOST_ID, EXT_FLOW_ID):
                    if kind == EXT_HOST_ID and not host_found:
                        host_id = ext & 0xFFFFFFFFFFFF
                        host_found = True
                    if not source_id:
                        source_id = (ext >> 48) & 0xFF
            sub = subheader_len(rtype)
            if HEADER_LEN + skip + sub > len(record):
                self._damage(MalformedRecordError(
                    "erf: subheader runs past the record length", path=self.path, offset=offset + HEADER_LEN + skip))
                return
            skip += sub
            start = HEADER_LEN + skip
            caplen = min(wlen, rlen - start)
            number += 1
            self.frames_read = number
            iid = self._interface_id(host_id, source_id, flags & 0x03)
            yield Frame(number, erf_ts_ns(ts), caplen, wlen, LINKTYPE_ERF, iid,
                        record[start:start + caplen])
