"""IPv4 header (RFC 791): the fixed 20 bytes; options follow up to ``ip.hdr_len``.

``ip.flags`` is the 3 flag bits shifted down (tshark prints "0x02"); ``ip.frag_offset`` is
in 8-byte units. A total length of 0 is taken as "what the frame holds" (TCP segmentation
offload), as tshark does.
"""

from __future__ import annotations

from pcapkit.proto.spec import Check, Dispatch, Field, Header, Length

HEADER = Header(
    "ip", 20, length=Length("ip.hdr_len"), pdu_len=("ip.len", 0), next=Dispatch("ip.proto", "ip.proto"),
    valid=(Check("ip.version == 4", "version is not 4"),
           Check("ip.hdr_len >= 20", "header length < 20"),
           Check("(ip.len >= ip.hdr_len) | (ip.len == 0)", "total length < header length (0: TSO)")),
    slow=(Check("ip.flags.mf | (ip.frag_offset != 0)", "a fragment: reassembled by the session"),),
    fields=(
        Field("ip.version", "uint", 0, 1, shift=4, doc="version (4)"),
        Field("ip.hdr_len", "uint", 0, 1, mask=0x0F, scale=4, doc="header length in bytes"),
        Field("ip.dsfield", "uint", 1, 1, base="hex", doc="differentiated services field"),
        Field("ip.dsfield.dscp", "uint", 1, 1, shift=2, doc="DSCP"),
        Field("ip.dsfield.ecn", "uint", 1, 1, mask=0x03, doc="ECN"),
        Field("ip.len", "uint", 2, 2, doc="total length"),
        Field("ip.id", "uint", 4, 2, base="hex", doc="identification"),
        Field("ip.flags", "uint", 6, 2, shift=13, mask=0x7, base="hex", bits=8, doc="flags (3 bits)"),
        Field("ip.flags.rb", "bool", 6, 2, mask=0x8000, doc="reserved (evil) bit"),
        Field("ip.flags.df", "bool", 6, 2, mask=0x4000, doc="don't fragment"),
        Field("ip.flags.mf", "bool", 6, 2, mask=0x2000, doc="more fragments"),
        Field("ip.frag_offset", "uint", 6, 2, mask=0x1FFF, doc="fragment offset (8-byte units)"),
        Field("ip.ttl", "uint", 8, 1, doc="time to live"),
        Field("ip.proto", "uint", 9, 1, doc="protocol"),
        Field("ip.checksum", "uint", 10, 2, base="hex", doc="header checksum"),
        Field("ip.src", "ipv4", 12, 4, doc="source address"),
        Field("ip.dst", "ipv4", 16, 4, doc="destination address"),
    ))

# the bits of the flags/fragment-offset word that make a datagram a fragment (MF, offset)
FRAGMENT_BITS = HEADER.span_mask("ip.frag_offset", "ip.flags.mf", "ip.frag_offset")
FRAGMENT_UNIT = 8  # ip.frag_offset counts 8-byte units
# ip.version and ip.hdr_len of each value of the first byte (for the per-packet hot path)
VERSION_OF_BYTE0 = HEADER.byte_table("ip.version")
HDR_LEN_OF_BYTE0 = HEADER.byte_table("ip.hdr_len")
