"""Sun snoop files (RFC 1761), read as Wireshark reads them."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

from pcapkit.capture.linktypes import max_snaplen
from pcapkit.capture.reader import ByteSource, CaptureReader, Interface, Section
from pcapkit.errors import (
    MalformedRecordError,
    TruncatedFileError,
    UnknownLinkTypeError,
    UnsupportedVersionError,
)
from pcapkit.frame import Frame

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
