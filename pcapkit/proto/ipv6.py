"""IPv6 header (RFC 8200): the fixed 40 bytes, and the length rule of the extension headers
(hop-by-hop, routing, destination options: ``(len + 1) * 8`` bytes; fragment: 8).

``ipv6.plen`` counts the bytes after the fixed header; 0 with a hop-by-hop Jumbo Payload
option is a jumbogram (RFC 2675), 0 otherwise "what the frame holds" (segmentation offload).
"""

from __future__ import annotations

from pcapkit.proto.consts import IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING
from pcapkit.proto.spec import Check, Dispatch, Field, Header, Length

HEADER = Header(
    "ipv6", 40, length=40, pdu_len=("ipv6.plen", 40), next=Dispatch("ip.proto", "ipv6.nxt"),
    valid=(Check("ipv6.version == 6", "version is not 6"),),
    fields=(
        Field("ipv6.version", "uint", 0, 1, shift=4, doc="version (6)"),
        Field("ipv6.tclass", "uint", 0, 4, shift=20, mask=0xFF, base="hex", doc="traffic class"),
        Field("ipv6.tclass.dscp", "uint", 0, 4, shift=22, mask=0x3F, doc="DSCP"),
        Field("ipv6.tclass.ecn", "uint", 0, 4, shift=20, mask=0x3, doc="ECN"),
        Field("ipv6.flow", "uint", 0, 4, mask=0xFFFFF, base="hex", bits=24, doc="flow label"),
        Field("ipv6.plen", "uint", 4, 2, doc="payload length"),
        Field("ipv6.nxt", "uint", 6, 1, doc="next header"),
        Field("ipv6.hlim", "uint", 7, 1, doc="hop limit"),
        Field("ipv6.src", "ipv6", 8, 16, doc="source address"),
        Field("ipv6.dst", "ipv6", 24, 16, doc="destination address"),
    ))
VERSION_OF_BYTE0 = HEADER.byte_table("ipv6.version")


# (len + 1) * 8 bytes: the same rule for every extension header with a length byte
EXT_LEN = Length("ipv6.hopopts.len", bias=1, scale=8)


def _options_header(proto: str) -> Header:
    """Hop-by-hop, destination options and routing headers share their first two bytes."""
    length = Length(f"{proto}.len", bias=EXT_LEN.bias, scale=EXT_LEN.scale)
    return Header(proto, 2, length=length, next=Dispatch("ipv6.ext", f"{proto}.nxt"), fields=(
        Field(f"{proto}.nxt", "uint", 0, 1, doc="next header"),
        Field(f"{proto}.len", "uint", 1, 1, doc="length (8-octet units - 1)"),
    ))


HOPOPTS = _options_header("ipv6.hopopts")
DSTOPTS = _options_header("ipv6.dstopts")
_ROUTING_FIXED = (
    Field("ipv6.routing.nxt", "uint", 0, 1, doc="next header"),
    Field("ipv6.routing.len", "uint", 1, 1, doc="length (8-octet units - 1)"),
    Field("ipv6.routing.type", "uint", 2, 1, doc="routing type"),
    Field("ipv6.routing.segleft", "uint", 3, 1, doc="segments left"),
)


def _routing(min_len: int, *fields: Field) -> Header:
    """A routing header: the 4 bytes every type has, then the type's own fields."""
    length = Length("ipv6.routing.len", bias=EXT_LEN.bias, scale=EXT_LEN.scale)
    return Header("ipv6.routing", min_len, length=length, next=Dispatch("ipv6.ext", "ipv6.routing.nxt"),
                  fields=(*_ROUTING_FIXED, *fields))


ROUTING = _routing(4)
ROUTING_SOURCE_ROUTE, ROUTING_MIPV6, ROUTING_RPL, ROUTING_SRH = 0, 2, 3, 4
# the fields of each routing type that are at fixed offsets (tshark's names; those pcapkit
# does not show have no FieldSpec)
ROUTING_TYPES: dict[int, Header] = {
    ROUTING_SOURCE_ROUTE: _routing(8, Field("ipv6.routing.src.reserved", "bytes", 4, 4, doc="type 0 reserved")),
    ROUTING_MIPV6: _routing(24, Field("ipv6.routing.mipv6.reserved", "bytes", 4, 4, doc="type 2 reserved"),
                            Field("ipv6.routing.mipv6.home_address", "ipv6", 8, 16, doc="type 2 home address")),
    ROUTING_RPL: _routing(8, Field("ipv6.routing.rpl.cmprE", "uint", 4, 1, mask=0xF, export=False,
                                   doc="prefix bytes elided from the last address"),
                          Field("ipv6.routing.rpl.pad", "uint", 5, 1, shift=4, export=False,
                                doc="padding bytes after the last address")),
    ROUTING_SRH: _routing(24, Field("ipv6.routing.srh.addr", "bytes", 8, 16, export=False,
                                    doc="segment list[0], the final destination")),
}
ROUTING_ADDRESSES_AT = 8   # type 0 addresses and the compressed RPL ones start here
ADDRESS_BYTES = 16
FRAGMENT = Header("ipv6.fraghdr", 8, length=8, next=Dispatch("ipv6.ext", "ipv6.fraghdr.nxt"), fields=(
    Field("ipv6.fraghdr.nxt", "uint", 0, 1, doc="next header"),
    Field("ipv6.fraghdr.reserved_octet", "uint", 1, 1, base="hex", doc="reserved octet"),
    Field("ipv6.fraghdr.offset", "uint", 2, 2, shift=3, doc="fragment offset (8-byte units)"),
    Field("ipv6.fraghdr.reserved_bits", "uint", 2, 2, shift=1, mask=0x3, doc="reserved bits"),
    Field("ipv6.fraghdr.more", "bool", 2, 2, mask=0x1, doc="more fragments"),
    Field("ipv6.fraghdr.ident", "uint", 4, 4, base="hex", doc="identification"),
))

# the extension headers a packet's chain walks through, by next-header value
EXTENSIONS: dict[int, Header] = {IPPROTO_HOPOPTS: HOPOPTS, IPPROTO_ROUTING: ROUTING,
                                 IPPROTO_FRAGMENT: FRAGMENT, IPPROTO_DSTOPTS: DSTOPTS}
