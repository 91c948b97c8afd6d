"""IPv4 (RFC 791): header, options, checksum status; fragments go to reassembly.

Fields and their printing follow tshark 4.0 (``ip.flags`` is the 3 flag bits shifted
down, printed "0x02"; ``ip.frag_offset`` is in 8-byte units; ``ip.checksum.status`` is 2
"unverified" unless checksum validation is on). A fragment (MF set or offset > 0)
returns ``Next("ip.fragment", proto, ...)`` and leaves the reassembly key in
``ctx.extra["frag"]`` for the driver's :class:`~pcapkit.dissect.driver.DissectSession`.
It also leaves ``ctx.extra`` "ip.src_raw", "ip.dst_raw" (the pseudo-header for transport
checksums), "ip.version" and "pdu_end" (where a link-layer trailer starts).

A header that is whole and consistent (the common case) is dissected by one unpack; its
fields, options, findings and summary are decoded on first access (:class:`~pcapkit.dissect.base.LazyLayer`).
"""

from __future__ import annotations

import struct
from typing import Any

from pcapkit.dissect.base import (
    Context,
    Layer,
    LazyLayer,
    Next,
    Result,
    _Multi,
    _next,
    quick_fields,
)
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ip.version", "uint", 8, doc="version (4)"),
    FieldSpec("ip.hdr_len", "uint", 8, doc="header length in bytes"),
    FieldSpec("ip.dsfield", "uint", 8, "hex", doc="differentiated services field"),
    FieldSpec("ip.dsfield.dscp", "uint", 8, doc="DSCP"),
    FieldSpec("ip.dsfield.ecn", "uint", 8, doc="ECN"),
    FieldSpec("ip.len", "uint", 16, doc="total length"),
    FieldSpec("ip.id", "uint", 16, "hex", doc="identification"),
    FieldSpec("ip.flags", "uint", 8, "hex", doc="flags (3 bits)"),
    FieldSpec("ip.flags.rb", "bool", doc="reserved (evil) bit"),
    FieldSpec("ip.flags.df", "bool", doc="don't fragment"),
    FieldSpec("ip.flags.mf", "bool", doc="more fragments"),
    FieldSpec("ip.frag_offset", "uint", 16, doc="fragment offset (8-byte units)"),
    FieldSpec("ip.ttl", "uint", 8, doc="time to live"),
    FieldSpec("ip.proto", "uint", 8, doc="protocol"),
    FieldSpec("ip.checksum", "uint", 16, "hex", doc="header checksum"),
    FieldSpec("ip.checksum_calculated", "uint", 16, "hex", doc="computed checksum"),
    FieldSpec("ip.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified"),
    FieldSpec("ip.src", "ipv4", doc="source address"),
    FieldSpec("ip.dst", "ipv4", doc="destination address"),
    FieldSpec("ip.addr", "ipv4", doc="source or destination"),
    FieldSpec("ip.src_host", "string", doc="source host (address with -n)"),
    FieldSpec("ip.dst_host", "string", doc="destination host (address with -n)"),
    FieldSpec("ip.host", "string", doc="source or destination host"),
    FieldSpec("ip.opt.type", "uint", 8, doc="option type"),
    FieldSpec("ip.opt.type.copy", "bool", doc="copy on fragmentation"),
    FieldSpec("ip.opt.type.class", "uint", 8, doc="option class"),
    FieldSpec("ip.opt.type.number", "uint", 8, doc="option number"),
    FieldSpec("ip.opt.len", "uint", 8, doc="option length"),
    FieldSpec("ip.opt.ptr", "uint", 8, doc="option pointer"),
    FieldSpec("ip.opt.ra", "uint", 16, doc="router alert value"),
    FieldSpec("ip.opt.overflow", "uint", 8, doc="timestamp overflow"),
    FieldSpec("ip.opt.flag", "uint", 8, "hex", doc="timestamp flag"),
    FieldSpec("ip.opt.time_stamp", "uint", 32, doc="timestamp"),
    FieldSpec("ip.opt.time_stamp_addr", "ipv4", doc="timestamp address"),
    FieldSpec("ip.rec_rt", "ipv4", doc="recorded route"),
    FieldSpec("ip.rec_rt_host", "string", doc="recorded route host"),
    FieldSpec("ip.empty_rt", "ipv4", doc="empty route slot"),
    FieldSpec("ip.empty_rt_host", "string", doc="empty route slot host"),
    FieldSpec("ip.src_rt", "ipv4", doc="source route"),
    FieldSpec("ip.src_rt_host", "string", doc="source route host"),
    FieldSpec("ip.cur_rt", "ipv4", doc="current route"),
    FieldSpec("ip.cur_rt_host", "string", doc="current route host"),
    FieldSpec("ip.fragment", "framenum", doc="frames holding the fragments"),
    FieldSpec("ip.fragment.count", "uint", 32, doc="number of fragments"),
    FieldSpec("ip.fragment.error", "framenum", doc="frames of fragments with errors (overlap)"),
    FieldSpec("ip.fragment.overlap", "bool", doc="fragment overlaps"),
    FieldSpec("ip.fragment.overlap.conflict", "bool", doc="overlap with different data"),
    FieldSpec("ip.fragment.multipletails", "bool", doc="several last fragments"),
    FieldSpec("ip.fragment.toolongfragment", "bool", doc="fragment past the end"),
    FieldSpec("ip.fragments", "bytes", doc="the reassembled bytes"),
    FieldSpec("ip.reassembled.length", "uint", 32, doc="reassembled length"),
    FieldSpec("ip.reassembled.data", "bytes", doc="reassembled data"),
)

PROTO_NAMES = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 41: "IPv6", 47: "GRE", 50: "ESP",
               51: "AH", 58: "ICMPv6", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP"}


def ipv4_text(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def checksum16(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``: ones' complement of the ones' complement sum."""
    if len(data) % 2:
        data = data + b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# what the dispatch needs now: version/IHL, total length, id, flags/fragment offset,
# protocol, addresses (the rest is decoded on first access)
_DISPATCH = struct.Struct("!BxHHHxB2x4s4s")


def dissect_ipv4(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset >= 20:
        # the common case, decided from one unpack: a whole fixed header and options
        # captured, lengths consistent. Fields, options, findings and summary are decoded
        # on first access (LazyLayer), unless checksums are checked (a finding is due now)
        b0, total_len, ident, ff, proto, src_raw, dst_raw = _DISPATCH.unpack_from(data, offset)
        hdr_len = (b0 & 0x0F) * 4
        if b0 >> 4 == 4 and 20 <= hdr_len <= end - offset and not 0 < total_len < hdr_len:
            reported_end = ctx.reported_end
            layer: Layer
            if ctx.check_checksums:
                layer = Layer("ip", offset, hdr_len, {"ip.version": 4, "ip.hdr_len": hdr_len})
                _header_fields(layer, data, offset, hdr_len, reported_end, True)
            else:
                layer = LazyLayer("ip", offset, hdr_len, _deferred, (data, reported_end), _summary)
            extra = ctx.extra
            extra["ip.src_raw"] = src_raw
            extra["ip.dst_raw"] = dst_raw
            extra["ip.version"] = 4
            reported_avail = reported_end - offset
            if total_len == 0:
                total_len = reported_avail  # TSO (as tshark)
                if total_len < hdr_len:
                    return layer, None
            pdu_reported_end = reported_end if total_len > reported_avail else offset + total_len
            if "pdu_end" not in extra:
                extra["pdu_end"] = pdu_reported_end
            pay_off = offset + hdr_len
            pay_end = end if end < pdu_reported_end else pdu_reported_end
            if ff & 0x3FFF:  # MF or a fragment offset
                return _fragment(layer, ctx, pay_off, pay_end, pdu_reported_end, total_len - hdr_len, ident, ff,
                                 proto, src_raw, dst_raw)
            return layer, _next(Next, ("ip.proto", proto, pay_off, pay_end, pdu_reported_end))
    layer = Layer("ip", offset)
    avail = end - offset
    if avail < 1:
        layer.truncated(offset, "no bytes for the IPv4 header")
        return layer, None
    b0 = data[offset]
    version, ihl = b0 >> 4, b0 & 0x0F
    hdr_len = ihl * 4
    layer.add("ip.version", version)
    if version == 6:
        # tshark's IPv4 dissector hands a version-6 header to IPv6 ("Bogus IPv4 version",
        # then the IPv6 tree; seen in broken/fuzz-2006-06-26-2594.pcap frame 669)
        layer.malformed(offset, "version 6 in an IPv4 header: dissected as IPv6")
        return layer, Next("ethertype", 0x86DD, offset, end)
    if version != 4:
        layer.malformed(offset, f"version {version} is not 4")
        layer.length = 1
        return layer, None
    layer.add("ip.hdr_len", hdr_len)
    if hdr_len < 20:
        layer.malformed(offset, f"header length {hdr_len} < 20")
        layer.length = 1
        return layer, None
    h = data[offset:min(end, offset + 20)]
    if avail >= 20:
        return _full_header(layer, data, offset, end, ctx, h, hdr_len)
    if avail >= 4:
        total_len = int.from_bytes(h[2:4], "big")
    else:
        total_len = 0
    if avail >= 2:
        tos = h[1]
        layer.add("ip.dsfield", tos)
        layer.add("ip.dsfield.dscp", tos >> 2)
        layer.add("ip.dsfield.ecn", tos & 3)
    if avail >= 4:
        layer.add("ip.len", total_len)
        if 0 < total_len < hdr_len:
            # tshark stops here: "bogus, less than header length"
            layer.malformed(offset + 2, f"total length {total_len} < header length {hdr_len}")
            layer.length = min(avail, hdr_len)
            return layer, None
    if avail >= 6:
        ident = int.from_bytes(h[4:6], "big")
        layer.add("ip.id", ident)
    if avail >= 8:
        ff = int.from_bytes(h[6:8], "big")
        flags = ff >> 13
        frag = ff & 0x1FFF
        layer.add("ip.flags", flags)
        layer.add("ip.flags.rb", bool(flags & 4))
        layer.add("ip.flags.df", bool(flags & 2))
        layer.add("ip.flags.mf", bool(flags & 1))
        layer.add("ip.frag_offset", frag)
    if avail >= 9:
        layer.add("ip.ttl", h[8])
    if avail >= 10:
        layer.add("ip.proto", h[9])
    if avail >= 12:
        layer.add("ip.checksum", int.from_bytes(h[10:12], "big"))
    # fewer than 20 bytes captured: whole fields only, as tshark shows them
    if avail >= 12:
        layer.add("ip.checksum.status", 2)
    if avail >= 16:
        src = ipv4_text(h[12:16])
        layer.fields.update({"ip.src": src, "ip.addr": src, "ip.src_host": src, "ip.host": src})
    layer.truncated(end, f"captured bytes end inside the IPv4 header ({avail} < 20)")
    layer.length = avail
    return layer, None


def _fragment(layer: Layer, ctx: Context, pay_off: int, pay_end: int, pdu_reported_end: int, payload_len: int,
              ident: int, ff: int, proto: int, src_raw: bytes, dst_raw: bytes) -> Result:
    """Where a fragment of a header the fast path accepted goes: the reassembler, or (cut
    short by the snaplen) the first fragment's payload as it is, or undissected data."""
    frag = ff & 0x1FFF
    if pay_end < pdu_reported_end:
        if frag == 0:
            return layer, Next("ip.proto", proto, pay_off, pay_end, pdu_reported_end)
        return layer, Next("ip.data", proto, pay_off, pay_end, pdu_reported_end)
    ctx.extra["frag"] = (4, ipv4_text(src_raw), ipv4_text(dst_raw), ident, proto, frag * 8, bool(ff & 0x2000),
                         payload_len)
    return layer, Next("ip.fragment", proto, pay_off, pay_end, pdu_reported_end)


def _deferred(layer: Layer, data: bytes, reported_end: int) -> None:
    """Fields, options, findings and summary of a header the fast path accepted."""
    offset = layer.offset
    b0 = data[offset]
    hdr_len = (b0 & 0x0F) * 4
    f = layer._fields
    f["ip.version"] = 4
    f["ip.hdr_len"] = hdr_len
    _header_fields(layer, data, offset, hdr_len, reported_end, False, summary=False)


def _summary(layer: Layer, data: bytes, reported_end: int) -> str:
    """Summary of a header the fast path accepted (see :func:`_summary_text`)."""
    offset = layer.offset
    return _summary_text(data[offset:offset + 20], (data[offset] & 0x0F) * 4, reported_end - offset)


def _summary_text(h: bytes, hdr_len: int, reported_avail: int) -> str:
    """"ip-proto-6 40" or "tcp (frag 5:1480@0+)", as tcpdump; "" for a bogus length."""
    total_len = (h[2] << 8) | h[3]
    if total_len == 0:
        total_len = reported_avail  # TSO
    if total_len < hdr_len:
        return ""
    proto = h[9]
    flags, frag = h[6] >> 5, ((h[6] & 0x1F) << 8) | h[7]
    if flags & 1 or frag:
        name = PROTO_NAMES.get(proto, f"ip-proto-{proto}")
        return f"{name.lower()} (frag {(h[4] << 8) | h[5]}:{total_len - hdr_len}@{frag * 8}{'+' if flags & 1 else ''})"
    return f"ip-proto-{proto} {total_len - hdr_len}"


def _full_header(layer: Layer, data: bytes, offset: int, end: int, ctx: Context, h: bytes,
                 hdr_len: int) -> Result:
    """At least the 20 fixed header bytes were captured, but :func:`dissect_ipv4`'s fast path
    refused them: a bogus total length, or options cut short by the snaplen."""
    avail = end - offset
    tos = h[1]
    total_len = int.from_bytes(h[2:4], "big")
    f = layer.fields
    if 0 < total_len < hdr_len:
        f.update({"ip.dsfield": tos, "ip.dsfield.dscp": tos >> 2, "ip.dsfield.ecn": tos & 3,
                  "ip.len": total_len})
        layer.malformed(offset + 2, f"total length {total_len} < header length {hdr_len}")
        layer.length = min(avail, hdr_len)
        return layer, None
    # the options were cut short (the fast path takes every header captured whole)
    _fixed_fields(f, h)
    src = ipv4_text(h[12:16])
    layer.truncated(end, f"captured bytes end inside the IPv4 options ({avail} < {hdr_len})")
    layer.add("ip.checksum.status", 2)
    # tshark stops after the source address when the options are cut short (seen in
    # broken/ipv4-internally-truncated-header.pcap: dst is captured but not shown)
    layer.fields.update({"ip.src": src, "ip.addr": src, "ip.src_host": src, "ip.host": src})
    layer.length = avail
    return layer, None


def _fixed_fields(f: dict[str, Any], h: bytes) -> int:
    """The fixed-header fields up to the checksum; returns the flags word."""
    tos = h[1]
    ff = (h[6] << 8) | h[7]
    flags = ff >> 13
    f.update({"ip.dsfield": tos, "ip.dsfield.dscp": tos >> 2, "ip.dsfield.ecn": tos & 3,
              "ip.len": (h[2] << 8) | h[3], "ip.id": (h[4] << 8) | h[5], "ip.flags": flags,
              "ip.flags.rb": bool(flags & 4), "ip.flags.df": bool(flags & 2), "ip.flags.mf": bool(flags & 1),
              "ip.frag_offset": ff & 0x1FFF, "ip.ttl": h[8], "ip.proto": h[9],
              "ip.checksum": (h[10] << 8) | h[11]})
    return ff


def _header_fields(layer: Layer, data: bytes, offset: int, hdr_len: int, reported_end: int,
                   check_checksums: bool, summary: bool = True) -> None:
    """Fields, options, findings and summary of a header whose hdr_len bytes were captured."""
    h = data[offset:offset + 20]
    f = layer._fields
    _fixed_fields(f, h)
    total_len = (h[2] << 8) | h[3]
    if check_checksums:
        csum = (h[10] << 8) | h[11]
        calc = checksum16(data[offset:offset + 10] + b"\0\0" + data[offset + 12:offset + hdr_len])
        f["ip.checksum_calculated"] = calc
        f["ip.checksum.status"] = 1 if calc == csum else 0
        if calc != csum:
            from pcapkit.dissect.base import FindingKind

            layer.finding(FindingKind.CHECKSUM_BAD, offset + 10, f"header checksum 0x{csum:04x}, should be 0x{calc:04x}")
    else:
        f["ip.checksum.status"] = 2
    src, dst = ipv4_text(h[12:16]), ipv4_text(h[16:20])
    f.update({"ip.src": src, "ip.addr": _Multi([src, dst]), "ip.src_host": src,
              "ip.host": _Multi([src, dst]), "ip.dst": dst, "ip.dst_host": dst})
    if hdr_len > 20:
        _options(layer, data, offset + 20, offset + hdr_len)
    reported_avail = reported_end - offset
    if total_len == 0:
        # TSO: the length field is 0, use the reported length (tshark does the same)
        total_len = reported_avail
    if total_len < hdr_len:
        return
    if total_len > reported_avail:
        layer.malformed(offset + 2, f"total length {total_len} > {reported_avail} bytes in the frame")
    if summary:
        layer._summary = _summary_text(h, hdr_len, reported_avail)


def _addresses(layer: Layer, src: str, dst: str) -> None:
    layer.fields.update({"ip.src": src, "ip.addr": _Multi([src, dst]), "ip.src_host": src,
                         "ip.host": _Multi([src, dst]), "ip.dst": dst, "ip.dst_host": dst})


def _option_type(layer: Layer, t: int) -> None:
    layer.add("ip.opt.type", t)
    layer.add("ip.opt.type.copy", bool(t & 0x80))
    layer.add("ip.opt.type.class", (t >> 5) & 3)
    layer.add("ip.opt.type.number", t & 0x1F)


def _options(layer: Layer, data: bytes, start: int, stop: int) -> None:
    """Decode the options area [start, stop) of the header."""
    pos = start
    while pos < stop:
        t = data[pos]
        if t in (0, 1):
            _option_type(layer, t)
            if t == 0:  # EOL: tshark 4.0 shows nothing for the bytes after it
                return
            pos += 1  # NOP
            continue
        if pos + 1 >= stop:
            layer.malformed(pos, "option length missing")
            return
        olen = data[pos + 1]
        if olen < 2 or pos + olen > stop:
            # tshark shows no item for an option whose length runs off the options area
            layer.malformed(pos + 1, f"option length {olen} invalid")
            return
        _option_type(layer, t)
        layer.add("ip.opt.len", olen)
        body = data[pos + 2:pos + olen]
        if t in (7, 131, 137) and olen >= 3:  # record route, loose/strict source route
            ptr = body[0]
            layer.add("ip.opt.ptr", ptr)
            _routes(layer, t, ptr, body[1:])
        elif t == 68 and olen >= 4:  # timestamp
            ptr, of = body[0], body[1]
            layer.add("ip.opt.ptr", ptr)
            layer.add("ip.opt.overflow", of >> 4)
            layer.add("ip.opt.flag", of & 0x0F)
            _timestamps(layer, of & 0x0F, ptr, body[2:])
        elif t == 148 and olen == 4:  # router alert
            layer.add("ip.opt.ra", int.from_bytes(body[:2], "big"))
        pos += olen


def _routes(layer: Layer, t: int, ptr: int, area: bytes) -> None:
    # entries start at option byte 3 (pointer value 4); the pointer names the next free slot
    for i in range(0, len(area) - len(area) % 4, 4):
        addr = ipv4_text(area[i:i + 4])
        at = i + 4  # pointer value of this slot
        if t == 7:
            if at < ptr:
                layer.add("ip.rec_rt", addr)
                layer.add("ip.rec_rt_host", addr)
            else:
                layer.add("ip.empty_rt", addr)
                layer.add("ip.empty_rt_host", addr)
        else:
            if at == ptr:
                layer.add("ip.cur_rt", addr)
                layer.add("ip.cur_rt_host", addr)
            elif at < ptr:
                layer.add("ip.rec_rt", addr)
                layer.add("ip.rec_rt_host", addr)
            else:
                layer.add("ip.src_rt", addr)
                layer.add("ip.src_rt_host", addr)


def _timestamps(layer: Layer, flag: int, ptr: int, area: bytes) -> None:
    step = 4 if flag == 0 else 8
    for i in range(0, len(area) - len(area) % step, step):
        if i + 5 > ptr:  # only filled-in entries
            break
        if flag == 0:
            layer.add("ip.opt.time_stamp", int.from_bytes(area[i:i + 4], "big"))
        else:
            layer.add("ip.opt.time_stamp_addr", ipv4_text(area[i:i + 4]))
            layer.add("ip.opt.time_stamp", int.from_bytes(area[i + 4:i + 8], "big"))



quick_fields(_deferred, {
    "ip.version": lambda d, o: 4,
    "ip.hdr_len": lambda d, o: (d[o] & 0x0F) * 4,
    "ip.dsfield": lambda d, o: d[o + 1],
    "ip.len": lambda d, o: (d[o + 2] << 8) | d[o + 3],
    "ip.id": lambda d, o: (d[o + 4] << 8) | d[o + 5],
    "ip.frag_offset": lambda d, o: ((d[o + 6] & 0x1F) << 8) | d[o + 7],
    "ip.ttl": lambda d, o: d[o + 8],
    "ip.proto": lambda d, o: d[o + 9],
    "ip.checksum": lambda d, o: (d[o + 10] << 8) | d[o + 11],
    "ip.src": lambda d, o: f"{d[o + 12]}.{d[o + 13]}.{d[o + 14]}.{d[o + 15]}",
    "ip.dst": lambda d, o: f"{d[o + 16]}.{d[o + 17]}.{d[o + 18]}.{d[o + 19]}",
})
