"""Open a capture file of any supported format: pcap, pcap-ns, pcapng (and Sun snoop, Endace ERF),
gzip-compressed or not.

:func:`open_capture` sniffs the format from the first bytes (never from the file
name), returns a :class:`CaptureReader` that is both a context manager and an
iterator of :class:`pcapkit.frame.Frame`, and reads in bounded memory (buffered
chunks, never the whole file).

Errors follow Wireshark's wiretap: a damaged *file header* raises at open
(:class:`~pcapkit.errors.CaptureFileError` subclasses, with path and byte offset);
damage further on (a record cut short, lengths that disagree) ends the iteration
after every good packet before it was delivered, and adds a line to
``reader.warnings`` (with ``strict=True`` the error is raised instead, after the
good packets). Offsets are in the decompressed stream.
"""

from __future__ import annotations

import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO

from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
    UnknownLinkTypeError,
    UnsupportedVersionError,
)
from pcapkit.frame import Frame

CHUNK = 1 << 20  # bytes per read from the underlying stream

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(slots=True)
class Interface:
    """One capture interface: the pcap file header, or one pcapng IDB.

    tsresol: time units per second (10**6 for pcap µs, 10**9 for ns, 2**k possible in pcapng).
    tsoffset: seconds added to every time stamp (pcapng ``if_tsoffset``).
    """

    linktype: int
    snaplen: int
    name: str | None = None
    description: str | None = None
    tsresol: int = 1_000_000
    tsresol_raw: int | None = None
    tsoffset: int = 0
    fcslen: int | None = None
    filter: str | None = None
    os: str | None = None
    section: int = 0
    comments: list[str] = field(default_factory=list)

    @property
    def linktype_name(self) -> str:
        from pcapkit.capture.linktypes import linktype_name

        return linktype_name(self.linktype)

    @property
    def encap(self) -> int:
        """Wireshark's WTAP_ENCAP number (``frame.encap_type``)."""
        from pcapkit.capture.linktypes import wtap_encap

        return wtap_encap(self.linktype)


@dataclass(slots=True)
class Section:
    """One pcapng Section Header Block (a pcap file has one implicit section)."""

    byte_order: str  # "<" or ">"
    version: tuple[int, int]
    offset: int = 0
    section_length: int = -1
    hardware: str | None = None
    os: str | None = None
    user_appl: str | None = None
    comments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class InterfaceStatistics:
    """A pcapng Interface Statistics Block (times in ns since the epoch)."""

    interface_id: int
    section: int
    ts_ns: int
    starttime_ns: int | None = None
    endtime_ns: int | None = None
    ifrecv: int | None = None
    ifdrop: int | None = None
    filteraccept: int | None = None
    osdrop: int | None = None
    usrdeliv: int | None = None
    comments: list[str] = field(default_factory=list)


class ByteSource:
    """Buffered input over a binary stream; ``data[pos:]`` is what is not consumed yet.

    ``base`` is the stream offset of ``data[0]``. Read errors of the underlying stream
    (a gzip stream cut short or corrupt) end the input and are kept in ``error``.
    """

    __slots__ = ("base", "data", "eof", "error", "pos", "reader", "stream")

    def __init__(self, stream: BinaryIO, initial: bytes = b"", *, one_read: bool = True) -> None:
        self.stream = stream
        # one_read: use read1 (one underlying read per call), so that a pipe delivers
        # what it has without waiting for a whole chunk, and an error of the underlying
        # stream (gzip cut short) does not swallow the data read before it
        self.reader = stream.read1 if one_read and hasattr(stream, "read1") else stream.read
        self.data = initial
        self.pos = 0
        self.base = 0
        self.eof = False
        self.error: str | None = None

    @property
    def offset(self) -> int:
        return self.base + self.pos

    @property
    def available(self) -> int:
        return len(self.data) - self.pos

    def _read(self, n: int) -> bytes:
        try:
            return self.reader(n)
        except EOFError:
            self.error = "compressed stream ends before its end marker"
        except (zlib.error, gzip.BadGzipFile) as exc:
            self.error = f"corrupt compressed stream ({exc})"
        except OSError as exc:
            self.error = f"read error ({exc})"
        self.eof = True
        return b""

    def fill(self, n: int) -> bool:
        """Make at least ``n`` unconsumed bytes available; False if the input ends first."""
        if len(self.data) - self.pos >= n:
            return True
        if self.eof:
            return False
        parts = [self.data[self.pos:]]
        have = len(parts[0])
        self.base += self.pos
        self.pos = 0
        while have < n:
            chunk = self._read(max(CHUNK, n - have))
            if not chunk:
                self.eof = True
                break
            parts.append(chunk)
            have += len(chunk)
        self.data = b"".join(parts)
        return have >= n

    def take(self, n: int) -> bytes | None:
        """Consume and return ``n`` bytes, or None (nothing consumed) if the input ends first."""
        if not self.fill(n):
            return None
        start = self.pos
        self.pos = start + n
        return self.data[start:start + n]

    def skip(self, n: int) -> bool:
        """Consume ``n`` bytes without keeping them (in bounded memory)."""
        while n > 0:
            if self.available == 0 and not self.fill(1):
                return False
            step = min(n, self.available)
            self.pos += step
            n -= step
        return True


class CaptureReader:
    """An open capture file: metadata attributes plus iteration over its frames.

    Attributes: ``path`` (name used in messages), ``format`` ("pcap", "pcap-ns",
    "pcapng"), ``gzip`` (compressed input), ``interfaces`` (one :class:`Interface` per
    pcap file / pcapng IDB, in order; pcapng IDBs that come later in the file are
    added as they are read), ``sections``, ``interface_stats``, ``warnings``.
    """

    format: str = "?"

    def __init__(self, source: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        self.path = path
        self.gzip = gzipped
        self.strict = strict
        self.interfaces: list[Interface] = []
        self.sections: list[Section] = []
        self.interface_stats: list[InterfaceStatistics] = []
        self.warnings: list[str] = []
        self.frames_read = 0
        self._src = source
        self._closer = closer
        self._iterating = False

    # -- metadata ---------------------------------------------------------------------
    @property
    def linktypes(self) -> list[int]:
        """LINKTYPE of each interface, in interface order."""
        return [i.linktype for i in self.interfaces]

    @property
    def snaplens(self) -> list[int]:
        return [i.snaplen for i in self.interfaces]

    @property
    def snaplen(self) -> int | None:
        return self.interfaces[0].snaplen if self.interfaces else None

    @property
    def linktype(self) -> int | None:
        return self.interfaces[0].linktype if self.interfaces else None

    @property
    def comments(self) -> list[str]:
        """Section (file) comments, all sections."""
        return [c for s in self.sections for c in s.comments]

    def interface(self, interface_id: int, section: int = 0) -> Interface:
        """The interface a frame came from (``frame.interface_id`` is per section, as tshark's)."""
        local = [i for i in self.interfaces if i.section == section]
        return local[interface_id]

    def frame_interface(self, frame: Frame) -> Interface | None:
        if frame.interface_id < 0:
            return None
        return self.interface(frame.interface_id, frame.section)

    @property
    def byte_order(self) -> str:
        return self.sections[0].byte_order if self.sections else "<"

    # -- iteration --------------------------------------------------------------------
    def __iter__(self) -> Iterator[Frame]:
        if self._iterating:
            raise RuntimeError("a CaptureReader can be iterated only once")
        self._iterating = True
        return self._frames()

    def _frames(self) -> Iterator[Frame]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _damage(self, exc: CaptureFileError) -> None:
        """Damage after the header: keep a warning; raise in strict mode."""
        if self._src.error is not None and isinstance(exc, TruncatedFileError):
            exc = TruncatedFileError(f"{exc.reason} ({self._src.error})", path=exc.path, offset=exc.offset)
        self.warnings.append(exc.one_line())
        if self.strict:
            raise exc

    def _truncated(self, what: str, offset: int | None = None) -> None:
        self._damage(TruncatedFileError(f"file ends inside {what}", path=self.path,
                                        offset=self._src.offset if offset is None else offset))

    # -- context manager --------------------------------------------------------------
    def close(self) -> None:
        if self._closer is not None:
            self._closer.close()
            self._closer = None

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.path!r} format={self.format}"
                f"{' gzip' if self.gzip else ''} linktypes={self.linktypes}>")


def _open_stream(source: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, str, BinaryIO | None]:
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        if name == "-":
            return sys.stdin.buffer, "<stdin>", None
        try:
            f = open(name, "rb")  # noqa: SIM115 - closed by the reader
        except OSError as exc:
            raise CaptureFileError(exc.strerror or str(exc), path=name) from None
        return f, name, f
    label = getattr(source, "name", None)
    return source, label if isinstance(label, str) else "<stream>", None


def open_capture(source: str | os.PathLike[str] | BinaryIO, *, strict: bool = False) -> CaptureReader:
    """Open a pcap, pcapng (or gzip-compressed) capture; ``"-"`` is standard input.

    Raises :class:`~pcapkit.errors.CaptureFileError` subclasses when the file header
    cannot be read (path and byte offset in the message).
    """
    raw, path, closer = _open_stream(source)
    try:
        return _open(raw, path, closer, strict)
    except BaseException:
        if closer is not None:
            closer.close()
        raise


def _open(raw: BinaryIO, path: str, closer: BinaryIO | None, strict: bool) -> CaptureReader:
    src = ByteSource(raw)
    src.fill(4)
    gzipped = False
    if src.data[:2] == GZIP_MAGIC:
        gzipped = True
        rest = io.BufferedReader(_Prefixed(src.data, raw), buffer_size=CHUNK)
        stream: BinaryIO = gzip.GzipFile(fileobj=rest, mode="rb")  # type: ignore[assignment]
        src = ByteSource(stream)
        src.fill(4)
        if src.error is not None and src.available < 4:
            raise UnknownFormatError(f"gzip: {src.error}", path=path, offset=0)
    magic = src.data[:4]
    if len(magic) < 4:
        if len(magic) == 0:
            raise TruncatedFileError("empty file (no capture file header)", path=path, offset=0)
        raise TruncatedFileError("file ends inside the capture file header", path=path, offset=0)
    from pcapkit.capture import pcap, pcapng

    if magic in pcap.MAGICS:
        return pcap.PcapReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    if magic == pcapng.SHB_TYPE_BYTES:
        return pcapng.PcapngReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    if magic == SNOOP_MAGIC[:4]:
        src.fill(8)
        if src.data[src.pos:src.pos + 8] == SNOOP_MAGIC:
            return SnoopReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    # ERF has no magic: wiretap's erf_open heuristic over the first records, tried last
    from pcapkit.capture import erf

    def peek(start: int, n: int) -> bytes:
        src.fill(start + n)
        return src.data[src.pos + start:src.pos + start + n]

    if erf.sniff(peek):
        return erf.ErfReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    raise UnknownFormatError(f"not a pcap, pcapng, snoop or ERF file (magic {magic.hex()})", path=path, offset=0)


SNOOP_MAGIC = b"snoop\x00\x00\x00"
# snoop network type -> LINKTYPE (Wireshark's snoop_encap, the types it can read)
SNOOP_LINKTYPES = {0: 1, 2: 6, 4: 1, 8: 10}


class SnoopReader(CaptureReader):
    """Sun snoop files (RFC 1761), as Wireshark reads them: big-endian, version 2-5,
    24-byte record headers (original length, included length, record length, drops,
    seconds, microseconds) followed by the data padded to the record length."""

    format = "snoop"

    def __init__(self, src: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        import struct

        super().__init__(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
        header = src.take(16)
        if header is None:
            raise TruncatedFileError("file ends inside the snoop file header", path=path,
                                     offset=src.offset + src.available)
        version, network = struct.unpack_from(">II", header, 8)
        if version not in (2, 3, 4, 5):
            raise UnsupportedVersionError(f"snoop: version {version} unsupported", path=path, offset=8)
        if network not in SNOOP_LINKTYPES:
            raise UnknownLinkTypeError(f"snoop: network type {network} unknown or unsupported",
                                       path=path, offset=12)
        self.version = version
        self.network = network
        self.sections.append(Section(byte_order=">", version=(version, 0)))
        self.interfaces.append(Interface(linktype=SNOOP_LINKTYPES[network], snaplen=0))

    def _frames(self) -> Iterator[Frame]:
        import struct

        from pcapkit.capture.linktypes import max_snaplen

        src = self._src
        unpack = struct.Struct(">IIIIII").unpack_from
        linktype = self.interfaces[0].linktype
        limit = max_snaplen(linktype)
        number = 0
        while True:
            if not src.fill(24):
                if src.available or src.error is not None:
                    self._truncated("a record header")
                return
            offset = src.offset
            orig, incl, rec_len, _drops, sec, usec = unpack(src.data, src.pos)
            if rec_len < 24:
                self._damage(MalformedRecordError(
                    f"snoop: File has {rec_len}-byte record length, less than the record header size",
                    path=self.path, offset=offset))
                return
            if incl > limit:
                self._damage(MalformedRecordError(
                    f"snoop: File has {incl}-byte packet, bigger than maximum of {limit}",
                    path=self.path, offset=offset))
                return
            if incl > rec_len - 24:
                self._damage(MalformedRecordError(
                    f"snoop: File has {incl}-byte packet, bigger than record size {rec_len - 24}",
                    path=self.path, offset=offset))
                return
            if not src.fill(24 + incl):
                self._truncated(f"a packet (record at offset {offset})", src.offset + src.available)
                return
            data = src.data[src.pos + 24:src.pos + 24 + incl]
            src.pos += 24 + incl
            if not src.skip(rec_len - 24 - incl):
                self._truncated(f"the padding of a record (record at offset {offset})")
                return
            number += 1
            self.frames_read = number
            yield Frame(number, sec * 1_000_000_000 + usec * 1000, incl, orig, linktype, 0, data)


class _Prefixed(io.RawIOBase):
    """A raw stream that first returns bytes already read (the sniffed prefix)."""

    def __init__(self, prefix: bytes, rest: BinaryIO) -> None:
        self._prefix = prefix
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(b), len(self._prefix))
            b[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        read = getattr(self._rest, "read1", self._rest.read)
        data = read(len(b))
        n = len(data)
        b[:n] = data
        return n


def read_frames(source: str | os.PathLike[str] | BinaryIO, *, strict: bool = False) -> Iterator[Frame]:
    """Every frame of a capture (convenience: opens, iterates, closes)."""
    with open_capture(source, strict=strict) as reader:
        yield from reader
