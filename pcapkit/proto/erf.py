"""The Endace ERF record header (16 bytes; LINKTYPE_ERF records in pcap and pcapng files
carry it whole, ERF files' readers strip it). Extension headers and the record type's
subheader follow; see :mod:`pcapkit.dissect.erf`."""

from __future__ import annotations

from pcapkit.proto.spec import Field, Header

HEADER = Header("erf", 16, length=16, fields=(
    Field("erf.ts", "uint", 0, 8, base="hex", doc="timestamp: seconds (upper 32 bits) and binary fraction"),
    Field("erf.types", "uint", 8, 1, base="hex", doc="record type byte"),
    Field("erf.types.type", "uint", 8, 1, mask=0x7F, doc="record type (bits 0-6)"),
    Field("erf.types.ext_header", "uint", 8, 1, shift=7, mask=0x1, doc="extension header present (bit 7)"),
    Field("erf.flags", "uint", 9, 1, base="hex", doc="flags byte"),
    Field("erf.flags.cap", "uint", 9, 1, mask=0x3, doc="capture interface (bits 0-1)"),
    Field("erf.flags.vlen", "uint", 9, 1, shift=2, mask=0x1, doc="varying record length"),
    Field("erf.flags.trunc", "uint", 9, 1, shift=3, mask=0x1, doc="truncated"),
    Field("erf.flags.rxe", "uint", 9, 1, shift=4, mask=0x1, doc="RX error"),
    Field("erf.flags.dse", "uint", 9, 1, shift=5, mask=0x1, doc="DS error"),
    Field("erf.flags.res", "uint", 9, 1, shift=6, mask=0x3, base="hex", doc="reserved bits 6-7"),
    Field("erf.rlen", "uint", 10, 2, doc="record length including the header"),
    Field("erf.lctr", "uint", 12, 2, doc="loss counter"),
    Field("erf.wlen", "uint", 14, 2, doc="wire length"),
))
EXT_HEADER_BYTES = 8     # each extension header
MAX_EXT_HEADERS = 16     # more are taken as corruption
MAX_SUBHEADER = 4        # the longest record-type subheader (multichannel)
