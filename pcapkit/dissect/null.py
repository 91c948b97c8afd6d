"""BSD loopback encapsulation: LINKTYPE_NULL (0, host byte order) and LINKTYPE_LOOP (108,
network byte order); the header and the byte-order rule are in :mod:`pcapkit.proto.null`.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec
from pcapkit.proto.null import AF_IPV4, AF_IPV6, HEADER, family, is_ethertype

FIELDS: tuple[FieldSpec, ...] = HEADER.specs

_FAMILY = HEADER.units("null.family")
_TYPE = HEADER.getter("null.type")


def _dissect(data: bytes, offset: int, end: int, ctx: Context, big: bool) -> Result:
    layer = Layer("null", offset)
    if end - offset < HEADER.min_len:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the 4-byte loopback header")
        return layer, None
    raw, = _FAMILY(data, offset)
    value = family(raw, big)
    layer.length = HEADER.min_len
    if is_ethertype(value):
        # an EtherType in the first two bytes (some old captures)
        etype = _TYPE(data, offset)
        layer.add("null.type", etype)
        layer.length = HEADER["null.type"].end
        return layer, Next("ethertype", etype, offset + layer.length, end)
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
    # test handles big-endian captures
    return _dissect(data, offset, end, ctx, big=False)


def dissect_loop(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return _dissect(data, offset, end, ctx, big=True)
