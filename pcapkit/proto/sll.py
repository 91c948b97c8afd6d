"""Linux "cooked" capture headers: SLL (LINKTYPE_LINUX_SLL 113) and SLL2 (276).

SLL:  packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2) = 16 bytes.
SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1) address length(1)
      address(8) = 20 bytes.
The protocol is an EtherType from 0x0600 on (``sll.etype``), else a Linux protocol type
(``sll.ltype``: 0x0004 = 802.2 LLC, 0x0001 = 802.3 Novell, ...). tshark names the address
by its kind and length (``sll.src.eth``, ``sll.src.ipv4``, ``sll.src.other``), so its span is
declared without a FieldSpec.
"""

from __future__ import annotations

from pcapkit.proto.spec import Dispatch, Field, Header

_PKTTYPE = "packet type (0 to us, 4 outgoing, ...)"

HEADER = Header("sll", 16, length=16, next=Dispatch("ethertype", "sll.etype"), fields=(
    Field("sll.pkttype", "uint", 0, 2, doc=_PKTTYPE),
    Field("sll.hatype", "uint", 2, 2, doc="ARPHRD_ link-layer address type"),
    Field("sll.halen", "uint", 4, 2, doc="link-layer address length"),
    Field("sll.address", "bytes", 6, 8, doc="link-layer address (8 bytes, halen of them used)", export=False),
    Field("sll.ltype", "uint", 14, 2, base="hex", doc="Linux protocol type"),
    Field("sll.etype", "uint", 14, 2, base="hex", doc="EtherType"),
))

SLL2 = Header("sll", 20, length=20, next=Dispatch("ethertype", "sll.etype"), fields=(
    Field("sll.ltype", "uint", 0, 2, base="hex", doc="Linux protocol type"),
    Field("sll.etype", "uint", 0, 2, base="hex", doc="EtherType"),
    Field("sll.ifindex", "uint", 4, 4, doc="interface index (SLL2)"),
    Field("sll.hatype", "uint", 8, 2, doc="ARPHRD_ link-layer address type"),
    Field("sll.pkttype", "uint", 10, 1, bits=16, doc=_PKTTYPE),
    Field("sll.halen", "uint", 11, 1, bits=16, doc="link-layer address length"),
    Field("sll.address", "bytes", 12, 8, doc="link-layer address (8 bytes, halen of them used)", export=False),
))

ADDRESS_BYTES = 8
ARPHRD_NETLINK = 824  # a netlink header follows, not an EtherType-typed payload
ETHER_HATYPES = frozenset({1, 6, 772, 801, 802, 803, 804, 824})  # ARPHRD_ETHER, IEEE802, LOOPBACK, ...
IPV4_HATYPES = frozenset({768, 778})  # ARPHRD_TUNNEL (IPIP), ARPHRD_IPGRE
LTYPE_LLC = 0x0004
