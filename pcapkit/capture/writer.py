"""Capture file writers: :class:`PcapWriter` (classic pcap) and :class:`PcapngWriter`.

Both open the target (a path, closed by :meth:`CaptureWriter.close`, or a file object,
only flushed), write many frames, and are context managers. Each has a ``record``
method that encodes one packet exactly as :meth:`write` appends it, for callers that
write records in bulk (live capture: :class:`pcapkit.capture.live_output.CaptureOutput`).
The layouts are :mod:`pcapkit.capture.pcap` and :mod:`pcapkit.capture.pcapng_blocks`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable
from types import TracebackType
from typing import BinaryIO, Self

from pcapkit.capture import pcapng_blocks as ng
from pcapkit.capture.pcap import FILE_HEADER, MAGIC_MODIFIED, MAGIC_NS, MAGIC_US, PcapReader
from pcapkit.capture.reader import CaptureReader, Interface
from pcapkit.errors import CaptureWriteError
from pcapkit.frame import Frame


class CaptureWriter:
    """Base of PcapWriter and PcapngWriter. A path is opened (and closed by :meth:`close`);
    a file object is written to and only flushed."""

    _f: BinaryIO
    _owns: bool

    def _open(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        if isinstance(target, str | os.PathLike):
            try:
                self._f = open(target, "wb")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise CaptureWriteError(f"{os.fspath(target)}: {exc.strerror}") from None
            self._owns = True
        else:
            self._f = target
            self._owns = False

    def _write(self, b: bytes) -> None:
        try:
            self._f.write(b)
        except OSError as exc:
            raise CaptureWriteError(f"write failed: {exc.strerror or exc}") from None

    def write(self, frame: Frame) -> None:
        raise NotImplementedError

    def write_all(self, frames: Iterable[Frame]) -> int:
        n = 0
        for frame in frames:
            self.write(frame)
            n += 1
        return n

    def close(self) -> None:
        if self._owns:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


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
        self._write(struct.pack(byte_order + FILE_HEADER, magic, version[0], version[1], thiszone,
                                sigfigs, snaplen, net))
        self.count = 0

    @classmethod
    def from_reader(cls, reader: CaptureReader, target: str | os.PathLike[str] | BinaryIO) -> PcapWriter:
        """A writer whose file header repeats ``reader``'s (a pcap file) field by field."""
        if not isinstance(reader, PcapReader):
            iface = reader.interfaces[0] if reader.interfaces else Interface(linktype=1, snaplen=262144)
            return cls(target, linktype=iface.linktype, snaplen=iface.snaplen, nanosecond=True)
        h = reader.file_header
        if h.aix:  # the file header says µs (magic) but AIX meant ns; keep the header
            return cls(target, linktype=h.linktype, snaplen=h.snaplen, nanosecond=False,
                       byte_order=h.byte_order, version=(2, 2), thiszone=h.thiszone,
                       sigfigs=h.sigfigs, network=h.network, aix=True)
        return cls(target, linktype=h.linktype, snaplen=h.snaplen, nanosecond=h.magic_ns,
                   byte_order=h.byte_order, version=h.version, thiszone=h.thiszone,
                   sigfigs=h.sigfigs, network=h.network, modified=h.modified)

    def record(self, ts_ns: int, data: bytes, wirelen: int, number: int = 0) -> bytes:
        """One record, header and data, as :meth:`write` appends it (``number`` names the
        frame in errors); the time is written at the file's resolution, truncated."""
        sec, ns = divmod(ts_ns, 1_000_000_000)
        frac = ns if self.nanosecond or self.aix else ns // 1000
        if not 0 <= sec <= 0xFFFFFFFF:
            raise CaptureWriteError(f"frame {number}: time {ts_ns} ns does not fit in pcap")
        orig = max(wirelen, 0)
        if self.aix and self.linktype == 10:
            data = b"\x00\x00\x00" + data
            orig += 3
        incl = len(data)
        if orig > 0xFFFFFFFF:
            raise CaptureWriteError(f"frame {number}: length {orig} does not fit in pcap")
        if self._swap_lengths:
            incl, orig = orig, incl
        hdr = self._rec.pack(sec, frac, incl, orig)
        if self.modified:
            hdr += b"\x00" * 8
        return hdr + data

    def write(self, frame: Frame) -> None:
        """Append one frame (its time is written at the file's resolution, truncated)."""
        self._write(self.record(frame.ts_ns, frame.data, frame.wirelen, frame.number))
        self.count += 1


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
        self._write(ng.section_block(byte_order, comment, user_appl))

    def add_interface(self, linktype: int, *, snaplen: int | None = None, name: str | None = None) -> int:
        if not 0 <= linktype <= 0xFFFF:
            raise CaptureWriteError(f"link type {linktype} does not fit in 16 bits")
        self._write(ng.interface_block(linktype, self.snaplen if snaplen is None else snaplen, name,
                                       self.order))
        self.interfaces.append(linktype)
        return len(self.interfaces) - 1

    def record(self, ts_ns: int, data: bytes, wirelen: int, *, interface_id: int = 0,
               comment: str | None = None, number: int = 0) -> bytes:
        """One EPB (time in ns, comment kept) as :meth:`write` appends it; the interface
        must exist."""
        if ts_ns < 0 or ts_ns > ng.U64:
            raise CaptureWriteError(f"frame {number}: time {ts_ns} ns does not fit in pcapng")
        return ng.packet_block(interface_id, ts_ns, data, wirelen, comment, self.order)

    def write(self, frame: Frame) -> None:
        """Append one frame as an EPB (time in ns, comment kept)."""
        iid = max(frame.interface_id, 0)
        while len(self.interfaces) <= iid:
            self.add_interface(frame.linktype if frame.linktype >= 0 else 1)
        self._write(self.record(frame.ts_ns, frame.data, frame.wirelen, interface_id=iid,
                                comment=frame.comment, number=frame.number))
        self.count += 1

    def write_statistics(self, interface_id: int, ts_ns: int, *, ifrecv: int | None = None,
                         ifdrop: int | None = None) -> None:
        """An Interface Statistics Block."""
        o = self.order
        opts = []
        if ifrecv is not None:
            opts.append(ng.option(ng.ISB_IFRECV, struct.pack(o + "Q", ifrecv), o))
        if ifdrop is not None:
            opts.append(ng.option(ng.ISB_IFDROP, struct.pack(o + "Q", ifdrop), o))
        body = struct.pack(o + "III", interface_id, ts_ns >> 32, ts_ns & 0xFFFFFFFF)
        self._write(ng.block(ng.ISB, body + ng.options_blob(opts, o), o))
