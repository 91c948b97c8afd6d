"""Live packets into capture files: pcap or pcapng, with tcpdump's rotation (-C, -G),
written so that a full disk leaves every complete record readable.

Records are encoded by the writers (:mod:`pcapkit.capture.writer`) and handed whole to a
:class:`RecordSink`, which cuts the file back to the last complete record when a
write fails.
"""

from __future__ import annotations

import contextlib
import os
import time
from itertools import accumulate

from pcapkit.capture.live import CaptureStats
from pcapkit.capture.tpacket import Record
from pcapkit.capture.writer import PcapngWriter, PcapWriter
from pcapkit.errors import CaptureWriteError
from pcapkit.frame import Frame


class RecordSink:
    """A binary file that takes whole records (one ``write`` call each, as the pcap and
    pcapng writers make them) and, if writing fails (disk full), cuts the file back to
    its last complete record so that what was written stays readable."""

    def __init__(self, path: str, *, buffer_bytes: int = 1 << 20, flush_seconds: float = 0.05,
                 packet_buffered: bool = False) -> None:
        self.path = path
        if path == "-":
            self.fd = os.dup(1)
        else:
            try:
                self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            except OSError as exc:
                raise CaptureWriteError(f"{path}: {exc.strerror}") from None
        self.seekable = path != "-" and os.path.isfile(path)
        self.committed = 0          # bytes on disk that end at a record boundary
        self._buf: list[bytes] = []
        self._ends: list[int] = []
        self._buffered = 0
        # bytes are written out when the buffer is full, when flush_seconds passed since the
        # last write-out (a killed capture loses at most that much), or at once with
        # packet_buffered (tcpdump -U; the default for standard output)
        self._limit = 0 if packet_buffered else buffer_bytes
        self._flush_seconds = flush_seconds
        self._flushed_at = time.monotonic()
        self.failed: OSError | None = None

    @property
    def size(self) -> int:
        """Bytes written so far, buffered ones included."""
        return self.committed + self._buffered

    def write(self, record: bytes) -> int:
        """Append one whole record."""
        return self.write_records(bytes(record), (len(record),))

    def write_records(self, blob: bytes, ends: tuple[int, ...] | list[int]) -> int:
        """Append several records at once; ``ends`` are the offsets in ``blob`` where each
        record ends (so a failed write can be cut back to a record boundary)."""
        if self.failed is not None:
            raise self.failed
        base = self._buffered
        self._buf.append(blob)
        self._ends.extend(base + e for e in ends)
        self._buffered += len(blob)
        if self._buffered >= self._limit or time.monotonic() - self._flushed_at >= self._flush_seconds:
            self.flush()
        return len(blob)

    def tick(self) -> None:
        """Write out what is buffered when ``flush_seconds`` have passed (call it while
        no packets arrive)."""
        if self._buffered and time.monotonic() - self._flushed_at >= self._flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self.failed is not None:
            raise self.failed
        self._flushed_at = time.monotonic()
        if not self._buf:
            return
        blob = memoryview(b"".join(self._buf))
        ends = self._ends
        self._buf = []
        self._ends = []
        self._buffered = 0
        done = 0
        try:
            while done < len(blob):
                done += os.write(self.fd, blob[done:])
        except OSError as exc:
            complete = max((e for e in ends if e <= done), default=0)
            if self.seekable:
                with contextlib.suppress(OSError):
                    os.ftruncate(self.fd, self.committed + complete)
            self.committed += complete
            self.failed = exc
            raise
        self.committed += done

    def close(self) -> None:
        try:
            if self.failed is None:
                self.flush()
        finally:
            if self.fd >= 0:
                os.close(self.fd)
                self.fd = -1


class CaptureOutput:
    """Write live frames to pcap or pcapng files (format by extension: ``.pcapng`` /
    ``.ntar`` give pcapng), with tcpdump's rotation: ``rotate_bytes`` (-C) starts
    FILE1, FILE2, ... when a file passes the size; ``rotate_seconds`` (-G) starts a new
    file every so many seconds, the name expanded with strftime like tcpdump.
    A pcapng file ends with an Interface Statistics Block (received, dropped)."""

    def __init__(self, path: str, *, linktype: int, snaplen: int, fmt: str | None = None,
                 rotate_bytes: int | None = None, rotate_seconds: float | None = None,
                 interface_name: str | None = None, nanosecond: bool = True,
                 packet_buffered: bool | None = None) -> None:
        self.template = path
        # tcpdump -U: every record written at once; the default when writing to a pipe
        self.packet_buffered = path == "-" if packet_buffered is None else packet_buffered
        self.linktype = linktype
        self.snaplen = snaplen
        if fmt is None:
            fmt = "pcapng" if path.endswith((".pcapng", ".ntar", ".pcapng.tmp")) else "pcap"
        self.fmt = fmt
        self.rotate_bytes = rotate_bytes
        self.rotate_seconds = rotate_seconds
        self.interface_name = interface_name
        self.nanosecond = nanosecond
        self.files: list[str] = []
        self.written = 0
        self._index = 0
        self._opened_at: float = 0.0
        self._sink: RecordSink | None = None
        self._writer: PcapWriter | PcapngWriter | None = None
        self._name_base = ""

    def _name(self) -> str:
        if self.template == "-":
            return "-"
        base = time.strftime(self.template) if self.rotate_seconds else self.template
        if self.rotate_bytes and self._index:
            return f"{base}{self._index}"
        return base

    def _open(self) -> None:
        name = self._name()
        self._sink = RecordSink(name, packet_buffered=self.packet_buffered)
        self.files.append(name)
        self._opened_at = time.monotonic()
        target = self._sink
        if self.fmt == "pcapng":
            w = PcapngWriter(target, snaplen=self.snaplen)  # type: ignore[arg-type]
            w.add_interface(self.linktype, snaplen=self.snaplen, name=self.interface_name)
            self._writer = w
        else:
            self._writer = PcapWriter(target, linktype=self.linktype,  # type: ignore[arg-type]
                                      snaplen=self.snaplen, nanosecond=self.nanosecond)

    def _close_file(self, stats: CaptureStats | None) -> None:
        if self._sink is None:
            return
        try:
            if stats is not None and isinstance(self._writer, PcapngWriter) and self._sink.failed is None:
                self._writer.write_statistics(0, time.time_ns(), ifrecv=stats.received,
                                              ifdrop=stats.dropped)
        finally:
            sink = self._sink
            self._sink = None
            self._writer = None
            sink.close()

    def write(self, frame: Frame) -> None:
        if self._sink is None:
            self._open()
        elif self.rotate_seconds and time.monotonic() - self._opened_at >= self.rotate_seconds:
            self._close_file(None)
            self._index = 0 if not self.rotate_bytes else self._index
            self._open()
        elif self.rotate_bytes and self._sink.size >= self.rotate_bytes:
            self._close_file(None)
            self._index += 1
            self._open()
        assert self._writer is not None
        self._writer.write(frame)
        self.written += 1

    def write_batch(self, batch: list[Record]) -> None:
        """Write a block of ``(ts_ns, caplen, wirelen, data)`` records in one go (no
        Frame objects); with size rotation, record by record. An empty block lets the
        file take what is buffered (see :meth:`RecordSink.tick`)."""
        if not batch:
            if self._sink is not None:
                try:
                    self._sink.tick()
                except OSError as exc:
                    raise CaptureWriteError(f"write failed: {exc.strerror or exc}") from None
            return
        if self._sink is None:
            self._open()
        elif self.rotate_seconds and time.monotonic() - self._opened_at >= self.rotate_seconds:
            self._close_file(None)
            self._open()
        if self.rotate_bytes:
            for ts, caplen, wirelen, data in batch:
                self.write(Frame(self.written + 1, ts, caplen, wirelen, self.linktype, 0, data))
            return
        assert self._sink is not None and self._writer is not None
        number = self.written
        records = []
        for ts, _caplen, wirelen, data in batch:
            number += 1
            records.append(self._writer.record(ts, data, wirelen, number=number))
        try:
            self._sink.write_records(b"".join(records), list(accumulate(map(len, records))))
        except OSError as exc:
            raise CaptureWriteError(f"write failed: {exc.strerror or exc}") from None
        self.written += len(batch)

    @property
    def failed(self) -> OSError | None:
        return self._sink.failed if self._sink is not None else None

    def close(self, stats: CaptureStats | None = None) -> None:
        if self._sink is None and not self.files:
            self._open()  # an empty capture still gives a valid (empty) file
        self._close_file(stats)
