"""DNS, mDNS and LLMNR messages (RFC 1035, 6762, 4795; EDNS RFC 6891), tshark 4.0's fields.

UDP ports 53 (``dns``), 5353 (``mdns``) and 5355 (``llmnr``) reach :func:`dissect_dns`,
:func:`dissect_mdns` and :func:`dissect_llmnr` through the ``udp.port`` table; DNS over TCP
(port 53, a 2-byte length before each message) comes reassembled from the TCP stream
dispatcher (:func:`dissect_dns_tcp_message`, one layer per message). The 12-byte header is declared in
:mod:`pcapkit.proto.dns`; questions and resource records follow, each section as tshark
shows it:

* a question: ``dns.qry.name``, ``dns.qry.name.len``, ``dns.count.labels``, ``dns.qry.type``,
  ``dns.qry.class`` (mDNS: the low 15 bits, and ``dns.qry.qu``);
* a record: ``dns.resp.name`` (an SRV record: ``dns.srv.service/proto/name`` instead),
  ``dns.resp.type``, ``dns.resp.class`` and ``dns.resp.ttl`` (OPT: the EDNS fields
  instead), ``dns.resp.len``, then the data of A, AAAA, NS, CNAME, SOA, PTR, MX, TXT,
  SPF, SRV, NSEC (next name) and OPT (options, cookies); other types' data is not decoded;
* bytes after the last record: ``dns.extraneous.data`` / ``.length``;
* request/response matching (:mod:`pcapkit.dissect.dns_track`, with a session):
  ``dns.response_to``, ``dns.time``, retransmissions, unsolicited responses.

Like tshark, a message that runs off its bytes keeps the fields read before that point:
*truncated* when the capture cut it, *malformed* when the message itself says more than
it holds. Names are read by :mod:`pcapkit.dissect.dns_names` (compression loops: a
*malformed* finding, bounded work).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pcapkit.dissect.base import Context, FindingKind, Layer, Result
from pcapkit.dissect.dns_names import Budget, BudgetExhausted, Name, NameUnreadable, read_name
from pcapkit.fields import MISSING, FieldSpec, ipv4_text, ipv6_text
from pcapkit.proto.dns import (
    COUNTS,
    HEADER,
    LLMNR_QUERY_FLAGS,
    LLMNR_RESPONSE_FLAGS,
    OPCODE_UPDATE,
    QUERY_FLAGS,
    RESPONSE,
    RESPONSE_FLAGS,
    UPDATE_COUNTS,
)


def _u(name: str, bits: int, doc: str, base: Any = "dec") -> FieldSpec:
    return FieldSpec(name, "uint", bits, base, doc)


def _s(name: str, doc: str) -> FieldSpec:
    return FieldSpec(name, "string", doc=doc)


FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    _u("dns.length", 16, "Length of the message (DNS over TCP)"),
    _s("dns.qry.name", "Question name"),
    _u("dns.qry.name.len", 16, "Question name length"),
    _u("dns.count.labels", 16, "Question name label count"),
    _u("dns.qry.type", 16, "Question type"),
    _u("dns.qry.class", 16, "Question class", "hex"),
    FieldSpec("dns.qry.qu", "bool", doc="mDNS unicast-response (QU) question"),
    _s("dns.resp.name", "Record owner name"),
    _u("dns.resp.type", 16, "Record type"),
    _u("dns.resp.class", 16, "Record class", "hex"),
    FieldSpec("dns.resp.cache_flush", "bool", doc="mDNS cache flush"),
    _u("dns.resp.ttl", 32, "Time to live"),
    _u("dns.resp.len", 16, "Record data length"),
    FieldSpec("dns.a", "ipv4", doc="Address (A)"),
    FieldSpec("dns.aaaa", "ipv6", doc="Address (AAAA)"),
    _s("dns.ns", "Name server (NS)"),
    _s("dns.cname", "Canonical name (CNAME)"),
    _s("dns.ptr.domain_name", "Domain name (PTR)"),
    _s("dns.soa.mname", "Primary name server (SOA)"),
    _s("dns.soa.rname", "Responsible authority's mailbox (SOA)"),
    _u("dns.soa.serial_number", 32, "Serial number (SOA)"),
    _u("dns.soa.refresh_interval", 32, "Refresh interval (SOA)"),
    _u("dns.soa.retry_interval", 32, "Retry interval (SOA)"),
    _u("dns.soa.expire_limit", 32, "Expire limit (SOA)"),
    _u("dns.soa.minimum_ttl", 32, "Minimum TTL (SOA)"),
    _u("dns.mx.preference", 16, "Preference (MX)"),
    _s("dns.mx.mail_exchange", "Mail exchange (MX)"),
    _u("dns.txt.length", 8, "TXT string length"),
    _s("dns.txt", "TXT string"),
    _u("dns.spf.length", 8, "SPF string length"),
    _s("dns.spf", "SPF string"),
    _s("dns.srv.service", "Service (SRV owner's first label)"),
    _s("dns.srv.proto", "Protocol (SRV owner's second label)"),
    _s("dns.srv.name", "Name (the rest of the SRV owner)"),
    _u("dns.srv.priority", 16, "Priority (SRV)"),
    _u("dns.srv.weight", 16, "Weight (SRV)"),
    _u("dns.srv.port", 16, "Port (SRV)"),
    _s("dns.srv.target", "Target (SRV)"),
    _s("dns.nsec.next_domain_name", "Next domain name (NSEC)"),
    _u("dns.rr.udp_payload_size", 16, "Requestor's UDP payload size (OPT)"),
    _u("dns.resp.ext_rcode", 8, "Higher bits of the extended RCODE (OPT)", "hex"),
    _u("dns.resp.edns0_version", 8, "EDNS version (OPT)"),
    _u("dns.resp.z", 16, "EDNS flags (OPT)", "hex"),
    FieldSpec("dns.resp.z.do", "bool", doc="DNSSEC OK (OPT)"),
    _u("dns.resp.z.reserved", 16, "Reserved EDNS flags (OPT)", "hex"),
    FieldSpec("dns.opt", "none", doc="An EDNS option (tshark prints 1)"),
    _u("dns.opt.code", 16, "EDNS option code"),
    _u("dns.opt.len", 16, "EDNS option length"),
    FieldSpec("dns.opt.data", "bytes", doc="EDNS option data"),
    FieldSpec("dns.opt.cookie.client", "bytes", doc="Client cookie (EDNS COOKIE)"),
    FieldSpec("dns.opt.cookie.server", "bytes", doc="Server cookie (EDNS COOKIE)"),
    FieldSpec("dns.extraneous.data", "bytes", doc="Bytes after the last record"),
    _u("dns.extraneous.length", 32, "Length of the bytes after the last record"),
    FieldSpec("dns.response_to", "framenum", doc="The request this response answers"),
    FieldSpec("dns.time", "reltime_ns", doc="Time between the request and this response"),
    FieldSpec("dns.retransmission", "bool", doc="A retransmitted request or response"),
    FieldSpec("dns.retransmit_request_in", "framenum", doc="The request this one retransmits"),
    FieldSpec("dns.retransmit_response_in", "framenum", doc="The response this one retransmits"),
    FieldSpec("dns.unsolicited", "bool", doc="A response to no request seen"),
)

TYPE_NAMES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
              41: "OPT", 47: "NSEC", 65: "HTTPS", 99: "SPF", 255: "ANY"}
T_A, T_NS, T_CNAME, T_SOA, T_PTR, T_MX, T_TXT, T_AAAA, T_SRV, T_OPT, T_NSEC, T_SPF = (
    1, 2, 5, 6, 12, 15, 16, 28, 33, 41, 47, 99)
T_AXFR, T_IXFR = 252, 251

_FILLERS: dict[tuple[str, ...], Callable[[dict[str, Any], Any, int], None]] = {}


def _filler(names: tuple[str, ...]) -> Callable[[dict[str, Any], Any, int], None]:
    """One struct read for the header fields ``names`` (made once per set of names)."""
    fill = _FILLERS.get(names)
    if fill is None:
        fill = _FILLERS[names] = HEADER.filler(*names)
    return fill


_ID_FLAGS = HEADER.unpacker("dns.id", "dns.flags")
_H2 = struct.Struct("!H")
_RR_FIXED = struct.Struct("!HHIH")   # type, class, ttl, data length


class _Stop(Exception):
    """The message runs off its bytes (or a name is unreadable): what was read stays."""

    def __init__(self, offset: int, need_end: int, reason: str) -> None:
        super().__init__(reason)
        self.offset = offset
        self.need_end = need_end  # -1: malformed whatever the lengths
        self.reason = reason


class _Msg:
    """One message's bytes and where they end, with the reads that stop like tshark's."""

    __slots__ = ("budget", "data", "end", "layer", "mdns", "reported_end", "start")

    def __init__(self, data: bytes, start: int, end: int, reported_end: int, layer: Layer, mdns: bool) -> None:
        self.data, self.start, self.end, self.reported_end = data, start, end, reported_end
        self.layer, self.mdns = layer, mdns
        self.budget = Budget()

    def need(self, offset: int, n: int, what: str) -> None:
        if offset + n > self.end:
            raise _Stop(offset, offset + n, f"{what} runs past the end of the data")

    def u8(self, offset: int, what: str) -> int:
        self.need(offset, 1, what)
        return self.data[offset]

    def u16(self, offset: int, what: str) -> int:
        self.need(offset, 2, what)
        return int(_H2.unpack_from(self.data, offset)[0])

    def u32(self, offset: int, what: str) -> int:
        self.need(offset, 4, what)
        return int.from_bytes(self.data[offset:offset + 4], "big")

    def name(self, offset: int) -> Name:
        try:
            name = read_name(self.data, offset, self.start, self.end, self.budget)
        except NameUnreadable as exc:
            raise _Stop(exc.offset, exc.past, exc.reason) from None
        if name.loop:
            self.layer.malformed(offset, "name contains a compression pointer that loops")
        return name


def dissect_dns(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return _dissect(data, offset, end, ctx, "dns")


def dissect_mdns(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return _dissect(data, offset, end, ctx, "mdns")


def dissect_llmnr(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return _dissect(data, offset, end, ctx, "llmnr")


def dissect_dns_tcp_message(msg: bytes, ctx: Context) -> Layer:
    """One DNS message cut from a TCP stream, its 2-byte length prefix included
    (:mod:`pcapkit.dissect.tcp_streams` reassembles the stream and cuts it)."""
    layer, _ = _dissect(msg, 2, len(msg), ctx, "dns", prefix=_H2.unpack_from(msg, 0)[0])
    return layer


def dissect_dns_tcp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """The first DNS message of one TCP payload (no reassembly: for a caller holding a
    single segment; the driver goes through the stream dispatcher instead)."""
    if end - offset < 2:
        layer = Layer("dns", offset, max(0, end - offset))
        layer.truncated(offset, "DNS length prefix cut short")
        return layer, None
    length = _H2.unpack_from(data, offset)[0]
    stop = min(end, offset + 2 + length)
    ctx.reported_end = offset + 2 + length
    return _dissect(data, offset + 2, stop, ctx, "dns", prefix=length)


def _dissect(data: bytes, offset: int, end: int, ctx: Context, proto: str, prefix: int | None = None) -> Result:
    reported_end = max(ctx.reported_end, end)
    layer = Layer(proto, offset)
    layer.length = max(0, end - offset)
    if prefix is not None:
        layer.add("dns.length", prefix)
    m = _Msg(data, offset, end, reported_end, layer, proto == "mdns")
    try:
        _message(m, ctx, proto)
    except _Stop as stop:
        cut = stop.need_end >= 0 and stop.need_end <= reported_end
        layer.finding(FindingKind.TRUNCATED if cut else FindingKind.MALFORMED, stop.offset,
                      stop.reason + (" (cut short by the capture)" if cut else ""))
    except BudgetExhausted:
        layer.finding(FindingKind.NOTE, offset, "names need more than the step budget; the rest is not decoded")
    return layer, None


def _message(m: _Msg, ctx: Context, proto: str) -> None:
    layer, data, start = m.layer, m.data, m.start
    f = layer._fields
    if start + 4 > m.end:
        # what is there of the ID and flags, as tshark adds them one by one
        if start + 2 <= m.end:
            f["dns.id"] = _H2.unpack_from(data, start)[0]
        m.need(start, 4, "DNS header")
    ident, flags = _ID_FLAGS(data, start)
    response = bool(flags & RESPONSE)
    llmnr = proto == "llmnr"
    names: tuple[str, ...] = (LLMNR_RESPONSE_FLAGS if response else LLMNR_QUERY_FLAGS) if llmnr else (
        RESPONSE_FLAGS if response else QUERY_FLAGS)
    if not llmnr and not response and flags & 0x0020:
        names = (*QUERY_FLAGS[:5], "dns.flags.authenticated", QUERY_FLAGS[5])  # a query's AD bit
    _filler(("dns.id", "dns.flags", *names))(f, data, start)
    # tshark matches the message as soon as it has the ID and flags (a cut header included)
    tracker = _tracker(ctx)
    track = tracker.begin(ctx, layer, ident, response) if tracker is not None else None
    opcode = (flags >> 11) & 0xF
    counts_names = UPDATE_COUNTS if opcode == OPCODE_UPDATE else COUNTS
    counts = []
    for i, name in enumerate(counts_names):
        value = m.u16(start + 4 + 2 * i, "DNS header")
        f[name] = value
        counts.append(value)
    summary = f"{proto.upper()} {'response' if response else 'query'} 0x{ident:04x}"
    layer.summary = summary
    pos = start + 12
    multiple = False
    for i in range(counts[0]):
        pos, qtype, qname = _question(m, pos)
        multiple = multiple or qtype in (T_AXFR, T_IXFR)
        if i == 0:
            layer.summary = f"{summary} {TYPE_NAMES.get(qtype, str(qtype))}? {qname}"
    for count in counts[1:]:
        for _ in range(count):
            pos = _record(m, pos)
    if pos < m.reported_end and pos < m.end:
        f["dns.extraneous.data"] = bytes(data[pos:m.end])
        f["dns.extraneous.length"] = m.reported_end - pos
    if track is not None and tracker is not None:
        tracker.finish(track, layer, multiple)


def _tracker(ctx: Context) -> Any:
    session = ctx.extra.get("session")
    if session is None:
        return None
    from pcapkit.dissect.dns_track import session_tracker

    return session_tracker(session)


def _question(m: _Msg, pos: int) -> tuple[int, int, str]:
    name = m.name(pos)
    pos += name.used
    qtype = m.u16(pos, "question type")
    qclass = m.u16(pos + 2, "question class")
    layer = m.layer
    layer.add("dns.qry.name", name.text)
    layer.add("dns.qry.name.len", name.raw_len if name.raw_len > 1 else 0)
    layer.add("dns.count.labels", name.labels)
    layer.add("dns.qry.type", qtype)
    if m.mdns:
        layer.add("dns.qry.class", qclass & 0x7FFF)
        layer.add("dns.qry.qu", bool(qclass & 0x8000))
    else:
        layer.add("dns.qry.class", qclass)
    return pos + 4, qtype, name.text


def _record(m: _Msg, pos: int) -> int:
    layer = m.layer
    rr_start = pos
    name = m.name(pos)
    pos += name.used
    m.need(pos, 10, "resource record header")
    rtype, rclass, ttl, rdlen = _RR_FIXED.unpack_from(m.data, pos)
    pos += 10
    # tshark's item for the record spans its data: data running off the bytes stops here
    m.need(rr_start, pos + rdlen - rr_start, "resource record data")
    if rtype == T_SRV and name.text:
        parts = name.text.split(".", 2)
        layer.add("dns.srv.service", parts[0])
        if len(parts) > 1:
            layer.add("dns.srv.proto", parts[1])
            if len(parts) > 2:
                layer.add("dns.srv.name", parts[2])
    else:
        layer.add("dns.resp.name", name.text)
    layer.add("dns.resp.type", rtype)
    if rtype == T_OPT:
        layer.add("dns.rr.udp_payload_size", rclass & 0x7FFF if m.mdns else rclass)
        if m.mdns:
            layer.add("dns.resp.cache_flush", bool(rclass & 0x8000))
        layer.add("dns.resp.ext_rcode", ttl >> 24)
        layer.add("dns.resp.edns0_version", (ttl >> 16) & 0xFF)
        layer.add("dns.resp.z", ttl & 0xFFFF)
        layer.add("dns.resp.z.do", bool(ttl & 0x8000))
        layer.add("dns.resp.z.reserved", ttl & 0x7FFF)
    else:
        layer.add("dns.resp.class", rclass & 0x7FFF if m.mdns else rclass)
        if m.mdns:
            layer.add("dns.resp.cache_flush", bool(rclass & 0x8000))
        layer.add("dns.resp.ttl", ttl)
    layer.add("dns.resp.len", rdlen)
    if rdlen:
        _rdata(m, pos, rtype, rdlen)
    return pos + rdlen


def _rdata(m: _Msg, pos: int, rtype: int, rdlen: int) -> None:
    """The data of the types decoded here, read as tshark reads it (a field is added once
    everything it shows was read; reads may run past ``rdlen``, as tshark's do)."""
    layer, data = m.layer, m.data
    if rtype == T_A:
        m.need(pos, 4, "A address")
        layer.add("dns.a", ipv4_text(data[pos:pos + 4]))
    elif rtype == T_AAAA:
        m.need(pos, 16, "AAAA address")
        layer.add("dns.aaaa", ipv6_text(data[pos:pos + 16]))
    elif rtype in (T_NS, T_CNAME, T_PTR):
        field = {T_NS: "dns.ns", T_CNAME: "dns.cname", T_PTR: "dns.ptr.domain_name"}[rtype]
        layer.add(field, m.name(pos).text)
    elif rtype == T_NSEC:
        nxt = m.name(pos)
        layer.add("dns.nsec.next_domain_name", nxt.text)
        _type_bitmap(m, pos + nxt.used, rdlen - nxt.used)
    elif rtype == T_SOA:
        mname = m.name(pos)
        pos += mname.used
        rname = m.name(pos)
        pos += rname.used
        layer.add("dns.soa.mname", mname.text)
        layer.add("dns.soa.rname", rname.text)
        for i, field in enumerate(("dns.soa.serial_number", "dns.soa.refresh_interval", "dns.soa.retry_interval",
                                   "dns.soa.expire_limit", "dns.soa.minimum_ttl")):
            layer.add(field, m.u32(pos + 4 * i, "SOA"))
    elif rtype == T_MX:
        preference = m.u16(pos, "MX preference")
        exchange = m.name(pos + 2).text
        layer.add("dns.mx.preference", preference)
        layer.add("dns.mx.mail_exchange", exchange)
    elif rtype in (T_TXT, T_SPF):
        prefix = "dns.txt" if rtype == T_TXT else "dns.spf"
        utf8 = m.mdns and rtype == T_TXT   # mDNS TXT strings are UTF-8, DNS ones ASCII
        left = rdlen
        while left != 0:   # a length that does not come out even reads on until the bytes end
            n = m.u8(pos, "TXT length")
            layer.add(f"{prefix}.length", n)
            m.need(pos + 1, n, "TXT string")
            raw = data[pos + 1:pos + 1 + n]
            layer.add(prefix, raw.decode("utf-8", "replace") if utf8 else _ascii(raw))
            pos += 1 + n
            left -= 1 + n
    elif rtype == T_SRV:
        layer.add("dns.srv.priority", m.u16(pos, "SRV priority"))
        layer.add("dns.srv.weight", m.u16(pos + 2, "SRV weight"))
        layer.add("dns.srv.port", m.u16(pos + 4, "SRV port"))
        layer.add("dns.srv.target", m.name(pos + 6).text)
    elif rtype == T_OPT:
        _options(m, pos, rdlen)


def _type_bitmap(m: _Msg, pos: int, left: int) -> None:
    """The types an NSEC record's bitmap lists (RFC 4034 4.1.2), each as a ``dns.resp.type``
    (tshark's "RR type in bit map" lines). Like tshark, a length that does not come out
    even reads on until the bytes run out."""
    layer = m.layer
    while left != 0:
        window = m.u8(pos, "NSEC bitmap window")
        size = m.u8(pos + 1, "NSEC bitmap length")
        pos += 2
        left -= 2
        for i in range(size):
            bits = m.u8(pos + i, "NSEC bitmap")
            for bit in range(8):
                if bits & (0x80 >> bit):
                    layer.add("dns.resp.type", window * 256 + i * 8 + bit)
        pos += size
        left -= size


def _options(m: _Msg, pos: int, rdlen: int) -> None:
    layer, data = m.layer, m.data
    left = rdlen
    while left > 0:
        code = m.u16(pos, "EDNS option code")
        length = m.u16(pos + 2, "EDNS option length")
        layer.add("dns.opt", 1)
        layer.add("dns.opt.code", code)
        layer.add("dns.opt.len", length)
        m.need(pos + 4, length, "EDNS option data")
        value = bytes(data[pos + 4:pos + 4 + length])
        layer.add("dns.opt.data", value if value else MISSING)
        if code == 10:   # COOKIE (RFC 7873): 8 bytes of client cookie, then the server's
            layer.add("dns.opt.cookie.client", value[:8] if value else MISSING)
            layer.add("dns.opt.cookie.server", value[8:] if len(value) > 8 else MISSING)
        pos += 4 + length
        left -= 4 + length


def _ascii(raw: bytes) -> str:
    """A string tshark reads as ASCII: bytes above 0x7f become U+FFFD, the rest stay as they are."""
    return raw.decode("ascii") if raw.isascii() else "".join(chr(b) if b < 0x80 else "\ufffd" for b in raw)


__all__ = ["FIELDS", "dissect_dns", "dissect_dns_tcp", "dissect_dns_tcp_message", "dissect_llmnr", "dissect_mdns"]
