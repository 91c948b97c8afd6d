"""IEEE 802.1Q / 802.1ad / QinQ tags (TPID 0x8100, 0x88A8, 0x9100): PCP, DEI, VID.

The tag is the 4 bytes after the TPID the previous layer dispatched on: 3 bits of
priority (PCP), the drop-eligible bit (DEI, formerly CFI), 12 bits of VLAN id, then
the inner EtherType (or an 802.3 length, followed by LLC). Stacked tags simply
dispatch again on the EtherType table, giving tshark's "vlan:ethertype:vlan".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, LazyLayer, Next, Result, _next, quick_fields
from pcapkit.fields import FieldSpec
from pcapkit.proto.consts import ETHERTYPE_8021AD, ETHERTYPE_MIN
from pcapkit.proto.vlan import HEADER, IEEE8021AD

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    FieldSpec("vlan.trailer", "bytes", doc="trailer after the payload"),
    *IEEE8021AD.specs,
)

_TYPE = HEADER.units("vlan.etype")
_TYPE_AT = HEADER["vlan.etype"].off
_TAG = HEADER.unpacker("vlan.priority", "vlan.dei", "vlan.id", "vlan.etype")
_TAG_8021AD = IEEE8021AD.unpacker("ieee8021ad.priority", "ieee8021ad.dei", "ieee8021ad.id", "ieee8021ad.etype")


def dissect_vlan(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    # tshark calls an 802.1ad (TPID 0x88A8) tag "ieee8021ad" with fields of its own
    parent = ctx.layers[-1] if ctx.layers else None
    tpid = _tpid(parent)
    if tpid == ETHERTYPE_8021AD:
        return _dissect_8021ad(data, offset, end, ctx)
    layer = Layer("vlan", offset)
    if end - offset < HEADER.min_len:
        layer.length = max(0, end - offset)
        if ctx.reported_end - offset < HEADER.min_len:
            layer.malformed(offset, "802.1Q tag shorter than 4 bytes")
        else:
            layer.truncated(end, "captured bytes end inside the 802.1Q tag")
        return layer, None
    etype, = _TYPE(data, offset)
    if etype >= ETHERTYPE_MIN:
        # fields and summary on first access
        return (LazyLayer("vlan", offset, 4, _decode_tag, (data,)),
                _next(Next, ("ethertype", etype, offset + 4, end, None)))
    _decode_tag(layer, data)
    layer.length = 4
    layer.add("vlan.len", etype)
    payload_end = offset + 4 + etype
    if payload_end > ctx.reported_end:
        layer.malformed(offset + _TYPE_AT, f"length {etype} runs past the end of the frame")
    ctx.extra.setdefault("pdu_end", min(payload_end, ctx.reported_end))
    return layer, Next("llc", 0, offset + 4, min(end, payload_end), min(payload_end, ctx.reported_end))


def _decode_tag(layer: Layer, data: bytes) -> None:
    """PCP, DEI, VID (and the inner EtherType) of an 802.1Q tag, with its summary."""
    pcp, dei, vid, etype = _TAG(data, layer.offset)
    f = layer._fields
    f["vlan.priority"] = pcp
    f["vlan.dei"] = dei
    f["vlan.id"] = vid
    if etype >= ETHERTYPE_MIN:
        f["vlan.etype"] = etype
    layer._summary = f"vlan {vid}, p {pcp}{', DEI' if dei else ''}"


quick_fields(_decode_tag, HEADER.getters("vlan.priority", "vlan.id", "vlan.etype"))

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
    if end - offset < IEEE8021AD.min_len:
        layer.length = max(0, end - offset)
        layer.truncated(end, "captured bytes end inside the 802.1ad tag")
        return layer, None
    pcp, dei, vid, etype = _TAG_8021AD(data, offset)
    layer.add("ieee8021ad.priority", pcp)
    layer.add("ieee8021ad.dei", dei)
    layer.add("ieee8021ad.id", vid)
    layer.length = IEEE8021AD.min_len
    layer.summary = f"vlan {vid}, p {pcp}"
    return layer, Next("ethertype", etype, offset + IEEE8021AD.min_len, end)
