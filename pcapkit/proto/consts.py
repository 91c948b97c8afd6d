"""Protocol numbers and flag bits, declared once: EtherTypes, IP protocols, TCP flags and
their letters (tshark's ``tcp.flags.str`` and tcpdump's ``Flags [...]``)."""

from __future__ import annotations

# EtherTypes
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERTYPE_RARP = 0x8035
ETHERTYPE_VLAN = 0x8100       # IEEE 802.1Q tag
ETHERTYPE_8021AD = 0x88A8     # IEEE 802.1ad service tag (tshark: "ieee8021ad")
ETHERTYPE_QINQ = 0x9100       # pre-standard Q-in-Q tag
ETHERTYPE_IPV6 = 0x86DD
ETHERTYPE_MPLS = 0x8847
ETHERTYPE_MPLS_MULTICAST = 0x8848
ETHERTYPE_MIN = 0x0600        # smaller values of the type/length field are 802.3 lengths
ETHERNET_MAX_LENGTH = 1500    # the largest 802.3 length
VLAN_TPIDS = (ETHERTYPE_VLAN, ETHERTYPE_8021AD, ETHERTYPE_QINQ)

ETHERTYPE_NAMES = {ETHERTYPE_IPV4: "IPv4", ETHERTYPE_IPV6: "IPv6", ETHERTYPE_ARP: "ARP",
                   ETHERTYPE_RARP: "RARP", ETHERTYPE_VLAN: "802.1Q", ETHERTYPE_8021AD: "802.1ad",
                   ETHERTYPE_QINQ: "QinQ"}

# IP protocol numbers (IPv4 protocol, IPv6 next header)
IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_IGMP = 2
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_GRE = 47
IPPROTO_ESP = 50
IPPROTO_AH = 51
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60
IPPROTO_EIGRP = 88
IPPROTO_OSPF = 89
IPPROTO_PIM = 103
IPPROTO_VRRP = 112
IPPROTO_SCTP = 132

IP_PROTO_NAMES = {IPPROTO_ICMP: "ICMP", IPPROTO_IGMP: "IGMP", IPPROTO_TCP: "TCP", IPPROTO_UDP: "UDP",
                  IPPROTO_IPV6: "IPv6", IPPROTO_GRE: "GRE", IPPROTO_ESP: "ESP", IPPROTO_AH: "AH",
                  IPPROTO_ICMPV6: "ICMPv6", IPPROTO_OSPF: "OSPF", IPPROTO_PIM: "PIM", IPPROTO_VRRP: "VRRP",
                  IPPROTO_SCTP: "SCTP"}

# BSD loopback address families (LINKTYPE_NULL / LINKTYPE_LOOP)
AF_IPV4 = 2
AF_IPV6 = frozenset({10, 24, 28, 30})   # Linux, then the BSDs

# TCP flag bits of the 12-bit tcp.flags value
TCP_FIN = 0x001
TCP_SYN = 0x002
TCP_RST = 0x004
TCP_PSH = 0x008
TCP_ACK = 0x010
TCP_URG = 0x020
TCP_ECE = 0x040
TCP_CWR = 0x080
TCP_AE = 0x100     # Accurate ECN (RFC 9768; was NS, RFC 3540)
TCP_RES = 0xE00    # reserved

_FLAG_LETTERS = "RRRACEUAPRSF"  # tshark 4.0: bit 8 is AE (was NS)
_MIDDLE_DOT = "\u00b7"
# tcpdump's flag characters, in its order (tcpdump 4.99 prints nothing for AE)
_TCPDUMP_FLAGS = ((TCP_FIN, "F"), (TCP_SYN, "S"), (TCP_RST, "R"), (TCP_PSH, "P"), (TCP_ACK, "."),
                  (TCP_URG, "U"), (TCP_ECE, "E"), (TCP_CWR, "W"))


def flags_str(flags: int) -> str:
    """Wireshark's ``tcp.flags.str``: 12 letters, a middle dot for each clear bit."""
    return "".join(_FLAG_LETTERS[i] if (flags >> (11 - i)) & 1 else _MIDDLE_DOT for i in range(12))


def tcpdump_flags(flags: int) -> str:
    """tcpdump's ``Flags [...]`` letters ("S.", "P.", "none")."""
    text = "".join(ch for bit, ch in _TCPDUMP_FLAGS if flags & bit)
    return text or "none"
