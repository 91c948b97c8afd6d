"""Cisco HDLC (LINKTYPE_C_HDLC = 104) and its Serial Line ARP (SLARP, protocol 0x8035).

Cisco HDLC: address (0x0f unicast, 0x8f broadcast), control, a 2-byte protocol that is an
EtherType. As in tshark 4.0 the payload is looked up in the ``chdlc.protocol`` table
(IPv4, IPv6, MPLS, SLARP, 0x6558 transparent Ethernet bridging) with no "ethertype"
pseudo-protocol in between; OSI (0xfefe) carries a padding byte unless the next byte is
a CLNP/ES-IS/IS-IS NLPID. tshark reads the first payload byte before it dispatches, so a
frame that ends right after the 4-byte header is malformed.

SLARP: a 4-byte packet type, then the address and mask (request 0, reply 1) or the
two keepalive sequence numbers and the reliability word (keepalive 2); an unknown type
is followed by "data". A reliability other than 0xffff is malformed (tshark's expert
"Reliability must be 0xFFFF").

Summaries are tcpdump's: "unicast, ethertype IPv4 (0x0800)" for the header (``-e``),
"SLARP (length: 18), keepalive: mineseen=0x..., yourseen=0x..., reliability=0xffff".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short, ethertype_text
from pcapkit.fields import FieldSpec, ipv4_text

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("chdlc.address", "uint", 8, "hex", doc="address (0x0f unicast, 0x8f broadcast)"),
    FieldSpec("chdlc.control", "uint", 8, "hex", doc="control"),
    FieldSpec("chdlc.protocol", "uint", 16, "hex", doc="protocol (an EtherType)"),
    FieldSpec("chdlc.clns_padding", "uint", 8, "hex", doc="padding before an OSI payload"),
    FieldSpec("slarp.ptype", "uint", 32, doc="packet type (0 request, 1 reply, 2 keepalive)"),
    FieldSpec("slarp.address", "ipv4", doc="IP address (request, reply)"),
    FieldSpec("slarp.netmask", "ipv4", doc="netmask (request, reply)"),
    FieldSpec("slarp.mysequence", "uint", 32, doc="sender's sequence number (keepalive)"),
    FieldSpec("slarp.yoursequence", "uint", 32, doc="last sequence number seen (keepalive)"),
    FieldSpec("slarp.reliability", "uint", 16, "hex", doc="reliability (keepalive; 0xffff)"),
)

CHDLC_OSI = 0xFEFE
_NLPIDS_WITHOUT_PADDING = (0x81, 0x82, 0x83)  # CLNP, ES-IS, IS-IS
_CASTS = {0x0F: "unicast", 0x8F: "bcast"}

SLARP_REQUEST, SLARP_REPLY, SLARP_KEEPALIVE = 0, 1, 2


def dissect_chdlc(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("chdlc", offset)
    if end - offset < 4:
        cut_short(layer, offset, offset + 4, end, ctx, "Cisco HDLC header")
        layer.summary = "[|chdlc]"
        return layer, None
    address, control = data[offset], data[offset + 1]
    proto = (data[offset + 2] << 8) | data[offset + 3]
    layer.add("chdlc.address", address)
    layer.add("chdlc.control", control)
    layer.add("chdlc.protocol", proto)
    layer.length = 4
    layer.summary = f"{_CASTS.get(address, f'0x{address:02x}')}, ethertype {ethertype_text(proto)}"
    payload = offset + 4
    if end <= payload:
        # tshark reads the first payload byte (OSI padding test) before anything else
        cut_short(layer, payload, payload + 1, end, ctx, "Cisco HDLC payload")
        layer.length = 4
        return layer, None
    if proto == CHDLC_OSI and data[payload] not in _NLPIDS_WITHOUT_PADDING:
        layer.add("chdlc.clns_padding", data[payload])
        layer.length = 5
        payload += 1
    return layer, Next("chdlc.protocol", proto, payload, end)


def dissect_slarp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("slarp", offset)
    layer.summary = _slarp_summary(data, offset, end, ctx)
    if end - offset < 4:
        cut_short(layer, offset, offset + 4, end, ctx, "SLARP packet type")
        return layer, None
    ptype = int.from_bytes(data[offset:offset + 4], "big")
    if ptype in (SLARP_REQUEST, SLARP_REPLY, SLARP_KEEPALIVE):
        keepalive = ptype == SLARP_KEEPALIVE
        # tshark reads the sequence numbers (keepalive) or the address and mask (request,
        # reply) before it adds a field; the keepalive's reliability comes after
        first = offset + 12
        if end < first:
            cut_short(layer, offset, first, end, ctx, "SLARP packet")
            return layer, None
        layer.add("slarp.ptype", ptype)
        last = first
        if keepalive:
            layer.add("slarp.mysequence", int.from_bytes(data[offset + 4:offset + 8], "big"))
            layer.add("slarp.yoursequence", int.from_bytes(data[offset + 8:offset + 12], "big"))
            last = offset + 14
            if end < last:
                cut_short(layer, first, last, end, ctx, "SLARP packet")
                return layer, None
            reliability = (data[offset + 12] << 8) | data[offset + 13]
            layer.add("slarp.reliability", reliability)
            if reliability != 0xFFFF:
                layer.malformed(offset + 12, f"reliability 0x{reliability:04x} is not 0xffff")
        else:
            layer.add("slarp.address", ipv4_text(data[offset + 4:offset + 8]))
            layer.add("slarp.netmask", ipv4_text(data[offset + 8:offset + 12]))
        layer.length = last - offset
        return layer, None
    layer.add("slarp.ptype", ptype)
    layer.length = 4
    return layer, Next("slarp.data", ptype, offset + 4, end)  # tshark: "data"


def _slarp_summary(data: bytes, offset: int, end: int, ctx: Context) -> str:
    """tcpdump's ``chdlc_slarp_print`` (without -v)."""
    length = ctx.reported_end - offset
    head = f"SLARP (length: {length}), "
    if end - offset < 14:
        return head + " [|chdlc_slarp]"
    ptype = int.from_bytes(data[offset:offset + 4], "big")
    if ptype == SLARP_REQUEST:
        return head + "request"
    if ptype == SLARP_REPLY:
        return f"{head}reply {ipv4_text(data[offset + 4:offset + 8])}/{ipv4_text(data[offset + 8:offset + 12])}"
    if ptype == SLARP_KEEPALIVE:
        text = (f"{head}keepalive: mineseen=0x{int.from_bytes(data[offset + 4:offset + 8], 'big'):08x}, "
                f"yourseen=0x{int.from_bytes(data[offset + 8:offset + 12], 'big'):08x}, "
                f"reliability=0x{(data[offset + 12] << 8) | data[offset + 13]:04x}")
        if length >= 18 and end - offset >= 18:  # the optional uptime stamp, in ms
            secs = int.from_bytes(data[offset + 14:offset + 18], "big") // 1000
            mins, secs = divmod(secs, 60)
            hrs, mins = divmod(mins, 60)
            text += f", link uptime={hrs // 24}d{hrs % 24}h{mins}m{secs}s"
        return text
    return f"{head}0x{ptype:02x} unknown"
