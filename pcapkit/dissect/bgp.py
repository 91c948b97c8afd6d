"""BGP-4 (RFC 4271) messages, one message per call.

The TCP byte stream is cut into messages by :mod:`pcapkit.dissect.tcp_streams`
(16-byte marker + 2-byte length); :func:`dissect_bgp` decodes one message::

    layer, _ = dissect_bgp(message_bytes, 0, len(message_bytes), ctx)

Decoded: OPEN (optional parameters, RFC 9072 extended parameters length,
capabilities: multiprotocol, route refresh, 4-octet AS, add-path, graceful restart,
extended message, enhanced route refresh, extended next hop, BGPsec, FQDN; role and
others kept as ``bgp.cap.unknown`` bytes, as tshark 4.0), UPDATE (withdrawn routes, path
attributes ORIGIN, AS_PATH/AS4_PATH, NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE,
AGGREGATOR/AS4_AGGREGATOR, COMMUNITIES, ORIGINATOR_ID, CLUSTER_LIST, MP_REACH_NLRI /
MP_UNREACH_NLRI for IPv4/IPv6 unicast, multicast, labeled unicast and VPN (route
distinguishers), extended communities, LARGE_COMMUNITY, BGPsec_PATH lengths, ATTR_SET;
NLRI; End-of-RIB), NOTIFICATION (code/subcode names, RFC 8203/9003 shutdown
communication, unsupported capabilities, bad peer AS), KEEPALIVE, ROUTE-REFRESH.
Not decoded (UNSUPPORTED finding): EVPN, flowspec, link-state, MVPN and other NLRI
families, ORF entries, the CAPABILITY message.

Field names and values are Wireshark's (``bgp.type``, ``bgp.nlri_prefix``, ...).

Session state (``ctx.extra``, kept by the stream dispatcher per TCP conversation):

- ``"bgp.asn_len"``: 4 when both OPENs of the session advertised the 4-octet AS
  capability, 2 when both OPENs were seen and one did not; absent when the OPENs were
  not captured: AS_PATH is then decoded with Wireshark's heuristic (try 2-octet on the
  first segment, check the next segment type and zero ASNs, then verify the whole path).
- ``"bgp.add_path"``: not used; like Wireshark, path identifiers are detected per
  NLRI block by a heuristic (valid only as add-path and invalid without).

Never raises on bad input: every read is bounds-checked; a structure that does not
fit gives a *malformed* finding and decoding of that structure stops.
"""

from __future__ import annotations

from typing import Final

from pcapkit.dissect.base import Context, FindingKind, Layer, Result
from pcapkit.fields import FieldSpec, ipv4_text, ipv6_text

MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_LEN = 4096
MAX_EXTENDED_LEN = 65535

OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH, CAPABILITY = 1, 2, 3, 4, 5, 6

MESSAGE_NAMES = {
    OPEN: "Open", UPDATE: "Update", NOTIFICATION: "Notification", KEEPALIVE: "Keepalive",
    ROUTE_REFRESH: "Route Refresh", CAPABILITY: "Capability",
}

ATTR_NAMES = {
    1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP", 4: "MULTI_EXIT_DISC", 5: "LOCAL_PREF",
    6: "ATOMIC_AGGREGATE", 7: "AGGREGATOR", 8: "COMMUNITIES", 9: "ORIGINATOR_ID",
    10: "CLUSTER_LIST", 14: "MP_REACH_NLRI", 15: "MP_UNREACH_NLRI", 16: "EXTENDED_COMMUNITIES",
    17: "AS4_PATH", 18: "AS4_AGGREGATOR", 32: "LARGE_COMMUNITY",
}

ERROR_NAMES = {
    1: "Message Header Error", 2: "OPEN Message Error", 3: "UPDATE Message Error",
    4: "Hold Timer Expired", 5: "Finite State Machine Error", 6: "Cease",
    7: "ROUTE-REFRESH Message Error",
}

SUBCODE_NAMES: dict[int, dict[int, str]] = {
    1: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
    2: {1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
        4: "Unsupported Optional Parameter", 5: "Authentication Failure",
        6: "Unacceptable Hold Time", 7: "Unsupported Capability", 11: "Role Mismatch"},
    3: {1: "Malformed Attribute List", 2: "Unrecognized Well-known Attribute",
        3: "Missing Well-known Attribute", 4: "Attribute Flags Error",
        5: "Attribute Length Error", 6: "Invalid ORIGIN Attribute", 7: "AS Routing Loop",
        8: "Invalid NEXT_HOP Attribute", 9: "Optional Attribute Error",
        10: "Invalid Network Field", 11: "Malformed AS_PATH"},
    5: {1: "Receive Unexpected Message in OpenSent State",
        2: "Receive Unexpected Message in OpenConfirm State",
        3: "Receive Unexpected Message in Established State"},
    6: {1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown",
        3: "Peer Unconfigured", 4: "Administrative Reset", 5: "Connection Rejected",
        6: "Other Configuration Change", 7: "Connection Collision Resolution",
        8: "Out of Resources", 9: "Hard Reset", 10: "BFD Down"},
    7: {1: "Invalid Message Length"},
}

# notification major code -> the field Wireshark uses for the minor code
MINOR_FIELD = {
    1: "bgp.notify.minor_error", 2: "bgp.notify.minor_error_open",
    3: "bgp.notify.minor_error_update", 4: "bgp.notify.minor_error_expired",
    5: "bgp.notify.minor_error_state", 6: "bgp.notify.minor_error_cease",
    7: "bgp.notify.minor_error_capability",
}

_U: Final = "uint"
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("bgp.marker", "bytes", doc="16-octet marker, all ones"),
    FieldSpec("bgp.length", _U, 16, doc="message length including the header"),
    FieldSpec("bgp.type", _U, 8, doc="message type (1 OPEN, 2 UPDATE, 3 NOTIFICATION, 4 KEEPALIVE, 5 ROUTE-REFRESH)"),
    FieldSpec("bgp.open.version", _U, 8),
    FieldSpec("bgp.open.myas", _U, 16, doc="My Autonomous System (AS_TRANS 23456 when 4-octet)"),
    FieldSpec("bgp.open.holdtime", _U, 16),
    FieldSpec("bgp.open.identifier", "ipv4"),
    FieldSpec("bgp.open.opt.len", _U, 8),
    FieldSpec("bgp.open.opt.param.type", _U, 8),
    FieldSpec("bgp.open.opt.param.len", _U, 8),
    FieldSpec("bgp.cap.type", _U, 8),
    FieldSpec("bgp.cap.length", _U, 8),
    FieldSpec("bgp.cap.mp.afi", _U, 16),
    FieldSpec("bgp.cap.reserved", "bytes"),
    FieldSpec("bgp.cap.mp.safi", _U, 8),
    FieldSpec("bgp.cap.4as", _U, 32),
    FieldSpec("bgp.cap.enh.afi", _U, 16),
    FieldSpec("bgp.cap.enh.safi", _U, 16),
    FieldSpec("bgp.cap.enh.nhafi", _U, 16),
    FieldSpec("bgp.cap.ap.afi", _U, 16),
    FieldSpec("bgp.cap.ap.safi", _U, 8),
    FieldSpec("bgp.cap.ap.sendreceive", _U, 8),
    FieldSpec("bgp.cap.gr.timers", _U, 16, "hex"),
    FieldSpec("bgp.cap.gr.timers.restart_flag", "bool"),
    FieldSpec("bgp.cap.gr.timers.notification_flag", "bool"),
    FieldSpec("bgp.cap.gr.timers.restart_time", _U, 16),
    FieldSpec("bgp.cap.gr.afi", _U, 16),
    FieldSpec("bgp.cap.gr.safi", _U, 8),
    FieldSpec("bgp.cap.gr.flag", _U, 8, "hex"),
    FieldSpec("bgp.cap.gr.flag.pfs", "bool"),
    FieldSpec("bgp.cap.orf.fqdn.hostname.len", _U, 8),
    FieldSpec("bgp.cap.orf.fqdn.hostname", "string"),
    FieldSpec("bgp.cap.orf.fqdn.domain_name.len", _U, 8),
    FieldSpec("bgp.cap.orf.fqdn.domain_name", "string"),
    FieldSpec("bgp.cap.bgpsec.flags", _U, 8, "hex"),
    FieldSpec("bgp.cap.bgpsec.version", _U, 8),
    FieldSpec("bgp.cap.bgpsec.sendreceive", _U, 8),
    FieldSpec("bgp.cap.bgpsec.reserved", _U, 8, "hex"),
    FieldSpec("bgp.cap.bgpsec.afi", _U, 16),
    FieldSpec("bgp.cap.unknown", "bytes"),
    FieldSpec("bgp.update.withdrawn_routes.length", _U, 16),
    FieldSpec("bgp.update.path_attributes.length", _U, 16),
    FieldSpec("bgp.update.path_attribute.flags", _U, 8, "hex"),
    FieldSpec("bgp.update.path_attribute.flags.optional", "bool"),
    FieldSpec("bgp.update.path_attribute.flags.transitive", "bool"),
    FieldSpec("bgp.update.path_attribute.flags.partial", "bool"),
    FieldSpec("bgp.update.path_attribute.flags.extended_length", "bool"),
    FieldSpec("bgp.update.path_attribute.flags.unused", _U, 8, "hex"),
    FieldSpec("bgp.update.path_attribute.type_code", _U, 8),
    FieldSpec("bgp.update.path_attribute.length", _U, 16),
    FieldSpec("bgp.update.path_attribute.origin", _U, 8, doc="0 IGP, 1 EGP, 2 INCOMPLETE"),
    FieldSpec("bgp.update.path_attribute.as_path_segment.type", _U, 8, doc="1 AS_SET, 2 AS_SEQUENCE"),
    FieldSpec("bgp.update.path_attribute.as_path_segment.length", _U, 8),
    FieldSpec("bgp.update.path_attribute.as_path_segment.as2", _U, 16),
    FieldSpec("bgp.update.path_attribute.as_path_segment.as4", _U, 32),
    FieldSpec("bgp.update.path_attribute.next_hop", "ipv4"),
    FieldSpec("bgp.update.path_attribute.multi_exit_disc", _U, 32),
    FieldSpec("bgp.update.path_attribute.local_pref", _U, 32),
    FieldSpec("bgp.update.path_attribute.aggregator_as", _U, 32),
    FieldSpec("bgp.update.path_attribute.aggregator_origin", "ipv4"),
    FieldSpec("bgp.update.path_attribute.community_wellknown", _U, 32, "hex"),
    FieldSpec("bgp.update.path_attribute.community_as", _U, 16),
    FieldSpec("bgp.update.path_attribute.community_value", _U, 16),
    FieldSpec("bgp.update.path_attribute.originator_id", "ipv4"),
    FieldSpec("bgp.path_attribute.cluster_id", "ipv4"),
    FieldSpec("bgp.update.path_attribute.attr_set.origin_as", _U, 32),
    FieldSpec("bgp.large_communities.ga", _U, 32),
    FieldSpec("bgp.large_communities.ldp1", _U, 32),
    FieldSpec("bgp.large_communities.ldp2", _U, 32),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.afi", _U, 16),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.safi", _U, 8),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.next_hop", "bytes"),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.next_hop.rd", "string"),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", "ipv4"),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6", "ipv6"),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local", "ipv6"),
    FieldSpec("bgp.update.path_attribute.mp_reach_nlri.nbr_snpa", _U, 8),
    FieldSpec("bgp.update.path_attribute.mp_unreach_nlri.afi", _U, 16),
    FieldSpec("bgp.update.path_attribute.mp_unreach_nlri.safi", _U, 8),
    FieldSpec("bgp.mp_reach_nlri_ipv4_prefix", "ipv4"),
    FieldSpec("bgp.mp_unreach_nlri_ipv4_prefix", "ipv4"),
    FieldSpec("bgp.mp_reach_nlri_ipv6_prefix", "ipv6"),
    FieldSpec("bgp.mp_unreach_nlri_ipv6_prefix", "ipv6"),
    FieldSpec("bgp.prefix_length", _U, 8),
    FieldSpec("bgp.nlri_path_id", _U, 32),
    FieldSpec("bgp.label_stack", "string", doc="MPLS labels of a labeled prefix, e.g. '100,101 (bottom)'"),
    FieldSpec("bgp.rd", "string", doc="route distinguisher of a VPN prefix (as2:an4, ip:an2, as4:an2)"),
    FieldSpec("bgp.nlri_prefix", "ipv4"),
    FieldSpec("bgp.withdrawn_prefix", "ipv4"),
    FieldSpec("bgp.ext_com.type", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.type.auth", "bool"),
    FieldSpec("bgp.ext_com.type.tran", "bool"),
    FieldSpec("bgp.ext_com.stype_tr_as2", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_ntr_as2", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_tr_IP4", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_ntr_IP4", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_tr_as4", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_ntr_as4", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.value_IP4", "ipv4"),
    FieldSpec("bgp.ext_com.value_as4", _U, 32),
    FieldSpec("bgp.ext_com.value_an2", _U, 16),
    FieldSpec("bgp.ext_com.stype_tr_opaque", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_ntr_opaque", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.stype_tr_exp", _U, 8, "hex"),
    FieldSpec("bgp.ext_com.tunnel_type", _U, 16),
    FieldSpec("bgp.ext_com.value_raw", _U, 64, "hex", doc="48-bit value (tshark prints 16 hex digits)"),
    FieldSpec("bgp.ext_com.value_as2", _U, 16),
    FieldSpec("bgp.ext_com.value_an4", _U, 32),
    FieldSpec("bgp.update.path_attribute.bgpsec.sp.length", _U, 16),
    FieldSpec("bgp.update.path_attribute.bgpsec.sps.pcount", _U, 8),
    FieldSpec("bgp.update.path_attribute.bgpsec.sps.flags", _U, 8),
    FieldSpec("bgp.update.path_attribute.bgpsec.sps.as", _U, 32),
    FieldSpec("bgp.update.path_attribute.bgpsec.sb.length", _U, 16),
    FieldSpec("bgp.update.path_attribute.bgpsec.sb.algo_id", _U, 8),
    FieldSpec("bgp.update.path_attribute.bgpsec.ss.length", _U, 16),
    FieldSpec("bgp.notify.major_error", _U, 8),
    FieldSpec("bgp.notify.minor_error", _U, 8),
    FieldSpec("bgp.notify.minor_error_open", _U, 8),
    FieldSpec("bgp.notify.minor_error_update", _U, 8),
    FieldSpec("bgp.notify.minor_error_expired", _U, 8),
    FieldSpec("bgp.notify.minor_error_state", _U, 8),
    FieldSpec("bgp.notify.minor_error_cease", _U, 8),
    FieldSpec("bgp.notify.minor_error_capability", _U, 8),
    FieldSpec("bgp.notify.minor_error_unknown", _U, 8),
    FieldSpec("bgp.notify.minor_data", "bytes"),
    FieldSpec("bgp.notify.error_open.bad_peer_as", _U, 32),
    FieldSpec("bgp.notify.communication_length", _U, 8),
    FieldSpec("bgp.notify.communication", "string"),
    FieldSpec("bgp.route_refresh.afi", _U, 16),
    FieldSpec("bgp.route_refresh.subtype", _U, 8),
    FieldSpec("bgp.route_refresh.safi", _U, 8),
)

# names of fields this module emits (the tshark comparison tests iterate over them)
FIELD_NAMES: tuple[str, ...] = tuple(s.name for s in FIELDS)


def _u16(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 2], "big")


def _u32(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 4], "big")


def _prefix_bytes(raw: bytes, size: int) -> bytes:
    return raw + b"\x00" * (size - len(raw))


def message_length(header: bytes) -> int | None:
    """The length field of a message header (19 bytes), or None when the marker is wrong."""
    if len(header) < HEADER_LEN or header[:16] != MARKER:
        return None
    return _u16(header, 16)


def dissect_bgp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """One BGP message at data[offset:end] (``end`` is the end of the message bytes)."""
    msg = bytes(data[offset:end])
    layer = Layer("bgp", offset)
    d = _Decoder(msg, layer, offset, ctx)
    d.message()
    layer.length = len(msg)
    return layer, None


class _Decoder:
    """Walks one message; every read is bounded by the message and the current structure."""

    def __init__(self, msg: bytes, layer: Layer, base: int, ctx: Context) -> None:
        self.m = msg
        self.layer = layer
        self.base = base
        self.ctx = ctx
        self.end = len(msg)          # end of the message (from its length field)
        self.summary_extra = ""

    def bad(self, at: int, reason: str) -> None:
        self.layer.malformed(self.base + at, reason)

    def short(self, at: int, reason: str) -> None:
        self.layer.truncated(self.base + at, reason)

    # -- header ------------------------------------------------------------------------

    def message(self) -> None:
        m, lay = self.m, self.layer
        if len(m) < HEADER_LEN:
            if len(m) >= 16:
                lay.add("bgp.marker", m[:16])
            if len(m) >= 18:
                lay.add("bgp.length", _u16(m, 16))
            self.short(len(m), f"message header needs {HEADER_LEN} bytes, have {len(m)}")
            lay.summary = f"BGP, length: {len(m)} [|bgp]"
            return
        lay.add("bgp.marker", m[:16])
        if m[:16] != MARKER:
            self.bad(0, "marker is not all ones")
        length = _u16(m, 16)
        mtype = m[18]
        lay.add("bgp.length", length)
        lay.add("bgp.type", mtype)
        if length < HEADER_LEN:
            self.bad(16, f"length {length} < {HEADER_LEN}")
            length = HEADER_LEN
        elif length > len(m):
            self.short(len(m), f"length {length} but only {len(m)} bytes captured")
            length = len(m)
        self.end = length
        name = MESSAGE_NAMES.get(mtype, "Unknown")
        if mtype == OPEN:
            self.open()
        elif mtype == UPDATE:
            self.update()
        elif mtype == NOTIFICATION:
            self.notification()
        elif mtype == KEEPALIVE:
            if length != HEADER_LEN:
                self.bad(16, f"KEEPALIVE length {length} != 19")
        elif mtype == ROUTE_REFRESH:
            self.route_refresh()
        else:
            self.layer.finding(FindingKind.UNSUPPORTED, self.base + 18, f"message type {mtype} not decoded")
        lay.summary = f"{name} Message ({mtype}), length: {length}{self.summary_extra}"

    # -- OPEN --------------------------------------------------------------------------

    def open(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        if end < 29:
            self.bad(HEADER_LEN, f"OPEN needs 29 bytes, length is {end}")
            return
        lay.add("bgp.open.version", m[19])
        myas = _u16(m, 20)
        lay.add("bgp.open.myas", myas)
        lay.add("bgp.open.holdtime", _u16(m, 22))
        lay.add("bgp.open.identifier", ipv4_text(m[24:28]))
        optlen = m[28]
        lay.add("bgp.open.opt.len", optlen)
        self.summary_extra = f", My AS {myas}, Holdtime {_u16(m, 22)}s, ID {ipv4_text(m[24:28])}"
        o = 29
        extended = False
        if optlen == 255 and end >= 32 and m[29] == 255:
            # RFC 9072: non-ext type 255, then a 2-byte optional parameters length
            extended = True
            optlen = _u16(m, 30)
            o = 32
        opt_end = o + optlen
        if opt_end > end:
            self.bad(28, f"optional parameters length {optlen} runs past the message")
            opt_end = end
        while o < opt_end:
            hdr = 3 if extended else 2
            if o + hdr > opt_end:
                self.bad(o, "optional parameter header truncated")
                return
            ptype = m[o]
            plen = _u16(m, o + 1) if extended else m[o + 1]
            lay.add("bgp.open.opt.param.type", ptype)
            lay.add("bgp.open.opt.param.len", plen)
            p = o + hdr
            pend = p + plen
            if pend > opt_end:
                self.bad(o, f"optional parameter length {plen} runs past the parameters")
                return
            if ptype == 2:
                self.capabilities(p, pend)
            o = pend

    def capabilities(self, o: int, end: int) -> None:
        m, lay = self.m, self.layer
        while o < end:
            if o + 2 > end:
                self.bad(o, "capability header truncated")
                return
            ctype, clen = m[o], m[o + 1]
            lay.add("bgp.cap.type", ctype)
            lay.add("bgp.cap.length", clen)
            v = o + 2
            vend = v + clen
            if vend > end:
                self.bad(o, f"capability length {clen} runs past the parameter")
                return
            self.capability(ctype, clen, v, vend)
            o = vend

    def capability(self, ctype: int, clen: int, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if ctype == 1:                       # multiprotocol
            if clen != 4:
                self.bad(v, f"multiprotocol capability length {clen} != 4")
                if clen:
                    lay.add("bgp.cap.unknown", m[v:vend])
                return
            lay.add("bgp.cap.mp.afi", _u16(m, v))
            lay.add("bgp.cap.reserved", m[v + 2:v + 3])
            lay.add("bgp.cap.mp.safi", m[v + 3])
        elif ctype in (2, 128, 70, 6):       # route refresh, enhanced RR, extended message
            if clen:
                self.bad(v, f"capability {ctype} length {clen} != 0")
                lay.add("bgp.cap.unknown", m[v:vend])
        elif ctype == 65:                    # 4-octet AS
            if clen != 4:
                self.bad(v, f"4-octet AS capability length {clen} != 4")
                if clen:
                    lay.add("bgp.cap.unknown", m[v:vend])
                return
            lay.add("bgp.cap.4as", _u32(m, v))
        elif ctype == 69:                    # add-path
            if clen % 4:
                self.bad(v, f"add-path capability length {clen} not a multiple of 4")
                lay.add("bgp.cap.unknown", m[v:vend])
                return
            for p in range(v, vend, 4):
                lay.add("bgp.cap.ap.afi", _u16(m, p))
                lay.add("bgp.cap.ap.safi", m[p + 2])
                lay.add("bgp.cap.ap.sendreceive", m[p + 3])
        elif ctype == 64:                    # graceful restart
            if clen < 2 or (clen - 2) % 4:
                self.bad(v, f"graceful restart capability length {clen} invalid")
                if clen:
                    lay.add("bgp.cap.unknown", m[v:vend])
                return
            timers = _u16(m, v)
            lay.add("bgp.cap.gr.timers", timers)
            lay.add("bgp.cap.gr.timers.restart_flag", bool(timers & 0x8000))
            lay.add("bgp.cap.gr.timers.notification_flag", bool(timers & 0x4000))
            lay.add("bgp.cap.gr.timers.restart_time", timers & 0x0FFF)
            for p in range(v + 2, vend, 4):
                lay.add("bgp.cap.gr.afi", _u16(m, p))
                lay.add("bgp.cap.gr.safi", m[p + 2])
                lay.add("bgp.cap.gr.flag", m[p + 3])
                lay.add("bgp.cap.gr.flag.pfs", bool(m[p + 3] & 0x80))
        elif ctype == 73:                    # FQDN
            if clen < 1:
                return
            hl = m[v]
            lay.add("bgp.cap.orf.fqdn.hostname.len", hl)
            if v + 1 + hl > vend:
                self.bad(v, "FQDN hostname runs past the capability")
                return
            lay.add("bgp.cap.orf.fqdn.hostname", m[v + 1:v + 1 + hl].decode("utf-8", "replace"))
            p = v + 1 + hl
            if p < vend:
                dl = m[p]
                lay.add("bgp.cap.orf.fqdn.domain_name.len", dl)
                if p + 1 + dl > vend:
                    self.bad(p, "FQDN domain name runs past the capability")
                else:
                    lay.add("bgp.cap.orf.fqdn.domain_name", m[p + 1:p + 1 + dl].decode("utf-8", "replace"))
        elif ctype == 5:                     # extended next hop encoding (RFC 8950)
            if clen % 6:
                self.bad(v, f"extended next hop capability length {clen} not a multiple of 6")
                lay.add("bgp.cap.unknown", m[v:vend])
                return
            for p in range(v, vend, 6):
                lay.add("bgp.cap.enh.afi", _u16(m, p))
                lay.add("bgp.cap.enh.safi", _u16(m, p + 2))
                lay.add("bgp.cap.enh.nhafi", _u16(m, p + 4))
        elif ctype == 7:                     # BGPsec (RFC 8205 section 2.1)
            if clen != 3:
                self.bad(v, f"BGPsec capability length {clen} != 3")
                return
            flags = m[v]
            lay.add("bgp.cap.bgpsec.flags", flags)
            lay.add("bgp.cap.bgpsec.version", flags >> 4)
            lay.add("bgp.cap.bgpsec.sendreceive", (flags >> 3) & 1)
            lay.add("bgp.cap.bgpsec.reserved", flags & 0x07)
            lay.add("bgp.cap.bgpsec.afi", _u16(m, v + 1))
        elif clen:
            lay.add("bgp.cap.unknown", m[v:vend])

    # -- UPDATE ------------------------------------------------------------------------

    def update(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        o = HEADER_LEN
        if o + 2 > end:
            self.bad(o, "UPDATE too short for the withdrawn routes length")
            return
        wlen = _u16(m, o)
        lay.add("bgp.update.withdrawn_routes.length", wlen)
        o += 2
        if o + wlen > end:
            self.bad(o - 2, f"withdrawn routes length {wlen} runs past the message")
            return
        if wlen:
            self.prefixes4(o, o + wlen, "bgp.withdrawn_prefix")
        o += wlen
        if o + 2 > end:
            self.bad(o, "UPDATE too short for the path attributes length")
            return
        alen = _u16(m, o)
        lay.add("bgp.update.path_attributes.length", alen)
        o += 2
        if o + alen > end:
            self.bad(o - 2, f"path attributes length {alen} runs past the message")
            return
        self.attributes(o, o + alen)
        o += alen
        if o < end and alen == 0:
            # RFC 4271 6.3: NLRI needs ORIGIN, AS_PATH and NEXT_HOP; like tshark we do not decode it
            self.bad(o, "NLRI without path attributes")
        elif o < end:
            self.prefixes4(o, end, "bgp.nlri_prefix")
        elif wlen == 0 and alen == 0:
            self.summary_extra = ", End-of-Rib Marker (empty NLRI)"

    def attributes(self, o: int, end: int) -> None:
        m, lay = self.m, self.layer
        while o < end:
            if o + 2 > end:
                self.bad(o, "path attribute header truncated")
                return
            flags, code = m[o], m[o + 1]
            ext = bool(flags & 0x10)
            hl = 4 if ext else 3
            if o + hl > end:
                self.bad(o, "path attribute length truncated")
                return
            alen = _u16(m, o + 2) if ext else m[o + 2]
            lay.add("bgp.update.path_attribute.flags", flags)
            lay.add("bgp.update.path_attribute.flags.optional", bool(flags & 0x80))
            lay.add("bgp.update.path_attribute.flags.transitive", bool(flags & 0x40))
            lay.add("bgp.update.path_attribute.flags.partial", bool(flags & 0x20))
            lay.add("bgp.update.path_attribute.flags.extended_length", ext)
            lay.add("bgp.update.path_attribute.flags.unused", flags & 0x0F)
            lay.add("bgp.update.path_attribute.type_code", code)
            lay.add("bgp.update.path_attribute.length", alen)
            v = o + hl
            vend = v + alen
            if vend > end:
                self.bad(o, f"path attribute {code} length {alen} runs past the attributes")
                return
            self.attribute(code, alen, v, vend)
            o = vend

    def attribute(self, code: int, alen: int, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if code == 1:
            if alen != 1:
                self.bad(v, f"ORIGIN length {alen} != 1")
                return
            lay.add("bgp.update.path_attribute.origin", m[v])
        elif code in (2, 17):
            self.as_path(code, v, vend)
        elif code == 3:
            if alen != 4:
                self.bad(v, f"NEXT_HOP length {alen} != 4")
                return
            lay.add("bgp.update.path_attribute.next_hop", ipv4_text(m[v:v + 4]))
        elif code in (4, 5):
            if alen != 4:
                self.bad(v, f"{ATTR_NAMES[code]} length {alen} != 4")
                return
            name = "multi_exit_disc" if code == 4 else "local_pref"
            lay.add(f"bgp.update.path_attribute.{name}", _u32(m, v))
        elif code in (7, 18):
            if alen == 6 and code == 7:
                lay.add("bgp.update.path_attribute.aggregator_as", _u16(m, v))
                lay.add("bgp.update.path_attribute.aggregator_origin", ipv4_text(m[v + 2:v + 6]))
            elif alen == 8:
                lay.add("bgp.update.path_attribute.aggregator_as", _u32(m, v))
                lay.add("bgp.update.path_attribute.aggregator_origin", ipv4_text(m[v + 4:v + 8]))
            else:
                self.bad(v, f"{ATTR_NAMES[code]} length {alen} invalid")
        elif code == 8:
            if alen % 4:
                self.bad(v, f"COMMUNITIES length {alen} not a multiple of 4")
                return
            for p in range(v, vend, 4):
                value = _u32(m, p)
                if value >> 16 == 0xFFFF or value >> 16 == 0:
                    lay.add("bgp.update.path_attribute.community_wellknown", value)
                else:
                    lay.add("bgp.update.path_attribute.community_as", value >> 16)
                    lay.add("bgp.update.path_attribute.community_value", value & 0xFFFF)
        elif code == 9:
            if alen != 4:
                self.bad(v, f"ORIGINATOR_ID length {alen} != 4")
                return
            lay.add("bgp.update.path_attribute.originator_id", ipv4_text(m[v:v + 4]))
        elif code == 10:
            if alen % 4:
                self.bad(v, f"CLUSTER_LIST length {alen} not a multiple of 4")
                return
            for p in range(v, vend, 4):
                lay.add("bgp.path_attribute.cluster_id", ipv4_text(m[p:p + 4]))
        elif code == 14:
            self.mp_reach(v, vend)
        elif code == 15:
            self.mp_unreach(v, vend)
        elif code == 16:
            if alen % 8:
                self.bad(v, f"EXTENDED_COMMUNITIES length {alen} not a multiple of 8")
                return
            for p in range(v, vend, 8):
                self.ext_community(p)
        elif code == 33:
            self.bgpsec_path(v, vend)
        elif code == 128:                    # ATTR_SET (RFC 6368): origin AS + nested attributes
            if alen < 4:
                self.bad(v, f"ATTR_SET length {alen} < 4")
                return
            lay.add("bgp.update.path_attribute.attr_set.origin_as", _u32(m, v))
            self.attributes(v + 4, vend)
        elif code == 32:
            if alen % 12:
                self.bad(v, f"LARGE_COMMUNITY length {alen} not a multiple of 12")
                return
            for p in range(v, vend, 12):
                lay.add("bgp.large_communities.ga", _u32(m, p))
                lay.add("bgp.large_communities.ldp1", _u32(m, p + 4))
                lay.add("bgp.large_communities.ldp2", _u32(m, p + 8))

    def bgpsec_path(self, v: int, vend: int) -> None:
        """BGPsec_PATH (RFC 8205 section 3): Secure_Path, then Signature_Blocks."""
        m, lay = self.m, self.layer
        if v + 2 > vend:
            self.bad(v, "BGPsec_PATH too short")
            return
        splen = _u16(m, v)
        lay.add("bgp.update.path_attribute.bgpsec.sp.length", splen)
        spend = v + splen
        if splen < 2 or spend > vend or (splen - 2) % 6:
            self.bad(v, f"Secure_Path length {splen} invalid")
            return
        for p in range(v + 2, spend, 6):
            lay.add("bgp.update.path_attribute.bgpsec.sps.pcount", m[p])
            lay.add("bgp.update.path_attribute.bgpsec.sps.flags", m[p + 1])
            lay.add("bgp.update.path_attribute.bgpsec.sps.as", _u32(m, p + 2))
        o = spend
        while o < vend:
            if o + 3 > vend:
                self.bad(o, "Signature_Block header truncated")
                return
            sblen = _u16(m, o)
            lay.add("bgp.update.path_attribute.bgpsec.sb.length", sblen)
            lay.add("bgp.update.path_attribute.bgpsec.sb.algo_id", m[o + 2])
            sbend = o + sblen
            if sblen < 3 or sbend > vend:
                # as tshark: report it, then read Signature_Segments to the attribute's end
                self.bad(o, f"Signature_Block length {sblen} invalid")
                sbend = vend
            q = o + 3
            while q < sbend:
                if q + 22 > sbend:
                    self.bad(q, "Signature_Segment truncated")
                    return
                slen = _u16(m, q + 20)
                lay.add("bgp.update.path_attribute.bgpsec.ss.length", slen)
                q += 22 + slen
                if q > sbend:
                    self.bad(q, f"signature length {slen} runs past the Signature_Block")
                    return
            o = sbend

    def asn_len(self, code: int, v: int, vend: int) -> int | None:
        if code == 17:
            return 4
        session = self.ctx.extra.get("bgp.asn_len")
        if session in (2, 4):
            return int(session)
        return as_path_heuristic(self.m, v, vend)

    def as_path(self, code: int, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if v == vend:
            return
        size = self.asn_len(code, v, vend)
        if size is None:
            self.bad(v, "unable to determine 2- or 4-octet AS numbers in AS_PATH")
            return
        field = "bgp.update.path_attribute.as_path_segment.as4" if size == 4 else \
            "bgp.update.path_attribute.as_path_segment.as2"
        o = v
        while o < vend:
            if o + 2 > vend:
                self.bad(o, "AS_PATH segment header truncated")
                return
            stype, count = m[o], m[o + 1]
            lay.add("bgp.update.path_attribute.as_path_segment.type", stype)
            lay.add("bgp.update.path_attribute.as_path_segment.length", count)
            o += 2
            if o + count * size > vend:
                self.bad(o, f"AS_PATH segment of {count} ASNs runs past the attribute")
                return
            for _ in range(count):
                lay.add(field, int.from_bytes(m[o:o + size], "big"))
                o += size

    def ext_community(self, p: int) -> None:
        m, lay = self.m, self.layer
        ctype, stype = m[p], m[p + 1]
        lay.add("bgp.ext_com.type", ctype)
        lay.add("bgp.ext_com.type.auth", bool(ctype & 0x80))
        lay.add("bgp.ext_com.type.tran", bool(ctype & 0x40))
        if ctype == 0x00:
            lay.add("bgp.ext_com.stype_tr_as2", stype)
            lay.add("bgp.ext_com.value_as2", _u16(m, p + 2))
            lay.add("bgp.ext_com.value_an4", _u32(m, p + 4))
        elif ctype == 0x40:
            lay.add("bgp.ext_com.stype_ntr_as2", stype)
            lay.add("bgp.ext_com.value_as2", _u16(m, p + 2))
            if stype != 0x04:            # link bandwidth carries a float, not an AN
                lay.add("bgp.ext_com.value_an4", _u32(m, p + 4))
        elif ctype in (0x01, 0x41):          # IPv4-address-specific
            lay.add("bgp.ext_com.stype_tr_IP4" if ctype == 0x01 else "bgp.ext_com.stype_ntr_IP4", stype)
            lay.add("bgp.ext_com.value_IP4", ipv4_text(m[p + 2:p + 6]))
            lay.add("bgp.ext_com.value_an2", _u16(m, p + 6))
        elif ctype in (0x02, 0x42):          # four-octet-AS-specific
            lay.add("bgp.ext_com.stype_tr_as4" if ctype == 0x02 else "bgp.ext_com.stype_ntr_as4", stype)
            lay.add("bgp.ext_com.value_as4", _u32(m, p + 2))
            lay.add("bgp.ext_com.value_an2", _u16(m, p + 6))
        elif ctype == 0x03:
            lay.add("bgp.ext_com.stype_tr_opaque", stype)
            if stype == 0x0C:                # RFC 9012 encapsulation
                lay.add("bgp.ext_com.tunnel_type", _u16(m, p + 6))
        elif ctype == 0x43:
            lay.add("bgp.ext_com.stype_ntr_opaque", stype)
            if stype == 0x00:                # RFC 8097 origin validation state
                lay.add("bgp.ext_com.value_raw", int.from_bytes(m[p + 2:p + 8], "big"))
        elif ctype == 0x80:
            lay.add("bgp.ext_com.stype_tr_exp", stype)

    def mp_reach(self, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if v + 5 > vend:
            self.bad(v, "MP_REACH_NLRI too short")
            return
        afi, safi, nhlen = _u16(m, v), m[v + 2], m[v + 3]
        lay.add("bgp.update.path_attribute.mp_reach_nlri.afi", afi)
        lay.add("bgp.update.path_attribute.mp_reach_nlri.safi", safi)
        nh = v + 4
        if nh + nhlen + 1 > vend:
            self.bad(v + 3, f"next hop length {nhlen} runs past the attribute")
            return
        lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop", m[nh - 1:nh + nhlen])
        if afi in (1, 25) and nhlen == 4:
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", ipv4_text(m[nh:nh + 4]))
        elif afi == 1 and nhlen == 12 and safi in (128, 129):      # RD + IPv4
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.rd", rd_text(m[nh:nh + 8]))
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", ipv4_text(m[nh + 8:nh + 12]))
        elif nhlen in (16, 32) and afi in (1, 2) and safi in (1, 2, 4):
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6", ipv6_text(m[nh:nh + 16]))
            if nhlen == 32:
                lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
                        ipv6_text(m[nh + 16:nh + 32]))
        o = nh + nhlen
        nsnpa = m[o]
        lay.add("bgp.update.path_attribute.mp_reach_nlri.nbr_snpa", nsnpa)
        o += 1
        for _ in range(nsnpa):
            if o >= vend:
                self.bad(o, "SNPA runs past the attribute")
                return
            o += 1 + (m[o] + 1) // 2
        if o > vend:
            self.bad(o, "SNPA runs past the attribute")
            return
        self.mp_nlri(afi, safi, o, vend, "bgp.mp_reach_nlri_ipv4_prefix", "bgp.mp_reach_nlri_ipv6_prefix")

    def mp_unreach(self, v: int, vend: int) -> None:
        lay = self.layer
        if v + 3 > vend:
            self.bad(v, "MP_UNREACH_NLRI too short")
            return
        afi, safi = _u16(self.m, v), self.m[v + 2]
        lay.add("bgp.update.path_attribute.mp_unreach_nlri.afi", afi)
        lay.add("bgp.update.path_attribute.mp_unreach_nlri.safi", safi)
        if v + 3 == vend:
            self.summary_extra = f", End-of-Rib Marker (AFI {afi}, SAFI {safi})"
        self.mp_nlri(afi, safi, v + 3, vend, "bgp.mp_unreach_nlri_ipv4_prefix", "bgp.mp_unreach_nlri_ipv6_prefix")

    def mp_nlri(self, afi: int, safi: int, o: int, end: int, f4: str, f6: str) -> None:
        if o >= end:
            return
        if afi not in (1, 2) or safi not in (1, 2, 4, 128, 129, 132):
            self.layer.finding(FindingKind.UNSUPPORTED, self.base + o, f"NLRI of AFI {afi} SAFI {safi} not decoded")
            return
        bits, field = (32, f4) if afi == 1 else (128, f6)
        if safi in (1, 2):
            self.prefixes(o, end, field, bits)
        elif safi == 132:
            self.rt_constraint(o, end)
        else:
            self.labeled_prefixes(o, end, field, bits, rd=safi in (128, 129))

    def labeled_prefixes(self, o: int, end: int, field: str, bits: int, *, rd: bool) -> None:
        """RFC 8277 labeled / RFC 4364 VPN prefixes: length (bits of labels, RD and
        prefix), label stack up to the bottom-of-stack bit (or a first label 0x800000 /
        0x000000: withdrawn), [RD,] prefix. An entry that does not parse adds no field."""
        m, lay = self.m, self.layer
        while o < end:
            plen = m[o]
            p = o + 1
            labels: list[int] = []
            text = ""
            while not text:
                if p + 3 > end:
                    self.bad(p, "label stack runs past the NLRI")
                    return
                label = int.from_bytes(m[p:p + 3], "big")
                p += 3
                if not labels and label in (0x800000, 0x000000):
                    text = "0 (withdrawn)"
                    labels.append(label)
                    break
                labels.append(label)
                if label & 1:
                    text = ",".join(str(v >> 4) for v in labels) + " (bottom)"
            rest = plen - 24 * len(labels) - (64 if rd else 0)
            if rest < 0 or rest > bits:
                self.bad(o, f"labeled prefix length {plen} invalid")
                return
            n = (rest + 7) // 8
            if p + (8 if rd else 0) + n > end:
                self.bad(o, f"labeled prefix of {plen} bits runs past the NLRI")
                return
            lay.add("bgp.prefix_length", plen)
            lay.add("bgp.label_stack", text)
            if rd:
                lay.add("bgp.rd", rd_text(m[p:p + 8]))
                p += 8
            raw = bytearray(m[p:p + n])
            if rest % 8 and raw:
                raw[-1] &= (0xFF << (8 - rest % 8)) & 0xFF
            full = _prefix_bytes(bytes(raw), bits // 8)
            lay.add(field, ipv4_text(full) if bits == 32 else ipv6_text(full))
            o = p + n

    def rt_constraint(self, o: int, end: int) -> None:
        """RFC 4684 route target membership NLRI: only full (96-bit) entries' lengths are
        decoded (tshark 4.0 reports shorter entries as malformed)."""
        m, lay = self.m, self.layer
        while o < end:
            plen = m[o]
            if plen != 96:
                self.layer.finding(FindingKind.UNSUPPORTED, self.base + o,
                                   f"route target constraint prefix of {plen} bits not decoded")
                return
            lay.add("bgp.prefix_length", plen)
            o += 13

    def prefixes4(self, o: int, end: int, field: str) -> None:
        self.prefixes(o, end, field, 32)

    def prefixes(self, o: int, end: int, field: str, bits: int) -> None:
        """A block of (path id,) length, prefix entries; add-path detected as Wireshark does."""
        m, lay = self.m, self.layer
        add_path = detect_add_path(m, o, end, bits)
        size = bits // 8
        while o < end:
            if add_path:
                if o + 4 > end:
                    self.bad(o, "path identifier truncated")
                    return
                lay.add("bgp.nlri_path_id", _u32(m, o))
                o += 4
                if o >= end:
                    self.bad(o, "prefix length missing")
                    return
            plen = m[o]
            if plen > bits:
                self.bad(o, f"prefix length {plen} > {bits}")
                return
            n = (plen + 7) // 8
            if o + 1 + n > end:
                self.bad(o, f"prefix of {plen} bits runs past the NLRI")
                return
            raw = bytearray(m[o + 1:o + 1 + n])
            if plen % 8 and raw:
                raw[-1] &= (0xFF << (8 - plen % 8)) & 0xFF
            lay.add("bgp.prefix_length", plen)
            full = _prefix_bytes(bytes(raw), size)
            lay.add(field, ipv4_text(full) if bits == 32 else ipv6_text(full))
            o += 1 + n

    # -- NOTIFICATION, ROUTE-REFRESH ---------------------------------------------------

    def notification(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        if end < 21:
            self.bad(HEADER_LEN, f"NOTIFICATION needs 21 bytes, length is {end}")
            return
        major, minor = m[19], m[20]
        lay.add("bgp.notify.major_error", major)
        lay.add(MINOR_FIELD.get(major, "bgp.notify.minor_error_unknown"), minor)
        sub = SUBCODE_NAMES.get(major, {}).get(minor, "Unknown")
        self.summary_extra = f", {ERROR_NAMES.get(major, 'Unknown')} ({major}), subcode {sub} ({minor})"
        o = 21
        if o >= end:
            return
        if major == 6 and minor in (2, 4) and 1 + m[o] == end - o:
            clen = m[o]
            lay.add("bgp.notify.communication_length", clen)
            text = m[o + 1:o + 1 + clen].decode("utf-8", "replace")
            if clen:
                lay.add("bgp.notify.communication", text)
                self.summary_extra += f', Shutdown Communication (length: {clen}): "{text}"'
            return
        if major == 2 and minor == 7:        # Unsupported Capability: the capabilities (RFC 5492)
            self.capabilities(o, end)
            return
        if major == 2 and minor == 2 and (end - o == 2 or end - o >= 4):   # Bad Peer AS
            lay.add("bgp.notify.error_open.bad_peer_as", _u16(m, o) if end - o == 2 else _u32(m, o))
            return
        lay.add("bgp.notify.minor_data", m[o:end])

    def route_refresh(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        if end < 23:
            self.bad(HEADER_LEN, f"ROUTE-REFRESH needs 23 bytes, length is {end}")
            return
        afi, subtype, safi = _u16(m, 19), m[21], m[22]
        lay.add("bgp.route_refresh.afi", afi)
        lay.add("bgp.route_refresh.subtype", subtype)
        lay.add("bgp.route_refresh.safi", safi)
        self.summary_extra = f", AFI {afi}, SAFI {safi}"


def rd_text(raw: bytes) -> str:
    """A route distinguisher as Wireshark prints it (RFC 4364 types 0, 1, 2)."""
    kind = _u16(raw, 0)
    if kind == 0:
        return f"{_u16(raw, 2)}:{_u32(raw, 4)}"
    if kind == 1:
        return f"{ipv4_text(raw[2:6])}:{_u16(raw, 6)}"
    if kind == 2:
        return f"{_u32(raw, 2)}:{_u16(raw, 6)}"
    return f"Unknown (0x{kind:04x}) RD type"


def as_path_heuristic(m: bytes, start: int, end: int) -> int | None:
    """2 or 4: the AS number size of an AS_PATH at m[start:end], guessed as Wireshark
    does when the OPEN messages were not seen; None when neither size parses."""
    if start + 2 > end:
        return None
    count = m[start + 1]
    after = start + 2 + 2 * count
    if after == end:
        guess = 2
    elif after < end and m[after] in (1, 2, 3, 4):
        zero = any(_u16(m, start + 2 + 2 * j) == 0 for j in range(count) if start + 4 + 2 * j <= end)
        guess = 4 if zero else 2
    else:
        guess = 4
    k = start
    while k < end:
        if k + 1 >= end:
            return None
        k += 2 + m[k + 1] * guess
    return guess if k == end else None


def detect_add_path(m: bytes, start: int, end: int, bits: int) -> bool:
    """True when the prefix block parses with path identifiers and not without
    (Wireshark's detect_add_path_prefix4/6)."""
    o = start + 4
    while o < end:
        plen = m[o]
        if plen > bits:
            return False
        o += 1 + (plen + 7) // 8
        if o > end:
            return False
        if plen % 8 and m[o - 1] & (0xFF >> (plen % 8)):
            return False
        o += 4
    o = start
    while o < end:
        plen = m[o]
        if plen == 0 and end - start > 1:
            return True
        if plen > bits:
            return True
        o += 1 + (plen + 7) // 8
        if o > end:
            return True
        if plen % 8 and m[o - 1] & (0xFF >> (plen % 8)):
            return True
    return False

