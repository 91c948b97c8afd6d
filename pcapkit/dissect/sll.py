"""Linux "cooked" capture headers: SLL (LINKTYPE_LINUX_SLL 113) and SLL2 (276).

SLL:  packet type(2) ARPHRD type(2) address length(2) address(8) protocol(2) = 16 bytes.
SLL2: protocol(2) reserved(2) ifindex(4) ARPHRD type(2) packet type(1) address length(1)
      address(8) = 20 bytes.
The protocol is an EtherType, except for ARPHRD values that carry other things
(``sll.ltype``: 0x0004 = 802.2 LLC, 0x0001 = 802.3 Novell, ...).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("sll.pkttype", "uint", 16, doc="packet type (0 to us, 4 outgoing, ...)"),
    FieldSpec("sll.hatype", "uint", 16, doc="ARPHRD_ link-layer address type"),
    FieldSpec("sll.halen", "uint", 16, doc="link-layer address length"),
    FieldSpec("sll.src.eth", "ether", doc="source MAC"),
    FieldSpec("sll.src.ipv4", "ipv4", doc="source IPv4 (tunnels)"),
    FieldSpec("sll.src.other", "bytes", doc="source link-layer address"),
    FieldSpec("sll.unused", "bytes", doc="unused address bytes"),
    FieldSpec("sll.ltype", "uint", 16, "hex", doc="Linux protocol type"),
    FieldSpec("sll.etype", "uint", 16, "hex", doc="EtherType"),
    FieldSpec("sll.ifindex", "uint", 32, doc="interface index (SLL2)"),
    FieldSpec("sll.trailer", "bytes", doc="trailer after the payload"),
)

_ETHER_HATYPES = {1, 6, 772, 801, 802, 803, 804, 824}  # ARPHRD_ETHER, IEEE802, LOOPBACK, ...
_PKTTYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}


def _address(layer: Layer, hatype: int, halen: int, addr: bytes) -> None:
    n = min(halen, 8)
    if hatype in _ETHER_HATYPES and halen == 6:
        layer.add("sll.src.eth", addr[:6].hex(":"))
    elif hatype in (768, 778) and halen == 4:  # IPIP tunnel, GRE
        layer.add("sll.src.ipv4", ".".join(str(b) for b in addr[:4]))
    elif n:
        layer.add("sll.src.other", bytes(addr[:n]))
    if n < 8:
        layer.add("sll.unused", bytes(addr[n:8]))


def _protocol(layer: Layer, proto: int, payload: int, end: int) -> Next | None:
    if proto >= 0x0600:
        layer.add("sll.etype", proto)
        return Next("ethertype", proto, payload, end)
    layer.add("sll.ltype", proto)
    if proto == 0x0004:
        return Next("llc", 0, payload, end)
    return Next("sll.ltype", proto, payload, end)


def dissect_sll(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("sll", offset)
    if end - offset < 16:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the SLL header")
        return layer, None
    h = data[offset:offset + 16]
    pkttype = int.from_bytes(h[0:2], "big")
    hatype = int.from_bytes(h[2:4], "big")
    halen = int.from_bytes(h[4:6], "big")
    proto = int.from_bytes(h[14:16], "big")
    layer.add("sll.pkttype", pkttype)
    layer.add("sll.hatype", hatype)
    layer.add("sll.halen", halen)
    _address(layer, hatype, halen, h[6:14])
    layer.length = 16
    layer.summary = _PKTTYPES.get(pkttype, str(pkttype))
    return layer, _protocol(layer, proto, offset + 16, end)


def dissect_sll2(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("sll", offset)
    if end - offset < 20:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the SLL2 header")
        return layer, None
    h = data[offset:offset + 20]
    proto = int.from_bytes(h[0:2], "big")
    ifindex = int.from_bytes(h[4:8], "big")
    hatype = int.from_bytes(h[8:10], "big")
    pkttype = h[10]
    halen = h[11]
    layer.add("sll.pkttype", pkttype)
    layer.add("sll.hatype", hatype)
    layer.add("sll.halen", halen)
    _address(layer, hatype, halen, h[12:20])
    layer.add("sll.ifindex", ifindex)
    layer.length = 20
    layer.summary = _PKTTYPES.get(pkttype, str(pkttype))
    return layer, _protocol(layer, proto, offset + 20, end)
