"""ICMP for IPv4 (RFC 792, 1191, 1256, 4884).

Error messages (destination unreachable, source quench, redirect, time exceeded,
parameter problem) quote the offending datagram: we hand it on as
``Next("ethertype", 0x0800, ...)`` so the IPv4 dissector and the transport after it
decode it with their own field names, exactly as Wireshark does (ip.src then occurs
twice in the frame). While the quoted datagram is dissected ``ctx.extra["in_error_pkt"]``
is True: the layers below must then not complain that it is cut short, and do not
verify checksums (Wireshark's ``pinfo->flags.in_error_pkt``).

Wireshark always verifies the ICMP checksum (it needs no pseudo-header) when the whole
message was captured, is not an IP fragment, and is not itself quoted in an error.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, FindingKind, Layer, Next, Result
from pcapkit.dissect.udp import CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED
from pcapkit.fields import FieldSpec, ipv4_text, ipv6_text
from pcapkit.proto import ipv4, ipv6, tcp, udp
from pcapkit.proto.checksum import ones_complement_sum
from pcapkit.proto.consts import ETHERTYPE_IPV4, ETHERTYPE_IPV6, IPPROTO_TCP, IPPROTO_UDP
from pcapkit.proto.icmp import HEADER, ICMP_ERROR_TYPES, QUOTE_AT

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    FieldSpec("icmp.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified"),
    FieldSpec("icmp.ident", "uint", 16, doc="Identifier (big endian)"),
    FieldSpec("icmp.ident_le", "uint", 16, doc="Identifier (little endian)"),
    FieldSpec("icmp.seq", "uint", 16, doc="Sequence number (big endian)"),
    FieldSpec("icmp.seq_le", "uint", 16, doc="Sequence number (little endian)"),
    FieldSpec("icmp.unused", "bytes", doc="Unused bytes of the header"),
    FieldSpec("icmp.reserved", "bytes", doc="Reserved (router solicitation)"),
    FieldSpec("icmp.mtu", "uint", 16, doc="MTU of next hop (RFC 1191)"),
    FieldSpec("icmp.length", "uint", 8, doc="Length of the original datagram in 32-bit words (RFC 4884)"),
    FieldSpec("icmp.length.original_datagram", "uint", 8, doc="Length of the original datagram in bytes"),
    FieldSpec("icmp.pointer", "uint", 32, doc="Pointer (parameter problem)"),
    FieldSpec("icmp.redir_gw", "ipv4", doc="Gateway address (redirect)"),
    FieldSpec("icmp.num_addrs", "uint", 8, doc="Number of addresses (router advertisement)"),
    FieldSpec("icmp.addr_entry_size", "uint", 8, doc="Address entry size"),
    FieldSpec("icmp.lifetime", "uint", 16, doc="Lifetime"),
    FieldSpec("icmp.router_address", "ipv4", doc="Router address"),
    FieldSpec("icmp.pref_level", "int", 32, doc="Preference level"),
    FieldSpec("icmp.originate_timestamp", "uint", 32, doc="Originate timestamp (ms after midnight UTC)"),
    FieldSpec("icmp.receive_timestamp", "uint", 32, doc="Receive timestamp"),
    FieldSpec("icmp.transmit_timestamp", "uint", 32, doc="Transmit timestamp"),
    FieldSpec("icmp.address_mask", "ipv4", doc="Address mask"),
    FieldSpec("icmp.ext.version", "uint", 8, doc="Extension structure version (RFC 4884)"),
    FieldSpec("icmp.ext.res", "uint", 16, "hex", doc="Extension reserved bits"),
    FieldSpec("icmp.ext.checksum", "uint", 16, "hex", doc="Extension checksum"),
    FieldSpec("icmp.ext.checksum.status", "uint", 8, doc="0 bad, 1 good"),
    FieldSpec("icmp.ext.length", "uint", 16, doc="Extension object length"),
    FieldSpec("icmp.ext.class", "uint", 8, doc="Extension object class"),
    FieldSpec("icmp.ext.ctype", "uint", 8, doc="Extension object C-type"),
    FieldSpec("icmp.mpls.label", "uint", 24, doc="MPLS label (RFC 4950)"),
    FieldSpec("icmp.mpls.exp", "uint", 24, doc="MPLS experimental bits"),
    FieldSpec("icmp.mpls.s", "bool", doc="MPLS bottom of stack"),
    FieldSpec("icmp.mpls.ttl", "uint", 8, doc="MPLS TTL"),
    FieldSpec("icmp.int_info.role", "uint", 8, doc="Interface role (RFC 5837)"),
    FieldSpec("icmp.int_info.reserved", "uint", 8, doc="Reserved"),
    FieldSpec("icmp.int_info.ifindex", "bool", doc="ifIndex included"),
    FieldSpec("icmp.int_info.ipaddr", "bool", doc="IP address included"),
    FieldSpec("icmp.int_info.name_present", "bool", doc="Name included"),
    FieldSpec("icmp.int_info.mtu_present", "bool", doc="MTU included"),
    FieldSpec("icmp.int_info.index", "uint", 32, doc="ifIndex"),
    FieldSpec("icmp.int_info.afi", "uint", 16, doc="Address family"),
    FieldSpec("icmp.int_info.ipv4", "ipv4", doc="Interface IPv4 address"),
    FieldSpec("icmp.int_info.ipv6", "ipv6", doc="Interface IPv6 address"),
    FieldSpec("icmp.int_info.name_length", "uint", 8, doc="Interface name length"),
    FieldSpec("icmp.int_info.name", "string", doc="Interface name"),
    FieldSpec("icmp.int_info.mtu", "uint", 32, doc="Interface MTU"),
    FieldSpec("icmp.data_time", "string", doc="Timestamp in the first 8 bytes of echo data (tshark's text, UTC)"),
    FieldSpec("icmp.data_time_relative", "reltime_ns", doc="Frame time minus icmp.data_time"),
    FieldSpec("icmp.resp_to", "framenum", doc="The request this reply answers (needs a session)"),
    FieldSpec("icmp.resptime", "float", doc="Time from the request, in ms (needs a session)"),
)

ECHO_REPLY, UNREACH, SOURCE_QUENCH, REDIRECT, ECHO, RTR_ADVERT, RTR_SOLICIT = 0, 3, 4, 5, 8, 9, 10
TIME_EXCEEDED, PARAM_PROB, TSTAMP, TSTAMP_REPLY, IREQ, IREQ_REPLY, MASK_REQ, MASK_REPLY = (
    11, 12, 13, 14, 15, 16, 17, 18)
ERROR_TYPES = frozenset(ICMP_ERROR_TYPES)
_ID_SEQ_TYPES = frozenset((ECHO_REPLY, ECHO, TSTAMP, TSTAMP_REPLY, IREQ, IREQ_REPLY, MASK_REQ, MASK_REPLY))

_TYPE_NAMES = {
    ECHO_REPLY: "echo reply", ECHO: "echo request", TSTAMP: "time stamp query",
    TSTAMP_REPLY: "time stamp reply", IREQ: "information request", IREQ_REPLY: "information reply",
    MASK_REQ: "address mask request", MASK_REPLY: "address mask reply",
    RTR_ADVERT: "router advertisement", RTR_SOLICIT: "router solicitation",
    SOURCE_QUENCH: "source quench",
}
# tcpdump's texts for destination unreachable codes ("{}" is the quoted destination)
_UNREACH_TEXT = {0: "net {} unreachable", 1: "host {} unreachable", 5: "{} unreachable - source route failed",
                 6: "net {} unreachable - unknown", 7: "host {} unreachable - unknown",
                 8: "{} unreachable - source host isolated", 9: "net {} unreachable - admin prohibited",
                 10: "host {} unreachable - admin prohibited", 11: "net {} unreachable - tos prohibited",
                 12: "host {} unreachable - tos prohibited",
                 13: "host {} unreachable - admin prohibited filter",
                 14: "host {} unreachable - host precedence violation",
                 15: "host {} unreachable - precedence cutoff"}


def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at:at + 2], "big")


def _ipv4(data: bytes, at: int) -> str:
    return ipv4_text(data[at:at + 4])


_FIXED = HEADER.unpacker("icmp.type", "icmp.code", "icmp.checksum")
_TYPE = HEADER.getter("icmp.type")
_CODE = HEADER.getter("icmp.code")
_CHECKSUM_AT = HEADER["icmp.checksum"].off
# the quoted datagram, for tcpdump's text
_QUOTED_IPV4 = ipv4.HEADER.unpacker("ip.hdr_len", "ip.proto", "ip.dst")
_QUOTED_PORT = {IPPROTO_TCP: tcp.HEADER.getter("tcp.dstport"), IPPROTO_UDP: udp.HEADER.getter("udp.dstport")}
_QUOTED_VERSION = ipv4.HEADER.getter("ip.version")
_QUOTED_LENGTH = {4: (ipv4.HEADER["ip.len"].end, ipv4.HEADER.getter("ip.len"), 0),
                  6: (ipv6.HEADER["ipv6.plen"].end, ipv6.HEADER.getter("ipv6.plen"), ipv6.HEADER.min_len)}


def _summary(itype: int, code: int, data: bytes, offset: int, end: int, length: int) -> str:
    if itype in (ECHO, ECHO_REPLY) and end - offset >= 8:
        return (f"ICMP {_TYPE_NAMES[itype]}, id {_u16(data, offset + 4)}, "
                f"seq {_u16(data, offset + 6)}, length {length}")
    if itype == UNREACH:
        inner = offset + QUOTE_AT
        if end - inner >= ipv4.HEADER.min_len:
            ihl, proto, dst = _QUOTED_IPV4(data, inner)
            if code == 2:
                return f"ICMP {dst} protocol {proto} unreachable, length {length}"
            if code == 3 and end - inner >= ihl + 4:
                # tcpdump prints the destination port of any protocol (where TCP and UDP have it)
                port = _QUOTED_PORT[IPPROTO_UDP](data, inner + ihl)
                if proto in _QUOTED_PORT:
                    name = "tcp" if proto == IPPROTO_TCP else "udp"
                    return f"ICMP {dst} {name} port {port} unreachable, length {length}"
                return f"ICMP {dst} protocol {proto} port {port} unreachable, length {length}"
            if code == 4:
                mtu = _u16(data, offset + 6)
                frag = f"need to frag (mtu {mtu})" if mtu else "need to frag"
                return f"ICMP {dst} unreachable - {frag}, length {length}"
            text = _UNREACH_TEXT.get(code)
            if text is not None:
                return f"ICMP {text.format(dst)}, length {length}"
        return f"ICMP unreachable code {code}, length {length}"
    if itype == TIME_EXCEEDED:
        return f"ICMP time exceeded {'in-transit' if code == 0 else 'fragment reassembly'}, length {length}"
    if itype == REDIRECT and end - offset >= 8:
        kind = ("redirect", "redirect", "redirect-tos", "redirect-tos")[code] if code < 4 else "redirect"
        to = "host" if code in (1, 3) else "net"
        dst = _ipv4(data, offset + 24) if end - offset >= 28 else "?"
        return f"ICMP {kind} {dst} to {to} {_ipv4(data, offset + 4)}, length {length}"
    if itype == TSTAMP and end - offset >= 8:
        return f"ICMP time stamp query id {_u16(data, offset + 4)} seq {_u16(data, offset + 6)}, length {length}"
    if itype == MASK_REPLY and end - offset >= 12:
        return f"ICMP address mask is 0x{int.from_bytes(data[offset + 8:offset + 12], 'big'):08x}, length {length}"
    if itype == PARAM_PROB:
        return f"ICMP parameter problem - octet {data[offset + 4] if end - offset > 4 else '?'}, length {length}"
    name = _TYPE_NAMES.get(itype, f"type-#{itype}")
    return f"ICMP {name}, length {length}"


def dissect_icmp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("icmp", offset)
    reported_end = max(ctx.reported_end, end)
    in_error = bool(ctx.extra.get("in_error_pkt"))
    avail = end - offset
    if avail < HEADER.min_len:
        layer.length = max(0, avail)
        if avail >= 1:
            layer.add("icmp.type", _TYPE(data, offset))
        if avail >= 2:
            layer.add("icmp.code", _CODE(data, offset))
        if reported_end - offset < HEADER.min_len and not in_error:
            layer.malformed(offset, f"ICMP header needs 4 bytes, {reported_end - offset} present")
        else:
            layer.truncated(offset, f"ICMP header cut short at {avail} of 4 bytes")
        layer.summary = "ICMP [|icmp]"
        return layer, None
    itype, code, csum = _FIXED(data, offset)
    layer.add("icmp.type", itype)
    layer.add("icmp.code", code)
    layer.add("icmp.checksum", csum)
    status = CHECKSUM_UNVERIFIED
    if not in_error and not ctx.extra.get("ip.fragmented") and end >= reported_end:
        if ones_complement_sum(data[offset:reported_end]) == 0xFFFF:
            status = CHECKSUM_GOOD
        else:
            status = CHECKSUM_BAD
            layer.finding(FindingKind.CHECKSUM_BAD, offset + _CHECKSUM_AT, f"bad ICMP checksum 0x{csum:04x}")
    layer.add("icmp.checksum.status", status)
    layer.length = min(avail, 8)
    layer.summary = _summary(itype, code, data, offset, end, reported_end - offset)
    if avail < 8:
        if itype in _ID_SEQ_TYPES and avail >= 6:  # tshark shows what was captured
            layer.add("icmp.ident", _u16(data, offset + 4))
            layer.add("icmp.ident_le", int.from_bytes(data[offset + 4:offset + 6], "little"))
        if itype in _ID_SEQ_TYPES or itype in ERROR_TYPES or itype == REDIRECT:
            layer.truncated(end, f"ICMP header cut short at {avail} of 8 bytes")
        return layer, None

    w = offset + 4
    orig_len = 0
    if itype in _ID_SEQ_TYPES:
        layer.add("icmp.ident", _u16(data, w))
        layer.add("icmp.ident_le", int.from_bytes(data[w:w + 2], "little"))
        layer.add("icmp.seq", _u16(data, w + 2))
        layer.add("icmp.seq_le", int.from_bytes(data[w + 2:w + 4], "little"))
    elif itype in (UNREACH, TIME_EXCEEDED):
        orig_len = data[w + 1] * 4
        if orig_len > 0:
            layer.add("icmp.unused", data[w:w + 1])
            layer.add("icmp.length", data[w + 1])
            layer.add("icmp.length.original_datagram", orig_len)
            if itype == UNREACH and code == 4:
                layer.add("icmp.mtu", _u16(data, w + 2))
            else:
                layer.add("icmp.unused", data[w + 2:w + 4])
        elif itype == UNREACH and code == 4:
            layer.add("icmp.unused", data[w:w + 2])
            layer.add("icmp.mtu", _u16(data, w + 2))
        else:
            layer.add("icmp.unused", data[w:w + 4])
    elif itype == PARAM_PROB:
        layer.add("icmp.pointer", data[w])
        orig_len = data[w + 1] * 4
        if orig_len > 0:
            layer.add("icmp.length", data[w + 1])
            layer.add("icmp.length.original_datagram", orig_len)
            layer.add("icmp.unused", data[w + 2:w + 4])
        else:
            layer.add("icmp.unused", data[w + 1:w + 4])
    elif itype == REDIRECT:
        layer.add("icmp.redir_gw", _ipv4(data, w))
    elif itype in (SOURCE_QUENCH, RTR_SOLICIT):
        layer.add("icmp.unused" if itype == SOURCE_QUENCH else "icmp.reserved", data[w:w + 4])
    elif itype == RTR_ADVERT:
        num, size = data[w], data[w + 1]
        layer.add("icmp.num_addrs", num)
        layer.add("icmp.addr_entry_size", size)
        layer.add("icmp.lifetime", _u16(data, w + 2))
        if size == 2:
            pos = offset + 8
            for _ in range(num):
                if pos + 8 > end:
                    layer.truncated(pos, "router advertisement entries cut short")
                    break
                layer.add("icmp.router_address", _ipv4(data, pos))
                layer.add("icmp.pref_level", int.from_bytes(data[pos + 4:pos + 8], "big", signed=True))
                pos += 8

    body = offset + 8
    if itype in (ECHO, ECHO_REPLY):
        _echo_data_time(layer, data, body, end, reported_end, ctx.ts_ns, "icmp")
        if not in_error:
            match_echo(ctx, layer, "icmp", itype == ECHO, csum, 0xF7FF, _u16(data, w), _u16(data, w + 2))
    if itype in (TSTAMP, TSTAMP_REPLY):
        if end - body >= 12:
            layer.add("icmp.originate_timestamp", int.from_bytes(data[body:body + 4], "big"))
            layer.add("icmp.receive_timestamp", int.from_bytes(data[body + 4:body + 8], "big"))
            layer.add("icmp.transmit_timestamp", int.from_bytes(data[body + 8:body + 12], "big"))
        else:
            layer.truncated(end, "ICMP timestamps cut short")
        return layer, None
    if itype in (MASK_REQ, MASK_REPLY):
        if end - body >= 4:
            layer.add("icmp.address_mask", _ipv4(data, body))
        return layer, None
    if itype in ERROR_TYPES and not in_error:
        ext_at = 0
        if orig_len > 0 and body + orig_len < reported_end:
            ext_at = body + orig_len
        elif (orig_len == 0 and reported_end - body > 128 and end - body >= 4
              and _u16(data, body + 2) <= 128):
            ext_at = body + 128  # RFC 4884 compatibility: 128 bytes of original datagram
        if ext_at and ext_at < end and data[ext_at] >> 4 == 2:
            _extensions(layer, data, ext_at, end, reported_end)
        inner_end = end
        inner_reported = reported_end
        if orig_len > 0 and body + orig_len < reported_end:
            inner_reported = body + orig_len
            inner_end = min(end, inner_reported)
        if inner_end > body:
            ctx.extra["in_error_pkt"] = True
            version = _QUOTED_VERSION(data, body)
            ethertype = ETHERTYPE_IPV6 if version == 6 else ETHERTYPE_IPV4
            # the quoted datagram is cut short on purpose: report its own length as the
            # reported end, so the IP layer sees "truncated", never "malformed"
            inner_reported = max(inner_reported, body + quoted_length(data, body, inner_end))
            return layer, Next("ethertype", ethertype, body, inner_end, inner_reported)
    return layer, None


def quoted_length(data: bytes, at: int, end: int) -> int:
    """The total length a quoted IPv4/IPv6 header claims (0 if it cannot be read)."""
    if end <= at:
        return 0
    rule = _QUOTED_LENGTH.get(_QUOTED_VERSION(data, at))
    if rule is None:
        return 0
    need, length, fixed = rule
    return fixed + length(data, at) if end - at >= need else 0


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def abs_time_ns_text(ts_ns: int) -> str:
    """tshark's text for an absolute time (``Apr 11, 2012 19:49:23.977919000 UTC``), in UTC."""
    import datetime as dt

    secs, nanos = divmod(ts_ns, 1_000_000_000)
    t = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=secs)
    return (f"{_MONTHS[t.month - 1]} {t.day:2d}, {t.year} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
            f".{nanos:09d} UTC")


def _echo_data_time(layer: Layer, data: bytes, body: int, end: int, reported_end: int,
                    frame_ns: int, proto: str) -> None:
    """Wireshark's heuristic: the first 8 data bytes as a timeval (big, else little endian)
    within a day after the frame's second."""
    if reported_end - body < 8 or end - body < 8:
        return
    frame_secs = frame_ns // 1_000_000_000
    secs = int.from_bytes(data[body:body + 4], "big")
    usecs = int.from_bytes(data[body + 4:body + 8], "big")
    if abs(secs - frame_secs) >= 86400 or usecs >= 1_000_000:
        secs = int.from_bytes(data[body:body + 4], "little")
        usecs = int.from_bytes(data[body + 4:body + 8], "little")
    if abs(secs - frame_secs) < 86400 and usecs < 1_000_000:
        ts = secs * 1_000_000_000 + usecs * 1000
        layer.add(f"{proto}.data_time", abs_time_ns_text(ts))
        layer.add(f"{proto}.data_time_relative", frame_ns - ts)


def match_echo(ctx: Context, layer: Layer, proto: str, request: bool, csum: int, type_delta: int,
               ident: int, seq: int) -> None:
    # type_delta: what to add (one's complement) to a reply's checksum to get the
    # request's: ~0x0800 for ICMP (type 8 -> 0), 0x0100 for ICMPv6 (128 -> 129)
    """Echo request/reply matching as tshark's one pass does it (``icmp.resp_to``, ``icmp.resptime``).

    State lives on the driver's session (``ctx.extra["session"]``); without one nothing is
    matched. The key is the address pair, the request's checksum (a reply's checksum is
    turned back into it) and identifier/sequence number."""
    session = ctx.extra.get("session")
    if session is None:
        return
    table: dict[tuple[object, ...], tuple[int, int]] | None = getattr(session, "_echo_requests", None)
    if table is None:
        table = {}
        try:
            session._echo_requests = table
        except AttributeError:
            return
    src, dst = ctx.extra.get("ip.src_raw"), ctx.extra.get("ip.dst_raw")
    pair = tuple(sorted((bytes(src or b""), bytes(dst or b""))))
    if request:
        key_sum = 0 if csum == 0xFFFF else csum
        table[(proto, pair, key_sum, ident, seq)] = (ctx.frame_number, ctx.ts_ns)
        return
    # the reply's checksum differs from the request's only by its type word: undo that
    key_sum = ones_complement_sum(csum.to_bytes(2, "big") + type_delta.to_bytes(2, "big"))
    if key_sum == 0xFFFF:
        key_sum = 0
    found = table.pop((proto, pair, key_sum, ident, seq), None)
    if found is None or found[0] >= ctx.frame_number:
        return
    frame, ts = found
    delta = ctx.ts_ns - ts
    secs, nanos = divmod(abs(delta), 1_000_000_000)
    ms = secs * 1000.0 + nanos / 1000000.0
    layer.add(f"{proto}.resp_to", frame)
    # tshark prints doubles with 15 significant digits (DBL_DIG); keep the value that prints so
    layer.add(f"{proto}.resptime", float(f"{-ms if delta < 0 else ms:.15g}"))


def _extensions(layer: Layer, data: bytes, at: int, end: int, reported_end: int) -> None:
    """ICMP extension structure (RFC 4884) and its objects: MPLS label stack (RFC 4950),
    interface information (RFC 5837)."""
    if end - at < 4:
        layer.truncated(at, "ICMP extension header cut short")
        return
    layer.add("icmp.ext.version", data[at] >> 4)
    layer.add("icmp.ext.res", _u16(data, at) & 0x0FFF)
    layer.add("icmp.ext.checksum", _u16(data, at + 2))
    if end >= reported_end:
        good = ones_complement_sum(data[at:reported_end]) == 0xFFFF
        layer.add("icmp.ext.checksum.status", CHECKSUM_GOOD if good else CHECKSUM_BAD)
    else:
        layer.add("icmp.ext.checksum.status", CHECKSUM_UNVERIFIED)
    pos = at + 4
    while pos + 4 <= end:
        olen, cls, ctype = _u16(data, pos), data[pos + 2], data[pos + 3]
        layer.add("icmp.ext.length", olen)
        layer.add("icmp.ext.class", cls)
        layer.add("icmp.ext.ctype", ctype)
        if olen < 4:
            layer.malformed(pos, f"ICMP extension object length {olen} < 4")
            return
        obj_end = min(pos + olen, end)
        b = pos + 4
        if cls == 1 and ctype == 1:
            while b + 4 <= obj_end:
                word = int.from_bytes(data[b:b + 3], "big")
                layer.add("icmp.mpls.label", word >> 4)
                layer.add("icmp.mpls.exp", (word & 0x0E) >> 1)
                layer.add("icmp.mpls.s", bool(word & 0x01))
                layer.add("icmp.mpls.ttl", data[b + 3])
                b += 4
        elif cls == 2:
            layer.add("icmp.int_info.role", ctype >> 6)
            layer.add("icmp.int_info.reserved", (ctype >> 4) & 0x3)
            layer.add("icmp.int_info.ifindex", bool(ctype & 0x08))
            layer.add("icmp.int_info.ipaddr", bool(ctype & 0x04))
            layer.add("icmp.int_info.name_present", bool(ctype & 0x02))
            layer.add("icmp.int_info.mtu_present", bool(ctype & 0x01))
            if ctype & 0x08 and b + 4 <= obj_end:
                layer.add("icmp.int_info.index", int.from_bytes(data[b:b + 4], "big"))
                b += 4
            if ctype & 0x04 and b + 4 <= obj_end:
                afi = _u16(data, b)
                layer.add("icmp.int_info.afi", afi)
                layer.add("icmp.reserved", data[b + 2:b + 4])
                b += 4
                if afi == 1 and b + 4 <= obj_end:
                    layer.add("icmp.int_info.ipv4", _ipv4(data, b))
                    b += 4
                elif afi == 2 and b + 16 <= obj_end:
                    layer.add("icmp.int_info.ipv6", ipv6_text(data[b:b + 16]))
                    b += 16
            if ctype & 0x02 and b < obj_end:
                nlen = data[b]
                layer.add("icmp.int_info.name_length", nlen)
                # tshark 4.0 shows no name when the length octet says 64 (the RFC 5837 maximum)
                if 1 < nlen < 64 and b + nlen <= obj_end:
                    name = data[b + 1:b + nlen].split(b"\0", 1)[0]
                    layer.add("icmp.int_info.name", name.decode("ascii", "backslashreplace"))
                b += max(nlen, 1)
            if ctype & 0x01 and b + 4 <= obj_end:
                layer.add("icmp.int_info.mtu", int.from_bytes(data[b:b + 4], "big"))
        pos += olen
