"""IP Authentication Header (RFC 4302), in IPv4 (protocol 51) and IPv6 (next header 51).

Layout: next header (1), payload length (1: the header's length in 4-byte words minus
2), reserved (2), SPI (4), sequence number (4), ICV (the rest of the header).

As tshark 4.0 (packet-ipsec.c) does, the fields are read in that order and the first one
that runs off the bytes ends the layer (``truncated`` where the capture was cut short,
``malformed`` where the packet itself ends); the header is ``(length + 2) * 4`` bytes and
the ICV ``(length - 1) * 4`` (none for length 0 or 1). A length of 0 makes an 8-byte
header although the sequence number is still read at bytes 8-11 (tshark and tcpdump
both do this; the next header starts at byte 8). An empty ICV is left out (tshark
prints ``<MISSING>`` for it).

The payload is dispatched like an IPv6 extension header's when AH sits in IPv6 (further
extension headers through ``ipv6.ext``, no next header 59, else ``ip.proto``), through
``ip.proto`` in IPv4. AH is a protocol of its own in ``frame.protocols`` ("ipv6:ah:udp").

The summary is tcpdump's (print-ah.c, 4.99): ``AH(spi=0x00001234,seq=0x7,icv=0xaa..):``
with ``reserved=0x..[MustBeZero],`` first when the reserved bits are set, and ``[|ah]``
where the bytes end.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.ipv6 import _next as ipv6_next
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ah.next_header", "uint", 8, doc="next header"),
    FieldSpec("ah.length", "uint", 8, doc="payload length (4-byte words - 2)"),
    FieldSpec("ah.reserved", "bytes", doc="reserved (must be zero)"),
    FieldSpec("ah.spi", "uint", 32, "hex", doc="security parameters index"),
    FieldSpec("ah.sequence", "uint", 32, doc="sequence number"),
    FieldSpec("ah.icv", "bytes", doc="integrity check value"),
)

# (field name, start, stop) relative to the header, in tshark's order of reading
_FIXED = (("ah.reserved", 2, 4), ("ah.spi", 4, 8), ("ah.sequence", 8, 12))


def dissect_ah(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("ah", offset)
    reported = ctx.reported_end if ctx.reported_end > end else end
    # tcpdump stops at the end of the IP payload as captured
    layer.summary = _summary(data, offset, end)
    if end - offset < 2:
        layer.length = max(end - offset, 0)
        _cut(layer, offset + 2, end, reported, "next header and length")
        return layer, None
    nxt, hl = data[offset], data[offset + 1]
    hdr_len = (hl + 2) * 4
    icv_len = (hl - 1) * 4 if hl else 0
    layer.add("ah.next_header", nxt)
    layer.add("ah.length", hl)
    for name, start, stop in _FIXED:
        if offset + stop > end:
            layer.length = end - offset
            _cut(layer, offset + stop, end, reported, name)
            return layer, None
        raw = data[offset + start:offset + stop]
        layer.add(name, bytes(raw) if name == "ah.reserved" else int.from_bytes(raw, "big"))
    icv_end = offset + 12 + icv_len
    if icv_end > end:
        layer.length = end - offset
        _cut(layer, icv_end, end, reported, f"ICV of {icv_len} bytes")
        return layer, None
    if icv_len:
        layer.add("ah.icv", bytes(data[offset + 12:icv_end]))
    layer.length = hdr_len
    pay = offset + hdr_len
    if ctx.extra.get("ip.version") == 6:
        return layer, ipv6_next(nxt, pay, end, reported)
    return layer, Next("ip.proto", nxt, pay, end, reported)


def _cut(layer: Layer, need: int, end: int, reported: int, what: str) -> None:
    """The header needs bytes up to ``need``: past the packet is malformed, past the capture truncated."""
    if need > reported:
        layer.malformed(layer.offset, f"{what} runs past the end of the packet ({need - layer.offset} bytes "
                                      f"needed, {reported - layer.offset} in the packet)")
    else:
        layer.truncated(end, f"captured bytes end inside the AH header ({what})")


def _summary(data: bytes, offset: int, end: int) -> str:
    """tcpdump's text for the header, " [|ah]" where the captured bytes end."""
    cut = " [|ah]"
    if end - offset < 2:
        return "AH" + cut
    hdr_len = (data[offset + 1] + 2) * 4
    text = "AH("
    if end - offset < 4:
        return text + cut
    reserved = int.from_bytes(data[offset + 2:offset + 4], "big")
    if reserved:
        text += f"reserved=0x{reserved:x}[MustBeZero],"
    if end - offset < 8:
        return text + cut
    text += f"spi=0x{int.from_bytes(data[offset + 4:offset + 8], 'big'):08x},"
    if end - offset < 12:
        return text + cut
    text += f"seq=0x{int.from_bytes(data[offset + 8:offset + 12], 'big'):x},icv=0x"
    icv_end = offset + hdr_len
    text += bytes(data[offset + 12:min(icv_end, end)]).hex()
    if icv_end > end:
        return text + cut
    return text + "):"
