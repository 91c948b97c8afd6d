"""ARP and RARP (RFC 826, RFC 903): every field of the packet, for any hardware and
protocol address sizes, plus tshark's gratuitous / probe / announcement flags.

Hardware addresses of 6 bytes are MAC addresses (``arp.src.hw_mac``), protocol
addresses of type 0x0800 and 4 bytes are IPv4 (``arp.src.proto_ipv4``); anything else
is kept as bytes (``arp.src.hw`` / ``arp.src.proto``).
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Result
from pcapkit.fields import FieldSpec, ether_text, ipv4_text
from pcapkit.proto.arp import DERIVED, ETHER_HW_TYPES, HEADER, address_offsets, total_length
from pcapkit.proto.consts import ETHERTYPE_IPV4, ETHERTYPE_RARP

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    *DERIVED,
    FieldSpec("arp.isgratuitous", "bool", doc="sender and target protocol address equal"),
    FieldSpec("arp.isprobe", "bool", doc="ARP probe (sender address 0.0.0.0)"),
    FieldSpec("arp.isannouncement", "bool", doc="ARP announcement"),
    FieldSpec("arp.src.hw_mac", "ether", doc="sender MAC address"),
    FieldSpec("arp.src.hw", "bytes", doc="sender hardware address"),
    FieldSpec("arp.src.proto", "bytes", doc="sender protocol address"),
    FieldSpec("arp.dst.hw_mac", "ether", doc="target MAC address"),
    FieldSpec("arp.dst.hw", "bytes", doc="target hardware address"),
    FieldSpec("arp.dst.proto", "bytes", doc="target protocol address"),
)

OPCODES = {1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply",
           8: "Inverse Request", 9: "Inverse Reply"}


_FIXED = HEADER.unpacker(*HEADER.names)


def dissect_arp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("arp", offset)
    avail = end - offset
    if avail < HEADER.min_len:
        layer.length = max(avail, 0)
        if ctx.reported_end - offset < HEADER.min_len:
            layer.malformed(offset, f"ARP packet of {ctx.reported_end - offset} bytes < 8")
        else:
            layer.truncated(end, "captured bytes end inside the ARP header")
        return layer, None
    values = _FIXED(data, offset)
    for name, value in zip(HEADER.names, values, strict=True):
        layer.add(name, value)
    htype, ptype, hlen, plen, op = values
    total = total_length(hlen, plen)
    ctx.extra.setdefault("pdu_end", min(offset + total, ctx.reported_end))
    if avail < total:
        layer.length = avail
        if ctx.reported_end - offset < total:
            layer.malformed(offset, f"ARP addresses need {total} bytes, frame has {ctx.reported_end - offset}")
        else:
            layer.truncated(end, "captured bytes end inside the ARP addresses")
        return layer, None
    sha_at, spa_at, tha_at, tpa_at = (offset + at for at in address_offsets(hlen, plen))
    sha = data[sha_at:sha_at + hlen]
    spa = data[spa_at:spa_at + plen]
    tha = data[tha_at:tha_at + hlen]
    tpa = data[tpa_at:tpa_at + plen]
    is_ipv4 = ptype == ETHERTYPE_IPV4 and plen == 4
    is_mac = hlen == 6 and htype in ETHER_HW_TYPES
    # tshark adds the gratuitous/probe/announcement flags right after the opcode
    if is_ipv4 and op in (1, 2):
        if spa == tpa:
            layer.add("arp.isgratuitous", True)
            if op == 1 and not any(tha):
                layer.add("arp.isannouncement", True)
        elif op == 1 and not any(spa) and not any(tha):
            layer.add("arp.isprobe", True)
    layer.add("arp.src.hw_mac" if is_mac else "arp.src.hw", ether_text(sha) if is_mac else bytes(sha))
    layer.add("arp.src.proto_ipv4" if is_ipv4 else "arp.src.proto", ipv4_text(spa) if is_ipv4 else bytes(spa))
    layer.add("arp.dst.hw_mac" if is_mac else "arp.dst.hw", ether_text(tha) if is_mac else bytes(tha))
    layer.add("arp.dst.proto_ipv4" if is_ipv4 else "arp.dst.proto", ipv4_text(tpa) if is_ipv4 else bytes(tpa))
    layer.length = total
    total = ctx.reported_end - offset  # tcpdump prints the length left in the frame (padding included)
    name = "RARP" if ctx.layers and ctx.layers[-1].fields.get("eth.type") == ETHERTYPE_RARP else "ARP"
    if is_ipv4:
        s, t = ipv4_text(spa), ipv4_text(tpa)
        if op == 1:
            layer.summary = f"{name}, Request who-has {t} tell {s}, length {total}"
        elif op == 2:
            layer.summary = f"{name}, Reply {s} is-at {ether_text(sha)}, length {total}"
        elif op == 3:
            layer.summary = f"{name}, Reverse Request who-is {ether_text(tha)} tell {ether_text(sha)}, length {total}"
        elif op == 4:
            layer.summary = f"{name}, Reverse Reply {ether_text(tha)} at {t}, length {total}"
        else:
            layer.summary = f"{name}, {OPCODES.get(op, f'op {op}')}, length {total}"
    else:
        layer.summary = f"{name}, {OPCODES.get(op, f'op {op}')}, length {total}"
    return layer, None
