"""Open a capture file of any supported format: pcap, pcap-ns, pcapng (and Sun snoop, Endace ERF),
gzip-compressed or not.

:func:`open_capture` sniffs the format from the first bytes (never from the file
name), returns a :class:`CaptureReader` that is both a context manager and an
iterator of :class:`pcapkit.frame.Frame`, and reads in bounded memory (buffered
chunks, never the whole file). Errors: see :mod:`pcapkit.capture.reader`.

This module sits above the format modules (pcap, pcapng, snoop, ERF): it imports
them to pick one; they import only :mod:`pcapkit.capture.reader`.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from typing import BinaryIO

from pcapkit.capture import erf, pcap, pcapng, snoop
from pcapkit.capture.compressed import GzipPieces
from pcapkit.capture.pcapng_blocks import SHB_TYPE_BYTES
from pcapkit.capture.reader import CHUNK, ByteSource, CaptureReader
from pcapkit.capture.writer import PcapWriter
from pcapkit.errors import CaptureFileError, TruncatedFileError, UnknownFormatError
from pcapkit.frame import Frame

GZIP_MAGIC = b"\x1f\x8b"


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
        stream: BinaryIO = GzipPieces(rest)  # type: ignore[assignment]
        src = ByteSource(stream)
        src.fill(4)
        if src.error is not None and src.available < 4:
            raise UnknownFormatError(f"gzip: {src.error}", path=path, offset=0)
    magic = src.data[:4]
    if len(magic) < 4:
        if len(magic) == 0:
            raise TruncatedFileError("empty file (no capture file header)", path=path, offset=0)
        raise TruncatedFileError("file ends inside the capture file header", path=path, offset=0)
    if magic in pcap.MAGICS:
        return pcap.PcapReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    if magic == SHB_TYPE_BYTES:
        return pcapng.PcapngReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    if magic == snoop.SNOOP_MAGIC[:4]:
        src.fill(8)
        if src.data[src.pos:src.pos + 8] == snoop.SNOOP_MAGIC:
            return snoop.SnoopReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    # ERF has no magic: wiretap's erf_open heuristic over the first records, tried last
    def peek(start: int, n: int) -> bytes:
        src.fill(start + n)
        return src.data[src.pos + start:src.pos + start + n]

    if erf.sniff(peek):
        return erf.ErfReader(src, path=path, gzipped=gzipped, strict=strict, closer=closer)
    raise UnknownFormatError(f"not a pcap, pcapng, snoop or ERF file (magic {magic.hex()})", path=path, offset=0)


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


def copy_pcap(src_path: str | os.PathLike[str], dst: str | os.PathLike[str] | BinaryIO) -> int:
    """Read a pcap file and write it back with the same header; returns the frame count."""
    with open_capture(src_path) as reader, PcapWriter.from_reader(reader, dst) as writer:
        return writer.write_all(reader)
