"""UDP header (RFC 768). ``udp.length`` counts the header and the data; tshark's rules for a
length under 8 (IPv6 jumbograms use 0) or beyond the IP payload are in the dissector."""

from __future__ import annotations

from pcapkit.proto.spec import Dispatch, Field, Header

HEADER = Header("udp", 8, length=8, pdu_len=("udp.length", 0),
                next=Dispatch("udp.port", ("udp.srcport", "udp.dstport")), fields=(
    Field("udp.srcport", "uint", 0, 2, doc="Source Port"),
    Field("udp.dstport", "uint", 2, 2, doc="Destination Port"),
    Field("udp.length", "uint", 4, 2, doc="Length in octets including this header and the data"),
    Field("udp.checksum", "uint", 6, 2, base="hex", doc="Checksum"),
))
