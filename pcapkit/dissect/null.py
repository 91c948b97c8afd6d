"""BSD loopback encapsulation: LINKTYPE_NULL (0, host byte order) and LINKTYPE_LOOP (108,
network byte order). A 4-byte address family: 2 = IPv4; 24, 28, 30 (BSDs) and 10 (Linux)
= IPv6. Like tshark, a LINKTYPE_NULL value that only makes sense byte-swapped (low 16
bits zero) is read the other way round.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("null.family", "uint", 32, doc="address family"),
    FieldSpec("null.type", "uint", 16, "hex", doc="EtherType (when the header is one)"),
)

AF_IPV4 = 2
AF_IPV6 = frozenset({10, 24, 28, 30})


def _dissect(data: bytes, offset: int, end: int, ctx: Context, big: bool) -> Result:
    layer = Layer("null", offset)
    if end - offset < 4:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the 4-byte loopback header")
        return layer, None
    raw = data[offset:offset + 4]
    value = int.from_bytes(raw, "big" if big else "little")
    if value & 0xFFFF0000 and not value & 0x0000FFFF:
        value = int.from_bytes(raw, "little" if big else "big")
    layer.length = 4
    if value > 0xFFFF or (value > 1500 and value >= 0x0600):
        # an EtherType in the first two bytes (some old captures)
        etype = int.from_bytes(raw[:2], "big")
        layer.add("null.type", etype)
        layer.length = 2
        return layer, Next("ethertype", etype, offset + 2, end)
    layer.add("null.family", value)
    if value == AF_IPV4:
        layer.summary = "AF IPv4 (2)"
        return layer, Next("null.family", 4, offset + 4, end)
    if value in AF_IPV6:
        layer.summary = f"AF IPv6 ({value})"
        return layer, Next("null.family", 6, offset + 4, end)
    layer.summary = f"AF {value}"
    return layer, Next("null.family", value, offset + 4, end)


def dissect_null(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    # host byte order of the capturing machine: little-endian nearly always; the swap
    # test above handles big-endian captures
    return _dissect(data, offset, end, ctx, big=False)


def dissect_loop(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return _dissect(data, offset, end, ctx, big=True)
