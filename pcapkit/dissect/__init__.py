"""Protocol dissectors: pure functions over bytes chained through dispatch tables.

See :mod:`pcapkit.dissect.base` for the dissector contract and
:mod:`pcapkit.dissect.registry` for the tables. Modules here are imported lazily.
"""

from __future__ import annotations

# modules that declare FIELDS (FieldSpec tuples); keep in sync when adding a protocol
FIELD_MODULES: tuple[str, ...] = (
    "pcapkit.dissect.frame_fields",
    "pcapkit.dissect.ethernet",
    "pcapkit.dissect.vlan",
    "pcapkit.dissect.mpls",
    "pcapkit.dissect.sll",
    "pcapkit.dissect.null",
    "pcapkit.dissect.erf",
    "pcapkit.dissect.arp",
    "pcapkit.dissect.ipv4",
    "pcapkit.dissect.ipv6",
    "pcapkit.dissect.ah",
    "pcapkit.dissect.icmp",
    "pcapkit.dissect.icmpv6",
    "pcapkit.dissect.udp",
    "pcapkit.dissect.tcp",
    "pcapkit.dissect.dhcp",
    "pcapkit.dissect.dhcpv6",
    "pcapkit.dissect.dns",
    "pcapkit.dissect.http",
    "pcapkit.dissect.tls",
    "pcapkit.dissect.bgp",
    "pcapkit.dissect.ppp",
    "pcapkit.dissect.chdlc",
    "pcapkit.dissect.fddi",
    "pcapkit.dissect.token_ring",
    "pcapkit.dissect.ipoib",
    "pcapkit.dissect.juniper",
    "pcapkit.dissect.ipv6_ext",
    "pcapkit.dissect.radiotap",
    "pcapkit.dissect.ieee80211",
)
