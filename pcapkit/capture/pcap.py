"""Classic libpcap files: read (all magics, both byte orders) and write.

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
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import BinaryIO

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.reader import ByteSource, CaptureReader, Interface, Section
from pcapkit.capture.writer import CaptureWriter
from pcapkit.errors import (
    CaptureWriteError,
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

FILE_HEADER_LEN = 24
LT_RESERVED1 = 0x03FF0000


class PcapReader(CaptureReader):
    """Reader of classic pcap files (see module docstring)."""

    def __init__(self, src: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        super().__init__(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
        header = src.take(FILE_HEADER_LEN)
        if header is None:
            raise TruncatedFileError("file ends inside the pcap file header", path=path,
                                     offset=src.offset + src.available)
        self.header = header
        order, nano, modified = MAGICS[header[:4]]
        self.nanosecond = nano
        self.modified = modified
        self.format = "pcap-ns" if nano else "pcap"
        (self.magic, self.version_major, self.version_minor, self.thiszone, self.sigfigs,
         snaplen, self.network) = struct.unpack(order + "IHHiIII", header)
        if self.version_major < 2:
            raise UnsupportedVersionError(f"pcap: major version {self.version_major} unsupported",
                                          path=path, offset=4)
        if self.network & LT_RESERVED1:
            raise UnsupportedVersionError(
                f"pcap: network type reserved field not zero (0x{self.network & LT_RESERVED1:08x})",
                path=path, offset=20)
        linktype = self.network & 0xFFFF
        # AIX's tcpdump wrote version 2.2 files with RFC 1573 ifType values as the link
        # type and nanosecond times (and 3 bytes of padding before FDDI frames)
        self.aix = (self.version_major, self.version_minor) == (2, 2) and linktype in AIX_LINKTYPES
        if self.aix:
            linktype = AIX_LINKTYPES[linktype]
            nano = True
        self.fcslen: int | None = (self.network >> 28) if self.network & 0x04000000 else None
        # versions before 2.3 wrote incl_len and orig_len the other way round
        if self.version_major == 2 and self.version_minor < 3:
            self.lengths_swapped = "yes"
        elif self.version_major == 2 and self.version_minor == 3:
            self.lengths_swapped = "maybe"
        else:
            self.lengths_swapped = "no"
        self.sections.append(Section(byte_order=order, version=(self.version_major, self.version_minor)))
        self.interfaces.append(Interface(linktype=linktype, snaplen=snaplen,
                                         tsresol=1_000_000_000 if nano else 1_000_000,
                                         fcslen=self.fcslen))
        self.nanosecond = nano

    def _frames(self) -> Iterator[Frame]:
        src = self._src
        order = self.sections[0].byte_order
        hlen = 24 if self.modified else 16
        unpack = struct.Struct(order + "IIII").unpack_from
        mult = 1 if self.nanosecond else 1000
        frac_limit = 1_000_000_000 if self.nanosecond else 1_000_000
        linktype = self.interfaces[0].linktype
        limit = max_snaplen(linktype)
        swapped = self.lengths_swapped
        skip = 3 if self.aix and linktype == 10 else 0
        number = 0
        data = src.data
        pos = src.pos
        end_data = len(data)
        while True:
            if end_data - pos < hlen:
                src.pos = pos
                if not src.fill(hlen):
                    if src.available or src.error is not None:
                        self._truncated("a record header")
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
                    self._truncated("a packet (record of "
                                    f"{incl} bytes at offset {src.offset})", src.offset + src.available)
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


class PcapWriter(CaptureWriter):
    """Write a classic pcap file.

    ``PcapWriter(path_or_file, linktype=1, snaplen=262144, nanosecond=False,
    byte_order="<")``; or :meth:`from_reader` to copy another pcap file's header
    exactly (byte order, version, thiszone, sigfigs, snaplen, network), so that a pcap
    read and written back is byte-identical. Frames keep their own linktype
    out of it: a pcap file has one link type for all records.
    """

    def __init__(self, target: str | os.PathLike[str] | BinaryIO, *, linktype: int = 1,
                 snaplen: int = 262144, nanosecond: bool = False, byte_order: str = "<",
                 version: tuple[int, int] = (2, 4), thiszone: int = 0, sigfigs: int = 0,
                 network: int | None = None, modified: bool = False, aix: bool = False) -> None:
        if byte_order not in ("<", ">"):
            raise CaptureWriteError(f"byte order must be '<' or '>', not {byte_order!r}")
        if not 0 <= linktype <= 0xFFFF:
            raise CaptureWriteError(f"link type {linktype} does not fit in 16 bits")
        if not 0 <= snaplen <= 0xFFFFFFFF:
            raise CaptureWriteError(f"snaplen {snaplen} does not fit in 32 bits")
        self._open(target)
        self.nanosecond = nanosecond
        self.aix = aix  # AIX 2.2 files: ns fractions under the µs magic, FDDI padded by 3 bytes
        self.byte_order = byte_order
        self.modified = modified
        self.linktype = linktype
        self.snaplen = snaplen
        if modified:
            magic = MAGIC_MODIFIED
        else:
            magic = MAGIC_NS if nanosecond else MAGIC_US
        self.version = version
        self._swap_lengths = version[0] == 2 and version[1] < 3
        self._rec = struct.Struct(byte_order + "IIII")
        net = linktype if network is None else network
        self._write(struct.pack(byte_order + "IHHiIII", magic, version[0], version[1], thiszone,
                                sigfigs, snaplen, net))
        self.count = 0

    @classmethod
    def from_reader(cls, reader: CaptureReader, target: str | os.PathLike[str] | BinaryIO) -> PcapWriter:
        """A writer whose file header repeats ``reader``'s (a pcap file) field by field."""
        if not isinstance(reader, PcapReader):
            iface = reader.interfaces[0] if reader.interfaces else Interface(linktype=1, snaplen=262144)
            return cls(target, linktype=iface.linktype, snaplen=iface.snaplen, nanosecond=True)
        order = reader.sections[0].byte_order
        if reader.aix:  # the file header says µs (magic) but AIX meant ns; keep the header
            return cls(target, linktype=reader.interfaces[0].linktype, snaplen=reader.interfaces[0].snaplen,
                       nanosecond=False, byte_order=order, version=(2, 2), thiszone=reader.thiszone,
                       sigfigs=reader.sigfigs, network=reader.network, aix=True)
        return cls(target, linktype=reader.interfaces[0].linktype, snaplen=reader.interfaces[0].snaplen,
                   nanosecond=reader.nanosecond, byte_order=order,
                   version=(reader.version_major, reader.version_minor), thiszone=reader.thiszone,
                   sigfigs=reader.sigfigs, network=reader.network, modified=reader.modified)

    def _write(self, b: bytes) -> None:
        try:
            self._f.write(b)
        except OSError as exc:
            raise CaptureWriteError(f"write failed: {exc.strerror or exc}") from None

    def write(self, frame: Frame) -> None:
        """Append one frame (its time is written at the file's resolution, truncated)."""
        sec, ns = divmod(frame.ts_ns, 1_000_000_000)
        frac = ns if self.nanosecond or self.aix else ns // 1000
        if not 0 <= sec <= 0xFFFFFFFF:
            raise CaptureWriteError(f"frame {frame.number}: time {frame.ts_ns} ns does not fit in pcap")
        data = frame.data
        orig = max(frame.wirelen, 0)
        if self.aix and self.linktype == 10:
            data = b"\x00\x00\x00" + data
            orig += 3
        incl = len(data)
        if orig > 0xFFFFFFFF:
            raise CaptureWriteError(f"frame {frame.number}: length {orig} does not fit in pcap")
        if self._swap_lengths:
            incl_f, orig_f = orig, incl
        else:
            incl_f, orig_f = incl, orig
        hdr = self._rec.pack(sec, frac, incl_f, orig_f)
        if self.modified:
            hdr += b"\x00" * 8
        self._write(hdr + data)
        self.count += 1
