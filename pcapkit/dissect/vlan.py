"""IEEE 802.1Q / 802.1ad / QinQ tags (TPID 0x8100, 0x88A8, 0x9100): PCP, DEI, VID.

The tag is the 4 bytes after the TPID the previous layer dispatched on: 3 bits of
priority (PCP), the drop-eligible bit (DEI, formerly CFI), 12 bits of VLAN id, then
the inner EtherType (or an 802.3 length, followed by LLC). Stacked tags simply
dispatch again on the EtherType table, giving tshark's "vlan:ethertype:vlan".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
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
    tci = int.from_bytes(data[offset:offset + 2], "big")
    etype = int.from_bytes(data[offset + 2:offset + 4], "big")
    pcp, dei, vid = tci >> 13, bool(tci & 0x1000), tci & 0x0FFF
    layer.add("vlan.priority", pcp)
    layer.add("vlan.dei", dei)
    layer.add("vlan.id", vid)
    layer.length = 4
    layer.summary = f"vlan {vid}, p {pcp}{', DEI' if dei else ''}"
    if etype >= 0x0600:
        layer.add("vlan.etype", etype)
        return layer, Next("ethertype", etype, offset + 4, end)
    layer.add("vlan.len", etype)
    payload_end = offset + 4 + etype
    if payload_end > ctx.reported_end:
        layer.malformed(offset + 2, f"length {etype} runs past the end of the frame")
    ctx.extra.setdefault("pdu_end", min(payload_end, ctx.reported_end))
    return layer, Next("llc", 0, offset + 4, min(end, payload_end), min(payload_end, ctx.reported_end))


def _tpid(parent: Layer | None) -> int | None:
    if parent is None:
        return None
    for name in ("vlan.etype", "eth.type", "sll.etype"):
        value = parent.fields.get(name)
        if isinstance(value, int):
            return value
    return None


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
