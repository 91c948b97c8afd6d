"""IPv6 (RFC 8200) and its extension headers: hop-by-hop and destination options,
routing (type 0 source route, type 2 home address; others kept by length), fragment
header (reassembled by the session), jumbograms (RFC 2675: payload length 0 plus a
hop-by-hop Jumbo Payload option).

As in tshark, each extension header is a protocol of its own in ``frame.protocols``
("ipv6:ipv6.hopopts:ipv6.routing:ipv6.fraghdr:ipv6.dstopts:udp"); they are chained
through the ``ipv6.ext`` dispatch table.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, LazyLayer, Next, Result, quick_fields
from pcapkit.fields import FieldSpec, ipv4_text, ipv6_text
from pcapkit.proto.consts import IPPROTO_FRAGMENT, IPPROTO_NONE, IPPROTO_ROUTING
from pcapkit.proto.ipv6 import (
    ADDRESS_BYTES,
    DSTOPTS,
    EXT_LEN,
    EXTENSIONS,
    FRAGMENT,
    HEADER,
    HOPOPTS,
    ROUTING,
    ROUTING_ADDRESSES_AT,
    ROUTING_MIPV6,
    ROUTING_RPL,
    ROUTING_SOURCE_ROUTE,
    ROUTING_SRH,
    ROUTING_TYPES,
    VERSION_OF_BYTE0,
)
from pcapkit.proto.spec import Header

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
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
    FieldSpec("ipv6.hopopts.len_oct", "uint", 16, doc="length in bytes"),
    FieldSpec("ipv6.dstopts.len_oct", "uint", 16, doc="length in bytes"),
    FieldSpec("ipv6.routing.len_oct", "uint", 16, doc="length in bytes"),
    *ROUTING_TYPES[ROUTING_SOURCE_ROUTE].specs[-1:],
    FieldSpec("ipv6.routing.src.addr", "ipv6", doc="type 0 address"),
    *ROUTING_TYPES[ROUTING_MIPV6].specs[-2:],
    FieldSpec("ipv6.fragment", "framenum", doc="frames holding the fragments"),
    FieldSpec("ipv6.fragment.count", "uint", 32, doc="number of fragments"),
    FieldSpec("ipv6.fragment.error", "framenum", doc="frames of fragments with errors (overlap)"),
    FieldSpec("ipv6.fragment.toolongfragment", "bool", doc="fragment past the end"),
    FieldSpec("ipv6.fragment.overlap", "bool", doc="fragment overlaps"),
    FieldSpec("ipv6.fragment.overlap.conflict", "bool", doc="overlap with different data"),
    FieldSpec("ipv6.fragment.multipletails", "bool", doc="several last fragments"),
    FieldSpec("ipv6.reassembled.length", "uint", 32, doc="reassembled length"),
    FieldSpec("ipv6.reassembled.data", "bytes", doc="reassembled data"),
    *HOPOPTS.specs, *DSTOPTS.specs, *ROUTING.specs, *FRAGMENT.specs,
)

EXT_HEADERS = {kind: header.proto for kind, header in EXTENSIONS.items()}
_v4 = ipv4_text


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


# what the next layer needs now (the rest is decoded on first access)
_DISPATCH = HEADER.units("ipv6.version", "ipv6.plen", "ipv6.nxt", "ipv6.src", "ipv6.dst")
_FIXED = HEADER.unpacker("ipv6.tclass", "ipv6.tclass.dscp", "ipv6.tclass.ecn", "ipv6.flow", "ipv6.plen",
                         "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst")
_RAW_ADDRESSES = HEADER.units("ipv6.src", "ipv6.dst")
_PLEN_AT = HEADER["ipv6.plen"].off


def dissect_ipv6(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset >= 40:
        b0, plen, nxt, src_raw, dst_raw = _DISPATCH(data, offset)
        if VERSION_OF_BYTE0[b0] == 6:
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
    version = _VERSION(data, offset)
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


_VERSION = HEADER.getter("ipv6.version")


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
    tclass, dscp, ecn, flow, plen, nxt, hlim, _src, _dst = _FIXED(data, offset)
    src_raw, dst_raw = _RAW_ADDRESSES(data, offset)
    f = layer._fields
    f["ip.version"] = 6  # tshark's IPv6 dissector adds ip.version too
    f["ipv6.version"] = 6
    f["ipv6.tclass"] = tclass
    f["ipv6.tclass.dscp"] = dscp
    f["ipv6.tclass.ecn"] = ecn
    f["ipv6.flow"] = flow
    f["ipv6.plen"] = plen
    f["ipv6.nxt"] = nxt
    f["ipv6.hlim"] = hlim
    _address(layer, "src", src_raw)
    _address(layer, "dst", dst_raw)
    payload_len, _ = _payload_extent(data, offset, end, reported_end, plen, nxt)
    reported_avail = reported_end - offset - 40
    if payload_len > reported_avail:
        layer.malformed(offset + _PLEN_AT, f"payload length {payload_len} > {reported_avail} bytes in the frame")
    layer._summary = f"ip-proto-{nxt} {payload_len}"


_VERSION6 = lambda d, o: 6  # noqa: E731 - the fast path took version 6 only
quick_fields(_decode_header, {"ip.version": _VERSION6, "ipv6.version": _VERSION6,
                              **HEADER.getters("ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst")})


def _next(nxt: int, offset: int, end: int, reported: int) -> Next:
    if nxt in EXT_HEADERS:
        return Next("ipv6.ext", nxt, offset, end, reported)
    if nxt == IPPROTO_NONE:
        return Next("ipv6.none", nxt, offset, end, reported)
    return Next("ip.proto", nxt, offset, end, reported)


def _jumbo(data: bytes, offset: int, end: int) -> int | None:
    """The Jumbo Payload option value of a hop-by-hop header at ``offset``, if present."""
    if end - offset < HOPOPTS.min_len:
        return None
    hlen = EXT_LEN.of(_HOPOPTS_LEN(data, offset))
    pos, stop = offset + HOPOPTS.min_len, min(offset + hlen, end)
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


_HOPOPTS_LEN = HOPOPTS.getter("ipv6.hopopts.len")
# next header and length of the headers that have a length byte
_NXT_LEN = {kind: header.unpacker(f"{header.proto}.nxt", f"{header.proto}.len")
            for kind, header in EXTENSIONS.items() if kind != IPPROTO_FRAGMENT}
_ROUTING_TYPE = ROUTING.unpacker("ipv6.routing.type", "ipv6.routing.segleft")
_SOURCE_ROUTE = ROUTING_TYPES[ROUTING_SOURCE_ROUTE].getter("ipv6.routing.src.reserved")
_MIPV6 = ROUTING_TYPES[ROUTING_MIPV6].unpacker("ipv6.routing.mipv6.reserved", "ipv6.routing.mipv6.home_address")
_RPL = ROUTING_TYPES[ROUTING_RPL].unpacker("ipv6.routing.rpl.cmprE", "ipv6.routing.rpl.pad")
# the final destination of a type 2 (home address) or 4 (segment list[0]) header, raw
_LAST_HOP = {rtype: ROUTING_TYPES[rtype].units(name) for rtype, name in (
    (ROUTING_MIPV6, "ipv6.routing.mipv6.home_address"), (ROUTING_SRH, "ipv6.routing.srh.addr"))}


def dissect_ipv6_ext(data: bytes, offset: int, end: int, ctx: Context, kind: int) -> Result:
    header: Header = EXTENSIONS[kind]
    name = header.proto
    layer = Layer(name, offset)
    avail = end - offset
    if kind == IPPROTO_FRAGMENT:
        return _fragment(layer, data, offset, end, ctx)
    if avail < 2:
        layer.length = max(avail, 0)
        layer.truncated(end, f"captured bytes end inside the {name} header")
        return layer, None
    nxt, hl = _NXT_LEN[kind](data, offset)
    hlen = EXT_LEN.of(hl)
    layer.add(f"{name}.nxt", nxt)
    layer.add(f"{name}.len", hl)
    layer.add(f"{name}.len_oct", hlen)
    stop = offset + hlen
    options = kind != IPPROTO_ROUTING  # hop-by-hop and destination options
    if stop > end:
        layer.length = avail
        if stop > ctx.reported_end:
            layer.malformed(offset + header[f"{name}.len"].off, f"header length {hlen} runs past the packet")
        else:
            layer.truncated(end, f"captured bytes end inside the {name} header")
        if options:  # tshark still shows the options the bytes hold
            _options(layer, data, offset + header.min_len, end)
        return layer, None
    layer.length = hlen
    if options:
        if _options(layer, data, offset + header.min_len, stop) > end:
            return layer, None  # an option running past the bytes: tshark's exception ends the packet
    else:
        rtype, segleft = _ROUTING_TYPE(data, offset)
        layer.add("ipv6.routing.type", rtype)
        layer.add("ipv6.routing.segleft", segleft)
        if rtype == ROUTING_SOURCE_ROUTE:
            layer.add("ipv6.routing.src.reserved", _SOURCE_ROUTE(data, offset))
            for pos in range(offset + ROUTING_ADDRESSES_AT, stop - ADDRESS_BYTES + 1, ADDRESS_BYTES):
                layer.add("ipv6.routing.src.addr", ipv6_text(data[pos:pos + ADDRESS_BYTES]))
        elif rtype == ROUTING_MIPV6 and hlen >= ROUTING_TYPES[rtype].min_len:
            reserved, home = _MIPV6(data, offset)
            layer.add("ipv6.routing.mipv6.reserved", reserved)
            layer.add("ipv6.routing.mipv6.home_address", home)
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
    if rtype == ROUTING_SOURCE_ROUTE:
        count = (stop - offset - ROUTING_ADDRESSES_AT) // ADDRESS_BYTES
        if count < 1:
            return None
        last = offset + ROUTING_ADDRESSES_AT + ADDRESS_BYTES * (count - 1)
        return bytes(data[last:last + ADDRESS_BYTES])
    if rtype in _LAST_HOP:
        return _LAST_HOP[rtype](data, offset)[0] if stop - offset >= ROUTING_TYPES[rtype].min_len else None
    if rtype == ROUTING_RPL and isinstance(dst, bytes | bytearray) and len(dst) == ADDRESS_BYTES \
            and stop - offset >= ROUTING_TYPES[rtype].min_len:
        cmpr_e, pad = _RPL(data, offset)
        last_end = stop - pad
        last_start = last_end - (ADDRESS_BYTES - cmpr_e)
        if last_start < offset + ROUTING_ADDRESSES_AT:
            return None
        return bytes(dst[:cmpr_e]) + bytes(data[last_start:last_end])
    return None


_FRAGMENT_FIELDS = FRAGMENT.unpacker(*FRAGMENT.names)


def _fragment(layer: Layer, data: bytes, offset: int, end: int, ctx: Context) -> Result:
    if end - offset < FRAGMENT.min_len:
        layer.length = max(end - offset, 0)
        layer.truncated(end, "captured bytes end inside the fragment header")
        return layer, None
    values = _FRAGMENT_FIELDS(data, offset)
    for name, value in zip(FRAGMENT.names, values, strict=True):
        layer.add(name, value)
    nxt, _, frag, _, more, ident = values
    layer.length = FRAGMENT.min_len
    pay = offset + FRAGMENT.min_len
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
