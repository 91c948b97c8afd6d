"""PPP in HDLC-like framing (RFC 1662): LINKTYPE_PPP (9) and LINKTYPE_PPP_HDLC (50).

tshark 4.0 decodes both link types with one dissector: a first byte 0xff is the
address, then comes the control byte; without it the protocol field starts the frame
(address and control compressed). The protocol field is one byte when its low bit is
set (protocol field compression), else two. A first byte of 0x0f or 0x8f is Cisco HDLC
framing inside a PPP file (bgp/BGP_Cisco_hdlc_slarp.pcap): tshark names "ppp" in
``frame.protocols`` with no field and hands the frame to Cisco HDLC
(``ppp:chdlc:ip:tcp``), and so does :func:`dissect_ppp`.

The payload is looked up in the ``ppp.protocol`` table (0x0021 and, as in tshark,
0x0800 IPv4; 0x0057 IPv6; 0x0281/0x0283 MPLS); other protocols (LCP, PAP, IPCP, ...)
become "data". ``summary`` is what ``tcpdump -e`` prints for the link layer: for
LINKTYPE_PPP "IP (0x0021)" (its ``ppp_print``), for LINKTYPE_PPP_HDLC "ff 03 44 IP" (its
``ppp_hdlc_if_print``: address, control, frame length, protocol name).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ppp.address", "uint", 8, "hex", doc="HDLC address (0xff: all stations)"),
    FieldSpec("ppp.control", "uint", 8, "hex", doc="HDLC control (0x03: unnumbered information)"),
    FieldSpec("ppp.protocol", "uint", 16, "hex", doc="PPP protocol number"),
)

# tcpdump 4.99's ppptype2str, as it prints the names (checked against tcpdump -e)
TCPDUMP_NAMES: dict[int, str] = {
    0x0021: "IP", 0x0023: "OSI", 0x0025: "NS", 0x0027: "DECNET", 0x0029: "APPLE", 0x002B: "IPX",
    0x002D: "VJC IP", 0x002F: "VJNC IP", 0x0031: "BRPDU", 0x0033: "STII", 0x0035: "VINES",
    0x003D: "MLPPP", 0x0057: "IP6", 0x00FD: "Compressed", 0x0281: "MPLS", 0x0283: "MPLS",
    0x0201: "HELLO", 0x0231: "LUXCOM", 0x0233: "SNS", 0x8021: "IPCP", 0x8023: "OSICP",
    0x8025: "NSCP", 0x8027: "DECNETCP", 0x8029: "APPLECP", 0x802B: "IPXCP", 0x8033: "STIICP",
    0x8035: "VINESCP", 0x8057: "IP6CP", 0x8281: "MPLSCP", 0x80FD: "CCP", 0xC021: "LCP",
    0xC023: "PAP", 0xC025: "LQM", 0xC223: "CHAP", 0xC227: "EAP", 0xC027: "SPAP",
    0xC123: "Old-SPAP", 0xC02B: "BACP", 0xC02D: "BAP", 0xC03D: "MLPPP-CP",
}

CHDLC_UNICAST, CHDLC_BROADCAST = 0x0F, 0x8F
HDLC_ALL_STATIONS = 0xFF


def dissect_ppp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """LINKTYPE_PPP and LINKTYPE_PPP_HDLC (tshark's ``ppp_hdlc``)."""
    layer = Layer("ppp", offset)
    if end <= offset:
        cut_short(layer, offset, offset + 1, end, ctx, "PPP header")
        layer.summary = "[|ppp]"
        return layer, None
    first = data[offset]
    layer.summary = _tcpdump_summary(data, offset, end, ctx)
    if first in (CHDLC_UNICAST, CHDLC_BROADCAST):
        return layer, Next("link", 104, offset, end)  # Cisco HDLC framing
    pos = offset
    if first == HDLC_ALL_STATIONS:
        layer.add("ppp.address", first)
        if end - offset < 2:
            cut_short(layer, offset + 1, offset + 2, end, ctx, "PPP header")
            return layer, None
        layer.add("ppp.control", data[offset + 1])
        pos = offset + 2
    return _protocol(layer, data, pos, end, ctx)


def dissect_ppp_raw(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """PPP without address and control (tshark's ``ppp``, behind a Juniper header)."""
    layer = Layer("ppp", offset)
    return _protocol(layer, data, offset, end, ctx)


def _protocol(layer: Layer, data: bytes, pos: int, end: int, ctx: Context) -> Result:
    if end <= pos:
        cut_short(layer, pos, pos + 1, end, ctx, "PPP protocol field")
        return layer, None
    if data[pos] & 1:  # protocol field compression: one byte
        proto, size = data[pos], 1
    elif end - pos < 2:
        cut_short(layer, pos, pos + 2, end, ctx, "PPP protocol field")
        return layer, None
    else:
        proto, size = (data[pos] << 8) | data[pos + 1], 2
    layer.add("ppp.protocol", proto)
    layer.length = pos + size - layer.offset
    return layer, Next("ppp.protocol", proto, pos + size, end)


def _tcpdump_summary(data: bytes, offset: int, end: int, ctx: Context) -> str:
    wirelen = ctx.reported_end - offset
    if ctx.linktype == 50:
        return _hdlc_if_summary(data, offset, end, wirelen)
    if end - offset < 4:  # tcpdump's ppp_if_print wants 4 bytes first
        return "[|ppp]"
    # ppp_print: skip "ff 03" (or pppd's direction "00 03" / "01 03"), then PFC
    pos, prefix = offset, ""
    if end - offset >= 2 and data[offset + 1] == 0x03 and data[offset] in (0x00, 0x01, 0xFF):
        prefix = {0x00: "In  ", 0x01: "Out "}.get(data[offset], "")
        pos += 2
    if end - pos < 2:
        return "[|ppp]"
    proto = data[pos] if data[pos] & 1 else (data[pos] << 8) | data[pos + 1]
    return f"{prefix}{TCPDUMP_NAMES.get(proto, 'unknown')} (0x{proto:04x})"


def _hdlc_if_summary(data: bytes, offset: int, end: int, wirelen: int) -> str:
    """tcpdump's ``ppp_hdlc_if_print`` (LINKTYPE_PPP_HDLC): no protocol field compression."""
    if end - offset < 2:
        return "[|ppp_hdlc]"
    first = data[offset]
    if first in (CHDLC_UNICAST, CHDLC_BROADCAST):
        return ""  # tcpdump prints the Cisco HDLC header instead
    if end - offset < 4:
        return "[|ppp_hdlc]"
    head = f"{first:02x} {data[offset + 1]:02x} {wirelen} "
    if first != HDLC_ALL_STATIONS:
        return f"{head}unknown addr {data[offset + 2]:02x}; ctrl {data[offset + 3]:02x}"
    proto = (data[offset + 2] << 8) | data[offset + 3]
    return head + TCPDUMP_NAMES.get(proto, f"unknown PPP protocol (0x{proto:04x})")
