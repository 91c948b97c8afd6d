"""IEEE 802.1Q / 802.1ad / QinQ tags (TPID 0x8100, 0x88A8, 0x9100): PCP, DEI, VID.

The tag is the 4 bytes after the TPID the previous layer dispatched on: 3 bits of
priority (PCP), the drop-eligible bit (DEI, formerly CFI), 12 bits of VLAN id, then
the inner EtherType (or an 802.3 length, followed by LLC). Stacked tags simply
dispatch again on the EtherType table, giving tshark's "vlan:ethertype:vlan".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, LazyLayer, Next, Result, _next, quick_fields
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("vlan.priority", "uint", 16, doc="priority code point (PCP)"),
    FieldSpec("vlan.dei", "bool", doc="drop eligible indicator"),
    FieldSpec("vlan.id", "uint", 16, doc="VLAN identifier"),
    FieldSpec("vlan.etype", "uint", 16, "hex", doc="inner EtherType"),
    FieldSpec("vlan.len", "uint", 16, doc="inner 802.3 length"),
    FieldSpec("vlan.trailer", "bytes", doc="trailer after the payload"),
    FieldSpec("ieee8021ad.priority", "uint", 16, doc="802.1ad priority"),
    FieldSpec("ieee8021ad.dei", "uint", 16, doc="802.1ad drop eligible"),
    FieldSpec("ieee8021ad.id", "uint", 16, doc="802.1ad VLAN id"),
)


def dissect_vlan(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    # tshark calls an 802.1ad (TPID 0x88A8) tag "ieee8021ad" with fields of its own
    parent = ctx.layers[-1] if ctx.layers else None
    tpid = _tpid(parent)
    if tpid == 0x88A8:
        return _dissect_8021ad(data, offset, end, ctx)
    layer = Layer("vlan", offset)
    if end - offset < 4:
        layer.length = max(0, end - offset)
        if ctx.reported_end - offset < 4:
            layer.malformed(offset, "802.1Q tag shorter than 4 bytes")
        else:
            layer.truncated(end, "captured bytes end inside the 802.1Q tag")
        return layer, None
    etype = (data[offset + 2] << 8) | data[offset + 3]
    if etype >= 0x0600:
        # fields and summary on first access
        return (LazyLayer("vlan", offset, 4, _decode_tag, (data,)),
                _next(Next, ("ethertype", etype, offset + 4, end, None)))
    _decode_tag(layer, data)
    layer.length = 4
    layer.add("vlan.len", etype)
    payload_end = offset + 4 + etype
    if payload_end > ctx.reported_end:
        layer.malformed(offset + 2, f"length {etype} runs past the end of the frame")
    ctx.extra.setdefault("pdu_end", min(payload_end, ctx.reported_end))
    return layer, Next("llc", 0, offset + 4, min(end, payload_end), min(payload_end, ctx.reported_end))


def _decode_tag(layer: Layer, data: bytes) -> None:
    """PCP, DEI, VID (and the inner EtherType) of an 802.1Q tag, with its summary."""
    offset = layer.offset
    tci = (data[offset] << 8) | data[offset + 1]
    etype = (data[offset + 2] << 8) | data[offset + 3]
    pcp, dei, vid = tci >> 13, bool(tci & 0x1000), tci & 0x0FFF
    f = layer._fields
    f["vlan.priority"] = pcp
    f["vlan.dei"] = dei
    f["vlan.id"] = vid
    if etype >= 0x0600:
        f["vlan.etype"] = etype
    layer._summary = f"vlan {vid}, p {pcp}{', DEI' if dei else ''}"


quick_fields(_decode_tag, {
    "vlan.priority": lambda d, o: d[o] >> 5,
    "vlan.id": lambda d, o: ((d[o] & 0x0F) << 8) | d[o + 1],
    "vlan.etype": lambda d, o: (d[o + 2] << 8) | d[o + 3],
})

# the field holding the TPID a tag was dispatched on, by the protocol of the layer before it
_TYPE_FIELD = {"vlan": "vlan.etype", "eth": "eth.type", "sll": "sll.etype"}


def _tpid(parent: Layer | None) -> int | None:
    if parent is None:
        return None
    name = _TYPE_FIELD.get(parent.protocol)
    if name is None:
        return None
    value = parent.get(name)  # a quick getter: the parent layer stays undecoded
    return value if isinstance(value, int) else None


def _dissect_8021ad(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("ieee8021ad", offset)
    if end - offset < 4:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the 802.1ad tag")
        return layer, None
    tci = int.from_bytes(data[offset:offset + 2], "big")
    etype = int.from_bytes(data[offset + 2:offset + 4], "big")
    layer.add("ieee8021ad.priority", tci >> 13)
    layer.add("ieee8021ad.dei", (tci >> 12) & 1)
    layer.add("ieee8021ad.id", tci & 0x0FFF)
    layer.length = 4
    layer.summary = f"vlan {tci & 0x0FFF}, p {tci >> 13}"
    return layer, Next("ethertype", etype, offset + 4, end)
