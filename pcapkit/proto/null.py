"""BSD loopback encapsulation: LINKTYPE_NULL (0, the family in host byte order) and
LINKTYPE_LOOP (108, network byte order): a 4-byte address family (2 IPv4; 24, 28, 30 on the
BSDs and 10 on Linux IPv6). Some old captures carry an EtherType in the first 2 bytes."""

from __future__ import annotations

from pcapkit.proto.consts import AF_IPV4, AF_IPV6
from pcapkit.proto.spec import Field, Header

HEADER = Header("null", 4, length=4, fields=(
    Field("null.family", "uint", 0, 4, doc="address family"),
    Field("null.type", "uint", 0, 2, base="hex", doc="EtherType (when the header is one)"),
))


def swap32(value: int) -> int:
    """The 32-bit value read in the other byte order."""
    return int.from_bytes(value.to_bytes(4, "big"), "little")


def family(value: int, big_endian: bool) -> int:
    """The address family of the 4 header bytes read big-endian as ``value``, for a capture
    in ``big_endian`` order or not; like tshark, a value that only makes sense byte-swapped
    (its low 16 bits zero) is read the other way round. Works on ints only."""
    if not big_endian:
        value = swap32(value)
    if value & 0xFFFF0000 and not value & 0x0000FFFF:
        value = swap32(value)
    return value


def is_ethertype(value: int) -> bool:
    """The header is an EtherType in its first two bytes, not a family."""
    return value > 0xFFFF or value >= 0x0600


__all__ = ["AF_IPV4", "AF_IPV6", "HEADER", "family", "is_ethertype", "swap32"]
