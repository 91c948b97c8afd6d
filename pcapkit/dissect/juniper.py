"""Juniper Ethernet (LINKTYPE_JUNIPER_ETHER = 178): the JUNOS capture header, then Ethernet.

The header: the magic "MGC" (0x4d4743), a flags byte (bit 0 direction: 1 in, 0 out;
bit 1 no layer-2 header; bit 7 extensions), then with extensions a 2-byte total length
and TLVs (type, length, value; types below 128 little-endian, others big-endian; values
of 1-4 bytes, any other length reads as -1). Known TLVs become ``juniper.ext.*`` fields.
Without a layer-2 header the next 4 bytes name the payload (tshark uses their first
byte: 2 IPv4, 3 MPLS->IPv4, 5 MPLS, 6 IPv6, 7 MPLS->IPv6, 200 PPP, 202/203 LLC,
204 Ethernet, 208 Cisco HDLC). Without the magic, tshark notes it and decodes the whole
frame as Ethernet (``juniper.magic-number`` only, ``juniper.payload_type`` 204).

Differences left: tshark hands the Ethernet frame to its dissector *without FCS*; the
driver's trailer split (shared with LINKTYPE_ETHERNET) may call the last 4 bytes of a
padded frame of 64 bytes or more an ``eth.fcs`` where tshark shows ``eth.trailer``.

``summary`` is tcpdump's ``-e`` text: "Out hlen 22, proto 0x0000" (then tcpdump prints
the Ethernet header), "Out no-L2-hdr", or "no magic-number found!".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, FindingKind, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("juniper.magic-number", "uint", 24, "hex", doc="magic number (0x4d4743, \"MGC\")"),
    FieldSpec("juniper.direction", "uint", 8, "hex", doc="direction (0 out, 1 in)"),
    FieldSpec("juniper.l2hdr", "uint", 8, "hex", doc="layer-2 header stripped (1) or present (0)"),
    FieldSpec("juniper.ext_total_len", "uint", 16, doc="total length of the extension TLVs"),
    FieldSpec("juniper.ext.ifd", "uint", 32, doc="device interface index"),
    FieldSpec("juniper.ext.ifl", "uint", 32, doc="logical interface index"),
    FieldSpec("juniper.ext.unit", "uint", 32, doc="logical unit number"),
    FieldSpec("juniper.ext.ifmt", "uint", 32, doc="device media type"),
    FieldSpec("juniper.ext.ifle", "uint", 32, doc="logical interface encapsulation"),
    FieldSpec("juniper.ext.ttp_ifmt", "uint", 32, doc="TTP derived device media type"),
    FieldSpec("juniper.ext.ttp_ifle", "uint", 32, doc="TTP derived logical interface encapsulation"),
    FieldSpec("juniper.payload_type", "uint", 16, doc="payload protocol (204 Ethernet)"),
)

MAGIC = b"MGC"
FLAG_IN, FLAG_NO_L2, FLAG_EXT = 0x01, 0x02, 0x80
PROTO_ETHER = 204
_TLV_FIELDS = {1: "juniper.ext.ifd", 3: "juniper.ext.ifmt", 4: "juniper.ext.ifl", 5: "juniper.ext.unit",
               6: "juniper.ext.ifle", 7: "juniper.ext.ttp_ifmt", 8: "juniper.ext.ttp_ifle"}


def dissect_juniper_ether(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("juniper", offset)
    if end - offset < 4:
        cut_short(layer, offset, offset + 4, end, ctx, "Juniper header")
        layer.summary = "[|juniper_ether]"
        return layer, None
    flags = data[offset + 3]
    layer.add("juniper.magic-number", int.from_bytes(data[offset:offset + 3], "big"))
    if data[offset:offset + 3] != MAGIC:
        # old JUNOS releases wrote no header: tshark decodes the frame as Ethernet
        layer.finding(FindingKind.NOTE, offset, "no magic number: the frame is decoded as Ethernet")
        layer.summary = "no magic-number found!"
        layer.add("juniper.payload_type", PROTO_ETHER)
        return layer, Next("juniper.proto", PROTO_ETHER, offset, end)
    layer.add("juniper.direction", flags & FLAG_IN)
    layer.add("juniper.l2hdr", (flags & FLAG_NO_L2) >> 1)
    direction = f"{'In' if flags & FLAG_IN else 'Out':>3}"
    layer.summary = f"{direction}  [|juniper_ether]"  # until the header is complete
    hdr_len = 4
    if flags & FLAG_EXT:
        if end - offset < 6:
            cut_short(layer, offset + 4, offset + 6, end, ctx, "Juniper extension length")
            return layer, None
        total = (data[offset + 4] << 8) | data[offset + 5]
        layer.add("juniper.ext_total_len", total)
        hdr_len = 6 + total
        if not _extensions(layer, data, offset + 6, total, end, ctx):
            return layer, None
    layer.length = hdr_len
    if flags & FLAG_NO_L2:
        layer.summary = f"{direction} no-L2-hdr"
        start = offset + hdr_len
        if end - start < 4:
            cut_short(layer, start, start + 4, end, ctx, "Juniper payload type")
            return layer, None
        proto = data[start]
        layer.add("juniper.payload_type", proto)
        layer.length = hdr_len + 4
        return layer, Next("juniper.proto", proto, start + 4, end)
    layer.summary = f"{direction} hlen {hdr_len}, proto 0x0000"
    layer.add("juniper.payload_type", PROTO_ETHER)
    return layer, Next("juniper.proto", PROTO_ETHER, offset + hdr_len, end)


def _extensions(layer: Layer, data: bytes, pos: int, total: int, end: int, ctx: Context) -> bool:
    """The TLVs of ``total`` bytes at ``pos``; False when the bytes run out (tshark throws)."""
    while total > 2:
        if end - pos < 2:
            cut_short(layer, pos, pos + 2, end, ctx, "Juniper extension TLV")
            return False
        ext_type, ext_len = data[pos], data[pos + 1]
        if ext_len == 0 or ext_len > total - 2:
            break  # tshark's sanity check ends the TLVs
        value = -1
        if 1 <= ext_len <= 4:
            if end - pos < 2 + ext_len:
                cut_short(layer, pos + 2, pos + 2 + ext_len, end, ctx, "Juniper extension TLV")
                return False
            value = int.from_bytes(data[pos + 2:pos + 2 + ext_len], "little" if ext_type < 128 else "big")
        name = _TLV_FIELDS.get(ext_type)
        if name is not None:
            if end - pos < 2 + ext_len:
                cut_short(layer, pos + 2, pos + 2 + ext_len, end, ctx, "Juniper extension TLV")
                return False
            layer.add(name, value & 0xFFFFFFFF)  # -1 shows as 4294967295
        pos += 2 + ext_len
        total -= 2 + ext_len
    return True
