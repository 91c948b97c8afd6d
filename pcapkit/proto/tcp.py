"""TCP header (RFC 9293): the fixed 20 bytes; options follow up to ``tcp.hdr_len``
(walked by :mod:`pcapkit.proto.tcp_options`).

Also the fields derived from the header that every path gives (``tcp.len``, the options'
values): their FieldSpecs are declared here, once.
"""

from __future__ import annotations

from pcapkit.fields import FieldSpec
from pcapkit.proto.consts import (
    TCP_ACK,
    TCP_AE,
    TCP_CWR,
    TCP_ECE,
    TCP_FIN,
    TCP_PSH,
    TCP_RES,
    TCP_RST,
    TCP_SYN,
    TCP_URG,
)
from pcapkit.proto.spec import Check, Dispatch, Field, Header, Length


def _flag(name: str, bit: int, doc: str) -> Field:
    return Field(f"tcp.flags.{name}", "bool", 12, 2, mask=bit, doc=doc)


HEADER = Header(
    "tcp", 20, length=Length("tcp.hdr_len"), next=Dispatch("tcp.payload", ("tcp.srcport", "tcp.dstport")),
    valid=(Check("tcp.hdr_len >= 20", "data offset < 5 words"),),
    fields=(
        Field("tcp.srcport", "uint", 0, 2, doc="Source Port"),
        Field("tcp.dstport", "uint", 2, 2, doc="Destination Port"),
        Field("tcp.seq_raw", "uint", 4, 4, doc="Sequence Number (raw)"),
        Field("tcp.ack_raw", "uint", 8, 4, doc="Acknowledgment Number (raw)"),
        Field("tcp.hdr_len", "uint", 12, 1, shift=4, scale=4, doc="Header Length in bytes"),
        Field("tcp.flags", "uint", 12, 2, mask=0xFFF, base="hex", doc="Flags (12 bits)"),
        _flag("res", TCP_RES, "Reserved"),
        _flag("ae", TCP_AE, "Accurate ECN"),
        _flag("cwr", TCP_CWR, "Congestion Window Reduced"),
        _flag("ece", TCP_ECE, "ECN-Echo"),
        _flag("urg", TCP_URG, "Urgent"),
        _flag("ack", TCP_ACK, "Acknowledgment"),
        _flag("push", TCP_PSH, "Push"),
        _flag("reset", TCP_RST, "Reset"),
        _flag("syn", TCP_SYN, "Syn"),
        _flag("fin", TCP_FIN, "Fin"),
        Field("tcp.window_size_value", "uint", 14, 2, doc="Window (unscaled header value)"),
        Field("tcp.checksum", "uint", 16, 2, base="hex", doc="Checksum"),
        Field("tcp.urgent_pointer", "uint", 18, 2, doc="Urgent Pointer"),
    ))
FLAG_NAMES = tuple(f.name for f in HEADER.fields if f.name.startswith("tcp.flags."))
HDR_LEN_AT = HEADER["tcp.hdr_len"].off  # the byte holding the data offset
HDR_LEN_OF_BYTE = HEADER.byte_table("tcp.hdr_len")  # tcp.hdr_len for each value of that byte

# values every path derives from the header (the segment length, the options)
DERIVED: tuple[FieldSpec, ...] = (
    FieldSpec("tcp.len", "uint", 32, doc="TCP Segment Len (reported)"),
    FieldSpec("tcp.options.mss_val", "uint", 16, doc="MSS Value"),
    FieldSpec("tcp.options.wscale.shift", "uint", 8, doc="Window scale shift count"),
    FieldSpec("tcp.options.wscale.multiplier", "uint", 16, doc="Multiplier (2^shift)"),
    FieldSpec("tcp.options.sack_le", "uint", 32, doc="SACK left edge (raw here)"),
    FieldSpec("tcp.options.sack_re", "uint", 32, doc="SACK right edge (raw here)"),
    FieldSpec("tcp.options.sack.count", "uint", 8, doc="Number of SACK blocks"),
    FieldSpec("tcp.options.timestamp.tsval", "uint", 32, doc="Timestamp value"),
    FieldSpec("tcp.options.timestamp.tsecr", "uint", 32, doc="Timestamp echo reply"),
)

# the packets table says whether the SACK-permitted option is there (tshark's field of that
# name holds the option's bytes, "0402", which no dissector here emits)
PRESENCE: tuple[FieldSpec, ...] = (
    FieldSpec("tcp.options.sack_perm", "bool", doc="SACK permitted option present"),
)
