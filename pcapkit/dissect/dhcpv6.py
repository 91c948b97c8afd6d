"""DHCPv6 (RFC 8415) with Wireshark's field names: client/server messages and relay
messages (hop count, link and peer addresses, a Relay Message option holding the inner
message), options with their nested options (IA_NA/IA_TA/IA_PD holding IA Address / IA
Prefix, which hold options again), DUIDs (LLT, EN, LL), option request, preference,
elapsed time, user class, vendor-specific options, DNS servers, domain search list and
the DS-Lite AFTR name (RFC 6334).
"""

from __future__ import annotations

import datetime as _dt

from pcapkit.dissect.base import Context, Layer, Result
from pcapkit.fields import FieldSpec, ipv6_text


def _f(name: str, ftype: str, bits: int = 0, base: str = "dec", doc: str = "") -> FieldSpec:
    return FieldSpec(name, ftype, bits, base, doc)  # type: ignore[arg-type]


FIELDS: tuple[FieldSpec, ...] = (
    _f("dhcpv6.msgtype", "uint", 8, doc="Message type"),
    _f("dhcpv6.xid", "uint", 24, "hex", doc="Transaction ID"),
    _f("dhcpv6.hopcount", "uint", 8, doc="Relay hop count"),
    _f("dhcpv6.linkaddr", "ipv6", doc="Relay link address"),
    _f("dhcpv6.peeraddr", "ipv6", doc="Relay peer address"),
    _f("dhcpv6.option.type_str", "string", doc="Option name"),
    _f("dhcpv6.option.type", "uint", 16, doc="Option code"),
    _f("dhcpv6.option.length", "uint", 16, doc="Option length"),
    _f("dhcpv6.duid.bytes", "bytes", doc="DUID"),
    _f("dhcpv6.duid.type", "uint", 16, doc="DUID type"),
    _f("dhcpv6.duidllt.hwtype", "uint", 16, doc="DUID-LLT hardware type"),
    _f("dhcpv6.duidllt.time", "string", doc="DUID-LLT time (tshark's absolute time text, UTC)"),
    _f("dhcpv6.duidllt.link_layer_addr", "string", doc="DUID-LLT link-layer address"),
    _f("dhcpv6.duidll.hwtype", "uint", 16, doc="DUID-LL hardware type"),
    _f("dhcpv6.duidll.link_layer_addr", "string", doc="DUID-LL link-layer address"),
    _f("dhcpv6.duiden.enterprise", "uint", 32, doc="DUID-EN enterprise number"),
    _f("dhcpv6.duiden.identifier", "bytes", doc="DUID-EN identifier"),
    _f("dhcpv6.iaid", "string", doc="IAID (hex)"),
    _f("dhcpv6.iaid.t1", "uint", 32, doc="T1"),
    _f("dhcpv6.iaid.t2", "uint", 32, doc="T2"),
    _f("dhcpv6.iata", "string", doc="IA_TA IAID (hex)"),
    _f("dhcpv6.iaaddr.ip", "ipv6", doc="IA address"),
    _f("dhcpv6.iaaddr.pref_lifetime", "uint", 32, doc="Preferred lifetime"),
    _f("dhcpv6.iaaddr.valid_lifetime", "uint", 32, doc="Valid lifetime"),
    _f("dhcpv6.iaprefix.pref_lifetime", "uint", 32, doc="Preferred lifetime"),
    _f("dhcpv6.iaprefix.valid_lifetime", "uint", 32, doc="Valid lifetime"),
    _f("dhcpv6.iaprefix.pref_len", "uint", 8, doc="Prefix length"),
    _f("dhcpv6.iaprefix.pref_addr", "ipv6", doc="Prefix address"),
    _f("dhcpv6.requested_option_code", "uint", 16, doc="Requested option code"),
    _f("dhcpv6.option_preference", "uint", 8, doc="Preference value"),
    _f("dhcpv6.elapsed_time", "uint", 32, doc="Elapsed time in ms (the option counts 10 ms units)"),
    _f("dhcpv6.userclass.length", "uint", 16, doc="User class data length"),
    _f("dhcpv6.userclass.opaque_data", "bytes", doc="User class data"),
    _f("dhcpv6.vendoropts.enterprise", "uint", 32, doc="Vendor options enterprise number"),
    _f("dhcpv6.vendoropts.enterprise.option_code", "uint", 16, doc="Vendor option code"),
    _f("dhcpv6.vendoropts.enterprise.option_length", "uint", 16, doc="Vendor option length"),
    _f("dhcpv6.vendoropts.enterprise.option_data", "bytes", doc="Vendor option data"),
    _f("dhcpv6.dns_server", "ipv6", doc="DNS recursive name server"),
    _f("dhcpv6.search_list_entry", "string", doc="Domain search list entry"),
    _f("dhcpv6.aftr_name", "string", doc="DS-Lite AFTR name"),
)

MESSAGE_TYPES = {1: "Solicit", 2: "Advertise", 3: "Request", 4: "Confirm", 5: "Renew", 6: "Rebind",
                 7: "Reply", 8: "Release", 9: "Decline", 10: "Reconfigure", 11: "Information-request",
                 12: "Relay-forward", 13: "Relay-reply", 14: "Leasequery", 15: "Leasequery-reply"}
_TCPDUMP_NAMES = {1: "solicit", 2: "advertise", 3: "request", 4: "confirm", 5: "renew", 6: "rebind",
                  7: "reply", 8: "release", 9: "decline", 10: "reconfigure", 11: "inf-req",
                  12: "relay-fwd", 13: "relay-reply", 14: "leasequery", 15: "leasequery-reply"}
OPTION_NAMES = {
    1: "Client Identifier", 2: "Server Identifier",
    3: "Identity Association for Non-temporary Address",
    4: "Identity Association for Temporary Address", 5: "IA Address", 6: "Option Request",
    7: "Preference", 8: "Elapsed time", 9: "Relay Message", 11: "Authentication",
    12: "Server unicast", 13: "Status code", 14: "Rapid Commit", 15: "User Class",
    16: "Vendor Class", 17: "Vendor-specific Information", 18: "Interface-Id",
    19: "Reconfigure Message", 20: "Reconfigure Accept", 21: "SIP Server Domain Name List",
    22: "SIP Servers IPv6 Address List", 23: "DNS recursive name server", 24: "Domain Search List",
    25: "Identity Association for Prefix Delegation", 26: "IA Prefix", 39: "Fully Qualified Domain Name",
    59: "Boot File URL", 60: "Boot File Parameters", 61: "Client System Architecture Type",
    62: "Client Network Interface Identifier", 64: "Dual-Stack Lite AFTR Name", 136: "SZTP Redirect",
}
_EPOCH_2000 = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)
_MAX_DEPTH = 8


def _u16(d: bytes, at: int) -> int:
    return int.from_bytes(d[at:at + 2], "big")


def _u32(d: bytes, at: int) -> int:
    return int.from_bytes(d[at:at + 4], "big")


def _ip6(b: bytes) -> str:
    return ipv6_text(b)


def abs_time_text(seconds_since_2000: int) -> str:
    """tshark's text for an absolute time (as it prints with TZ=UTC)."""
    t = _EPOCH_2000 + _dt.timedelta(seconds=seconds_since_2000)
    return f"{t.strftime('%b')} {t.day:2d}, {t.year} {t.strftime('%H:%M:%S')}.000000000 UTC"


def _names(v: bytes) -> list[str]:
    """RFC 1035 names (uncompressed), each with a trailing dot like tshark shows."""
    out: list[str] = []
    labels: list[str] = []
    pos = 0
    while pos < len(v):
        n = v[pos]
        if n == 0:
            out.append(".".join(labels) + ".")
            labels = []
            pos += 1
            continue
        labels.append(v[pos + 1:pos + 1 + n].decode("ascii", "backslashreplace"))
        pos += 1 + n
    if labels:
        out.append(".".join(labels))
    return out


def _duid(layer: Layer, v: bytes) -> None:
    layer.add("dhcpv6.duid.bytes", v)
    if len(v) < 2:
        layer.malformed(0, "DUID shorter than 2 bytes")
        return
    dtype = _u16(v, 0)
    layer.add("dhcpv6.duid.type", dtype)
    if dtype == 1 and len(v) >= 8:
        layer.add("dhcpv6.duidllt.hwtype", _u16(v, 2))
        layer.add("dhcpv6.duidllt.time", abs_time_text(_u32(v, 4)))
        if len(v) > 8:
            layer.add("dhcpv6.duidllt.link_layer_addr", v[8:].hex(":"))
    elif dtype == 2 and len(v) >= 6:
        layer.add("dhcpv6.duiden.enterprise", _u32(v, 2))
        if len(v) > 6:
            layer.add("dhcpv6.duiden.identifier", v[6:])
    elif dtype == 3 and len(v) >= 4:
        layer.add("dhcpv6.duidll.hwtype", _u16(v, 2))
        if len(v) > 4:
            layer.add("dhcpv6.duidll.link_layer_addr", v[4:].hex(":"))


def _options(layer: Layer, d: bytes, pos: int, end: int, depth: int) -> None:
    while pos + 4 <= end:
        code, olen = _u16(d, pos), _u16(d, pos + 2)
        name = OPTION_NAMES.get(code)
        if name is not None:
            layer.add("dhcpv6.option.type_str", name)
        layer.add("dhcpv6.option.type", code)
        layer.add("dhcpv6.option.length", olen)
        b = pos + 4
        e = b + olen
        if e > end:
            layer.malformed(pos, f"option {code} length {olen} overruns its container")
            return
        v = d[b:e]
        _option(layer, code, v, d, b, e, depth)
        pos = e
    if pos < end:
        layer.malformed(pos, f"{end - pos} stray bytes after the options")


def _option(layer: Layer, code: int, v: bytes, d: bytes, b: int, e: int, depth: int) -> None:
    n = len(v)
    if code in (1, 2):
        _duid(layer, v)
    elif code in (3, 25) and n >= 12:
        layer.add("dhcpv6.iaid", v[:4].hex())
        layer.add("dhcpv6.iaid.t1", _u32(v, 4))
        layer.add("dhcpv6.iaid.t2", _u32(v, 8))
        if depth < _MAX_DEPTH:
            _options(layer, d, b + 12, e, depth + 1)
    elif code == 4 and n >= 4:
        layer.add("dhcpv6.iata", v[:4].hex())
        if depth < _MAX_DEPTH:
            _options(layer, d, b + 4, e, depth + 1)
    elif code == 5 and n >= 24:
        layer.add("dhcpv6.iaaddr.ip", _ip6(v[:16]))
        layer.add("dhcpv6.iaaddr.pref_lifetime", _u32(v, 16))
        layer.add("dhcpv6.iaaddr.valid_lifetime", _u32(v, 20))
        if depth < _MAX_DEPTH:
            _options(layer, d, b + 24, e, depth + 1)
    elif code == 26 and n >= 25:
        layer.add("dhcpv6.iaprefix.pref_lifetime", _u32(v, 0))
        layer.add("dhcpv6.iaprefix.valid_lifetime", _u32(v, 4))
        layer.add("dhcpv6.iaprefix.pref_len", v[8])
        layer.add("dhcpv6.iaprefix.pref_addr", _ip6(v[9:25]))
        if depth < _MAX_DEPTH:
            _options(layer, d, b + 25, e, depth + 1)
    elif code == 6:
        for i in range(0, n - n % 2, 2):
            layer.add("dhcpv6.requested_option_code", _u16(v, i))
    elif code == 7 and n == 1:
        layer.add("dhcpv6.option_preference", v[0])
    elif code == 8 and n == 2:
        layer.add("dhcpv6.elapsed_time", _u16(v, 0) * 10)  # tshark shows milliseconds
    elif code == 9 and depth < _MAX_DEPTH:
        _message(layer, d, b, e, depth + 1)
    elif code == 15:
        pos = 0
        while pos + 2 <= n:
            ulen = _u16(v, pos)
            layer.add("dhcpv6.userclass.length", ulen)
            if pos + 2 + ulen > n:
                layer.malformed(b + pos, "user class data overruns the option")
                break
            layer.add("dhcpv6.userclass.opaque_data", v[pos + 2:pos + 2 + ulen])
            pos += 2 + ulen
    elif code == 17 and n >= 4:
        layer.add("dhcpv6.vendoropts.enterprise", _u32(v, 0))
        pos = 4
        while pos + 4 <= n:
            scode, slen = _u16(v, pos), _u16(v, pos + 2)
            layer.add("dhcpv6.vendoropts.enterprise.option_code", scode)
            layer.add("dhcpv6.vendoropts.enterprise.option_length", slen)
            if pos + 4 + slen > n:
                layer.malformed(b + pos, "vendor option overruns the option")
                break
            if slen:
                layer.add("dhcpv6.vendoropts.enterprise.option_data", v[pos + 4:pos + 4 + slen])
            pos += 4 + slen
    elif code == 23:
        for i in range(0, n - n % 16, 16):
            layer.add("dhcpv6.dns_server", _ip6(v[i:i + 16]))
    elif code == 24:
        for name in _names(v):
            layer.add("dhcpv6.search_list_entry", name)
    elif code == 64:
        for name in _names(v)[:1]:
            layer.add("dhcpv6.aftr_name", name)
    elif code == 19 and n != 1:
        layer.malformed(b, f"Reconfigure Message option length {n}, expected 1")


def _message(layer: Layer, d: bytes, o: int, end: int, depth: int) -> None:
    if end - o < 1:
        layer.malformed(o, "empty DHCPv6 message")
        return
    mtype = d[o]
    layer.add("dhcpv6.msgtype", mtype)
    if mtype in (12, 13):
        if end - o < 34:
            layer.malformed(o, "relay message header cut short")
            return
        layer.add("dhcpv6.hopcount", d[o + 1])
        layer.add("dhcpv6.linkaddr", _ip6(d[o + 2:o + 18]))
        layer.add("dhcpv6.peeraddr", _ip6(d[o + 18:o + 34]))
        _options(layer, d, o + 34, end, depth)
        return
    if end - o < 4:
        layer.malformed(o, "DHCPv6 header cut short")
        return
    layer.add("dhcpv6.xid", int.from_bytes(d[o + 1:o + 4], "big"))
    _options(layer, d, o + 4, end, depth)


def dissect_dhcpv6(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("dhcpv6", offset)
    reported_end = max(ctx.reported_end, end)
    layer.length = max(0, end - offset)
    _message(layer, data, offset, end, 0)
    if end < reported_end:
        # what looks malformed at the captured end may only be cut short
        layer.findings = [f for f in layer.findings
                          if not ("overruns" in f.reason or "cut short" in f.reason or "stray" in f.reason)]
        layer.truncated(end, f"DHCPv6 message cut short at {end - offset} of {reported_end - offset} bytes")
    # tcpdump -n prints the message name only ("dhcp6 solicit"); -v adds the options
    if end - offset >= 1:
        mtype = data[offset]
        layer.summary = f"dhcp6 {_TCPDUMP_NAMES.get(mtype, f'msgtype-#{mtype}')}"
    else:
        layer.summary = "dhcp6 [|dhcp6]"
    return layer, None
