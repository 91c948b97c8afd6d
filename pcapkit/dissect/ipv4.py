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

from pcapkit.dissect.base import (
    Context,
    FindingKind,
    Layer,
    LazyLayer,
    Next,
    Result,
    _Multi,
    _next,
    quick_fields,
)
from pcapkit.fields import FieldSpec, ipv4_text
from pcapkit.proto.checksum import internet_checksum
from pcapkit.proto.consts import ETHERTYPE_IPV6, IP_PROTO_NAMES
from pcapkit.proto.ipv4 import (
    FRAGMENT_BITS,
    FRAGMENT_UNIT,
    HDR_LEN_OF_BYTE0,
    HEADER,
    VERSION_OF_BYTE0,
)

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    FieldSpec("ip.checksum_calculated", "uint", 16, "hex", doc="computed checksum"),
    FieldSpec("ip.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified"),
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

_CHECKSUM = HEADER["ip.checksum"]
# what the dispatch needs now: version/IHL, total length, id, flags/fragment offset,
# protocol, addresses (the rest is decoded on first access)
_DISPATCH = HEADER.units("ip.hdr_len", "ip.len", "ip.id", "ip.frag_offset", "ip.proto", "ip.src", "ip.dst")
_FRAG_OFFSET_BITS = HEADER.span_mask("ip.frag_offset", "ip.frag_offset")
_MF_BIT = HEADER.span_mask("ip.frag_offset", "ip.flags.mf")
# the fields between the header length and the addresses, in tshark's order
_MIDDLE = tuple(f.name for f in HEADER.fields if f.off > 0 and f.ftype != "ipv4")
_MIDDLE_VALUES = HEADER.unpacker(*_MIDDLE)
# the fixed fields up to the checksum, in tshark's order, into a layer's fields
_FILL_FIXED = HEADER.filler("ip.version", "ip.hdr_len", *_MIDDLE)
_LEN_END = HEADER["ip.len"].end
_ADDRESSES = HEADER.unpacker("ip.src", "ip.dst")
_SUMMARY = HEADER.unpacker("ip.len", "ip.id", "ip.flags.mf", "ip.frag_offset", "ip.proto")
_VERSION, _HDR_LEN, _SRC = (HEADER.getter(name) for name in ("ip.version", "ip.hdr_len", "ip.src"))


def dissect_ipv4(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset >= 20:
        # the common case, decided from one unpack: a whole fixed header and options
        # captured, lengths consistent. Fields, options, findings and summary are decoded
        # on first access (LazyLayer), unless checksums are checked (a finding is due now)
        b0, total_len, ident, ff, proto, src_raw, dst_raw = _DISPATCH(data, offset)
        hdr_len = HDR_LEN_OF_BYTE0[b0]
        if VERSION_OF_BYTE0[b0] == 4 and 20 <= hdr_len <= end - offset and not 0 < total_len < hdr_len:
            reported_end = ctx.reported_end
            layer: Layer
            if ctx.check_checksums:
                layer = Layer("ip", offset, hdr_len)
                _FILL_FIXED(layer._fields, data, offset)
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
            if ff & FRAGMENT_BITS:  # MF or a fragment offset
                return _fragment(layer, ctx, pay_off, pay_end, pdu_reported_end, total_len - hdr_len, ident, ff,
                                 proto, src_raw, dst_raw)
            return layer, _next(Next, ("ip.proto", proto, pay_off, pay_end, pdu_reported_end))
    layer = Layer("ip", offset)
    avail = end - offset
    if avail < 1:
        layer.truncated(offset, "no bytes for the IPv4 header")
        return layer, None
    version = _VERSION(data, offset)
    hdr_len = _HDR_LEN(data, offset)
    layer.add("ip.version", version)
    if version == 6:
        # tshark's IPv4 dissector hands a version-6 header to IPv6 ("Bogus IPv4 version",
        # then the IPv6 tree; seen in broken/fuzz-2006-06-26-2594.pcap frame 669)
        layer.malformed(offset, "version 6 in an IPv4 header: dissected as IPv6")
        return layer, Next("ethertype", ETHERTYPE_IPV6, offset, end)
    if version != 4:
        layer.malformed(offset, f"version {version} is not 4")
        layer.length = 1
        return layer, None
    layer.add("ip.hdr_len", hdr_len)
    if hdr_len < 20:
        layer.malformed(offset, f"header length {hdr_len} < 20")
        layer.length = 1
        return layer, None
    if avail >= 20:
        return _full_header(layer, data, offset, end, hdr_len)
    # fewer than 20 bytes captured: whole fields only, as tshark shows them
    values = _MIDDLE_VALUES(data[offset:end] + bytes(HEADER.min_len), 0)  # past ``avail``: zeros, unused
    for name, value in zip(_MIDDLE, values, strict=True):
        if HEADER[name].end > avail:
            break
        layer.add(name, value)
        if name == "ip.len" and 0 < value < hdr_len:
            # tshark stops here: "bogus, less than header length"
            layer.malformed(offset + HEADER[name].off, f"total length {value} < header length {hdr_len}")
            layer.length = min(avail, hdr_len)
            return layer, None
        if name == "ip.checksum":
            layer.add("ip.checksum.status", 2)
    if HEADER["ip.src"].end <= avail:
        src = _SRC(data, offset)
        layer.fields.update({"ip.src": src, "ip.addr": src, "ip.src_host": src, "ip.host": src})
    layer.truncated(end, f"captured bytes end inside the IPv4 header ({avail} < 20)")
    layer.length = avail
    return layer, None


def _fragment(layer: Layer, ctx: Context, pay_off: int, pay_end: int, pdu_reported_end: int, payload_len: int,
              ident: int, ff: int, proto: int, src_raw: bytes, dst_raw: bytes) -> Result:
    """Where a fragment of a header the fast path accepted goes: the reassembler, or (cut
    short by the snaplen) the first fragment's payload as it is, or undissected data."""
    frag = ff & _FRAG_OFFSET_BITS
    if pay_end < pdu_reported_end:
        if frag == 0:
            return layer, Next("ip.proto", proto, pay_off, pay_end, pdu_reported_end)
        return layer, Next("ip.data", proto, pay_off, pay_end, pdu_reported_end)
    ctx.extra["frag"] = (4, ipv4_text(src_raw), ipv4_text(dst_raw), ident, proto, frag * FRAGMENT_UNIT,
                         bool(ff & _MF_BIT), payload_len)
    return layer, Next("ip.fragment", proto, pay_off, pay_end, pdu_reported_end)


def _deferred(layer: Layer, data: bytes, reported_end: int) -> None:
    """Fields, options, findings and summary of a header the fast path accepted."""
    offset = layer.offset
    f = layer._fields
    _FILL_FIXED(f, data, offset)
    _header_fields(layer, data, offset, f["ip.hdr_len"], reported_end, False, summary=False)


def _summary(layer: Layer, data: bytes, reported_end: int) -> str:
    """Summary of a header the fast path accepted (see :func:`_summary_text`)."""
    offset = layer.offset
    return _summary_text(data, offset, _HDR_LEN(data, offset), reported_end - offset)


def _summary_text(data: bytes, offset: int, hdr_len: int, reported_avail: int) -> str:
    """"ip-proto-6 40" or "tcp (frag 5:1480@0+)", as tcpdump; "" for a bogus length."""
    total_len, ident, more, frag, proto = _SUMMARY(data, offset)
    if total_len == 0:
        total_len = reported_avail  # TSO
    if total_len < hdr_len:
        return ""
    if more or frag:
        name = IP_PROTO_NAMES.get(proto, f"ip-proto-{proto}")
        return f"{name.lower()} (frag {ident}:{total_len - hdr_len}@{frag * FRAGMENT_UNIT}{'+' if more else ''})"
    return f"ip-proto-{proto} {total_len - hdr_len}"


def _full_header(layer: Layer, data: bytes, offset: int, end: int, hdr_len: int) -> Result:
    """At least the 20 fixed header bytes were captured, but :func:`dissect_ipv4`'s fast path
    refused them: a bogus total length, or options cut short by the snaplen."""
    avail = end - offset
    values = dict(zip(_MIDDLE, _MIDDLE_VALUES(data, offset), strict=True))
    total_len = values["ip.len"]
    f = layer.fields
    if 0 < total_len < hdr_len:
        f.update({name: value for name, value in values.items() if HEADER[name].end <= _LEN_END})
        layer.malformed(offset + HEADER["ip.len"].off, f"total length {total_len} < header length {hdr_len}")
        layer.length = min(avail, hdr_len)
        return layer, None
    # the options were cut short (the fast path takes every header captured whole)
    f.update(values)
    src = _SRC(data, offset)
    layer.truncated(end, f"captured bytes end inside the IPv4 options ({avail} < {hdr_len})")
    layer.add("ip.checksum.status", 2)
    # tshark stops after the source address when the options are cut short (seen in
    # broken/ipv4-internally-truncated-header.pcap: dst is captured but not shown)
    layer.fields.update({"ip.src": src, "ip.addr": src, "ip.src_host": src, "ip.host": src})
    layer.length = avail
    return layer, None


def _header_fields(layer: Layer, data: bytes, offset: int, hdr_len: int, reported_end: int,
                   check_checksums: bool, summary: bool = True) -> None:
    """Options, findings and summary of a header whose hdr_len bytes were captured, and the
    fields after the fixed ones :data:`_FILL_FIXED` set."""
    f = layer._fields
    total_len = f["ip.len"]
    if check_checksums:
        csum = f["ip.checksum"]
        calc = internet_checksum(data[offset:offset + _CHECKSUM.off] + bytes(_CHECKSUM.size)
                                 + data[offset + _CHECKSUM.end:offset + hdr_len])
        f["ip.checksum_calculated"] = calc
        f["ip.checksum.status"] = 1 if calc == csum else 0
        if calc != csum:
            layer.finding(FindingKind.CHECKSUM_BAD, offset + _CHECKSUM.off,
                          f"header checksum 0x{csum:04x}, should be 0x{calc:04x}")
    else:
        f["ip.checksum.status"] = 2
    src, dst = _ADDRESSES(data, offset)
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
        layer.malformed(offset + HEADER["ip.len"].off, f"total length {total_len} > {reported_avail} bytes in the frame")
    if summary:
        layer._summary = _summary_text(data, offset, hdr_len, reported_avail)


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


quick_fields(_deferred, {"ip.version": lambda d, o: 4,  # the fast path took version 4 only
                         **HEADER.getters("ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.frag_offset",
                                          "ip.ttl", "ip.proto", "ip.checksum", "ip.src", "ip.dst")})
