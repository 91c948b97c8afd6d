"""LINKTYPE_ERF (197): Endace ERF records.

A frame of link type 197 comes in one of two shapes:

* from an ERF file (pcapkit.capture.erf): wiretap's rule is kept -- the ERF header,
  extension headers and subheader are a pseudo-header that ``frame.cap_len`` does not
  count -- so ``Frame.data`` is the packet alone (``caplen == len(data)``). The header
  is then not in the bytes this dissector sees: the layer names the protocol ("erf",
  as in tshark's ``frame.protocols``) and hands the packet to Ethernet, which is what
  tshark does for the Ethernet record types (2, 11, 16, 20), the only ones dissected
  further for such frames (other record types are not told apart).
* from a pcap / pcapng file with LINKTYPE_ERF: the record is whole, header included
  (pcap's orig_len is wlen plus the header length, as Wireshark writes it). Then the
  header is decoded as tshark shows it (erf.ts, erf.types, erf.types.type,
  erf.types.ext_header, erf.flags and its bits, erf.rlen, erf.lctr, erf.wlen,
  erf.eth.off, erf.eth.pad) and the payload handed on by record type: Ethernet types
  to Ethernet, IPv4 (22) / IPv6 (23) to IP.

The two are told apart by the header's own lengths: a whole record has
``frame.len == wlen + header length`` (header, extension headers, subheader),
``frame.cap_len == min(frame.len, rlen)`` and a loss counter below 0x0600. An
Ethernet frame has its EtherType (>= 0x0600) where the loss counter would be, and
for an 802.3 length frame the bytes after it (the LLC SAPs) would have to equal its
length minus the header length. (A record of a color type whose color field is
>= 0x0600 is taken for a frame: such pcap files are rare; pcap readers that strip
the header as wiretap does would remove the ambiguity.)
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("erf.ts", "uint", 64, "hex", doc="timestamp: seconds (upper 32 bits) and binary fraction"),
    FieldSpec("erf.types", "uint", 8, "hex", doc="record type byte"),
    FieldSpec("erf.types.type", "uint", 8, doc="record type (bits 0-6)"),
    FieldSpec("erf.types.ext_header", "uint", 8, doc="extension header present (bit 7)"),
    FieldSpec("erf.flags", "uint", 8, "hex", doc="flags byte"),
    FieldSpec("erf.flags.cap", "uint", 8, doc="capture interface (bits 0-1)"),
    FieldSpec("erf.flags.vlen", "uint", 8, doc="varying record length"),
    FieldSpec("erf.flags.trunc", "uint", 8, doc="truncated"),
    FieldSpec("erf.flags.rxe", "uint", 8, doc="RX error"),
    FieldSpec("erf.flags.dse", "uint", 8, doc="DS error"),
    FieldSpec("erf.flags.res", "uint", 8, "hex", doc="reserved bits 6-7"),
    FieldSpec("erf.rlen", "uint", 16, doc="record length including the header"),
    FieldSpec("erf.lctr", "uint", 16, doc="loss counter"),
    FieldSpec("erf.wlen", "uint", 16, doc="wire length"),
    FieldSpec("erf.eth.off", "uint", 8, doc="Ethernet subheader: offset"),
    FieldSpec("erf.eth.pad", "uint", 8, "hex", doc="Ethernet subheader: pad"),
)

LINKTYPE_ETHERNET = 1
HEADER_LEN = 16
ETH_TYPES = frozenset({2, 11, 16, 20})
MC_TYPES = frozenset({5, 6, 7, 8, 9, 12, 17, 18})
TYPE_IPV4 = 22
TYPE_IPV6 = 23


def _header_len(data: bytes, offset: int, end: int) -> int | None:
    """Length of header + extension headers + subheader of a whole record at ``offset``,
    or None when the captured bytes end inside them."""
    if end - offset < HEADER_LEN:
        return None
    p = offset + HEADER_LEN
    t = data[offset + 8]
    while t & 0x80:
        if p + 8 > end:
            return None
        t = data[p]
        p += 8
    kind = data[offset + 8] & 0x7F
    sub = 2 if kind in ETH_TYPES else 4 if kind in MC_TYPES else 0
    if p + sub > end:
        return None
    return p + sub - offset


def has_header(data: bytes, offset: int, end: int, ctx: Context) -> bool:
    """True when the frame is a whole ERF record (pcap/pcapng LINKTYPE_ERF), header included."""
    hlen = _header_len(data, offset, end)
    if hlen is None or data[offset + 8] & 0x7F == 0:
        return False
    rlen = int.from_bytes(data[offset + 10:offset + 12], "big")
    lctr = int.from_bytes(data[offset + 12:offset + 14], "big")
    wlen = int.from_bytes(data[offset + 14:offset + 16], "big")
    if lctr >= 0x0600:
        # where an Ethernet frame has its EtherType: a frame, not a loss counter
        return False
    return rlen >= hlen and ctx.wirelen - offset == wlen + hlen and end - offset == min(ctx.wirelen - offset, rlen)


def packet_start(data: bytes, wirelen: int) -> tuple[str, int]:
    """Where the packet of a LINKTYPE_ERF frame starts and what it is, without dissecting
    the header: ("eth" | "ipv4" | "ipv6" | "other", offset). For the TCP extractor."""
    end = len(data)
    if not has_header(data, 0, end, Context(caplen=end, wirelen=wirelen, reported_end=wirelen)):
        return "eth", 0
    hlen = _header_len(data, 0, end)
    assert hlen is not None
    kind = data[8] & 0x7F
    if kind in ETH_TYPES:
        return "eth", hlen
    if kind == TYPE_IPV4:
        return "ipv4", hlen
    if kind == TYPE_IPV6:
        return "ipv6", hlen
    return "other", hlen


def dissect_erf(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """The ERF layer (see the module docstring), then the packet by record type."""
    if not has_header(data, offset, end, ctx):
        return Layer("erf", offset, 0), Next("link", LINKTYPE_ETHERNET, offset, end)
    hlen = _header_len(data, offset, end)
    assert hlen is not None
    layer = Layer("erf", offset, hlen)
    rtype, flags = data[offset + 8], data[offset + 9]
    layer.add("erf.ts", int.from_bytes(data[offset:offset + 8], "little"))
    layer.add("erf.types", rtype)
    layer.add("erf.types.type", rtype & 0x7F)
    layer.add("erf.types.ext_header", rtype >> 7)
    layer.add("erf.flags", flags)
    layer.add("erf.flags.cap", flags & 0x03)
    layer.add("erf.flags.vlen", (flags >> 2) & 1)
    layer.add("erf.flags.trunc", (flags >> 3) & 1)
    layer.add("erf.flags.rxe", (flags >> 4) & 1)
    layer.add("erf.flags.dse", (flags >> 5) & 1)
    layer.add("erf.flags.res", flags >> 6)
    layer.add("erf.rlen", int.from_bytes(data[offset + 10:offset + 12], "big"))
    layer.add("erf.lctr", int.from_bytes(data[offset + 12:offset + 14], "big"))
    wlen = int.from_bytes(data[offset + 14:offset + 16], "big")
    layer.add("erf.wlen", wlen)
    kind = rtype & 0x7F
    start = offset + hlen
    reported = start + wlen
    if kind in ETH_TYPES:
        layer.add("erf.eth.off", data[start - 2])
        layer.add("erf.eth.pad", data[start - 1])
        return layer, Next("link", LINKTYPE_ETHERNET, start, end, reported)
    if kind == TYPE_IPV4:
        return layer, Next("raw.version", 4, start, end, reported)
    if kind == TYPE_IPV6:
        return layer, Next("raw.version", 6, start, end, reported)
    return layer, Next("erf.type", kind, start, end, reported)
