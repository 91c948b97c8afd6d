"""What the link-layer dissectors added for issue 10 share: tcpdump's EtherType names and
the truncated-or-malformed decision for a header that runs off the bytes.

``TCPDUMP_ETHERTYPES`` is tcpdump 4.99's ``ethertype_values`` table as it prints it after
"ethertype " (read off tcpdump's output for all 65536 values behind a Cisco HDLC header);
a value it does not know prints as "Unknown".
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer

TCPDUMP_ETHERTYPES: dict[int, str] = {
    0x00FE: "GRE-OSI", 0x0200: "PUP", 0x0500: "Sprite", 0x0600: "NS", 0x0707: "GeoNet (old)",
    0x0800: "IPv4", 0x0806: "ARP", 0x1000: "Trail", 0x1111: "CALM FAST", 0x6001: "MOP DL",
    0x6002: "MOP RC", 0x6003: "DN", 0x6004: "LAT", 0x6007: "SCA", 0x6558: "TEB",
    0x8035: "Reverse ARP", 0x8038: "Lanbridge", 0x803C: "DEC DNS", 0x803E: "DEC DTS",
    0x805B: "VEXP", 0x805C: "VPROD", 0x809B: "Appletalk", 0x80F3: "Appletalk ARP",
    0x8100: "802.1Q", 0x8137: "IPX", 0x86DD: "IPv6", 0x8808: "MPCP", 0x8809: "Slow Protocols",
    0x880B: "PPP", 0x8847: "MPLS unicast", 0x8848: "MPLS multicast", 0x8863: "PPPoE D",
    0x8864: "PPPoE S", 0x886F: "MS NLB heartbeat", 0x8870: "Jumbo", 0x888E: "EAPOL",
    0x8899: "Realtek protocols", 0x88A2: "AoE", 0x88A8: "802.1Q-QinQ", 0x88CA: "TIPC",
    0x88CC: "LLDP", 0x88E5: "802.1AE MACsec", 0x88F7: "PTP", 0x8902: "CFM",
    0x893A: "IEEE1905.1", 0x8947: "GeoNet", 0x894F: "NSH", 0x9000: "Loopback",
    0x9100: "802.1Q-9100", 0x9200: "802.1Q-9200", 0xABCD: "CFM (old)",
    0xD28B: "Arista Vendor Specific Protocol", 0xFEFE: "OSI",
}


def ethertype_text(etype: int) -> str:
    """tcpdump's "IPv4 (0x0800)" for an EtherType."""
    return f"{TCPDUMP_ETHERTYPES.get(etype, 'Unknown')} (0x{etype:04x})"


def cut_short(layer: Layer, offset: int, need: int, end: int, ctx: Context, what: str) -> None:
    """The header needs bytes up to ``need`` but the captured ones stop at ``end``: a
    *truncated* finding when the frame was longer on the wire (snapped), else *malformed*
    (the packet itself ends there), as tshark tells "[Packet size limited during capture]"
    from "[Malformed Packet]". ``layer.length`` becomes what was available."""
    layer.length = max(0, min(end, need) - layer.offset)
    if need <= ctx.reported_end:
        layer.truncated(end, f"captured bytes end inside the {what}")
    else:
        layer.malformed(offset, f"{what} needs {need - offset} bytes, the packet has {max(ctx.reported_end - offset, 0)}")


def mac(raw: bytes) -> str:
    return raw.hex(":")
