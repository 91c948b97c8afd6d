"""Dispatch tables, registered as data in one place.

Each entry maps (table, key) to "module:function". Modules are imported on first
use, so ``import pcapkit`` stays cheap. Registering a key twice is an error.

Tables:
    link        LINKTYPE_* number -> link-layer dissector
    ethertype   EtherType (also used by SLL, SLL2, null after mapping)
    llc.sap     802.2 DSAP (for 802.3/LLC frames)
    ip.proto    IPv4 protocol / IPv6 next header (the transport)
    udp.port    UDP port (lower port first, as Wireshark's "try low port first")
    mpls.payload  first nibble after the MPLS bottom of stack (4 IPv4, 6 IPv6)
    tcp.port    TCP port (only for stream-level dissectors such as BGP; see driver)
"""

from __future__ import annotations

from collections.abc import Container
from importlib import import_module
from typing import Any

from pcapkit.dissect.base import Dissector

# (table, key, "module:function")
ENTRIES: list[tuple[str, int | str, str]] = [
    # link layers (LINKTYPE_* numbers)
    ("link", 1, "pcapkit.dissect.ethernet:dissect_ethernet"),
    ("link", 113, "pcapkit.dissect.sll:dissect_sll"),
    ("link", 276, "pcapkit.dissect.sll:dissect_sll2"),
    ("link", 101, "pcapkit.dissect.rawip:dissect_raw_ip"),
    ("link", 12, "pcapkit.dissect.rawip:dissect_raw_ip"),
    ("link", 14, "pcapkit.dissect.rawip:dissect_raw_ip"),
    ("link", 228, "pcapkit.dissect.rawip:dissect_raw_ipv4"),
    ("link", 229, "pcapkit.dissect.rawip:dissect_raw_ipv6"),
    ("link", 0, "pcapkit.dissect.null:dissect_null"),
    ("link", 108, "pcapkit.dissect.null:dissect_loop"),
    ("link", 197, "pcapkit.dissect.erf:dissect_erf"),        # Endace ERF (header stripped by the reader)
    ("link", 9, "pcapkit.dissect.ppp:dissect_ppp"),          # PPP (HDLC-like framing, or Cisco HDLC)
    ("link", 50, "pcapkit.dissect.ppp:dissect_ppp"),         # PPP in HDLC-like framing
    ("link", 104, "pcapkit.dissect.chdlc:dissect_chdlc"),    # Cisco HDLC
    ("link", 10, "pcapkit.dissect.fddi:dissect_fddi"),       # FDDI (bit-swapped addresses)
    ("link", 6, "pcapkit.dissect.token_ring:dissect_token_ring"),  # IEEE 802.5 Token Ring
    ("link", 242, "pcapkit.dissect.ipoib:dissect_ipoib"),    # IP over InfiniBand
    ("link", 178, "pcapkit.dissect.juniper:dissect_juniper_ether"),  # Juniper Ethernet
    ("link", 127, "pcapkit.dissect.radiotap:dissect_radiotap"),      # radiotap + 802.11
    # radiotap -> tshark's "wlan_radio" PHY view (no bytes) -> the 802.11 frame
    ("radiotap.radio", 0, "pcapkit.dissect.radiotap:dissect_wlan_radio"),
    ("wlan_radio", 0, "pcapkit.dissect.ieee80211:dissect_wlan"),
    ("wlan.body", "eth", "pcapkit.dissect.ethernet:dissect_ethernet"),  # Ethernet inside 802.11 (tshark's guess)
    # ethertypes
    ("ethertype", 0x0800, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("ethertype", 0x86DD, "pcapkit.dissect.ipv6:dissect_ipv6"),
    ("ethertype", 0x0806, "pcapkit.dissect.arp:dissect_arp"),
    ("ethertype", 0x8035, "pcapkit.dissect.arp:dissect_arp"),
    ("ethertype", 0x8100, "pcapkit.dissect.vlan:dissect_vlan"),
    ("ethertype", 0x88A8, "pcapkit.dissect.vlan:dissect_vlan"),
    ("ethertype", 0x9100, "pcapkit.dissect.vlan:dissect_vlan"),
    ("ethertype", 0x8847, "pcapkit.dissect.mpls:dissect_mpls"),   # MPLS unicast
    ("ethertype", 0x8848, "pcapkit.dissect.mpls:dissect_mpls"),   # MPLS multicast
    # after the MPLS bottom of stack: the payload's first nibble (tshark 4.0; others -> data)
    ("mpls.payload", 4, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("mpls.payload", 6, "pcapkit.dissect.ipv6:dissect_ipv6"),
    # 802.2 LLC after an 802.3 length (key unused), LLC/SNAP; loopback families; raw IP
    ("llc", 0, "pcapkit.dissect.ethernet:dissect_llc"),
    ("null.family", 4, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("null.family", 6, "pcapkit.dissect.ipv6:dissect_ipv6"),
    ("raw.version", 4, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("raw.version", 6, "pcapkit.dissect.ipv6:dissect_ipv6"),
    # PPP protocol numbers (tshark 4.0 also takes the EtherType 0x0800 as IPv4; others -> data)
    ("ppp.protocol", 0x0021, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("ppp.protocol", 0x0800, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("ppp.protocol", 0x0057, "pcapkit.dissect.ipv6:dissect_ipv6"),
    ("ppp.protocol", 0x0281, "pcapkit.dissect.mpls:dissect_mpls"),
    ("ppp.protocol", 0x0283, "pcapkit.dissect.mpls:dissect_mpls"),
    # Cisco HDLC protocols (EtherTypes, no "ethertype" pseudo-protocol; others -> data)
    ("chdlc.protocol", 0x0800, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("chdlc.protocol", 0x86DD, "pcapkit.dissect.ipv6:dissect_ipv6"),
    ("chdlc.protocol", 0x8847, "pcapkit.dissect.mpls:dissect_mpls"),
    ("chdlc.protocol", 0x8848, "pcapkit.dissect.mpls:dissect_mpls"),
    ("chdlc.protocol", 0x8035, "pcapkit.dissect.chdlc:dissect_slarp"),
    ("chdlc.protocol", 0x6558, "pcapkit.dissect.ethernet:dissect_ethernet"),  # transparent bridging
    # IPoIB types (only these four; tshark calls nothing for the others)
    ("ipoib.type", 0x0800, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("ipoib.type", 0x86DD, "pcapkit.dissect.ipv6:dissect_ipv6"),
    ("ipoib.type", 0x0806, "pcapkit.dissect.arp:dissect_arp"),
    ("ipoib.type", 0x8035, "pcapkit.dissect.arp:dissect_arp"),
    # Juniper payload types (the first byte of the 4-byte type; 204 Ethernet)
    ("juniper.proto", 2, "pcapkit.dissect.ipv4:dissect_ipv4"),
    ("juniper.proto", 3, "pcapkit.dissect.ipv4:dissect_ipv4"),     # MPLS->IPv4: the IPv4 packet
    ("juniper.proto", 4, "pcapkit.dissect.mpls:dissect_mpls"),     # IPv4->MPLS
    ("juniper.proto", 5, "pcapkit.dissect.mpls:dissect_mpls"),
    ("juniper.proto", 6, "pcapkit.dissect.ipv6:dissect_ipv6"),
    ("juniper.proto", 7, "pcapkit.dissect.ipv6:dissect_ipv6"),     # MPLS->IPv6: the IPv6 packet
    ("juniper.proto", 8, "pcapkit.dissect.mpls:dissect_mpls"),     # IPv6->MPLS
    ("juniper.proto", 200, "pcapkit.dissect.ppp:dissect_ppp_raw"),
    ("juniper.proto", 202, "pcapkit.dissect.ethernet:dissect_llc"),
    ("juniper.proto", 203, "pcapkit.dissect.ethernet:dissect_llc"),
    ("juniper.proto", 204, "pcapkit.dissect.ethernet:dissect_ethernet"),
    ("juniper.proto", 208, "pcapkit.dissect.chdlc:dissect_chdlc"),
    # IPv6 extension headers (each a protocol of its own, as in tshark)
    ("ipv6.ext", 0, "pcapkit.dissect.ipv6:dissect_hopopts"),
    ("ipv6.ext", 43, "pcapkit.dissect.ipv6:dissect_routing"),
    ("ipv6.ext", 44, "pcapkit.dissect.ipv6:dissect_fraghdr"),
    ("ipv6.ext", 60, "pcapkit.dissect.ipv6:dissect_dstopts"),
    # IP protocols
    ("ip.proto", 1, "pcapkit.dissect.icmp:dissect_icmp"),
    ("ip.proto", 58, "pcapkit.dissect.icmpv6:dissect_icmpv6"),
    ("ip.proto", 6, "pcapkit.dissect.tcp:dissect_tcp"),
    ("ip.proto", 17, "pcapkit.dissect.udp:dissect_udp"),
    ("ip.proto", 4, "pcapkit.dissect.ipv4:dissect_ipv4"),     # IP in IP
    ("ip.proto", 41, "pcapkit.dissect.ipv6:dissect_ipv6"),    # IPv6 in IP (6in4)
    ("ip.proto", 137, "pcapkit.dissect.mpls:dissect_mpls"),   # MPLS in IP (RFC 4023)
    ("ip.proto", 51, "pcapkit.dissect.ah:dissect_ah"),        # Authentication Header (IPv4 and IPv6)
    ("ip.proto", 135, "pcapkit.dissect.ipv6_ext:dissect_mobility"),  # Mobility header: tshark stops there
    ("ip.proto", 139, "pcapkit.dissect.ipv6_ext:dissect_hip"),       # HIP: tshark stops there
    ("ip.proto", 140, "pcapkit.dissect.ipv6_ext:dissect_shim6"),     # Shim6: followed, as an extension header
    # UDP ports
    ("udp.port", 67, "pcapkit.dissect.dhcp:dissect_dhcp"),
    ("udp.port", 68, "pcapkit.dissect.dhcp:dissect_dhcp"),
    ("udp.port", 546, "pcapkit.dissect.dhcpv6:dissect_dhcpv6"),
    ("udp.port", 547, "pcapkit.dissect.dhcpv6:dissect_dhcpv6"),
    ("udp.port", 6635, "pcapkit.dissect.mpls:dissect_mpls"),  # MPLS in UDP (RFC 7510; tshark default)
    ("udp.port", 53, "pcapkit.dissect.dns:dissect_dns"),
    ("udp.port", 5353, "pcapkit.dissect.dns:dissect_mdns"),   # multicast DNS (RFC 6762)
    ("udp.port", 5355, "pcapkit.dissect.dns:dissect_llmnr"),  # LLMNR (RFC 4795)
    ("udp.port", 1900, "pcapkit.dissect.ssdp:dissect_ssdp"),  # SSDP: HTTP in datagrams (tshark's "ssdp")
    # TCP ports of stream-level dissectors: the driver hands these segments to the session's
    # TcpStreamDispatcher (reassembly, then one message per call), and no others
    ("tcp.port", 179, "pcapkit.dissect.bgp:dissect_bgp"),
    ("tcp.port", 53, "pcapkit.dissect.dns:dissect_dns_tcp"),   # one message after its 2-byte length
    # HTTP/1.x on tshark 4.0's ports for it (pcapkit.dissect.http.HTTP_PORTS)
    *(("tcp.port", port, "pcapkit.dissect.http:dissect_http")
      for port in (80, 631, 1900, 2710, 2869, 3128, 3132, 3689, 5985, 8080, 8088, 11371)),
    ("tcp.port", 443, "pcapkit.dissect.tls:dissect_tls"),      # TLS records (no decryption)
    ("tcp.port", 993, "pcapkit.dissect.tls:dissect_tls"),      # IMAP over TLS
]

_tables: dict[str, dict[int | str, str]] | None = None
_resolved: dict[str, Dissector] = {}


def _build() -> dict[str, dict[int | str, str]]:
    tables: dict[str, dict[int | str, str]] = {}
    for table, key, target in ENTRIES:
        slot = tables.setdefault(table, {})
        if key in slot:
            raise ValueError(f"dispatch key registered twice: {table}[{key!r}]")
        slot[key] = target
    return tables


def tables() -> dict[str, dict[int | str, str]]:
    global _tables
    if _tables is None:
        _tables = _build()
    return _tables


def table(name: str) -> dict[int | str, str]:
    """One dispatch table (empty when nothing is registered in it). The tables are static:
    a dissector may keep the dict it gets at import time."""
    return tables().setdefault(name, {})


def pick_port(ports: Container[int | str], sport: int, dport: int) -> int:
    """The port to dispatch a payload on: the lower one if it is in ``ports``, else the
    higher if it is, else the lower (Wireshark's "try the low port first")."""
    low, high = (sport, dport) if sport <= dport else (dport, sport)
    return high if low not in ports and high in ports else low


def lookup(table: str, key: int | str) -> Dissector | None:
    """The dissector registered for (table, key), or None."""
    target = tables().get(table, {}).get(key)
    if target is None:
        return None
    fn = _resolved.get(target)
    if fn is None:
        module, _, name = target.partition(":")
        fn = getattr(import_module(module), name)
        _resolved[target] = fn
    return fn


def field_specs() -> dict[str, Any]:
    """All FieldSpecs declared by the dissector modules (``FIELDS`` tuples), by name."""
    from pcapkit.dissect import FIELD_MODULES

    specs: dict[str, Any] = {}
    for module in FIELD_MODULES:
        for spec in getattr(import_module(module), "FIELDS", ()):
            if spec.name in specs and specs[spec.name] != spec:
                raise ValueError(f"field declared twice with different specs: {spec.name}")
            specs[spec.name] = spec
    return specs
