"""IP over InfiniBand (RFC 4391; LINKTYPE_IPOIB = 242): a 40-byte pseudo header, then the
4-byte IPoIB header (EtherType, reserved).

The pseudo header is a Global Route Header when its first two bytes are not zero
(``ipoib.grh.*``: version, traffic class, flow label, source QPN and GID, destination
GID), else only the destination (``ipoib.daddr.qpn`` at bytes 21-23 and ``ipoib.dgid``
at 24-39). As tshark 4.0, only IPv4, IPv6, ARP and RARP payloads are handed on (with no
"ethertype" pseudo-protocol); any other type ends the frame without "data".
``summary`` is tcpdump's ``-e`` text, "IPOIB, ethertype IPv4 (0x0800)".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short, ethertype_text
from pcapkit.fields import FieldSpec, ipv6_text

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ipoib.daddr.qpn", "uint", 24, "hex", doc="destination queue pair number"),
    FieldSpec("ipoib.dgid", "ipv6", doc="destination global identifier"),
    FieldSpec("ipoib.grh.ipver", "uint", 8, doc="GRH IP version"),
    FieldSpec("ipoib.grh.tclass", "uint", 16, doc="GRH traffic class"),
    FieldSpec("ipoib.grh.flowlabel", "uint", 32, doc="GRH flow label"),
    FieldSpec("ipoib.grh.sqpn", "uint", 24, "hex", doc="source queue pair number"),
    FieldSpec("ipoib.grh.sgid", "ipv6", doc="source global identifier"),
    FieldSpec("ipoib.type", "uint", 16, "hex", doc="EtherType of the payload"),
    FieldSpec("ipoib.reserved", "uint", 16, "hex", doc="reserved"),
)

PSEUDO_LEN = 40
HEADER_LEN = PSEUDO_LEN + 4
_PAYLOADS = frozenset({0x0800, 0x86DD, 0x0806, 0x8035})


def dissect_ipoib(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("ipoib", offset)
    layer.summary = (f"IPOIB, ethertype {ethertype_text((data[offset + 40] << 8) | data[offset + 41])}"
                     if end - offset >= HEADER_LEN else "[|ipoib]")
    if end - offset < 2:
        cut_short(layer, offset, offset + 2, end, ctx, "IPoIB pseudo header")
        return layer, None
    # each field is added when its bytes are there (tshark stops at the first that is not)
    if data[offset] | data[offset + 1]:
        if not _grh(layer, data, offset, end, ctx):
            return layer, None
    else:
        if end - offset < 24:
            cut_short(layer, offset + 21, offset + 24, end, ctx, "IPoIB destination address")
            return layer, None
        layer.add("ipoib.daddr.qpn", int.from_bytes(data[offset + 21:offset + 24], "big"))
        if end - offset < PSEUDO_LEN:
            cut_short(layer, offset + 24, offset + PSEUDO_LEN, end, ctx, "IPoIB destination GID")
            return layer, None
        layer.add("ipoib.dgid", ipv6_text(data[offset + 24:offset + 40]))
    for name, start in (("ipoib.type", offset + 40), ("ipoib.reserved", offset + 42)):
        if end < start + 2:
            cut_short(layer, start, start + 2, end, ctx, "IPoIB header")
            return layer, None
        layer.add(name, (data[start] << 8) | data[start + 1])
    layer.length = HEADER_LEN
    etype = layer.fields["ipoib.type"]
    if etype not in _PAYLOADS:
        return layer, None  # tshark calls no dissector for other types, not even "data"
    return layer, Next("ipoib.type", etype, offset + HEADER_LEN, end)


def _grh(layer: Layer, data: bytes, offset: int, end: int, ctx: Context) -> bool:
    first = (data[offset] << 8) | data[offset + 1]  # two bytes are there (the caller checked)
    layer.add("ipoib.grh.ipver", first >> 12)
    layer.add("ipoib.grh.tclass", (first >> 4) & 0xFF)
    if end - offset < 4:
        cut_short(layer, offset + 2, offset + 4, end, ctx, "IPoIB global route header")
        return False
    layer.add("ipoib.grh.flowlabel", int.from_bytes(data[offset:offset + 4], "big") & 0xFFFFF)
    for name, start, size in (("ipoib.grh.sqpn", 5, 3), ("ipoib.grh.sgid", 8, 16), ("ipoib.dgid", 24, 16)):
        if end - offset < start + size:
            cut_short(layer, offset + start, offset + start + size, end, ctx, "IPoIB global route header")
            return False
        raw = data[offset + start:offset + start + size]
        layer.add(name, int.from_bytes(raw, "big") if size == 3 else ipv6_text(raw))
    return True
