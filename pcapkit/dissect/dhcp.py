"""DHCP / BOOTP (RFC 951, 2131, 2132 and the option RFCs), field names as Wireshark's.

The fixed BOOTP header (op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr,
siaddr, giaddr, chaddr, sname, file), the magic cookie, then the options. Every option
gives ``dhcp.option.type`` / ``dhcp.option.length`` / ``dhcp.option.value`` (raw bytes)
and, for the options Wireshark decodes, its own named field: simple ones through the
:data:`SIMPLE_OPTIONS` table, structured ones (client identifier 61, FQDN 81, relay
agent information 82 with sub-options, user class 77, static routes 33, ...) in code.
Quirk kept from tshark: the End option (255) shows ``dhcp.option.type`` 0 and
``dhcp.option.end`` 255.
"""

from __future__ import annotations

import ipaddress

from pcapkit.dissect.base import Context, FindingKind, Layer, Result
from pcapkit.fields import FieldSpec

# option code -> (field name, kind); kind: ip (list of IPv4), u8/u16/u32/i32, bool,
# strz (string up to the first NUL), str (whole value as text)
SIMPLE_OPTIONS: dict[int, tuple[str, str]] = {
    1: ("dhcp.option.subnet_mask", "ip"),
    2: ("dhcp.option.time_offset", "i32"),
    3: ("dhcp.option.router", "ip"),
    4: ("dhcp.option.time_server", "ip"),
    5: ("dhcp.option.name_server", "ip"),
    6: ("dhcp.option.domain_name_server", "ip"),
    7: ("dhcp.option.log_server", "ip"),
    8: ("dhcp.option.quotes_server", "ip"),
    9: ("dhcp.option.lpr_server", "ip"),
    10: ("dhcp.option.impress_server", "ip"),
    11: ("dhcp.option.resource_location_server", "ip"),
    12: ("dhcp.option.hostname", "strz"),
    13: ("dhcp.option.boot_file_size", "u16"),
    14: ("dhcp.option.merit_dump_file", "strz"),
    15: ("dhcp.option.domain_name", "strz"),
    16: ("dhcp.option.swap_server", "ip"),
    17: ("dhcp.option.root_path", "strz"),
    18: ("dhcp.option.extension_path", "strz"),
    19: ("dhcp.option.ip_forwarding", "bool"),
    20: ("dhcp.option.non_local_source_routing", "bool"),
    22: ("dhcp.option.max_datagram_reassembly_size", "u16"),
    23: ("dhcp.option.default_ip_ttl", "u8"),
    24: ("dhcp.option.path_mtu_aging_timeout", "u32"),
    25: ("dhcp.option.path_mtu_plateau_table_item", "u16"),
    26: ("dhcp.option.interface_mtu", "u16"),
    27: ("dhcp.option.all_subnets_are_local", "bool"),
    28: ("dhcp.option.broadcast_address", "ip"),
    29: ("dhcp.option.perform_mask_discovery", "bool"),
    30: ("dhcp.option.mask_supplier", "bool"),
    31: ("dhcp.option.perform_router_discover", "bool"),
    32: ("dhcp.option.router_solicitation_address", "ip"),
    34: ("dhcp.option.trailer_encapsulation", "bool"),
    35: ("dhcp.option.arp_cache_timeout", "u32"),
    36: ("dhcp.option.ethernet_encapsulation", "bool"),
    37: ("dhcp.option.tcp_default_ttl", "u8"),
    38: ("dhcp.option.tcp_keepalive_interval", "u32"),
    39: ("dhcp.option.tcp_keepalive_garbage", "bool"),
    40: ("dhcp.option.nis_domain", "strz"),
    41: ("dhcp.option.nis_server", "ip"),
    42: ("dhcp.option.ntp_server", "ip"),
    44: ("dhcp.option.netbios_over_tcpip_name_server", "ip"),
    45: ("dhcp.option.netbios_over_tcpip_dd_name_server", "ip"),
    46: ("dhcp.option.netbios_over_tcpip_node_type", "u8"),
    47: ("dhcp.option.netbios_over_tcpip_scope", "strz"),
    48: ("dhcp.option.xwindows_system_font_server", "ip"),
    49: ("dhcp.option.xwindows_system_display_manager", "ip"),
    50: ("dhcp.option.requested_ip_address", "ip"),
    51: ("dhcp.option.ip_address_lease_time", "u32"),
    52: ("dhcp.option.option_overload", "u8"),
    53: ("dhcp.option.dhcp", "u8"),
    54: ("dhcp.option.dhcp_server_id", "ip"),
    55: ("dhcp.option.request_list_item", "u8"),
    56: ("dhcp.option.message", "strz"),
    57: ("dhcp.option.dhcp_max_message_size", "u16"),
    58: ("dhcp.option.renewal_time_value", "u32"),
    59: ("dhcp.option.rebinding_time_value", "u32"),
    62: ("dhcp.option.novell_netware_ip_domain", "strz"),
    64: ("dhcp.option.nis_plus_domain", "strz"),
    65: ("dhcp.option.nis_plus_server", "ip"),
    66: ("dhcp.option.tftp_server_name", "strz"),
    67: ("dhcp.option.bootfile_name", "strz"),
    68: ("dhcp.option.mobile_ip_home_agent", "ip"),
    69: ("dhcp.option.smtp_server", "ip"),
    70: ("dhcp.option.pop3_server", "ip"),
    71: ("dhcp.option.nntp_server", "ip"),
    72: ("dhcp.option.default_www_server", "ip"),
    73: ("dhcp.option.default_finger_server", "ip"),
    74: ("dhcp.option.default_irc_server", "ip"),
    75: ("dhcp.option.streettalk_server", "ip"),
    76: ("dhcp.option.streettalk_da_server", "ip"),
    86: ("dhcp.option.novell_ds_tree_name", "strz"),
    87: ("dhcp.option.novell_ds_context", "strz"),
    91: ("dhcp.option.client_last_transaction_time", "u32"),
    92: ("dhcp.option.associated_ip_option", "ip"),
    93: ("dhcp.option.client_system_architecture", "u16"),
    100: ("dhcp.option.tz_pcode", "str"),
    101: ("dhcp.option.tz_tcode", "str"),
    112: ("dhcp.option.netinfo_parent_server_address", "ip"),
    113: ("dhcp.option.netinfo_parent_server_tag", "strz"),
    116: ("dhcp.option.dhcp_auto_configuration", "u8"),
    117: ("dhcp.option.dhcp_name_service_search_option", "strz"),
    118: ("dhcp.option.subnet_selection_option", "ip"),
    137: ("dhcp.option.lost_server_domain_name", "strz"),
    138: ("dhcp.option.capwap_access_controller", "ip"),
    150: ("dhcp.option.tftp_server_address", "ip"),
    161: ("dhcp.option.mudurl", "str"),
    209: ("dhcp.option.pxe_config_file", "str"),
    210: ("dhcp.option.pxe_path_prefix", "str"),
    252: ("dhcp.option.private_proxy_autodiscovery", "strz"),
}
# options whose items repeat over the value (each item is one occurrence of the field)
_LIST_KINDS = {"ip": 4, "u16_list": 2}
SIMPLE_OPTIONS[25] = ("dhcp.option.path_mtu_plateau_table_item", "u16_list")

_KIND_FTYPE = {"ip": ("ipv4", 0, "dec"), "u8": ("uint", 8, "dec"), "u16": ("uint", 16, "dec"),
               "u16_list": ("uint", 16, "dec"), "u32": ("uint", 32, "dec"), "i32": ("int", 32, "dec"),
               "bool": ("bool", 0, "dec"), "strz": ("string", 0, "dec"), "str": ("string", 0, "dec")}

_BASE_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("dhcp.type", "uint", 8, doc="Message type (1 boot request, 2 boot reply)"),
    FieldSpec("dhcp.hw.type", "uint", 8, "hex", doc="Hardware type"),
    FieldSpec("dhcp.hw.len", "uint", 8, doc="Hardware address length"),
    FieldSpec("dhcp.hops", "uint", 8, doc="Hops"),
    FieldSpec("dhcp.id", "uint", 32, "hex", doc="Transaction ID"),
    FieldSpec("dhcp.secs", "uint", 16, doc="Seconds elapsed"),
    FieldSpec("dhcp.flags", "uint", 16, "hex", doc="Bootp flags"),
    FieldSpec("dhcp.flags.bc", "bool", doc="Broadcast flag"),
    FieldSpec("dhcp.flags.reserved", "uint", 16, "hex", doc="Reserved flags"),
    FieldSpec("dhcp.ip.client", "ipv4", doc="Client IP address (ciaddr)"),
    FieldSpec("dhcp.ip.your", "ipv4", doc="Your (client) IP address (yiaddr)"),
    FieldSpec("dhcp.ip.server", "ipv4", doc="Next server IP address (siaddr)"),
    FieldSpec("dhcp.ip.relay", "ipv4", doc="Relay agent IP address (giaddr)"),
    FieldSpec("dhcp.hw.mac_addr", "ether", doc="Client MAC address"),
    FieldSpec("dhcp.hw.addr_padding", "bytes", doc="Client hardware address padding"),
    FieldSpec("dhcp.hw.addr", "bytes", doc="Client hardware address (not Ethernet)"),
    FieldSpec("dhcp.server", "string", doc="Server host name"),
    FieldSpec("dhcp.file", "string", doc="Boot file name"),
    FieldSpec("dhcp.cookie", "ipv4", doc="Magic cookie"),
    FieldSpec("dhcp.option.type", "uint", 8, doc="Option code"),
    FieldSpec("dhcp.option.length", "uint", 8, doc="Option length"),
    FieldSpec("dhcp.option.value", "bytes", doc="Option value"),
    FieldSpec("dhcp.option.end", "uint", 8, doc="Option End: 255"),
    FieldSpec("dhcp.option.padding", "bytes", doc="Padding"),
    FieldSpec("dhcp.option.request_list_item", "uint", 8, doc="Parameter Request List Item"),
    FieldSpec("dhcp.option.static_route.ip", "ipv4", doc="Option 33: Destination IP address"),
    FieldSpec("dhcp.option.static_route.router", "ipv4", doc="Option 33: Destination Router"),
    FieldSpec("dhcp.option.vendor_class_id", "string", doc="Option 60: Vendor class identifier"),
    FieldSpec("dhcp.option.vendor.arubaap.controllerip", "string", doc="Aruba controller address"),
    FieldSpec("dhcp.client_id.type", "uint", 8, doc="Client identifier type"),
    FieldSpec("dhcp.client_id.undef", "string", doc="Client identifier"),
    FieldSpec("dhcp.option.user_class", "uint", 8, doc="User class instance index"),
    FieldSpec("dhcp.option.user_class.length", "uint", 8, doc="Length of user class instance"),
    FieldSpec("dhcp.option.user_class.data", "bytes", doc="Data of user class instance"),
    FieldSpec("dhcp.fqdn.flags", "uint", 8, "hex", doc="FQDN flags"),
    FieldSpec("dhcp.fqdn.mbz", "uint", 8, "hex", doc="Reserved flags"),
    FieldSpec("dhcp.fqdn.n", "bool", doc="Server DDNS"),
    FieldSpec("dhcp.fqdn.e", "bool", doc="Encoding"),
    FieldSpec("dhcp.fqdn.o", "bool", doc="Server overrides"),
    FieldSpec("dhcp.fqdn.s", "bool", doc="Server"),
    FieldSpec("dhcp.fqdn.rcode1", "uint", 8, doc="A-RR result"),
    FieldSpec("dhcp.fqdn.rcode2", "uint", 8, doc="PTR-RR result"),
    FieldSpec("dhcp.fqdn.name", "string", doc="Client name"),
    FieldSpec("dhcp.option.agent_information_option.suboption", "uint", 8, doc="Option 82 suboption"),
    FieldSpec("dhcp.option.suboption_length", "uint", 8, doc="Suboption length"),
    FieldSpec("dhcp.option.agent_information_option.value", "bytes", doc="Option 82 suboption value"),
    FieldSpec("dhcp.option.agent_information_option.agent_circuit_id", "bytes", doc="82:1 Agent Circuit ID"),
    FieldSpec("dhcp.option.agent_information_option.agent_remote_id", "bytes", doc="82:2 Agent Remote ID"),
    FieldSpec("dhcp.option.agent_information_option.link_selection", "ipv4", doc="82:5 Link selection"),
    FieldSpec("dhcp.option.agent_information_option.subscriber_id", "string", doc="82:6 Subscriber ID"),
    FieldSpec("dhcp.option.agent_information_option.server_id_override", "ipv4", doc="82:11 Server ID override"),
    FieldSpec("dhcp.option.forcerenew_nonce.algorithm", "uint", 8, doc="Forcerenew nonce algorithm"),
    FieldSpec("dhcp.option.classless_static_route", "bytes", doc="Option 121: Classless Static Route"),
)

FIELDS: tuple[FieldSpec, ...] = _BASE_FIELDS + tuple(
    FieldSpec(name, _KIND_FTYPE[kind][0], _KIND_FTYPE[kind][1], doc=f"Option {code}")  # type: ignore[arg-type]
    for code, (name, kind) in sorted(SIMPLE_OPTIONS.items())
    if name not in {s.name for s in _BASE_FIELDS}
)

MAGIC = b"\x63\x82\x53\x63"
MESSAGE_TYPES = {1: "Discover", 2: "Offer", 3: "Request", 4: "Decline", 5: "ACK", 6: "NAK", 7: "Release",
                 8: "Inform", 9: "Force Renew", 10: "Lease query", 11: "Lease Unassigned",
                 12: "Lease Unknown", 13: "Lease Active"}


def _ipv4(b: bytes) -> str:
    return str(ipaddress.IPv4Address(bytes(b)))


def _text(b: bytes) -> str:
    """A string value as tshark prints it (bytes up to the first NUL, non-ASCII escaped)."""
    nul = b.find(b"\x00")
    if nul >= 0:
        b = b[:nul]
    return _escape(b)


def _escape(b: bytes) -> str:
    out = []
    for ch in b:
        if ch == 0x5C:
            out.append("\\\\")
        elif 0x20 <= ch < 0x7F:
            out.append(chr(ch))
        elif ch == 0x0A:
            out.append("\\n")
        elif ch == 0x0D:
            out.append("\\r")
        elif ch == 0x09:
            out.append("\\t")
        else:
            out.append(f"\\x{ch:02x}")
    return "".join(out)


def _simple(layer: Layer, name: str, kind: str, v: bytes) -> None:
    n = len(v)
    if kind == "ip":
        for i in range(0, n - n % 4, 4):
            layer.add(name, _ipv4(v[i:i + 4]))
        if n % 4 or n == 0:
            layer.malformed(0, f"{name}: length {n} is not a multiple of 4")
    elif kind == "u16_list":
        for i in range(0, n - n % 2, 2):
            layer.add(name, int.from_bytes(v[i:i + 2], "big"))
    elif kind in ("u8", "u16", "u32", "i32", "bool"):
        size = {"u8": 1, "u16": 2, "u32": 4, "i32": 4, "bool": 1}[kind]
        if n != size:
            layer.malformed(0, f"{name}: length {n}, expected {size}")
            return
        if kind == "bool":
            layer.add(name, bool(v[0]))
        else:
            layer.add(name, int.from_bytes(v, "big", signed=kind == "i32"))
    elif kind == "strz":
        layer.add(name, _text(v))
    else:
        layer.add(name, _escape(v))


def _relay_agent(layer: Layer, v: bytes) -> None:
    pos = 0
    while pos + 2 <= len(v):
        sub, slen = v[pos], v[pos + 1]
        layer.add("dhcp.option.agent_information_option.suboption", sub)
        layer.add("dhcp.option.suboption_length", slen)
        body = v[pos + 2:pos + 2 + slen]
        if len(body) < slen:
            layer.malformed(0, f"option 82 suboption {sub} length {slen} overruns the option")
            return
        layer.add("dhcp.option.agent_information_option.value", body)
        if sub == 1:
            layer.add("dhcp.option.agent_information_option.agent_circuit_id", body)
        elif sub == 2:
            layer.add("dhcp.option.agent_information_option.agent_remote_id", body)
        elif sub == 5 and slen == 4:
            layer.add("dhcp.option.agent_information_option.link_selection", _ipv4(body))
        elif sub == 6:
            layer.add("dhcp.option.agent_information_option.subscriber_id", _text(body))
        elif sub == 11 and slen == 4:
            layer.add("dhcp.option.agent_information_option.server_id_override", _ipv4(body))
        pos += 2 + slen


def _option(layer: Layer, code: int, v: bytes, state: dict[str, object]) -> None:
    """Decode one option value (the type/length/value triplet is already added)."""
    simple = SIMPLE_OPTIONS.get(code)
    if code == 55:
        for b in v:
            layer.add("dhcp.option.request_list_item", b)
    elif code == 33:
        for i in range(0, len(v) - len(v) % 8, 8):
            layer.add("dhcp.option.static_route.ip", _ipv4(v[i:i + 4]))
            layer.add("dhcp.option.static_route.router", _ipv4(v[i + 4:i + 8]))
    elif code == 60:
        text = _text(v)
        state["vendor_class"] = text
        layer.add("dhcp.option.vendor_class_id", text)
    elif code == 43:
        if str(state.get("vendor_class", "")).startswith("ArubaAP"):
            layer.add("dhcp.option.vendor.arubaap.controllerip", _escape(v))
    elif code == 61:
        if len(v) == 7 and v[0] == 1:
            layer.add("dhcp.hw.type", 1)
            layer.add("dhcp.hw.mac_addr", v[1:7].hex(":"))
        elif len(v) >= 1 and v[0] != 255:
            layer.add("dhcp.client_id.type", v[0])
            if len(v) > 1:
                layer.add("dhcp.client_id.undef", _text(v[1:]))
    elif code == 77:
        pos = 0
        index = 0
        while pos < len(v):
            ulen = v[pos]
            layer.add("dhcp.option.user_class", index)
            index += 1
            layer.add("dhcp.option.user_class.length", ulen)
            if pos + 1 + ulen > len(v):
                layer.malformed(0, "user class instance overruns the option")
                break
            layer.add("dhcp.option.user_class.data", v[pos + 1:pos + 1 + ulen])
            pos += 1 + ulen
    elif code == 81:
        if len(v) >= 3:
            f = v[0]
            layer.add("dhcp.fqdn.flags", f)
            layer.add("dhcp.fqdn.mbz", (f & 0xF0) >> 4)
            layer.add("dhcp.fqdn.n", bool(f & 0x08))
            layer.add("dhcp.fqdn.e", bool(f & 0x04))
            layer.add("dhcp.fqdn.o", bool(f & 0x02))
            layer.add("dhcp.fqdn.s", bool(f & 0x01))
            layer.add("dhcp.fqdn.rcode1", v[1])
            layer.add("dhcp.fqdn.rcode2", v[2])
            if len(v) > 3:
                if f & 0x04:
                    layer.add("dhcp.fqdn.name", _dns_name(v[3:]))
                else:
                    layer.add("dhcp.fqdn.name", _escape(v[3:]))
    elif code == 82:
        _relay_agent(layer, v)
    elif code == 121:
        layer.add("dhcp.option.classless_static_route", v)
    elif code == 145:
        if v:
            layer.add("dhcp.option.forcerenew_nonce.algorithm", v[0])
    elif simple is not None:
        _simple(layer, simple[0], simple[1], v)


def _dns_name(b: bytes) -> str:
    labels: list[str] = []
    pos = 0
    while pos < len(b) and b[pos] != 0:
        n = b[pos]
        labels.append(_escape(b[pos + 1:pos + 1 + n]))
        pos += 1 + n
    return ".".join(labels)


def dissect_dhcp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("dhcp", offset)
    reported_end = max(ctx.reported_end, end)
    avail = end - offset
    if avail >= 1 and data[offset] not in (1, 2):
        # neither BOOTREQUEST nor BOOTREPLY: tshark shows the protocol without any field
        # (broken/bootp_asan.pcap); tcpdump says "unknown (0x..)"
        layer.length = max(0, avail)
        layer.malformed(offset, f"unknown BOOTP message type {data[offset]}")
        layer.summary = _summary(data, offset, end, reported_end)
        return layer, None
    if avail < 236:
        layer.length = max(0, avail)
        _partial_header(layer, data, offset, end)  # tshark shows what was captured
        if reported_end - offset < 236:
            layer.malformed(offset, f"BOOTP header needs 236 bytes, {reported_end - offset} present")
        else:
            layer.truncated(offset, f"BOOTP header cut short at {avail} of 236 bytes")
        layer.summary = _summary(data, offset, end, reported_end)
        return layer, None
    d = data
    o = offset
    op, htype, hlen, hops = d[o], d[o + 1], d[o + 2], d[o + 3]
    layer.add("dhcp.type", op)
    layer.add("dhcp.hw.type", htype)
    layer.add("dhcp.hw.len", hlen)
    layer.add("dhcp.hops", hops)
    layer.add("dhcp.id", int.from_bytes(d[o + 4:o + 8], "big"))
    layer.add("dhcp.secs", int.from_bytes(d[o + 8:o + 10], "big"))
    flags = int.from_bytes(d[o + 10:o + 12], "big")
    layer.add("dhcp.flags", flags)
    layer.add("dhcp.flags.bc", bool(flags & 0x8000))
    layer.add("dhcp.flags.reserved", flags & 0x7FFF)
    layer.add("dhcp.ip.client", _ipv4(d[o + 12:o + 16]))
    layer.add("dhcp.ip.your", _ipv4(d[o + 16:o + 20]))
    layer.add("dhcp.ip.server", _ipv4(d[o + 20:o + 24]))
    layer.add("dhcp.ip.relay", _ipv4(d[o + 24:o + 28]))
    chaddr = d[o + 28:o + 44]
    mac = ""
    if htype == 1 and hlen == 6:
        mac = chaddr[:6].hex(":")
        layer.add("dhcp.hw.mac_addr", mac)
        layer.add("dhcp.hw.addr_padding", chaddr[6:16])
    elif hlen > 0:
        layer.add("dhcp.hw.addr", chaddr[:min(hlen, 16)])
        if hlen < 16:
            layer.add("dhcp.hw.addr_padding", chaddr[hlen:16])
    else:
        layer.add("dhcp.hw.addr_padding", chaddr)

    # options first: option 52 (overload) says whether sname/file hold options
    state: dict[str, object] = {}
    msgtype: int | None = None
    pos = o + 236
    layer.length = 236
    sname = d[o + 44:o + 108]
    bfile = d[o + 108:o + 236]
    overload = 0
    options_at = pos + 4 if end - pos >= 4 and d[pos:pos + 4] == MAGIC else -1
    if options_at > 0:
        overload, vendor_class, ran_off = _prescan(d, options_at, end, reported_end)
        state["vendor_class"] = vendor_class
        if ran_off:
            # Wireshark reads the option codes and lengths in a first pass before it adds
            # any field; running off the captured bytes there leaves only the protocol
            layer.fields.clear()
            layer.truncated(end, "DHCP options cut short by the capture")
            layer.summary = _summary(data, offset, end, reported_end)
            return layer, None
    if not overload & 2:
        layer.add("dhcp.server", _text(sname))
    if not overload & 1:
        layer.add("dhcp.file", _text(bfile))
    if options_at < 0:
        if end - pos >= 4:
            # tshark shows no dhcp.cookie then (plain BOOTP, or a bad cookie)
            layer.finding(FindingKind.UNSUPPORTED, pos, "no DHCP magic cookie: vendor area kept raw")
        layer.summary = _summary(data, offset, end, reported_end)
        return layer, None
    layer.add("dhcp.cookie", _ipv4(d[pos:pos + 4]))
    pos = options_at
    while pos < end:
        code = d[pos]
        if code == 0:
            start = pos
            while pos < end and d[pos] == 0:
                pos += 1
            layer.add("dhcp.option.type", 0)
            layer.add("dhcp.option.padding", d[start:pos])
            continue
        if code == 255:
            layer.add("dhcp.option.type", 0)
            layer.add("dhcp.option.end", 255)
            pos += 1
            if pos < end:
                layer.add("dhcp.option.padding", d[pos:end])
                pos = end
            break
        if pos + 2 > end:
            layer.truncated(pos, f"option {code} cut short")
            break
        olen = d[pos + 1]
        layer.add("dhcp.option.type", code)
        layer.add("dhcp.option.length", olen)
        if pos + 2 + olen > end:
            if pos + 2 + olen > reported_end:
                layer.malformed(pos, f"option {code} length {olen} overruns the packet")
            else:
                layer.truncated(pos, f"option {code} cut short by the capture")
            break
        v = d[pos + 2:pos + 2 + olen]
        if olen:
            # (tshark prints an empty value as "<MISSING>"; we leave it out)
            layer.add("dhcp.option.value", v)
        before = len(layer.findings)
        _option(layer, code, v, state)
        for i in range(before, len(layer.findings)):
            f = layer.findings[i]
            layer.findings[i] = type(f)(f.kind, f.layer, pos, f.reason)
        if code == 53 and olen >= 1:
            msgtype = v[0]
        pos += 2 + olen
    layer.length = pos - offset
    layer.summary = _summary(data, offset, end, reported_end)
    if msgtype is not None:
        state["message_type"] = MESSAGE_TYPES.get(msgtype, str(msgtype))
    return layer, None


def _summary(d: bytes, o: int, end: int, reported_end: int) -> str:
    """tcpdump -n's text: "BOOTP/DHCP, Request from <chaddr>, length N" / "..., Reply, length N"."""
    if end - o < 1:
        return "BOOTP/DHCP"
    op = d[o]
    kind = {1: "Request", 2: "Reply"}.get(op, f"unknown (0x{op:02x})")
    text = f"BOOTP/DHCP, {kind}"
    if op == 1 and end - o >= 34 and d[o + 1] == 1 and d[o + 2] == 6:
        text += f" from {d[o + 28:o + 34].hex(':')}"
    return text + f", length {reported_end - o}"


def _prescan(d: bytes, pos: int, end: int, reported_end: int) -> tuple[int, str, bool]:
    """Options Wireshark reads before decoding the others: overload (52), vendor class (60);
    and whether that first pass ran off the captured bytes."""
    overload, vendor = 0, ""
    while pos < reported_end:
        if pos >= end:
            return overload, vendor, True
        code = d[pos]
        if code == 0:
            pos += 1
            continue
        if code == 255:
            break
        if pos + 2 > end:
            return overload, vendor, pos + 2 <= reported_end
        olen = d[pos + 1]
        if code == 52 and olen == 1 and pos + 3 <= end:
            overload = d[pos + 2]
        elif code == 60 and pos + 2 + olen <= end:
            vendor = _text(d[pos + 2:pos + 2 + olen])
        pos += 2 + olen
    return overload, vendor, False


def _partial_header(layer: Layer, d: bytes, o: int, end: int) -> None:
    """The fixed-header fields whose bytes were captured, in order, when the header is cut."""
    avail = end - o
    simple: tuple[tuple[str, int, int], ...] = (
        ("dhcp.type", 0, 1), ("dhcp.hw.type", 1, 1), ("dhcp.hw.len", 2, 1), ("dhcp.hops", 3, 1),
        ("dhcp.id", 4, 4), ("dhcp.secs", 8, 2))
    for name, at, size in simple:
        if at + size > avail:
            return
        layer.add(name, int.from_bytes(d[o + at:o + at + size], "big"))
    if avail < 12:
        return
    flags = int.from_bytes(d[o + 10:o + 12], "big")
    layer.add("dhcp.flags", flags)
    layer.add("dhcp.flags.bc", bool(flags & 0x8000))
    layer.add("dhcp.flags.reserved", flags & 0x7FFF)
    for name, at in (("dhcp.ip.client", 12), ("dhcp.ip.your", 16), ("dhcp.ip.server", 20),
                     ("dhcp.ip.relay", 24)):
        if at + 4 > avail:
            return
        layer.add(name, _ipv4(d[o + at:o + at + 4]))
    htype, hlen = d[o + 1], d[o + 2]
    if htype == 1 and hlen == 6 and avail >= 34:
        layer.add("dhcp.hw.mac_addr", d[o + 28:o + 34].hex(":"))
        if avail >= 44:
            layer.add("dhcp.hw.addr_padding", d[o + 34:o + 44])
