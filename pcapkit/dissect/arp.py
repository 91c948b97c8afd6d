"""ARP and RARP (RFC 826, RFC 903): every field of the packet, for any hardware and
protocol address sizes, plus tshark's gratuitous / probe / announcement flags.

Hardware addresses of 6 bytes are MAC addresses (``arp.src.hw_mac``), protocol
addresses of type 0x0800 and 4 bytes are IPv4 (``arp.src.proto_ipv4``); anything else
is kept as bytes (``arp.src.hw`` / ``arp.src.proto``).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Result
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("arp.hw.type", "uint", 16, doc="hardware type (1 = Ethernet)"),
    FieldSpec("arp.proto.type", "uint", 16, "hex", doc="protocol type"),
    FieldSpec("arp.hw.size", "uint", 8, doc="hardware address size"),
    FieldSpec("arp.proto.size", "uint", 8, doc="protocol address size"),
    FieldSpec("arp.opcode", "uint", 16, doc="1 request, 2 reply, 3/4 RARP"),
    FieldSpec("arp.isgratuitous", "bool", doc="sender and target protocol address equal"),
    FieldSpec("arp.isprobe", "bool", doc="ARP probe (sender address 0.0.0.0)"),
    FieldSpec("arp.isannouncement", "bool", doc="ARP announcement"),
    FieldSpec("arp.src.hw_mac", "ether", doc="sender MAC address"),
    FieldSpec("arp.src.hw", "bytes", doc="sender hardware address"),
    FieldSpec("arp.src.proto_ipv4", "ipv4", doc="sender IPv4 address"),
    FieldSpec("arp.src.proto", "bytes", doc="sender protocol address"),
    FieldSpec("arp.dst.hw_mac", "ether", doc="target MAC address"),
    FieldSpec("arp.dst.hw", "bytes", doc="target hardware address"),
    FieldSpec("arp.dst.proto_ipv4", "ipv4", doc="target IPv4 address"),
    FieldSpec("arp.dst.proto", "bytes", doc="target protocol address"),
)

OPCODES = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
           8: "Inverse Request", 9: "Inverse Reply"}


def _ip(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def dissect_arp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("arp", offset)
    avail = end - offset
    if avail < 8:
        layer.length = max(avail, 0)
        if ctx.reported_end - offset < 8:
            layer.malformed(offset, f"ARP packet of {ctx.reported_end - offset} bytes < 8")
        else:
            layer.truncated(end, "captured bytes end inside the ARP header")
        return layer, None
    h = data[offset:offset + 8]
    htype = int.from_bytes(h[0:2], "big")
    ptype = int.from_bytes(h[2:4], "big")
    hlen, plen = h[4], h[5]
    op = int.from_bytes(h[6:8], "big")
    layer.add("arp.hw.type", htype)
    layer.add("arp.proto.type", ptype)
    layer.add("arp.hw.size", hlen)
    layer.add("arp.proto.size", plen)
    layer.add("arp.opcode", op)
    total = 8 + 2 * hlen + 2 * plen
    ctx.extra.setdefault("pdu_end", min(offset + total, ctx.reported_end))
    if avail < total:
        layer.length = avail
        if ctx.reported_end - offset < total:
            layer.malformed(offset, f"ARP addresses need {total} bytes, frame has {ctx.reported_end - offset}")
        else:
            layer.truncated(end, "captured bytes end inside the ARP addresses")
        return layer, None
    pos = offset + 8
    sha = data[pos:pos + hlen]
    spa = data[pos + hlen:pos + hlen + plen]
    tha = data[pos + hlen + plen:pos + 2 * hlen + plen]
    tpa = data[pos + 2 * hlen + plen:pos + total - 8]
    is_ipv4 = ptype == 0x0800 and plen == 4
    is_mac = hlen == 6 and htype in (1, 6)  # Ethernet or IEEE 802 (Wireshark ARP_HW_IS_ETHER)
    # tshark adds the gratuitous/probe/announcement flags right after the opcode
    if is_ipv4 and op in (1, 2):
        if spa == tpa:
            layer.add("arp.isgratuitous", True)
            if op == 1 and not any(tha):
                layer.add("arp.isannouncement", True)
        elif op == 1 and not any(spa) and not any(tha):
            layer.add("arp.isprobe", True)
    layer.add("arp.src.hw_mac" if is_mac else "arp.src.hw", sha.hex(":") if is_mac else bytes(sha))
    layer.add("arp.src.proto_ipv4" if is_ipv4 else "arp.src.proto", _ip(spa) if is_ipv4 else bytes(spa))
    layer.add("arp.dst.hw_mac" if is_mac else "arp.dst.hw", tha.hex(":") if is_mac else bytes(tha))
    layer.add("arp.dst.proto_ipv4" if is_ipv4 else "arp.dst.proto", _ip(tpa) if is_ipv4 else bytes(tpa))
    layer.length = total
    total = ctx.reported_end - offset  # tcpdump prints the length left in the frame (padding included)
    name = "RARP" if ctx.layers and ctx.layers[-1].fields.get("eth.type") == 0x8035 else "ARP"
    if is_ipv4:
        s, t = _ip(spa), _ip(tpa)
        if op == 1:
            layer.summary = f"{name}, Request who-has {t} tell {s}, length {total}"
        elif op == 2:
            layer.summary = f"{name}, Reply {s} is-at {sha.hex(':')}, length {total}"
        elif op == 3:
            layer.summary = f"{name}, Reverse Request who-is {tha.hex(':')} tell {sha.hex(':')}, length {total}"
        elif op == 4:
            layer.summary = f"{name}, Reverse Reply {tha.hex(':')} at {t}, length {total}"
        else:
            layer.summary = f"{name}, {OPCODES.get(op, f'op {op}')}, length {total}"
    else:
        layer.summary = f"{name}, {OPCODES.get(op, f'op {op}')}, length {total}"
    return layer, None
