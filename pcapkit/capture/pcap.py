"""Classic libpcap files: the layout, and reading (all magics, both byte orders).

File header (24 bytes): magic u32, version_major u16, version_minor u16, thiszone i32,
sigfigs u32, snaplen u32, network u32 (link type in the low 16 bits, FCS length in
the top 4 bits, bits 16-25 reserved and zero). Record header (16 bytes): ts_sec u32,
ts_frac u32 (µs, or ns for the a1b23c4d magic), incl_len u32, orig_len u32; the
Kuznetzov "modified" format (magic a1b2cd34) adds ifindex u32, protocol u16,
pkt_type u8 and a pad byte (24-byte record headers).

Wireshark's rules are mirrored: major version < 2 is refused; files of version
2.0-2.2 have incl_len and orig_len swapped (2.3: swapped when incl_len > orig_len);
AIX files (version 2.2 with link type 6, 9, 15 or 24, RFC 1573 ifTypes) have
nanosecond times and their link types mapped to Ethernet, Token Ring, FDDI (3 bytes
of padding dropped) and NULL;
a record longer than the maximum snapshot length of its link type ends the file
(``pcap: File has N-byte packet, bigger than maximum of M``).

The file header is parsed once, by :func:`parse_file_header`, for this reader and for
the record batches (:mod:`pcapkit.capture.batch`); writing is
:class:`pcapkit.capture.writer.PcapWriter`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.reader import ByteSource, CaptureReader, Interface, Section
from pcapkit.errors import (
    MalformedRecordError,
    TruncatedFileError,
    UnsupportedVersionError,
)
from pcapkit.frame import Frame

# magic bytes as they appear in the file -> (byte order, nanosecond, modified)
MAGICS: dict[bytes, tuple[str, bool, bool]] = {
    bytes.fromhex("d4c3b2a1"): ("<", False, False),
    bytes.fromhex("a1b2c3d4"): (">", False, False),
    bytes.fromhex("4d3cb2a1"): ("<", True, False),
    bytes.fromhex("a1b23c4d"): (">", True, False),
    bytes.fromhex("34cdb2a1"): ("<", False, True),
    bytes.fromhex("a1b2cd34"): (">", False, True),
}

# AIX ifType -> LINKTYPE: Ethernet, Token Ring, FDDI, loopback
AIX_LINKTYPES = {6: 1, 9: 6, 15: 10, 24: 0}

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
MAGIC_MODIFIED = 0xA1B2CD34

FILE_HEADER = "IHHiIII"  # magic, version major, minor, thiszone, sigfigs, snaplen, network
FILE_HEADER_LEN = 24
LT_RESERVED1 = 0x03FF0000


@dataclass(frozen=True, slots=True)
class PcapHeader:
    """A pcap file header as Wireshark reads it (:func:`parse_file_header`)."""

    byte_order: str          # "<" or ">"
    magic_ns: bool           # the magic says nanosecond fractions (a1b23c4d)
    modified: bool           # Kuznetzov's format: 24-byte record headers
    version: tuple[int, int]
    thiszone: int
    sigfigs: int
    snaplen: int
    network: int             # the whole field: link type, FCS length bits
    linktype: int            # LINKTYPE, after the AIX ifType mapping
    aix: bool                # AIX 2.2 file: ns fractions, FDDI frames after 3 bytes of padding
    fcslen: int | None

    @property
    def format(self) -> str:
        return "pcap-ns" if self.magic_ns else "pcap"

    @property
    def nanosecond(self) -> bool:
        """Record fractions are ns (else µs)."""
        return self.magic_ns or self.aix

    @property
    def record_header_len(self) -> int:
        return 24 if self.modified else 16

    @property
    def lengths_swapped(self) -> str:
        """"yes": versions before 2.3 wrote incl_len and orig_len the other way round;
        "maybe" (2.3): swapped where incl_len > orig_len; "no"."""
        if self.version[0] == 2 and self.version[1] < 3:
            return "yes"
        if self.version == (2, 3):
            return "maybe"
        return "no"

    @property
    def padding(self) -> int:
        """Bytes before each frame's data (AIX FDDI)."""
        return 3 if self.aix and self.linktype == 10 else 0



def record_header_cut(path: str | None, offset: int, stream_error: str | None = None) -> TruncatedFileError:
    """The error for a file that ends inside a record header (both readers give it)."""
    return TruncatedFileError(_with_cause("file ends inside a record header", stream_error), path=path,
                              offset=offset)


def record_cut(path: str | None, record_offset: int, incl: int, end: int,
               stream_error: str | None = None) -> TruncatedFileError:
    """The error for a file that ends inside a record's packet data (at ``end``)."""
    return TruncatedFileError(_with_cause(f"file ends inside a packet (record of {incl} bytes at offset "
                                          f"{record_offset})", stream_error), path=path, offset=end)


def _with_cause(reason: str, stream_error: str | None) -> str:
    return reason if stream_error is None else f"{reason} ({stream_error})"

def parse_file_header(header: bytes, path: str) -> PcapHeader:
    """The 24-byte file header (its magic one of :data:`MAGICS`); raises
    :class:`~pcapkit.errors.UnsupportedVersionError` where Wireshark refuses the file."""
    order, nano, modified = MAGICS[header[:4]]
    _magic, major, minor, thiszone, sigfigs, snaplen, network = struct.unpack(order + FILE_HEADER, header)
    if major < 2:
        raise UnsupportedVersionError(f"pcap: major version {major} unsupported", path=path, offset=4)
    if network & LT_RESERVED1:
        raise UnsupportedVersionError(
            f"pcap: network type reserved field not zero (0x{network & LT_RESERVED1:08x})",
            path=path, offset=20)
    linktype = network & 0xFFFF
    # AIX's tcpdump wrote version 2.2 files with RFC 1573 ifType values as the link
    # type and nanosecond times (and 3 bytes of padding before FDDI frames)
    aix = (major, minor) == (2, 2) and linktype in AIX_LINKTYPES
    if aix:
        linktype = AIX_LINKTYPES[linktype]
    fcslen = (network >> 28) if network & 0x04000000 else None
    return PcapHeader(order, nano, modified, (major, minor), thiszone, sigfigs, snaplen, network,
                      linktype, aix, fcslen)


class PcapReader(CaptureReader):
    """Reader of classic pcap files (see module docstring); ``file_header`` is the
    :class:`PcapHeader`."""

    def __init__(self, src: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        super().__init__(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
        header = src.take(FILE_HEADER_LEN)
        if header is None:
            raise TruncatedFileError("file ends inside the pcap file header", path=path,
                                     offset=src.offset + src.available)
        h = self.file_header = parse_file_header(header, path)
        self.format = h.format
        self.sections.append(Section(byte_order=h.byte_order, version=h.version))
        self.interfaces.append(Interface(linktype=h.linktype, snaplen=h.snaplen,
                                         tsresol=1_000_000_000 if h.nanosecond else 1_000_000,
                                         fcslen=h.fcslen))

    @property
    def modified(self) -> bool:
        """Kuznetzov's modified pcap (capinfos' "modpcap")."""
        return self.file_header.modified

    def _frames(self) -> Iterator[Frame]:
        h = self.file_header
        src = self._src
        hlen = h.record_header_len
        unpack = struct.Struct(h.byte_order + "IIII").unpack_from
        mult = 1 if h.nanosecond else 1000
        frac_limit = 1_000_000_000 if h.nanosecond else 1_000_000
        linktype = h.linktype
        limit = max_snaplen(linktype)
        swapped = h.lengths_swapped
        skip = h.padding
        number = 0
        data = src.data
        pos = src.pos
        end_data = len(data)
        while True:
            if end_data - pos < hlen:
                src.pos = pos
                if not src.fill(hlen):
                    if src.available or src.error is not None:
                        self._damage(record_header_cut(self.path, src.offset))
                    return
                data = src.data
                pos = src.pos
                end_data = len(data)
            sec, frac, incl, orig = unpack(data, pos)
            if swapped != "no" and (swapped == "yes" or incl > orig):
                incl, orig = orig, incl
            if incl > limit:
                src.pos = pos
                self._damage(MalformedRecordError(
                    f"pcap: File has {incl}-byte packet, bigger than maximum of {limit}",
                    path=self.path, offset=src.offset))
                return
            end = pos + hlen + incl
            if end > end_data:
                src.pos = pos
                if not src.fill(hlen + incl):
                    self._damage(record_cut(self.path, src.offset, incl, src.offset + src.available))
                    return
                data = src.data
                pos = src.pos
                end_data = len(data)
                end = pos + hlen + incl
            number += 1
            self.frames_read = number
            if frac < frac_limit:
                ts_ns = sec * 1_000_000_000 + frac * mult
            else:  # an invalid fraction: Wireshark keeps it in a signed 32-bit int
                nsecs = (frac * mult) & 0xFFFFFFFF
                ts_ns = sec * 1_000_000_000 + (nsecs - (1 << 32) if nsecs >= 1 << 31 else nsecs)
            if skip:  # AIX FDDI: padding before the frame
                cut = min(skip, incl)
                yield Frame(number, ts_ns, incl - cut, max(orig - skip, 0), linktype, 0,
                            data[pos + hlen + cut:end])
            else:
                yield Frame(number, ts_ns, incl, orig, linktype, 0, data[pos + hlen:end])
            pos = end
