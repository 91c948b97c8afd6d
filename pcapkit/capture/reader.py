"""What every capture file reader shares: the interface / section / statistics records,
the buffered byte source, and :class:`CaptureReader`, the base of the pcap, pcapng,
snoop and ERF readers.

Errors follow Wireshark's wiretap: a damaged *file header* raises at open
(:class:`~pcapkit.errors.CaptureFileError` subclasses, with path and byte offset);
damage further on (a record cut short, lengths that disagree) ends the iteration
after every good packet before it was delivered, and adds a line to
``reader.warnings`` (with ``strict=True`` the error is raised instead, after the
good packets). Offsets are in the decompressed stream.

The format modules import this one; :mod:`pcapkit.capture.files` picks among them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import BinaryIO

from pcapkit.capture.linktypes import linktype_name, wtap_encap
from pcapkit.errors import CaptureFileError, TruncatedFileError
from pcapkit.frame import Frame

CHUNK = 1 << 20  # bytes per read from the underlying stream


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
        return linktype_name(self.linktype)

    @property
    def encap(self) -> int:
        """Wireshark's WTAP_ENCAP number (``frame.encap_type``)."""
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
            data = self.reader(n)
        except OSError as exc:
            self.error = f"read error ({exc})"
            data = b""
        if not data:
            # (a gzip stream, pcapkit.capture.compressed.GzipPieces, says what ended it early)
            self.error = self.error or getattr(self.stream, "error", None)
            self.eof = True
        return data

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


class CaptureLayout:
    """What a capture file says besides its records: ``interfaces`` (one :class:`Interface`
    per pcap file / pcapng IDB, in order), ``sections``, ``interface_stats``, and what
    derives from them. A :class:`CaptureReader` has them once it has read the file; the
    record batches of a pcapng file fill one as they pass its blocks."""

    def __init__(self) -> None:
        self.interfaces: list[Interface] = []
        self.sections: list[Section] = []
        self.interface_stats: list[InterfaceStatistics] = []

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


class CaptureReader(CaptureLayout):
    """An open capture file: metadata attributes plus iteration over its frames.

    Attributes: ``path`` (name used in messages), ``format`` ("pcap", "pcap-ns",
    "pcapng"), ``gzip`` (compressed input), ``interfaces`` (one :class:`Interface` per
    pcap file / pcapng IDB, in order; pcapng IDBs that come later in the file are
    added as they are read), ``sections``, ``interface_stats``, ``warnings``.
    """

    format: str = "?"

    def __init__(self, source: ByteSource, *, path: str, gzipped: bool, strict: bool,
                 closer: BinaryIO | None) -> None:
        super().__init__()
        self.path = path
        self.gzip = gzipped
        self.strict = strict
        self.warnings: list[str] = []
        self.damage: CaptureFileError | None = None  # the first damage after the header, as an error
        self.frames_read = 0
        self._src = source
        self._closer = closer
        self._iterating = False

    # -- metadata ---------------------------------------------------------------------
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
        exc.after_header = True
        if self.damage is None:
            self.damage = exc
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
