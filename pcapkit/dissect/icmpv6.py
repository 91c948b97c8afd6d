"""ICMPv6 (RFC 4443), neighbour discovery (RFC 4861: RS/RA/NS/NA/redirect and their
options, RFC 6106 RDNSS/DNSSL, RFC 8781 PREF64), MLD (RFC 2710) and MLDv2 (RFC 3810).

Error messages (destination unreachable, packet too big, time exceeded, parameter
problem) quote the offending packet: it is handed on as ``Next("ethertype", 0x86DD)``
with ``ctx.extra["in_error_pkt"]`` set, like ICMP for IPv4. Wireshark always verifies
the ICMPv6 checksum (pseudo-header from ``ctx.extra``) when the message is whole.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, FindingKind, Layer, Next, Result
from pcapkit.dissect.udp import (
    CHECKSUM_BAD,
    CHECKSUM_GOOD,
    CHECKSUM_UNVERIFIED,
    verify_checksum,
)
from pcapkit.fields import FieldSpec, ipv6_text
from pcapkit.proto.consts import ETHERTYPE_IPV6
from pcapkit.proto.icmp import ICMPV6, ICMPV6_ERROR_TYPES, QUOTE_AT


def _f(name: str, ftype: str, bits: int = 0, base: str = "dec", doc: str = "") -> FieldSpec:
    return FieldSpec(name, ftype, bits, base, doc)  # type: ignore[arg-type]


FIELDS: tuple[FieldSpec, ...] = (
    *ICMPV6.specs,
    _f("icmpv6.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified"),
    _f("icmpv6.reserved", "bytes", doc="Reserved (must be zero)"),
    _f("icmpv6.mtu", "uint", 32, doc="MTU (packet too big)"),
    _f("icmpv6.pointer", "uint", 32, doc="Pointer (parameter problem)"),
    _f("icmpv6.echo.identifier", "uint", 16, "hex", doc="Echo identifier"),
    _f("icmpv6.echo.sequence_number", "uint", 16, doc="Echo sequence number"),
    _f("icmpv6.resp_to", "framenum", doc="The request this reply answers (needs a session)"),
    _f("icmpv6.resptime", "float", doc="Time from the request, in ms (needs a session)"),
    _f("icmpv6.mld.maximum_response_delay", "uint", 16, doc="MLD maximum response delay (ms)"),
    _f("icmpv6.mld.maximum_response_code", "uint", 16, doc="MLDv2 maximum response code"),
    _f("icmpv6.mld.multicast_address", "ipv6", doc="MLD multicast address"),
    _f("icmpv6.mld.flag", "uint", 8, "hex", doc="MLDv2 query flags"),
    _f("icmpv6.mld.flag.reserved", "uint", 8, doc="MLDv2 reserved flags"),
    _f("icmpv6.mld.flag.s", "bool", doc="Suppress router-side processing"),
    _f("icmpv6.mld.flag.qrv", "uint", 8, doc="Querier's robustness variable"),
    _f("icmpv6.mld.qqi", "uint", 8, doc="Querier's query interval code"),
    _f("icmpv6.mld.nb_sources", "uint", 16, doc="Number of sources"),
    _f("icmpv6.mld.source_address", "ipv6", doc="Source address"),
    _f("icmpv6.mldr.nb_mcast_records", "uint", 16, doc="Number of multicast address records"),
    _f("icmpv6.mldr.mar.record_type", "uint", 8, doc="Record type"),
    _f("icmpv6.mldr.mar.aux_data_len", "uint", 8, doc="Aux data length (32-bit words)"),
    _f("icmpv6.mldr.mar.nb_sources", "uint", 16, doc="Number of sources"),
    _f("icmpv6.mldr.mar.multicast_address", "ipv6", doc="Multicast address"),
    _f("icmpv6.mldr.mar.source_address", "ipv6", doc="Source address"),
    _f("icmpv6.mldr.mar.auxiliary_data", "bytes", doc="Auxiliary data"),
    _f("icmpv6.nd.ra.cur_hop_limit", "uint", 8, doc="Cur hop limit"),
    _f("icmpv6.nd.ra.flag", "uint", 8, "hex", doc="RA flags"),
    _f("icmpv6.nd.ra.flag.m", "bool", doc="Managed address configuration"),
    _f("icmpv6.nd.ra.flag.o", "bool", doc="Other configuration"),
    _f("icmpv6.nd.ra.flag.h", "bool", doc="Home agent"),
    _f("icmpv6.nd.ra.flag.prf", "uint", 8, doc="Default router preference"),
    _f("icmpv6.nd.ra.flag.p", "bool", doc="Proxy"),
    _f("icmpv6.nd.ra.flag.rsv", "uint", 8, doc="Reserved"),
    _f("icmpv6.nd.ra.router_lifetime", "uint", 16, doc="Router lifetime (s)"),
    _f("icmpv6.nd.ra.reachable_time", "uint", 32, doc="Reachable time (ms)"),
    _f("icmpv6.nd.ra.retrans_timer", "uint", 32, doc="Retrans timer (ms)"),
    _f("icmpv6.nd.ns.target_address", "ipv6", doc="NS target address"),
    _f("icmpv6.nd.na.flag", "uint", 32, "hex", doc="NA flags"),
    _f("icmpv6.nd.na.flag.r", "bool", doc="Router"),
    _f("icmpv6.nd.na.flag.s", "bool", doc="Solicited"),
    _f("icmpv6.nd.na.flag.o", "bool", doc="Override"),
    _f("icmpv6.nd.na.flag.rsv", "uint", 32, doc="Reserved"),
    _f("icmpv6.nd.na.target_address", "ipv6", doc="NA target address"),
    _f("icmpv6.nd.rd.target_address", "ipv6", doc="Redirect target address"),
    _f("icmpv6.rd.na.destination_address", "ipv6", doc="Redirect destination address"),
    _f("icmpv6.opt.type", "uint", 8, doc="Option type"),
    _f("icmpv6.opt.length", "uint", 8, doc="Option length (units of 8 bytes)"),
    # FT_BYTES that tshark prints colon-separated: kept as "aa:bb:..." text
    _f("icmpv6.opt.linkaddr", "string", doc="Link-layer address"),
    _f("icmpv6.opt.src_linkaddr", "string", doc="Source link-layer address"),
    _f("icmpv6.opt.target_linkaddr", "string", doc="Target link-layer address"),
    _f("icmpv6.opt.prefix.length", "uint", 8, doc="Prefix length"),
    _f("icmpv6.opt.prefix.flag", "uint", 8, "hex", doc="Prefix flags"),
    _f("icmpv6.opt.prefix.flag.l", "bool", doc="On-link"),
    _f("icmpv6.opt.prefix.flag.a", "bool", doc="Autonomous address configuration"),
    _f("icmpv6.opt.prefix.flag.r", "bool", doc="Router address"),
    _f("icmpv6.opt.prefix.flag.reserved", "uint", 8, doc="Reserved"),
    _f("icmpv6.opt.prefix.valid_lifetime", "uint", 32, doc="Valid lifetime"),
    _f("icmpv6.opt.prefix.preferred_lifetime", "uint", 32, doc="Preferred lifetime"),
    _f("icmpv6.opt.prefix", "ipv6", doc="Prefix"),
    _f("icmpv6.opt.mtu", "uint", 32, doc="MTU option"),
    _f("icmpv6.opt.advertisement_interval", "uint", 32, doc="Advertisement interval (ms)"),
    _f("icmpv6.opt.home_agent_preference", "uint", 16, doc="Home agent preference"),
    _f("icmpv6.opt.home_agent_lifetime", "uint", 16, doc="Home agent lifetime"),
    _f("icmpv6.opt.rdnss.lifetime", "uint", 32, doc="RDNSS lifetime"),
    _f("icmpv6.opt.rdnss", "ipv6", doc="Recursive DNS server"),
    _f("icmpv6.opt.dnssl.lifetime", "uint", 32, doc="DNSSL lifetime"),
    _f("icmpv6.opt.dnssl", "string", doc="DNS search list domain"),
    _f("icmpv6.opt.pref64.scaled_lifetime", "uint", 16, doc="PREF64 scaled lifetime (8 s units)"),
    _f("icmpv6.opt.pref64.plc", "uint", 16, "hex", doc="PREF64 prefix length code"),
    _f("icmpv6.opt.pref64.prefix", "ipv6", doc="NAT64 prefix"),
)

_ERROR_TYPES = frozenset(ICMPV6_ERROR_TYPES)
_FIXED = ICMPV6.unpacker("icmpv6.type", "icmpv6.code", "icmpv6.checksum")
_CHECKSUM_AT = ICMPV6["icmpv6.checksum"].off
_NAMES = {1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit",
          4: "parameter problem", 128: "echo request", 129: "echo reply",
          130: "multicast listener query", 131: "multicast listener report",
          132: "multicast listener done", 133: "router solicitation", 134: "router advertisement",
          135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect",
          143: "multicast listener report v2"}


def _u16(d: bytes, at: int) -> int:
    return int.from_bytes(d[at:at + 2], "big")


def _u32(d: bytes, at: int) -> int:
    return int.from_bytes(d[at:at + 4], "big")


def _ip6(d: bytes, at: int) -> str:
    return ipv6_text(d[at:at + 16])


def _dns_names(v: bytes) -> list[str]:
    names: list[str] = []
    pos = 0
    labels: list[str] = []
    while pos < len(v):
        n = v[pos]
        if n == 0:
            if labels:
                names.append(".".join(labels))
                labels = []
            pos += 1
            if all(b == 0 for b in v[pos:]):
                break
            continue
        labels.append(v[pos + 1:pos + 1 + n].decode("ascii", "backslashreplace"))
        pos += 1 + n
    if labels:
        names.append(".".join(labels))
    return names


def _options(layer: Layer, d: bytes, pos: int, end: int) -> str:
    """ND options from ``pos`` to ``end``; returns a tcpdump-ish note (first link address)."""
    note = ""
    while pos + 2 <= end:
        otype, olen = d[pos], d[pos + 1]
        layer.add("icmpv6.opt.type", otype)
        layer.add("icmpv6.opt.length", olen)
        size = olen * 8
        if size == 0:
            layer.malformed(pos + 1, f"ND option {otype} has length 0")
            return note
        if pos + size > end:
            layer.truncated(pos, f"ND option {otype} cut short")
            return note
        b = pos + 2
        if otype in (1, 2):
            addr = d[b:pos + size]
            if len(addr) > 6 and not any(addr[6:]):
                addr = addr[:6]
            text = addr.hex(":")
            layer.add("icmpv6.opt.linkaddr", text)
            layer.add("icmpv6.opt.src_linkaddr" if otype == 1 else "icmpv6.opt.target_linkaddr", text)
            if not note:
                note = f"{'source' if otype == 1 else 'target'} link-address option, {addr.hex(':')}"
        elif otype == 3 and size >= 32:
            flags = d[b + 1]
            layer.add("icmpv6.opt.prefix.length", d[b])
            layer.add("icmpv6.opt.prefix.flag", flags)
            layer.add("icmpv6.opt.prefix.flag.l", bool(flags & 0x80))
            layer.add("icmpv6.opt.prefix.flag.a", bool(flags & 0x40))
            layer.add("icmpv6.opt.prefix.flag.r", bool(flags & 0x20))
            layer.add("icmpv6.opt.prefix.flag.reserved", flags & 0x1F)
            layer.add("icmpv6.opt.prefix.valid_lifetime", _u32(d, b + 2))
            layer.add("icmpv6.opt.prefix.preferred_lifetime", _u32(d, b + 6))
            layer.add("icmpv6.opt.prefix", _ip6(d, b + 14))
        elif otype == 5 and size >= 8:
            layer.add("icmpv6.opt.mtu", _u32(d, b + 2))
        elif otype == 7 and size >= 8:
            layer.add("icmpv6.opt.advertisement_interval", _u32(d, b + 2))
        elif otype == 8 and size >= 8:
            layer.add("icmpv6.opt.home_agent_preference", _u16(d, b + 2))
            layer.add("icmpv6.opt.home_agent_lifetime", _u16(d, b + 4))
        elif otype == 25 and size >= 8:
            layer.add("icmpv6.opt.rdnss.lifetime", _u32(d, b + 2))
            for a in range(b + 6, pos + size - 15, 16):
                layer.add("icmpv6.opt.rdnss", _ip6(d, a))
        elif otype == 31 and size >= 8:
            layer.add("icmpv6.opt.dnssl.lifetime", _u32(d, b + 2))
            for name in _dns_names(d[b + 6:pos + size]):
                layer.add("icmpv6.opt.dnssl", name)
        elif otype == 38 and size >= 16:
            word = _u16(d, b)
            layer.add("icmpv6.opt.pref64.scaled_lifetime", word >> 3)
            layer.add("icmpv6.opt.pref64.plc", word & 0x7)
            if word & 0x7 <= 5:  # prefix length codes 0..5 (/96 ... /32) are defined
                layer.add("icmpv6.opt.pref64.prefix", _ip6(d[b + 2:b + 14] + b"\x00" * 4, 0))
        pos += size
    return note


def _error_summary(itype: int, code: int, d: bytes, inner: int, end: int, length: int) -> str:
    """tcpdump's text for destination unreachable / time exceeded (from the quoted packet)."""
    have = end - inner >= 40 and d[inner] >> 4 == 6
    src = _ip6(d, inner + 8) if have else "?"
    dst = _ip6(d, inner + 24) if have else "?"
    if itype == 3:
        text = f"time exceeded in-transit for {dst}" if code == 0 else "ip6 reassembly time exceeded"
        return f"ICMP6, {text}, length {length}"
    texts = {0: f"no route to {dst}", 1: f"{dst} unreachable prohibited",
             2: f"beyond scope of source address {src}", 3: f"unreachable address {dst}"}
    if code == 4 and have and end - inner >= 44:
        nh = d[inner + 6]
        port = _u16(d, inner + 42)
        upper = {6: "tcp", 17: "udp"}.get(nh)
        text = (f"unreachable port, {dst} {upper} port {port}" if upper
                else f"unreachable port, {dst}")
    else:
        text = texts.get(code, f"unreachable code #{code}")
    return f"ICMP6, destination unreachable, {text}, length {length}"


def dissect_icmpv6(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("icmpv6", offset)
    reported_end = max(ctx.reported_end, end)
    in_error = bool(ctx.extra.get("in_error_pkt"))
    avail = end - offset
    if avail < ICMPV6.min_len:
        layer.length = max(0, avail)
        if reported_end - offset < ICMPV6.min_len and not in_error:
            layer.malformed(offset, f"ICMPv6 header needs 4 bytes, {reported_end - offset} present")
        else:
            layer.truncated(offset, f"ICMPv6 header cut short at {avail} of 4 bytes")
        layer.summary = "ICMP6, [|icmp6]"
        return layer, None
    d, o = data, offset
    itype, code, csum = _FIXED(d, o)
    layer.add("icmpv6.type", itype)
    layer.add("icmpv6.code", code)
    layer.add("icmpv6.checksum", csum)
    status = CHECKSUM_UNVERIFIED
    if not in_error and end >= reported_end:
        ok = verify_checksum(d, o, reported_end - o, ctx, 58)
        if ok is True:
            status = CHECKSUM_GOOD
        elif ok is False:
            status = CHECKSUM_BAD
            layer.finding(FindingKind.CHECKSUM_BAD, o + _CHECKSUM_AT, f"bad ICMPv6 checksum 0x{csum:04x}")
    layer.add("icmpv6.checksum.status", status)
    length = reported_end - o
    name = _NAMES.get(itype, f"type-#{itype}")
    layer.summary = f"ICMP6, {name}, length {length}"
    layer.length = min(avail, 8)
    need = {128: 8, 129: 8, 1: 8, 2: 8, 3: 8, 4: 8, 130: 24, 131: 24, 132: 24, 133: 8, 134: 16,
            135: 24, 136: 24, 137: 40, 143: 8}.get(itype, 4)
    if avail < need:
        layer.truncated(end, f"ICMPv6 type {itype} needs {need} bytes, {avail} captured")
        return layer, None
    b = o + 4
    if itype in _ERROR_TYPES:
        if itype == 2:
            layer.add("icmpv6.mtu", _u32(d, b))
            layer.summary = f"ICMP6, packet too big, mtu {_u32(d, b)}, length {length}"
        elif itype == 4:
            layer.add("icmpv6.pointer", _u32(d, b))
            what = {0: "erroneous", 1: "next header", 2: "option"}.get(code)
            text = f"{what} - octet {_u32(d, b)}" if what else f"code-#{code}"
            layer.summary = f"ICMP6, parameter problem, {text}, length {length}"
        else:
            layer.add("icmpv6.reserved", d[b:b + 4])
            layer.summary = _error_summary(itype, code, d, o + 8, end, length)
        if not in_error and end > o + QUOTE_AT:
            ctx.extra["in_error_pkt"] = True
            from pcapkit.dissect.icmp import quoted_length

            inner_reported = max(reported_end, o + QUOTE_AT + quoted_length(d, o + QUOTE_AT, end))
            return layer, Next("ethertype", ETHERTYPE_IPV6, o + QUOTE_AT, end, inner_reported)
        return layer, None
    if itype in (128, 129):
        ident, seq = _u16(d, b), _u16(d, b + 2)
        layer.add("icmpv6.echo.identifier", ident)
        layer.add("icmpv6.echo.sequence_number", seq)
        layer.summary = f"ICMP6, {name}, id {ident}, seq {seq}, length {length}"
        if not in_error:
            from pcapkit.dissect.icmp import match_echo

            match_echo(ctx, layer, "icmpv6", itype == 128, csum, 0x0100, ident, seq)
    elif itype in (130, 131, 132):
        group = _ip6(d, b + 4)
        if itype == 130 and reported_end - o >= 28:
            layer.summary = f"ICMP6, multicast listener query v2 [gaddr {group}], length {length}"
        else:
            layer.summary = (f"ICMP6, {name}max resp delay: {_u16(d, b)} addr: {group}, length {length}"
                             if itype != 130 else
                             f"ICMP6, {name} max resp delay: {_u16(d, b)} addr: {group}, length {length}")
        if itype == 130 and reported_end - o >= 28:
            layer.add("icmpv6.mld.maximum_response_code", _u16(d, b))
        else:
            layer.add("icmpv6.mld.maximum_response_delay", _u16(d, b))
        layer.add("icmpv6.reserved", d[b + 2:b + 4])
        layer.add("icmpv6.mld.multicast_address", _ip6(d, b + 4))
        if itype == 130 and avail >= 28:
            flags = d[o + 24]
            layer.add("icmpv6.mld.flag", flags)
            layer.add("icmpv6.mld.flag.reserved", flags >> 4)
            layer.add("icmpv6.mld.flag.s", bool(flags & 0x08))
            layer.add("icmpv6.mld.flag.qrv", flags & 0x07)
            layer.add("icmpv6.mld.qqi", d[o + 25])
            n = _u16(d, o + 26)
            layer.add("icmpv6.mld.nb_sources", n)
            for i in range(n):
                at = o + 28 + 16 * i
                if at + 16 > end:
                    layer.truncated(at, "MLDv2 query sources cut short")
                    break
                layer.add("icmpv6.mld.source_address", _ip6(d, at))
    elif itype == 143:
        layer.add("icmpv6.reserved", d[b:b + 2])
        n = _u16(d, b + 2)
        layer.add("icmpv6.mldr.nb_mcast_records", n)
        pos = o + 8
        for _ in range(n):
            if pos + 20 > end:
                (layer.truncated if end < reported_end else layer.malformed)(pos, "MLDv2 record cut short")
                break
            aux, nsrc = d[pos + 1], _u16(d, pos + 2)
            layer.add("icmpv6.mldr.mar.record_type", d[pos])
            layer.add("icmpv6.mldr.mar.aux_data_len", aux)
            layer.add("icmpv6.mldr.mar.nb_sources", nsrc)
            layer.add("icmpv6.mldr.mar.multicast_address", _ip6(d, pos + 4))
            pos += 20
            for _ in range(nsrc):
                if pos + 16 > end:
                    break
                layer.add("icmpv6.mldr.mar.source_address", _ip6(d, pos))
                pos += 16
            if aux and pos < end:
                layer.add("icmpv6.mldr.mar.auxiliary_data", d[pos:pos + 4 * aux])
                pos += 4 * aux
        layer.summary = f"ICMP6, {name}, {n} group record(s), length {length}"
    elif itype == 133:
        layer.add("icmpv6.reserved", d[b:b + 4])
        _options(layer, d, o + 8, end)
    elif itype == 134:
        flags = d[b + 1]
        layer.add("icmpv6.nd.ra.cur_hop_limit", d[b])
        layer.add("icmpv6.nd.ra.flag", flags)
        layer.add("icmpv6.nd.ra.flag.m", bool(flags & 0x80))
        layer.add("icmpv6.nd.ra.flag.o", bool(flags & 0x40))
        layer.add("icmpv6.nd.ra.flag.h", bool(flags & 0x20))
        layer.add("icmpv6.nd.ra.flag.prf", (flags >> 3) & 0x3)
        layer.add("icmpv6.nd.ra.flag.p", bool(flags & 0x04))
        layer.add("icmpv6.nd.ra.flag.rsv", flags & 0x03)
        layer.add("icmpv6.nd.ra.router_lifetime", _u16(d, b + 2))
        layer.add("icmpv6.nd.ra.reachable_time", _u32(d, b + 4))
        layer.add("icmpv6.nd.ra.retrans_timer", _u32(d, b + 8))
        _options(layer, d, o + 16, end)
    elif itype == 135:
        layer.add("icmpv6.reserved", d[b:b + 4])
        target = _ip6(d, o + 8)
        layer.add("icmpv6.nd.ns.target_address", target)
        note = _options(layer, d, o + 24, end)
        layer.summary = f"ICMP6, neighbor solicitation, who has {target}, length {length}"
        del note
    elif itype == 136:
        flags = _u32(d, b)
        layer.add("icmpv6.nd.na.flag", flags)
        layer.add("icmpv6.nd.na.flag.r", bool(flags & 0x80000000))
        layer.add("icmpv6.nd.na.flag.s", bool(flags & 0x40000000))
        layer.add("icmpv6.nd.na.flag.o", bool(flags & 0x20000000))
        layer.add("icmpv6.nd.na.flag.rsv", flags & 0x1FFFFFFF)
        target = _ip6(d, o + 8)
        layer.add("icmpv6.nd.na.target_address", target)
        _options(layer, d, o + 24, end)
        layer.summary = f"ICMP6, neighbor advertisement, tgt is {target}, length {length}"
    elif itype == 137:
        layer.add("icmpv6.reserved", d[b:b + 4])
        layer.add("icmpv6.nd.rd.target_address", _ip6(d, o + 8))
        layer.add("icmpv6.rd.na.destination_address", _ip6(d, o + 24))
        layer.summary = f"ICMP6, redirect, {_ip6(d, o + 24)} to {_ip6(d, o + 8)}, length {length}"
        _options(layer, d, o + 40, end)
    return layer, None
