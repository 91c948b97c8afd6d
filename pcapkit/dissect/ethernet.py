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
from pcapkit.proto.consts import ETHERNET_MAX_LENGTH, ETHERTYPE_MIN, ETHERTYPE_NAMES
from pcapkit.proto.ethernet import HEADER, LLC, LLC_IS_LONG, LLC_SAP_SNAP, LLC_U_FRAME, SNAP

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    FieldSpec("eth.dst_resolved", "string", doc="destination (resolved; raw with -n)"),
    FieldSpec("eth.src_resolved", "string", doc="source (resolved; raw with -n)"),
    FieldSpec("eth.addr", "ether", doc="source or destination"),
    FieldSpec("eth.addr_resolved", "string", doc="source or destination (resolved)"),
    FieldSpec("eth.addr.oui", "uint", 24, doc="address OUI"),
    FieldSpec("eth.lg", "bool", doc="locally administered (either address)"),
    FieldSpec("eth.ig", "bool", doc="group address (either address)"),
    FieldSpec("eth.padding", "bytes", doc="padding to the 60-byte minimum"),
    FieldSpec("eth.trailer", "bytes", doc="trailer after the payload"),
    FieldSpec("eth.fcs", "uint", 32, "hex", doc="frame check sequence"),
    FieldSpec("eth.fcs.status", "uint", 8, doc="FCS status (2 = unverified)"),
    *LLC.specs,
    *SNAP.specs,
)

_ADDRESSES = HEADER.unpacker("eth.dst", "eth.dst.oui", "eth.dst.lg", "eth.dst.ig",
                             "eth.src", "eth.src.oui", "eth.src.lg", "eth.src.ig")
_TYPE = HEADER.units("eth.type")
_TYPE_AT = HEADER["eth.type"].off
_SRC = HEADER.getter("eth.src")
_DST = HEADER.getter("eth.dst")
ETHERTYPE_UNKNOWN_AAAA = 0xAAAA  # tshark 4.0 hands no dissector this type


def _both_addresses(layer: Layer, data: bytes, offset: int) -> None:
    """The 20 address fields in tshark's order, built at once."""
    dst, doui, dlg, dig, src, soui, slg, sig = _ADDRESSES(data, offset)
    layer.fields.update({
        "eth.dst": dst, "eth.dst_resolved": dst, "eth.dst.oui": doui,
        "eth.addr": _Multi([dst, src]), "eth.addr_resolved": _Multi([dst, src]),
        "eth.addr.oui": _Multi([doui, soui]),
        "eth.dst.lg": dlg, "eth.lg": _Multi([dlg, slg]), "eth.dst.ig": dig, "eth.ig": _Multi([dig, sig]),
        "eth.src": src, "eth.src_resolved": src, "eth.src.oui": soui, "eth.src.lg": slg, "eth.src.ig": sig,
    })


def _eth2_decode(layer: Layer, data: bytes, etype: int) -> None:
    """Deferred fields of an Ethernet II header (see :class:`~pcapkit.dissect.base.LazyLayer`)."""
    _both_addresses(layer, data, layer.offset)
    layer._fields["eth.type"] = etype


def _eth2_summary(layer: Layer, data: bytes, etype: int) -> str:
    offset = layer.offset
    src, dst = _SRC(data, offset), _DST(data, offset)
    if etype == ETHERTYPE_UNKNOWN_AAAA:
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
    etype, = _TYPE(data, offset)
    if etype >= ETHERTYPE_MIN or etype == 0:  # 0x0000 is "unknown type", not a length (tshark)
        # addresses, fields and summary are decoded on first access
        layer = LazyLayer("eth", offset, 14, _eth2_decode, (data, etype), _eth2_summary)
        if etype == ETHERTYPE_UNKNOWN_AAAA:
            # tshark 4.0 hands no dissector this type ("eth" alone; checked on a synthetic
            # frame and on broken/fuzz-2006-06-26-2594.pcap)
            return layer, None
        return layer, _next(Next, ("ethertype", etype, offset + 14, end, None))
    layer = Layer("eth", offset, 14)
    _both_addresses(layer, data, offset)
    dst = layer.fields["eth.dst"]
    src = layer.fields["eth.src"]
    layer.add("eth.len", etype)
    layer.summary = f"{src} > {dst}, 802.3, length {etype}"
    if etype > ETHERNET_MAX_LENGTH:
        layer.malformed(offset + _TYPE_AT, f"invalid length/type 0x{etype:04x}")
        return layer, None
    payload_end = offset + 14 + etype
    reported = min(payload_end, ctx.reported_end)
    if payload_end > ctx.reported_end:
        layer.malformed(offset + _TYPE_AT, f"length {etype} runs past the end of the frame")
    ctx.extra["pdu_end"] = min(payload_end, ctx.reported_end)
    return layer, Next("llc", 0, offset + 14, min(payload_end, end), reported)


_LLC_FIELDS = LLC.unpacker("llc.dsap", "llc.dsap.sap", "llc.dsap.ig", "llc.ssap", "llc.ssap.sap", "llc.ssap.cr",
                           "llc.control")
_U_MODIFIER = LLC.getter("llc.control.u_modifier_cmd")
_FTYPE = LLC.getter("llc.control.ftype")
_SNAP_FIELDS = SNAP.unpacker("llc.oui", "llc.pid")


def dissect_llc(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """IEEE 802.2 LLC header and, for SAP 0xAA, the SNAP header."""
    layer = Layer("llc", offset)
    if end - offset < LLC.min_len:
        layer.truncated(end, "captured bytes end inside the LLC header")
        layer.length = max(0, end - offset)
        return layer, None
    dsap, dsap_sap, dsap_ig, ssap, ssap_sap, ssap_cr, control = _LLC_FIELDS(data, offset)
    layer.add("llc.dsap", dsap)
    layer.add("llc.dsap.sap", dsap_sap)
    layer.add("llc.dsap.ig", dsap_ig)
    layer.add("llc.ssap", ssap)
    layer.add("llc.ssap.sap", ssap_sap)
    layer.add("llc.ssap.cr", ssap_cr)
    if control & LLC_U_FRAME != LLC_U_FRAME:
        # I or S frame: 16-bit control (not decoded further)
        if end - offset < LLC_IS_LONG:
            layer.length = LLC.min_len
            layer.truncated(end, "captured bytes end inside the 16-bit LLC control field")
            return layer, None
        layer.length = LLC_IS_LONG
        return layer, Next("llc.sap", dsap, offset + LLC_IS_LONG, end)
    layer.add("llc.control", control)
    layer.add("llc.control.u_modifier_resp" if ssap_cr else "llc.control.u_modifier_cmd", _U_MODIFIER(data, offset))
    layer.add("llc.control.ftype", _FTYPE(data, offset))
    layer.length = LLC.min_len
    if dsap == LLC_SAP_SNAP and ssap == LLC_SAP_SNAP:
        snap = offset + LLC.min_len
        if end - snap < SNAP.min_len:
            layer.truncated(end, "captured bytes end inside the SNAP header")
            return layer, None
        oui, pid = _SNAP_FIELDS(data, snap)
        layer.add("llc.oui", oui)
        if oui == 0:
            layer.add("llc.type", pid)
        # other OUIs have their own pid fields in tshark (llc.cisco_pid, ...): not emitted
        layer.length = LLC.min_len + SNAP.min_len
        layer.summary = f"SNAP oui 0x{oui:06x} pid 0x{pid:04x}"
        if oui == 0:
            return layer, Next("ethertype", pid, snap + SNAP.min_len, end)
        return layer, Next("llc.snap", pid, snap + SNAP.min_len, end)
    layer.summary = f"LLC, dsap 0x{dsap:02x}, ssap 0x{ssap:02x}"
    return layer, Next("llc.sap", dsap, offset + LLC.min_len, end)


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


quick_fields(_eth2_decode, HEADER.getters("eth.dst", "eth.src", "eth.type"))
