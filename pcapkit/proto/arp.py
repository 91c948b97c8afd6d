"""ARP and RARP (RFC 826, RFC 903): 8 fixed bytes, then sender and target hardware and
protocol addresses of the sizes the header states (``8 + 2 * hw.size + 2 * proto.size``)."""

from __future__ import annotations

from typing import Any

from pcapkit.fields import FieldSpec
from pcapkit.proto.spec import Field, Header

HEADER = Header("arp", 8, length=8, fields=(
    Field("arp.hw.type", "uint", 0, 2, doc="hardware type (1 = Ethernet)"),
    Field("arp.proto.type", "uint", 2, 2, base="hex", doc="protocol type"),
    Field("arp.hw.size", "uint", 4, 1, doc="hardware address size"),
    Field("arp.proto.size", "uint", 5, 1, doc="protocol address size"),
    Field("arp.opcode", "uint", 6, 2, doc="1 request, 2 reply, 3/4 RARP"),
))
# the addresses after the fixed part, when they are IPv4 (protocol type 0x0800, size 4)
DERIVED: tuple[FieldSpec, ...] = (
    FieldSpec("arp.src.proto_ipv4", "ipv4", doc="sender IPv4 address"),
    FieldSpec("arp.dst.proto_ipv4", "ipv4", doc="target IPv4 address"),
)
IPV4_SIZE = 4  # protocol address size of IPv4
ETHER_HW_TYPES = (1, 6)  # Ethernet, IEEE 802 (Wireshark's ARP_HW_IS_ETHER with 6-byte addresses)


def total_length(hw_size: Any, proto_size: Any) -> Any:
    """Bytes of a whole ARP packet; works on ints and arrays."""
    return 8 + 2 * hw_size + 2 * proto_size


def address_offsets(hw_size: Any, proto_size: Any) -> tuple[Any, Any, Any, Any]:
    """Offsets of the sender hardware, sender protocol, target hardware and target protocol
    addresses from the start of the packet; works on ints and arrays."""
    sha = 8
    spa = sha + hw_size
    tha = spa + proto_size
    return sha, spa, tha, tha + hw_size
