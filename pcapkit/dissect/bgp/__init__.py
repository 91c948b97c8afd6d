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

The message header, NOTIFICATION and ROUTE-REFRESH are decoded here; OPEN and its
capabilities in :mod:`.open`, UPDATE and its path attributes in :mod:`.update`, NLRI
(prefixes, MP_REACH/MP_UNREACH) in :mod:`.nlri`; the field table is :mod:`.fields`.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, FindingKind, Layer, Result
from pcapkit.dissect.bgp.decoder import (
    ERROR_NAMES,
    HEADER_LEN,
    KEEPALIVE,
    MARKER,
    MESSAGE_NAMES,
    MINOR_FIELD,
    NOTIFICATION,
    OPEN,
    ROUTE_REFRESH,
    SUBCODE_NAMES,
    UPDATE,
    u16,
    u32,
)
from pcapkit.dissect.bgp.fields import FIELD_NAMES, FIELDS
from pcapkit.dissect.bgp.open import OpenDecoder
from pcapkit.dissect.bgp.update import UpdateDecoder

__all__ = ["FIELDS", "FIELD_NAMES", "dissect_bgp", "message_length"]


def message_length(header: bytes) -> int | None:
    """The length field of a message header (19 bytes), or None when the marker is wrong."""
    if len(header) < HEADER_LEN or header[:16] != MARKER:
        return None
    return u16(header, 16)


def dissect_bgp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """One BGP message at data[offset:end] (``end`` is the end of the message bytes)."""
    msg = bytes(data[offset:end])
    layer = Layer("bgp", offset)
    d = _Decoder(msg, layer, offset, ctx)
    d.message()
    layer.length = len(msg)
    return layer, None


class _Decoder(OpenDecoder, UpdateDecoder):
    """One message: the header here, OPEN / UPDATE / NLRI in their modules."""

    # -- header ------------------------------------------------------------------------

    def message(self) -> None:
        m, lay = self.m, self.layer
        if len(m) < HEADER_LEN:
            if len(m) >= 16:
                lay.add("bgp.marker", m[:16])
            if len(m) >= 18:
                lay.add("bgp.length", u16(m, 16))
            self.short(len(m), f"message header needs {HEADER_LEN} bytes, have {len(m)}")
            lay.summary = f"BGP, length: {len(m)} [|bgp]"
            return
        lay.add("bgp.marker", m[:16])
        if m[:16] != MARKER:
            self.bad(0, "marker is not all ones")
        length = u16(m, 16)
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
            lay.add("bgp.notify.error_open.bad_peer_as", u16(m, o) if end - o == 2 else u32(m, o))
            return
        lay.add("bgp.notify.minor_data", m[o:end])

    def route_refresh(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        if end < 23:
            self.bad(HEADER_LEN, f"ROUTE-REFRESH needs 23 bytes, length is {end}")
            return
        afi, subtype, safi = u16(m, 19), m[21], m[22]
        lay.add("bgp.route_refresh.afi", afi)
        lay.add("bgp.route_refresh.subtype", subtype)
        lay.add("bgp.route_refresh.safi", safi)
        self.summary_extra = f", AFI {afi}, SAFI {safi}"
