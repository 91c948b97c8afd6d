"""Ethernet II and IEEE 802.3 with 802.2 LLC / SNAP (LINKTYPE_ETHERNET = 1).

Ethernet II (type >= 0x0600) dispatches on the EtherType; a value <= 1500 is an
802.3 length followed by an LLC header; SNAP (DSAP=SSAP=0xAA, UI) carries an OUI and
a protocol id, dispatched on the EtherType table when the OUI is 0 (RFC 1042).
Bytes after the network-layer datagram become ``eth.padding`` (up to a 60-byte
frame), then ``eth.trailer`` / ``eth.fcs`` (see :func:`add_trailer`), as tshark does.
"""

from __future__ import annotations

from pcapkit.dissect.base import (
    Context,
    Layer,
    LazyLayer,
    Next,
    Result,
    _Multi,
    _next,
    quick_fields,
)
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("eth.dst", "ether", doc="destination MAC"),
    FieldSpec("eth.dst_resolved", "string", doc="destination (resolved; raw with -n)"),
    FieldSpec("eth.dst.oui", "uint", 24, doc="destination OUI"),
    FieldSpec("eth.dst.lg", "bool", doc="destination locally administered"),
    FieldSpec("eth.dst.ig", "bool", doc="destination group address"),
    FieldSpec("eth.src", "ether", doc="source MAC"),
    FieldSpec("eth.src_resolved", "string", doc="source (resolved; raw with -n)"),
    FieldSpec("eth.src.oui", "uint", 24, doc="source OUI"),
    FieldSpec("eth.src.lg", "bool", doc="source locally administered"),
    FieldSpec("eth.src.ig", "bool", doc="source group address"),
    FieldSpec("eth.addr", "ether", doc="source or destination"),
    FieldSpec("eth.addr_resolved", "string", doc="source or destination (resolved)"),
    FieldSpec("eth.addr.oui", "uint", 24, doc="address OUI"),
    FieldSpec("eth.lg", "bool", doc="locally administered (either address)"),
    FieldSpec("eth.ig", "bool", doc="group address (either address)"),
    FieldSpec("eth.type", "uint", 16, "hex", doc="EtherType"),
    FieldSpec("eth.len", "uint", 16, doc="802.3 length"),
    FieldSpec("eth.padding", "bytes", doc="padding to the 60-byte minimum"),
    FieldSpec("eth.trailer", "bytes", doc="trailer after the payload"),
    FieldSpec("eth.fcs", "uint", 32, "hex", doc="frame check sequence"),
    FieldSpec("eth.fcs.status", "uint", 8, doc="FCS status (2 = unverified)"),
    FieldSpec("llc.dsap", "uint", 8, "hex", doc="destination SAP"),
    FieldSpec("llc.dsap.sap", "uint", 8, doc="DSAP address"),
    FieldSpec("llc.dsap.ig", "bool", doc="DSAP individual/group"),
    FieldSpec("llc.ssap", "uint", 8, "hex", doc="source SAP"),
    FieldSpec("llc.ssap.sap", "uint", 8, doc="SSAP address"),
    FieldSpec("llc.ssap.cr", "bool", doc="SSAP command/response"),
    FieldSpec("llc.control", "uint", 16, "hex", doc="control field"),
    FieldSpec("llc.control.ftype", "uint", 8, "hex", doc="frame type"),
    FieldSpec("llc.control.u_modifier_cmd", "uint", 8, "hex", doc="U modifier (command)"),
    FieldSpec("llc.control.u_modifier_resp", "uint", 8, "hex", doc="U modifier (response)"),
    FieldSpec("llc.oui", "uint", 24, doc="SNAP OUI"),
    FieldSpec("llc.pid", "uint", 16, "hex", doc="SNAP protocol id"),
    FieldSpec("llc.type", "uint", 16, "hex", doc="SNAP type (OUI 0: an EtherType)"),
)

ETHERTYPE_NAMES = {0x0800: "IPv4", 0x86DD: "IPv6", 0x0806: "ARP", 0x8035: "RARP",
                   0x8100: "802.1Q", 0x88A8: "802.1ad", 0x9100: "QinQ"}


def mac_text(raw: bytes) -> str:
    return raw.hex(":")


def _both_addresses(layer: Layer, dst_raw: bytes, src_raw: bytes) -> None:
    """The 20 address fields in tshark's order, built at once (the hot path)."""
    dst, src = dst_raw.hex(":"), src_raw.hex(":")
    d0, s0 = dst_raw[0], src_raw[0]
    doui, soui = int.from_bytes(dst_raw[:3], "big"), int.from_bytes(src_raw[:3], "big")
    dlg, dig, slg, sig = bool(d0 & 2), bool(d0 & 1), bool(s0 & 2), bool(s0 & 1)
    layer.fields.update({
        "eth.dst": dst, "eth.dst_resolved": dst, "eth.dst.oui": doui,
        "eth.addr": _Multi([dst, src]), "eth.addr_resolved": _Multi([dst, src]),
        "eth.addr.oui": _Multi([doui, soui]),
        "eth.dst.lg": dlg, "eth.lg": _Multi([dlg, slg]), "eth.dst.ig": dig, "eth.ig": _Multi([dig, sig]),
        "eth.src": src, "eth.src_resolved": src, "eth.src.oui": soui, "eth.src.lg": slg, "eth.src.ig": sig,
    })


def src_dst_text(layer: Layer) -> str:
    return f"{layer.fields.get('eth.src')} > {layer.fields.get('eth.dst')}"


def _eth2_decode(layer: Layer, data: bytes, etype: int) -> None:
    """Deferred fields of an Ethernet II header (see :class:`~pcapkit.dissect.base.LazyLayer`)."""
    offset = layer.offset
    _both_addresses(layer, data[offset:offset + 6], data[offset + 6:offset + 12])
    layer._fields["eth.type"] = etype


def _eth2_summary(layer: Layer, data: bytes, etype: int) -> str:
    offset = layer.offset
    src, dst = data[offset + 6:offset + 12].hex(":"), data[offset:offset + 6].hex(":")
    if etype == 0xAAAA:
        return f"{src} > {dst}, ethertype Unknown (0xaaaa)"
    return f"{src} > {dst}, ethertype {ETHERTYPE_NAMES.get(etype, f'Unknown (0x{etype:04x})')} (0x{etype:04x})"


def dissect_ethernet(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset < 14:
        layer = Layer("eth", offset)
        # tshark shows nothing of a header it cannot read whole
        layer.length = end - offset
        if ctx.reported_end - offset < 14:
            layer.malformed(offset, f"frame of {ctx.reported_end - offset} bytes < 14-byte header")
        else:
            layer.truncated(end, "captured bytes end inside the Ethernet header")
        return layer, None
    etype = (data[offset + 12] << 8) | data[offset + 13]
    if etype >= 0x0600 or etype == 0:  # 0x0000 is "unknown type", not a length (tshark)
        # addresses, fields and summary are decoded on first access
        layer = LazyLayer("eth", offset, 14, _eth2_decode, (data, etype), _eth2_summary)
        if etype == 0xAAAA:
            # tshark 4.0 hands no dissector this type ("eth" alone; checked on a synthetic
            # frame and on broken/fuzz-2006-06-26-2594.pcap)
            return layer, None
        return layer, _next(Next, ("ethertype", etype, offset + 14, end, None))
    layer = Layer("eth", offset, 14)
    _both_addresses(layer, data[offset:offset + 6], data[offset + 6:offset + 12])
    dst = layer.fields["eth.dst"]
    src = layer.fields["eth.src"]
    layer.add("eth.len", etype)
    layer.summary = f"{src} > {dst}, 802.3, length {etype}"
    if etype > 1500:
        layer.malformed(offset + 12, f"invalid length/type 0x{etype:04x}")
        return layer, None
    payload_end = offset + 14 + etype
    reported = min(payload_end, ctx.reported_end)
    if payload_end > ctx.reported_end:
        layer.malformed(offset + 12, f"length {etype} runs past the end of the frame")
    ctx.extra["pdu_end"] = min(payload_end, ctx.reported_end)
    return layer, Next("llc", 0, offset + 14, min(payload_end, end), reported)


def dissect_llc(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """IEEE 802.2 LLC header and, for SAP 0xAA, the SNAP header."""
    layer = Layer("llc", offset)
    if end - offset < 3:
        layer.truncated(end, "captured bytes end inside the LLC header")
        layer.length = max(0, end - offset)
        return layer, None
    dsap, ssap, control = data[offset], data[offset + 1], data[offset + 2]
    layer.add("llc.dsap", dsap)
    layer.add("llc.dsap.sap", dsap >> 1)
    layer.add("llc.dsap.ig", bool(dsap & 1))
    layer.add("llc.ssap", ssap)
    layer.add("llc.ssap.sap", ssap >> 1)
    layer.add("llc.ssap.cr", bool(ssap & 1))
    if control & 0x03 != 0x03:
        # I or S frame: 16-bit control (not decoded further)
        if end - offset < 4:
            layer.length = 3
            layer.truncated(end, "captured bytes end inside the 16-bit LLC control field")
            return layer, None
        layer.length = 4
        return layer, Next("llc.sap", dsap, offset + 4, end)
    layer.add("llc.control", control)
    # the modifier bits (mask 0xec) shifted down, as tshark shows them: 0x47 -> 0x11
    if ssap & 1:
        layer.add("llc.control.u_modifier_resp", (control & 0xEC) >> 2)
    else:
        layer.add("llc.control.u_modifier_cmd", (control & 0xEC) >> 2)
    layer.add("llc.control.ftype", control & 0x03)
    layer.length = 3
    if dsap == 0xAA and ssap == 0xAA:
        if end - offset < 8:
            layer.truncated(end, "captured bytes end inside the SNAP header")
            return layer, None
        oui = int.from_bytes(data[offset + 3:offset + 6], "big")
        pid = int.from_bytes(data[offset + 6:offset + 8], "big")
        layer.add("llc.oui", oui)
        if oui == 0:
            layer.add("llc.type", pid)
        # other OUIs have their own pid fields in tshark (llc.cisco_pid, ...): not emitted
        layer.length = 8
        layer.summary = f"SNAP oui 0x{oui:06x} pid 0x{pid:04x}"
        if oui == 0:
            return layer, Next("ethertype", pid, offset + 8, end)
        return layer, Next("llc.snap", pid, offset + 8, end)
    layer.summary = f"LLC, dsap 0x{dsap:02x}, ssap 0x{ssap:02x}"
    return layer, Next("llc.sap", dsap, offset + 3, end)


def add_trailer(layer: Layer, data: bytes, pdu_end: int, caplen: int, wirelen: int,
                trailer_field: str = "eth.trailer") -> None:
    """Bytes after the payload ``pdu_end``, as tshark 4.0 splits them (FCS autodetect):

    zero bytes that pad the frame to 60 are ``eth.padding``; of the rest, the last 4 are
    an FCS when the tvb of the layer that owns the trailer (the frame from ``layer``'s
    start) is reported as at least 64 bytes and they were captured; the others are the
    trailer (``eth.trailer`` / ``vlan.trailer``).
    """
    if pdu_end >= caplen:
        return
    rest = data[pdu_end:caplen]
    pkt_len = max(wirelen, caplen)
    reported_rest = pkt_len - pdu_end
    padding = 0
    if pkt_len >= 60 and pdu_end < 60:
        padding = min(60 - pdu_end, len(rest))
        if padding and not any(rest[:padding]):
            layer.add("eth.padding", rest[:padding])
        else:
            padding = 0
    rest = rest[padding:]
    reported_rest -= padding
    if not rest:
        return
    has_fcs = pkt_len - layer.offset >= 64 and reported_rest >= 4
    if has_fcs and len(rest) >= reported_rest:
        if len(rest) > 4:
            layer.add(trailer_field, rest[:-4])
        layer.add("eth.fcs", int.from_bytes(rest[-4:], "big"))
        layer.add("eth.fcs.status", 2)
    else:
        layer.add(trailer_field, rest)


quick_fields(_eth2_decode, {
    "eth.dst": lambda d, o: d[o:o + 6].hex(":"),
    "eth.src": lambda d, o: d[o + 6:o + 12].hex(":"),
    "eth.type": lambda d, o: (d[o + 12] << 8) | d[o + 13],
})
