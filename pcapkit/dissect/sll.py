"""Linux "cooked" capture headers: SLL (LINKTYPE_LINUX_SLL 113) and SLL2 (276); the layout
is declared in :mod:`pcapkit.proto.sll`.

The protocol is an EtherType, except for ARPHRD values that carry other things
(``sll.ltype``: 0x0004 = 802.2 LLC, 0x0001 = 802.3 Novell, ...).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec, ether_text, ipv4_text
from pcapkit.proto.consts import ETHERTYPE_MIN
from pcapkit.proto.sll import ADDRESS_BYTES, ETHER_HATYPES, HEADER, IPV4_HATYPES, LTYPE_LLC, SLL2

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    FieldSpec("sll.src.eth", "ether", doc="source MAC"),
    FieldSpec("sll.src.ipv4", "ipv4", doc="source IPv4 (tunnels)"),
    FieldSpec("sll.src.other", "bytes", doc="source link-layer address"),
    FieldSpec("sll.unused", "bytes", doc="unused address bytes"),
    *(spec for spec in SLL2.specs if spec.name not in HEADER),
    FieldSpec("sll.trailer", "bytes", doc="trailer after the payload"),
)

_PKTTYPES = {0: "In", 1: "B", 2: "M", 3: "P", 4: "Out"}
_SLL = HEADER.unpacker("sll.pkttype", "sll.hatype", "sll.halen", "sll.address", "sll.etype")
_SLL2 = SLL2.unpacker("sll.pkttype", "sll.hatype", "sll.halen", "sll.address", "sll.etype", "sll.ifindex")


def _address(layer: Layer, hatype: int, halen: int, addr: bytes) -> None:
    n = min(halen, ADDRESS_BYTES)
    if hatype in ETHER_HATYPES and halen == 6:
        layer.add("sll.src.eth", ether_text(addr[:6]))
    elif hatype in IPV4_HATYPES and halen == 4:
        layer.add("sll.src.ipv4", ipv4_text(addr))
    elif n:
        layer.add("sll.src.other", bytes(addr[:n]))
    if n < ADDRESS_BYTES:
        layer.add("sll.unused", bytes(addr[n:ADDRESS_BYTES]))


def _protocol(layer: Layer, proto: int, payload: int, end: int) -> Next | None:
    if proto >= ETHERTYPE_MIN:
        layer.add("sll.etype", proto)
        return Next("ethertype", proto, payload, end)
    layer.add("sll.ltype", proto)
    if proto == LTYPE_LLC:
        return Next("llc", 0, payload, end)
    return Next("sll.ltype", proto, payload, end)


def dissect_sll(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("sll", offset)
    if end - offset < HEADER.min_len:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the SLL header")
        return layer, None
    pkttype, hatype, halen, addr, proto = _SLL(data, offset)
    layer.add("sll.pkttype", pkttype)
    layer.add("sll.hatype", hatype)
    layer.add("sll.halen", halen)
    _address(layer, hatype, halen, addr)
    layer.length = HEADER.min_len
    layer.summary = _PKTTYPES.get(pkttype, str(pkttype))
    return layer, _protocol(layer, proto, offset + HEADER.min_len, end)


def dissect_sll2(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("sll", offset)
    if end - offset < SLL2.min_len:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the SLL2 header")
        return layer, None
    pkttype, hatype, halen, addr, proto, ifindex = _SLL2(data, offset)
    layer.add("sll.pkttype", pkttype)
    layer.add("sll.hatype", hatype)
    layer.add("sll.halen", halen)
    _address(layer, hatype, halen, addr)
    layer.add("sll.ifindex", ifindex)
    layer.length = SLL2.min_len
    layer.summary = _PKTTYPES.get(pkttype, str(pkttype))
    return layer, _protocol(layer, proto, offset + SLL2.min_len, end)
