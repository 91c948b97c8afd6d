"""The IP protocols after IPv6 that the TCP extractor skipped as extension headers, as
tshark 4.0 dissects them (checked on built frames, next header 6 behind each):

* Mobility header (135, RFC 6275; tshark "mipv6"): the walk ends there, whatever its
  payload-protocol byte says (tshark never follows it), so TCP behind it is not TCP.
* HIP (139, RFC 7401; tshark "hip"): a protocol of its own, not followed either.
* Shim6 (140, RFC 5533; tshark "shim6"): an extension header; tshark goes on with its next
  header, for payload extension headers (P bit 1) and control messages alike.

All three are registered in ``ip.proto`` (so IPv4 protocol 135/139/140 reach them too, as
in tshark). Fields: the fixed header of each; the type-specific bodies, options and
parameters, and the checksum statuses, are not decoded. Summaries are tcpdump's:
"mobility: BU seq#=0 lifetime=0" (without -v) for a mobility header after IPv6,
"ip-proto-140 28" for what tcpdump does not decode.
"""

from __future__ import annotations

from pcapkit.dissect import registry
from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.link_common import cut_short
from pcapkit.fields import FieldSpec, ipv6_text

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("mip6.proto", "uint", 8, doc="payload protocol"),
    FieldSpec("mip6.hlen", "uint", 8, doc="header length (8-byte units, not counting the first 8)"),
    FieldSpec("mip6.mhtype", "uint", 8, doc="mobility header type"),
    FieldSpec("mip6.reserved", "uint", 8, "hex", doc="reserved"),
    FieldSpec("mip6.csum", "uint", 16, "hex", doc="checksum"),
    FieldSpec("hip.proto", "uint", 8, doc="next header (payload protocol)"),
    FieldSpec("hip.hdr_len", "uint", 8, doc="header length (8-byte units, not counting the first 8)"),
    FieldSpec("hip.shim6_fixed_p", "uint", 8, doc="fixed P bit (0)"),
    FieldSpec("hip.packet_type", "uint", 8, doc="packet type"),
    FieldSpec("hip.version", "uint", 8, doc="version"),
    FieldSpec("hip.shim6_fixed_s", "uint", 8, doc="fixed S bit (1)"),
    FieldSpec("hip.checksum", "uint", 16, "hex", doc="checksum"),
    FieldSpec("hip.controls", "uint", 16, "hex", doc="controls"),
    FieldSpec("hip.controls.a", "bool", doc="anonymous"),
    FieldSpec("hip.hit_sndr", "bytes", doc="sender's host identity tag"),
    FieldSpec("hip.hit_rcvr", "bytes", doc="receiver's host identity tag"),
    FieldSpec("shim6.nxt", "uint", 8, doc="next header"),
    FieldSpec("shim6.len", "uint", 8, doc="header length (8-byte units, not counting the first 8)"),
    FieldSpec("shim6.len_oct", "uint", 16, doc="header length in bytes"),
    FieldSpec("shim6.p", "bool", doc="P bit: payload extension header (1) or control message (0)"),
    FieldSpec("shim6.type", "uint", 8, doc="control message type"),
    FieldSpec("shim6.proto", "uint", 8, doc="protocol bit (0 shim6, 1 HIP)"),
    FieldSpec("shim6.checksum", "uint", 16, "hex", doc="control message checksum"),
)

NO_NEXT_HEADER = 59
_MH_NAMES = ("BRR", "HoTI", "CoTI", "HoT", "CoT", "BU", "BA", "BE")
_MH_MIN_LEN = (16, 16, 16, 24, 24, 12, 12, 24)  # tcpdump's ip6m_hdrlen per type


def dissect_mobility(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("mipv6", offset)
    if ctx.extra.get("ip.version") == 4:  # tcpdump decodes the mobility header after IPv6 only
        layer.summary = f"ip-proto-135 {max(ctx.reported_end - offset, 0)}"
    else:
        layer.summary = _mobility_summary(data, offset, end, ctx)
    if end - offset < 6:
        # tshark reads the length byte first, then adds the fields as they come
        _partial(layer, data, offset, end, ctx,
                 (("mip6.proto", 0, 1), ("mip6.hlen", 1, 1), ("mip6.mhtype", 2, 1),
                  ("mip6.reserved", 3, 1), ("mip6.csum", 4, 2)), "mobility header", need_first=2)
        return layer, None
    layer.add("mip6.proto", data[offset])
    layer.add("mip6.hlen", data[offset + 1])
    layer.add("mip6.mhtype", data[offset + 2])
    layer.add("mip6.reserved", data[offset + 3])
    layer.add("mip6.csum", (data[offset + 4] << 8) | data[offset + 5])
    layer.length = min((data[offset + 1] + 1) * 8, end - offset)
    return layer, None  # tshark does not follow the payload protocol


def dissect_hip(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("hip", offset)
    layer.summary = f"ip-proto-139 {max(ctx.reported_end - offset, 0)}"
    fields = (("hip.proto", 0, 1), ("hip.hdr_len", 1, 1), ("hip.shim6_fixed_p", 2, 1),
              ("hip.packet_type", 2, 1), ("hip.version", 3, 1), ("hip.shim6_fixed_s", 3, 1),
              ("hip.checksum", 4, 2), ("hip.controls", 6, 2), ("hip.controls.a", 6, 2),
              ("hip.hit_sndr", 8, 16), ("hip.hit_rcvr", 24, 16))
    if not _partial(layer, data, offset, end, ctx, fields, "HIP header", need_first=4):
        return layer, None
    layer.length = min((data[offset + 1] + 1) * 8, end - offset)
    return layer, None  # tshark shows the parameters, not a next protocol


def dissect_shim6(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("shim6", offset)
    layer.summary = f"ip-proto-140 {max(ctx.reported_end - offset, 0)}"
    if end - offset < 3:
        _partial(layer, data, offset, end, ctx, (("shim6.nxt", 0, 1), ("shim6.len", 1, 1),
                                                 ("shim6.len_oct", 1, 1)), "Shim6 header")
        return layer, None
    nxt, hlen, word = data[offset], data[offset + 1], data[offset + 2]
    size = (hlen + 1) * 8
    layer.add("shim6.nxt", nxt)
    layer.add("shim6.len", hlen)
    layer.add("shim6.len_oct", size)
    layer.add("shim6.p", bool(word & 0x80))
    if not word & 0x80:  # control message: tshark reads type and protocol bit from byte 2
        layer.add("shim6.type", word & 0x7F)
        layer.add("shim6.proto", word & 0x01)
        if end - offset < 5:
            cut_short(layer, offset + 3, offset + 5, end, ctx, "Shim6 header")
            return layer, None
        layer.add("shim6.checksum", (data[offset + 3] << 8) | data[offset + 4])
    if end - offset < size:
        cut_short(layer, offset, offset + size, end, ctx, "Shim6 header")
        return layer, None
    layer.length = size
    return layer, _next_header(nxt, offset + size, end, ctx.reported_end)


def _next_header(nxt: int, offset: int, end: int, reported_end: int) -> Next:
    """Where an IPv6 extension header's payload goes (the IPv6 dissector's own rule)."""
    if nxt in registry.table("ipv6.ext"):
        return Next("ipv6.ext", nxt, offset, end, reported_end)
    if nxt == NO_NEXT_HEADER:
        return Next("ipv6.none", nxt, offset, end, reported_end)
    return Next("ip.proto", nxt, offset, end, reported_end)


def _partial(layer: Layer, data: bytes, offset: int, end: int, ctx: Context,
             fields: tuple[tuple[str, int, int], ...], what: str, need_first: int = 0) -> bool:
    """Add the fixed fields in order while their bytes are there; False (with the finding)
    at the first that is not, or when fewer than ``need_first`` bytes (read before any field
    is added) are there."""
    if end - offset < need_first:
        cut_short(layer, offset, offset + need_first, end, ctx, what)
        return False
    for name, start, size in fields:
        if end - offset < start + size:
            cut_short(layer, offset + start, offset + start + size, end, ctx, what)
            return False
        raw = data[offset + start:offset + start + size]
        layer.add(name, _value(name, raw))
    layer.length = fields[-1][1] + fields[-1][2]
    return True


def _value(name: str, raw: bytes) -> object:
    if name.startswith("hip.hit"):
        return bytes(raw)
    value = int.from_bytes(raw, "big")
    if name == "hip.shim6_fixed_p":
        return value >> 7
    if name == "hip.packet_type":
        return value & 0x7F
    if name == "hip.version":
        return value >> 4
    if name == "hip.shim6_fixed_s":
        return value & 0x01
    if name == "hip.controls.a":
        return bool(value & 0x0001)
    if name == "shim6.len_oct":
        return (value + 1) * 8
    return value


def _mobility_summary(data: bytes, offset: int, end: int, ctx: Context) -> str:
    """tcpdump's ``mobility_print`` without -v."""
    if end - offset < 3:
        return "[|mobility]"
    mhlen = (data[offset + 1] + 1) * 8
    mhtype = data[offset + 2]
    if mhtype < len(_MH_NAMES) and mhlen < _MH_MIN_LEN[mhtype]:
        return f"(header length {mhlen} is too small for type {mhtype}) [|mobility]"
    name = _MH_NAMES[mhtype] if mhtype < len(_MH_NAMES) else f"type-#{mhtype}"
    text = f"mobility: {name}"

    def u16(at: int) -> int | None:
        return (data[offset + at] << 8) | data[offset + at + 1] if end - offset >= at + 2 else None

    if mhtype in (3, 4):  # HoT, CoT
        nonce = u16(6)
        return f"{text} nonce id=0x{nonce:x}" if nonce is not None else f"{text} [|mobility]"
    if mhtype == 5:  # BU
        seq = u16(6)
        if seq is None or end - offset < 10:
            return f"{text} [|mobility]" if seq is None else f"{text} seq#={seq} [|mobility]"
        text += f" seq#={seq}"
        bits = data[offset + 8] >> 4
        if bits:
            text += " " + "".join(flag for bit, flag in ((8, "A"), (4, "H"), (2, "L"), (1, "K")) if bits & bit)
        lifetime = u16(10)
        return f"{text} lifetime={lifetime << 2}" if lifetime is not None else f"{text} [|mobility]"
    if mhtype == 6:  # BA
        if end - offset < 8:
            return f"{text} [|mobility]"
        text += f" status={data[offset + 6]}" + (" K" if data[offset + 7] & 0x80 else "")
        seq, lifetime = u16(8), u16(10)
        if seq is None or lifetime is None:
            return f"{text} [|mobility]"
        return f"{text} seq#={seq} lifetime={lifetime << 2}"
    if mhtype == 7:  # BE
        if end - offset < 24:
            return f"{text} [|mobility]"
        return f"{text} status={data[offset + 6]} homeaddr {ipv6_text(data[offset + 8:offset + 24])}"
    if mhtype >= len(_MH_NAMES):
        return f"{text} len={data[offset + 1]}"
    return text
