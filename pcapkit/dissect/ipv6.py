"""IPv6 (RFC 8200) and its extension headers: hop-by-hop and destination options,
routing (type 0 source route, type 2 home address; others kept by length), fragment
header (reassembled by the session), jumbograms (RFC 2675: payload length 0 plus a
hop-by-hop Jumbo Payload option).

As in tshark, each extension header is a protocol of its own in ``frame.protocols``
("ipv6:ipv6.hopopts:ipv6.routing:ipv6.fraghdr:ipv6.dstopts:udp"); they are chained
through the ``ipv6.ext`` dispatch table.
"""

from __future__ import annotations

import struct

from pcapkit.dissect.base import Context, Layer, LazyLayer, Next, Result, quick_fields
from pcapkit.fields import FieldSpec, ipv6_text

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("ipv6.version", "uint", 8, doc="version (6)"),
    FieldSpec("ipv6.tclass", "uint", 32, "hex", doc="traffic class"),
    FieldSpec("ipv6.tclass.dscp", "uint", 32, doc="DSCP"),
    FieldSpec("ipv6.tclass.ecn", "uint", 32, doc="ECN"),
    FieldSpec("ipv6.flow", "uint", 24, "hex", doc="flow label"),
    FieldSpec("ipv6.plen", "uint", 16, doc="payload length"),
    FieldSpec("ipv6.nxt", "uint", 8, doc="next header"),
    FieldSpec("ipv6.hlim", "uint", 8, doc="hop limit"),
    FieldSpec("ipv6.src", "ipv6", doc="source address"),
    FieldSpec("ipv6.dst", "ipv6", doc="destination address"),
    FieldSpec("ipv6.addr", "ipv6", doc="source or destination"),
    FieldSpec("ipv6.src_host", "string", doc="source host"),
    FieldSpec("ipv6.dst_host", "string", doc="destination host"),
    FieldSpec("ipv6.host", "string", doc="source or destination host"),
    FieldSpec("ipv6.src_slaac_mac", "ether", doc="MAC in a SLAAC (EUI-64) source"),
    FieldSpec("ipv6.dst_slaac_mac", "ether", doc="MAC in a SLAAC (EUI-64) destination"),
    FieldSpec("ipv6.slaac_mac", "ether", doc="MAC in a SLAAC address"),
    FieldSpec("ipv6.src_6to4_gw_ipv4", "ipv4", doc="6to4 source gateway"),
    FieldSpec("ipv6.dst_6to4_gw_ipv4", "ipv4", doc="6to4 destination gateway"),
    FieldSpec("ipv6.6to4_gw_ipv4", "ipv4", doc="6to4 gateway"),
    FieldSpec("ipv6.src_6to4_sla_id", "uint", 16, doc="6to4 source SLA id"),
    FieldSpec("ipv6.dst_6to4_sla_id", "uint", 16, doc="6to4 destination SLA id"),
    FieldSpec("ipv6.6to4_sla_id", "uint", 16, doc="6to4 SLA id"),
    FieldSpec("ipv6.src_ts_ipv4", "ipv4", doc="Teredo server (source)"),
    FieldSpec("ipv6.dst_ts_ipv4", "ipv4", doc="Teredo server (destination)"),
    FieldSpec("ipv6.ts_ipv4", "ipv4", doc="Teredo server"),
    FieldSpec("ipv6.src_tc_port", "uint", 16, doc="Teredo client port (source)"),
    FieldSpec("ipv6.dst_tc_port", "uint", 16, doc="Teredo client port (destination)"),
    FieldSpec("ipv6.tc_port", "uint", 16, doc="Teredo client port"),
    FieldSpec("ipv6.src_tc_ipv4", "ipv4", doc="Teredo client (source)"),
    FieldSpec("ipv6.dst_tc_ipv4", "ipv4", doc="Teredo client (destination)"),
    FieldSpec("ipv6.tc_ipv4", "ipv4", doc="Teredo client"),
    FieldSpec("ipv6.src_isatap_ipv4", "ipv4", doc="ISATAP source IPv4"),
    FieldSpec("ipv6.dst_isatap_ipv4", "ipv4", doc="ISATAP destination IPv4"),
    FieldSpec("ipv6.isatap_ipv4", "ipv4", doc="ISATAP IPv4"),
    FieldSpec("ipv6.opt.type", "uint", 8, "hex", doc="option type"),
    FieldSpec("ipv6.opt.type.action", "uint", 8, doc="action for unknown option"),
    FieldSpec("ipv6.opt.type.change", "bool", doc="option data may change en route"),
    FieldSpec("ipv6.opt.type.rest", "uint", 8, "hex", doc="low-order bits"),
    FieldSpec("ipv6.opt.length", "uint", 8, doc="option length"),
    FieldSpec("ipv6.opt.padn", "bytes", doc="PadN bytes"),
    FieldSpec("ipv6.opt.router_alert", "uint", 16, doc="router alert value"),
    FieldSpec("ipv6.opt.jumbo", "uint", 32, doc="jumbo payload length"),
    FieldSpec("ipv6.opt.tel", "uint", 8, doc="tunnel encapsulation limit"),
    FieldSpec("ipv6.opt.mipv6.home_address", "ipv6", doc="home address"),
    FieldSpec("ipv6.opt.unknown", "bytes", doc="unknown option data"),
    FieldSpec("ipv6.hopopts.nxt", "uint", 8, doc="next header"),
    FieldSpec("ipv6.hopopts.len", "uint", 8, doc="length (8-octet units - 1)"),
    FieldSpec("ipv6.hopopts.len_oct", "uint", 16, doc="length in bytes"),
    FieldSpec("ipv6.dstopts.nxt", "uint", 8, doc="next header"),
    FieldSpec("ipv6.dstopts.len", "uint", 8, doc="length (8-octet units - 1)"),
    FieldSpec("ipv6.dstopts.len_oct", "uint", 16, doc="length in bytes"),
    FieldSpec("ipv6.routing.nxt", "uint", 8, doc="next header"),
    FieldSpec("ipv6.routing.len", "uint", 8, doc="length (8-octet units - 1)"),
    FieldSpec("ipv6.routing.len_oct", "uint", 16, doc="length in bytes"),
    FieldSpec("ipv6.routing.type", "uint", 8, doc="routing type"),
    FieldSpec("ipv6.routing.segleft", "uint", 8, doc="segments left"),
    FieldSpec("ipv6.routing.src.reserved", "bytes", doc="type 0 reserved"),
    FieldSpec("ipv6.routing.src.addr", "ipv6", doc="type 0 address"),
    FieldSpec("ipv6.routing.mipv6.reserved", "bytes", doc="type 2 reserved"),
    FieldSpec("ipv6.routing.mipv6.home_address", "ipv6", doc="type 2 home address"),
    FieldSpec("ipv6.fraghdr.nxt", "uint", 8, doc="next header"),
    FieldSpec("ipv6.fraghdr.reserved_octet", "uint", 8, "hex", doc="reserved octet"),
    FieldSpec("ipv6.fraghdr.offset", "uint", 16, doc="fragment offset (8-byte units)"),
    FieldSpec("ipv6.fraghdr.reserved_bits", "uint", 16, doc="reserved bits"),
    FieldSpec("ipv6.fraghdr.more", "bool", doc="more fragments"),
    FieldSpec("ipv6.fraghdr.ident", "uint", 32, "hex", doc="identification"),
    FieldSpec("ipv6.fragment", "framenum", doc="frames holding the fragments"),
    FieldSpec("ipv6.fragment.count", "uint", 32, doc="number of fragments"),
    FieldSpec("ipv6.fragment.error", "framenum", doc="frames of fragments with errors (overlap)"),
    FieldSpec("ipv6.fragment.toolongfragment", "bool", doc="fragment past the end"),
    FieldSpec("ipv6.fragment.overlap", "bool", doc="fragment overlaps"),
    FieldSpec("ipv6.fragment.overlap.conflict", "bool", doc="overlap with different data"),
    FieldSpec("ipv6.fragment.multipletails", "bool", doc="several last fragments"),
    FieldSpec("ipv6.reassembled.length", "uint", 32, doc="reassembled length"),
    FieldSpec("ipv6.reassembled.data", "bytes", doc="reassembled data"),
)

EXT_HEADERS = {0: "ipv6.hopopts", 43: "ipv6.routing", 44: "ipv6.fraghdr", 60: "ipv6.dstopts"}


def _v4(raw: bytes) -> str:
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def _address(layer: Layer, which: str, raw: bytes) -> None:
    text = ipv6_text(raw)
    layer.add(f"ipv6.{which}", text)
    layer.add("ipv6.addr", text)
    layer.add(f"ipv6.{which}_host", text)
    layer.add("ipv6.host", text)
    if raw[:2] == b"\x20\x02":  # 6to4
        gw = _v4(raw[2:6])
        sla = int.from_bytes(raw[6:8], "big")
        layer.add(f"ipv6.{which}_6to4_gw_ipv4", gw)
        layer.add("ipv6.6to4_gw_ipv4", gw)
        layer.add(f"ipv6.{which}_6to4_sla_id", sla)
        layer.add("ipv6.6to4_sla_id", sla)
    elif raw[:4] == b"\x20\x01\x00\x00":  # Teredo
        server = _v4(raw[4:8])
        port = int.from_bytes(raw[10:12], "big") ^ 0xFFFF
        client = _v4(bytes(b ^ 0xFF for b in raw[12:16]))
        layer.add(f"ipv6.{which}_ts_ipv4", server)
        layer.add("ipv6.ts_ipv4", server)
        layer.add(f"ipv6.{which}_tc_port", port)
        layer.add("ipv6.tc_port", port)
        layer.add(f"ipv6.{which}_tc_ipv4", client)
        layer.add("ipv6.tc_ipv4", client)
    if raw[11] == 0xFF and raw[12] == 0xFE and raw[8] & 0x02:  # modified EUI-64, universal bit
        mac = bytes([raw[8] ^ 0x02]) + raw[9:11] + raw[13:16]
        layer.add(f"ipv6.{which}_slaac_mac", mac.hex(":"))
        layer.add("ipv6.slaac_mac", mac.hex(":"))
    elif raw[8:12] in (b"\x00\x00\x5e\xfe", b"\x02\x00\x5e\xfe"):  # ISATAP
        v4 = _v4(raw[12:16])
        layer.add(f"ipv6.{which}_isatap_ipv4", v4)
        layer.add("ipv6.isatap_ipv4", v4)


_FIXED = struct.Struct("!IHBB16s16s")


def dissect_ipv6(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset >= 40:
        word, plen, nxt, _hlim, src_raw, dst_raw = _FIXED.unpack_from(data, offset)
        if word >> 28 == 6:
            # the whole fixed header: what the next layer needs now, the fields (addresses
            # in text, 6to4/Teredo/SLAAC/ISATAP), findings and summary on first access
            reported_end = ctx.reported_end
            extra = ctx.extra
            extra["ip.src_raw"] = src_raw
            extra["ip.dst_raw"] = dst_raw
            extra["ip.version"] = 6
            _plen, pdu_reported_end = _payload_extent(data, offset, end, reported_end, plen, nxt)
            if "pdu_end" not in extra:
                extra["pdu_end"] = pdu_reported_end
            lazy = LazyLayer("ipv6", offset, 40, _decode_header, (data, end, reported_end))
            pay_end = end if end < pdu_reported_end else pdu_reported_end
            return lazy, _next(nxt, offset + 40, pay_end, pdu_reported_end)
    layer = Layer("ipv6", offset)  # short, or not version 6
    avail = end - offset
    if avail < 1:
        layer.truncated(offset, "no bytes for the IPv6 header")
        return layer, None
    version = data[offset] >> 4
    layer.add("ip.version", version)  # tshark's IPv6 dissector adds ip.version too
    layer.add("ipv6.version", version)
    if version != 6:
        layer.malformed(offset, f"version {version} is not 6")
        layer.length = 1
        return layer, None
    layer.length = avail
    if ctx.reported_end - offset < 40:
        layer.malformed(offset, f"IPv6 header of {ctx.reported_end - offset} bytes < 40")
    else:
        layer.truncated(end, f"captured bytes end inside the IPv6 header ({avail} < 40)")
    return layer, None


def _payload_extent(data: bytes, offset: int, end: int, reported_end: int, plen: int,
                    nxt: int) -> tuple[int, int]:
    """(payload length, where the datagram ends had nothing been snapped): a jumbogram's
    length from its hop-by-hop option, a zero length (TSO) as what the frame holds."""
    reported_avail = reported_end - offset - 40
    if plen == 0 and nxt == 0:
        jumbo = _jumbo(data, offset + 40, end)
        if jumbo is not None:
            plen = jumbo
    if plen == 0 and reported_avail > 0 and nxt != 59:
        plen = reported_avail  # TSO-style zero length: use what the frame holds
    if plen > reported_avail:
        return plen, reported_end
    return plen, offset + 40 + plen


def _decode_header(layer: Layer, data: bytes, end: int, reported_end: int) -> None:
    """Fields, findings and summary of a fixed header :func:`dissect_ipv6` took whole."""
    offset = layer.offset
    word, plen, nxt, hlim, src_raw, dst_raw = _FIXED.unpack_from(data, offset)
    tclass = (word >> 20) & 0xFF
    f = layer._fields
    f["ip.version"] = 6  # tshark's IPv6 dissector adds ip.version too
    f["ipv6.version"] = 6
    f["ipv6.tclass"] = tclass
    f["ipv6.tclass.dscp"] = tclass >> 2
    f["ipv6.tclass.ecn"] = tclass & 3
    f["ipv6.flow"] = word & 0xFFFFF
    f["ipv6.plen"] = plen
    f["ipv6.nxt"] = nxt
    f["ipv6.hlim"] = hlim
    _address(layer, "src", src_raw)
    _address(layer, "dst", dst_raw)
    payload_len, _ = _payload_extent(data, offset, end, reported_end, plen, nxt)
    reported_avail = reported_end - offset - 40
    if payload_len > reported_avail:
        layer.malformed(offset + 4, f"payload length {payload_len} > {reported_avail} bytes in the frame")
    layer._summary = f"ip-proto-{nxt} {payload_len}"


quick_fields(_decode_header, {
    "ip.version": lambda d, o: 6,
    "ipv6.version": lambda d, o: 6,
    "ipv6.plen": lambda d, o: (d[o + 4] << 8) | d[o + 5],
    "ipv6.nxt": lambda d, o: d[o + 6],
    "ipv6.hlim": lambda d, o: d[o + 7],
    "ipv6.src": lambda d, o: ipv6_text(d[o + 8:o + 24]),
    "ipv6.dst": lambda d, o: ipv6_text(d[o + 24:o + 40]),
})


def _next(nxt: int, offset: int, end: int, reported: int) -> Next:
    if nxt in EXT_HEADERS:
        return Next("ipv6.ext", nxt, offset, end, reported)
    if nxt == 59:  # no next header
        return Next("ipv6.none", nxt, offset, end, reported)
    return Next("ip.proto", nxt, offset, end, reported)


def _jumbo(data: bytes, offset: int, end: int) -> int | None:
    """The Jumbo Payload option value of a hop-by-hop header at ``offset``, if present."""
    if end - offset < 2:
        return None
    hlen = (data[offset + 1] + 1) * 8
    pos, stop = offset + 2, min(offset + hlen, end)
    while pos < stop:
        t = data[pos]
        if t == 0:
            pos += 1
            continue
        if pos + 2 > stop:
            return None
        olen = data[pos + 1]
        if t == 0xC2 and olen == 4 and pos + 6 <= stop:
            return int.from_bytes(data[pos + 2:pos + 6], "big")
        pos += 2 + olen
    return None


def _options(layer: Layer, data: bytes, pos: int, stop: int) -> int:
    """Decode the options in [pos, stop); returns where an option running past ``stop``
    would end (0 when none does)."""
    while pos < stop:
        t = data[pos]
        layer.add("ipv6.opt.type", t)
        layer.add("ipv6.opt.type.action", t >> 6)
        layer.add("ipv6.opt.type.change", bool(t & 0x20))
        layer.add("ipv6.opt.type.rest", t & 0x1F)
        if t == 0:  # Pad1
            pos += 1
            continue
        if pos + 2 > stop:
            layer.malformed(pos, "option length missing")
            return 0
        olen = data[pos + 1]
        layer.add("ipv6.opt.length", olen)
        body = data[pos + 2:pos + 2 + olen]
        if pos + 2 + olen > stop:
            layer.malformed(pos + 1, f"option length {olen} runs past the header")
            return pos + 2 + olen
        if t == 1:
            layer.add("ipv6.opt.padn", bytes(body))
        elif t == 5 and olen == 2:
            layer.add("ipv6.opt.router_alert", int.from_bytes(body, "big"))
        elif t == 0xC2 and olen == 4:
            layer.add("ipv6.opt.jumbo", int.from_bytes(body, "big"))
        elif t == 4 and olen == 1:
            layer.add("ipv6.opt.tel", body[0])
        elif t == 0xC9:
            if olen == 16:
                layer.add("ipv6.opt.mipv6.home_address", ipv6_text(body))
            else:
                # tshark reads the 16-byte address anyway, then gives up on the header
                layer.malformed(pos + 1, f"home address option of length {olen} != 16")
                if pos + 18 <= len(data):
                    layer.add("ipv6.opt.mipv6.home_address", ipv6_text(data[pos + 2:pos + 18]))
                return 0
        else:
            layer.add("ipv6.opt.unknown", bytes(body))
        pos += 2 + olen
    return 0


def dissect_ipv6_ext(data: bytes, offset: int, end: int, ctx: Context, kind: int) -> Result:
    name = EXT_HEADERS[kind]
    layer = Layer(name, offset)
    avail = end - offset
    if kind == 44:
        return _fragment(layer, data, offset, end, ctx)
    if avail < 2:
        layer.length = max(avail, 0)
        layer.truncated(end, f"captured bytes end inside the {name} header")
        return layer, None
    nxt, hl = data[offset], data[offset + 1]
    hlen = (hl + 1) * 8
    layer.add(f"{name}.nxt", nxt)
    layer.add(f"{name}.len", hl)
    layer.add(f"{name}.len_oct", hlen)
    stop = offset + hlen
    if stop > end:
        layer.length = avail
        if stop > ctx.reported_end:
            layer.malformed(offset + 1, f"header length {hlen} runs past the packet")
        else:
            layer.truncated(end, f"captured bytes end inside the {name} header")
        if kind in (0, 60):  # tshark still shows the options the bytes hold
            _options(layer, data, offset + 2, end)
        return layer, None
    layer.length = hlen
    if kind in (0, 60):
        if _options(layer, data, offset + 2, stop) > end:
            return layer, None  # an option running past the bytes: tshark's exception ends the packet
    else:
        if hlen < 4:
            layer.malformed(offset, "routing header too short")
            return layer, None
        rtype, segleft = data[offset + 2], data[offset + 3]
        layer.add("ipv6.routing.type", rtype)
        layer.add("ipv6.routing.segleft", segleft)
        if rtype == 0:
            layer.add("ipv6.routing.src.reserved", bytes(data[offset + 4:offset + 8]))
            for pos in range(offset + 8, stop - 15, 16):
                layer.add("ipv6.routing.src.addr", ipv6_text(data[pos:pos + 16]))
        elif rtype == 2 and hlen >= 24:
            layer.add("ipv6.routing.mipv6.reserved", bytes(data[offset + 4:offset + 8]))
            layer.add("ipv6.routing.mipv6.home_address", ipv6_text(data[offset + 8:offset + 24]))
        if segleft:
            final = _final_destination(data, offset, stop, rtype, ctx.extra.get("ip.dst_raw"))
            if final is not None:
                ctx.extra["ip.dst_raw"] = final
    return layer, _next(nxt, stop, end, ctx.reported_end)


def _final_destination(data: bytes, offset: int, stop: int, rtype: int, dst: object) -> bytes | None:
    """The packet's final destination named by a routing header with segments left
    (RFC 8200 section 8.1: the upper-layer checksum's pseudo-header uses it), as tshark:
    type 0 its last address, type 2 the home address, type 3 (RPL, RFC 6554) the last
    address completed with the first CmprE bytes of the IPv6 destination, type 4 (SRH,
    RFC 8754) segment list[0]; None for other types or too short a header."""
    if rtype == 0:
        count = (stop - offset - 8) // 16
        if count < 1:
            return None
        last = offset + 8 + 16 * (count - 1)
        return bytes(data[last:last + 16])
    if rtype in (2, 4):
        return bytes(data[offset + 8:offset + 24]) if stop - offset >= 24 else None
    if rtype == 3 and isinstance(dst, bytes | bytearray) and len(dst) == 16 and stop - offset >= 8:
        cmpr_e, pad = data[offset + 4] & 0x0F, data[offset + 5] >> 4
        last_end = stop - pad
        last_start = last_end - (16 - cmpr_e)
        if last_start < offset + 8:
            return None
        return bytes(dst[:cmpr_e]) + bytes(data[last_start:last_end])
    return None


def _fragment(layer: Layer, data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset < 8:
        layer.length = max(end - offset, 0)
        layer.truncated(end, "captured bytes end inside the fragment header")
        return layer, None
    nxt, res = data[offset], data[offset + 1]
    off_word = int.from_bytes(data[offset + 2:offset + 4], "big")
    ident = int.from_bytes(data[offset + 4:offset + 8], "big")
    frag, more = off_word >> 3, bool(off_word & 1)
    layer.add("ipv6.fraghdr.nxt", nxt)
    layer.add("ipv6.fraghdr.reserved_octet", res)
    layer.add("ipv6.fraghdr.offset", frag)
    layer.add("ipv6.fraghdr.reserved_bits", (off_word >> 1) & 3)
    layer.add("ipv6.fraghdr.more", more)
    layer.add("ipv6.fraghdr.ident", ident)
    layer.length = 8
    pay = offset + 8
    if frag == 0 and not more:  # atomic fragment (RFC 6946): not reassembled
        return layer, _next(nxt, pay, end, ctx.reported_end)
    length = ctx.reported_end - pay
    if end < ctx.reported_end:
        # fragment not wholly captured: not reassembled (tshark); first fragment dissected as is
        if frag == 0:
            return layer, _next(nxt, pay, end, ctx.reported_end)
        return layer, Next("ip.data", nxt, pay, end, ctx.reported_end)
    # the reassembly key holds the addresses of the IPv6 header carrying this fragment header
    net = next((lay for lay in reversed(ctx.layers) if lay.protocol == "ipv6"), None)
    src, dst = (net.get("ipv6.src"), net.get("ipv6.dst")) if net is not None else (None, None)
    ctx.extra["frag"] = (6, src, dst, ident, nxt, frag * 8, more, length)
    return layer, Next("ip.fragment", nxt, pay, end, ctx.reported_end)


def dissect_hopopts(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return dissect_ipv6_ext(data, offset, end, ctx, 0)


def dissect_routing(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return dissect_ipv6_ext(data, offset, end, ctx, 43)


def dissect_fraghdr(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return dissect_ipv6_ext(data, offset, end, ctx, 44)


def dissect_dstopts(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return dissect_ipv6_ext(data, offset, end, ctx, 60)
