"""A capture file read in chunks for the record batches: memory-mapped when it is a
regular file, read piece by piece when it is compressed, standard input or a pipe."""

from __future__ import annotations

import contextlib
import mmap
import os
import stat
import sys
from typing import IO, Any

from pcapkit.capture.compressed import GzipPieces

# consumed bytes of a mapped file given back at a time: 64 MiB kept up to ~60 MB more resident
# (bench-1M flows: segment table stage) than 8 MiB, which costs ~45 madvise calls per 356 MB
RELEASE_STEP = 8 << 20


class ChunkStream:
    """A byte stream read in chunks, with the bytes not yet consumed kept in front.

    ``buf`` holds the unconsumed bytes read so far. Plain files are memory-mapped and
    ``buf`` is a zero-copy window on the mapping (pages already consumed are given
    back with ``madvise(MADV_DONTNEED)``, so resident memory stays bounded); gzip
    files are decompressed chunk by chunk into ``bytes``.
    """

    def __init__(self, path: str, chunk_bytes: int) -> None:
        self.path = path
        self.chunk_bytes = chunk_bytes
        self.base = 0        # stream offset of buf[0]
        self.eof = False
        self.mm: mmap.mmap | None = None
        self.size = 0
        self.end = 0         # mmap mode: stream offset of the end of buf
        self.released = 0    # mmap mode: bytes before this offset were given back
        self.error: str | None = None  # what ended a compressed stream early
        # the file header (pcap's, or pcapng's first section header) has been read: a file
        # error after this is damage with packets before it, not an unreadable file
        self.header_done = False
        # "-" is standard input; pipes and FIFOs cannot seek: the format is peeked at
        raw: Any = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115 - closed in close()
        head = raw.peek(2)[:2]
        self.own = path != "-"
        self.f: IO[bytes] = raw
        self.buf: bytes | memoryview = b""
        if head == b"\x1f\x8b":
            self.f = GzipPieces(raw)  # type: ignore[assignment]
            self.raw: IO[bytes] | None = raw
            return
        self.raw = None
        st = os.fstat(raw.fileno())
        self.size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        if self.size > 0:
            try:
                self.mm = mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                self.mm = None

    def fill(self, need: int = 0) -> None:
        """Read one more chunk (at least ``need`` bytes more if possible)."""
        want = max(self.chunk_bytes, need)
        if self.mm is not None:
            if self.end >= self.size:
                self.eof = True
                return
            self.end = min(self.size, self.end + want)
            self.buf = memoryview(self.mm)[self.base:self.end]
            return
        # piece by piece: a cut or corrupt compressed stream keeps what came before the damage
        pieces: list[bytes] = []
        got = 0
        read1 = getattr(self.f, "read1", self.f.read)
        while got < want:
            try:
                data = read1(min(want - got, 1 << 20))
            except OSError as exc:
                self.error = f"read error ({exc})"
                data = b""
            if not data:  # (a gzip stream, compressed.GzipPieces, says what ended it early)
                self.error = self.error or getattr(self.f, "error", None)
            if not data:
                self.eof = True
                break
            pieces.append(data)
            got += len(data)
        data = b"".join(pieces)
        self.buf = bytes(self.buf) + data if len(self.buf) else data

    def ensure(self, n: int) -> bool:
        while len(self.buf) < n and not self.eof:
            self.fill(n - len(self.buf))
        return len(self.buf) >= n

    def consume(self, n: int) -> None:
        self.base += n
        if self.mm is not None:
            self.buf = memoryview(self.mm)[self.base:self.end]
            # give back what is consumed (whole pages, RELEASE_STEP at a time: mapped file
            # pages count in the process's resident memory until then)
            done = (self.base // mmap.PAGESIZE) * mmap.PAGESIZE
            if done - self.released >= RELEASE_STEP and hasattr(self.mm, "madvise"):
                self.mm.madvise(mmap.MADV_DONTNEED, self.released, done - self.released)
                self.released = done
        else:
            self.buf = self.buf[n:]

    def restrict(self, start: int, stop: int) -> None:
        """Read only the bytes [start, stop) of the file from now on (a mapped file only)."""
        if self.mm is None:
            raise ValueError(f"{self.path}: only a plain file can be read by byte range")
        self.size = min(self.size, stop)
        self.base = start
        self.end = max(start, min(self.end, self.size))
        self.released = (start // mmap.PAGESIZE) * mmap.PAGESIZE
        self.eof = False
        self.buf = memoryview(self.mm)[self.base:self.end]

    def close(self) -> None:
        self.buf = b""
        if self.mm is not None:
            # numpy views of the last batch may still be alive; then the GC unmaps it
            with contextlib.suppress(BufferError):
                self.mm.close()
        if self.raw is not None:  # gzip: the decompressor over the file
            self.f.close()
            if self.own:
                self.raw.close()
        elif self.own:
            self.f.close()


