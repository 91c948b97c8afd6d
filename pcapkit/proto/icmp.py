"""ICMP (RFC 792) and ICMPv6 (RFC 4443): type, code and checksum, the 4 bytes both share.

Error messages quote the offending datagram after 8 bytes; the dissectors decode it as IP
again (so ``ip.src`` occurs twice), the columnar path hands such packets to them.
"""

from __future__ import annotations

from pcapkit.proto.spec import Check, Field, Header

# ICMP types whose body quotes a datagram: unreachable, source quench, redirect, time
# exceeded, parameter problem (and 31, conversion error, which tshark decodes alike)
ICMP_ERROR_TYPES = (3, 4, 5, 11, 12)
ICMPV6_ERROR_TYPES = (1, 2, 3, 4)
QUOTE_AT = 8  # the quoted datagram starts after the 8-byte ICMP header


def _quotes(prefix: str, types: tuple[int, ...]) -> Check:
    return Check(" | ".join(f"({prefix}.type == {t})" for t in types), "an error quoting a datagram")


HEADER = Header("icmp", 4, length=8, slow=(_quotes("icmp", (*ICMP_ERROR_TYPES, 31)),), fields=(
    Field("icmp.type", "uint", 0, 1, doc="Type"),
    Field("icmp.code", "uint", 1, 1, doc="Code"),
    Field("icmp.checksum", "uint", 2, 2, base="hex", doc="Checksum"),
))

ICMPV6 = Header("icmpv6", 4, length=8, slow=(_quotes("icmpv6", ICMPV6_ERROR_TYPES),), fields=(
    Field("icmpv6.type", "uint", 0, 1, doc="Type"),
    Field("icmpv6.code", "uint", 1, 1, doc="Code"),
    Field("icmpv6.checksum", "uint", 2, 2, base="hex", doc="Checksum"),
))
