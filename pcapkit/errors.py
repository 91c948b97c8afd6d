"""Every error pcapkit raises on purpose, in one tree.

::

    PcapkitError                      base: catch this to catch anything pcapkit raises on purpose
    ├── CaptureFileError              a capture file cannot be read (from the start or further on)
    │   ├── UnknownFormatError        the magic number is not pcap, pcapng or gzip
    │   ├── UnsupportedVersionError   a pcap/pcapng version this reader does not know
    │   ├── TruncatedFileError        the file ends inside a header or a record
    │   ├── MalformedRecordError      a record contradicts itself (lengths disagree, absurd caplen)
    │   └── UnknownLinkTypeError      a link type we do not decode (reported by number and name)
    ├── CaptureWriteError             a capture file cannot be written (disk full, bad arguments)
    ├── OutputError                   a report cannot be written where asked (no such directory, ...)
    ├── FilterError                   a tcpdump filter expression does not compile
    ├── LiveCaptureError              live capture failed (no interface, interface down, permission)
    │   └── CapturePermissionError    not root / no CAP_NET_RAW
    └── LimitExceeded                 a request that cannot be met within a limit, refused up front

Errors about a file carry ``path`` and ``offset`` (the byte offset in the decompressed
stream where the problem is), so the CLI can print one line: ``FILE: offset N: reason``.

A limit that cuts work (pending IP fragments' bytes, layers per frame, conversations,
unacknowledged segments per direction) is not an error either: the work goes on within it,
and the cut is a NOTE finding on the frame or a warning in the report's
``attrs["warnings"]``, which the commands print. :class:`LimitExceeded` is for a request
whose answer cannot fit a limit at all (``iostat`` at an interval that makes more rows
than ``max_rows``): it is raised before the work, naming what would fit.

A damaged file read through the DataFrame API (:func:`pcapkit.read_packets`,
:func:`pcapkit.iter_batches`) delivers every readable packet and then issues a
:class:`CaptureDamagedWarning` (a ``UserWarning``) with the same one-line text, as
:func:`pcapkit.open_capture` keeps it in ``reader.warnings``; ``strict=True`` raises instead.

Bad *packets* are not errors: dissectors attach findings (truncated, malformed,
checksum bad) to the layer records instead. Bugs in pcapkit itself still raise
ordinary Python exceptions.
"""

from __future__ import annotations


class PcapkitError(Exception):
    """Base of every error pcapkit raises on purpose."""


class CaptureFileError(PcapkitError):
    """A capture file cannot be read, from the start or from some offset on."""

    def __init__(self, reason: str, *, path: str | None = None, offset: int | None = None) -> None:
        self.reason = reason
        self.path = path
        self.offset = offset
        # raised after the file header was read: the packets before it are readable
        self.after_header = False
        super().__init__(self.one_line())

    def one_line(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if self.offset is not None:
            parts.append(f"offset {self.offset}")
        parts.append(self.reason)
        return ": ".join(parts)


class UnknownFormatError(CaptureFileError):
    """The file's magic number is not one of pcap, pcapng or gzip."""


class UnsupportedVersionError(CaptureFileError):
    """A pcap or pcapng version this reader does not know how to read."""


class TruncatedFileError(CaptureFileError):
    """The file ends in the middle of a header or a record."""


class MalformedRecordError(CaptureFileError):
    """A record contradicts itself: length fields disagree, caplen is absurd, ..."""


class UnknownLinkTypeError(CaptureFileError):
    """A link type pcapkit does not decode; the message names its number and name."""


class CaptureWriteError(PcapkitError):
    """A capture file cannot be written."""


class OutputError(PcapkitError):
    """A report cannot be written where it was asked to go: a missing directory, a
    directory given as a file, no permission, a format its extension contradicts, a write
    error (disk full)."""


class FilterError(PcapkitError):
    """A tcpdump filter expression does not compile (libpcap's message)."""


class LiveCaptureError(PcapkitError):
    """Live capture failed: no such interface, interface down, ..."""


class CapturePermissionError(LiveCaptureError):
    """Capturing needs root or CAP_NET_RAW."""


class LimitExceeded(PcapkitError):
    """A request whose answer would pass a limit (rows of a table), refused before the work."""


class CaptureDamagedWarning(UserWarning):
    """A capture file was damaged after its header; the packets before the damage were
    delivered. The message is the error's one line (path, offset, reason)."""
