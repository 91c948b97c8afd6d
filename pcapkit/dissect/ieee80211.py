"""IEEE 802.11 MAC frames ("wlan") behind radiotap, as tshark 4.0 shows them.

Header: frame control (version, type, subtype, flags), duration (or, for a PS-Poll whose
field holds a valid one, the AID), up to four addresses named by frame type and DS bits
(``wlan.ra/ta/da/sa/bssid/staa``, each with its ``_resolved`` twin, and ``wlan.addr`` for
every address field), sequence control, the QoS control of QoS data frames (its bit 4
and upper byte read as tshark reads them by direction and subtype) and an HT control
field (+HTC/order bit; stepped over). When the radiotap flags say so, the last 4 bytes
are the FCS (``wlan.fcs``, unverified) and padding aligns the body to 4 bytes. Like
tshark, the fields come one by one and stop where the bytes do, except that a QoS frame
needs its QoS control, and a management or data frame its whole fixed header after the
first address, before tshark shows anything more.

Body: data frames go to 802.2 LLC (or, as tshark guesses, to Ethernet when the body
starts with the frame's addresses, raw IPX after 0xffff, LLC after two zero bytes), or
to "data" when protected or when more fragments follow; an A-MSDU shows its first
subframe's DA, SA and length and hands that MSDU to LLC (tshark goes on with the
others); null-function frames have no body. tshark reassembles fragments: pcapkit keeps
no fragment state, and dissects a last fragment whole, as tshark does when it has not
seen the first ones (labs/Wireshark_802_11.pcap frame 695). Management frames
end the chain: their fixed parameters and tags (tshark's "wlan.mgt" tree, see
:mod:`pcapkit.dissect.ieee80211_mgt`) are fields of the "wlan" layer, unless the frame is
protected or fragmented ("data"); control frames have no body. Not decoded (no field): protocol
version 1 (802.11ah S1G), trigger, control-frame-extension, control-wrapper and
extension frames. Versions 2 and 3 show their version and FCS, then "data".

``summary`` is tcpdump's ``-e`` header text: "CF +QoS BSSID:... SA:... DA:..." for data
frames, "BSSID:... DA:... SA:..." for management frames, "RA:... Acknowledgment" and the
like for control frames, " [|802.11]" for a cut header.
"""

from __future__ import annotations

from typing import Any

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.dissect.ieee80211_mgt import FIELDS as MGT_FIELDS
from pcapkit.dissect.ieee80211_mgt import add_body, decodes
from pcapkit.dissect.link_common import cut_short, mac
from pcapkit.fields import FieldSpec

_FC_FLAGS = (("tods", 0x01), ("fromds", 0x02), ("frag", 0x04), ("retry", 0x08), ("pwrmgt", 0x10),
             ("moredata", 0x20), ("protected", 0x40), ("order", 0x80))
_ROLES = ("ra", "ta", "da", "sa", "bssid", "staa", "addr")

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("wlan.fc.type_subtype", "uint", 16, "hex", doc="type and subtype"),
    FieldSpec("wlan.fc", "uint", 16, "hex", doc="frame control (first byte high)"),
    FieldSpec("wlan.fc.version", "uint", 8, doc="protocol version"),
    FieldSpec("wlan.fc.type", "uint", 8, doc="type (0 management, 1 control, 2 data)"),
    FieldSpec("wlan.fc.subtype", "uint", 8, doc="subtype"),
    FieldSpec("wlan.flags", "uint", 8, "hex", doc="flags byte"),
    FieldSpec("wlan.fc.ds", "uint", 8, "hex", doc="DS status (to DS, from DS)"),
    *(FieldSpec(f"wlan.fc.{name}", "bool", doc=f"flag 0x{mask:02x}") for name, mask in _FC_FLAGS),
    FieldSpec("wlan.duration", "uint", 16, doc="duration (microseconds)"),
    FieldSpec("wlan.aid", "uint", 16, doc="association ID (PS-Poll)"),
    *(FieldSpec(f"wlan.{role}", "ether", doc=f"{role} address") for role in _ROLES),
    *(FieldSpec(f"wlan.{role}_resolved", "string", doc=f"{role} address (resolved; raw with -n)")
      for role in _ROLES),
    FieldSpec("wlan.frag", "uint", 16, doc="fragment number"),
    FieldSpec("wlan.seq", "uint", 16, doc="sequence number"),
    FieldSpec("wlan.fcs", "uint", 32, "hex", doc="frame check sequence"),
    FieldSpec("wlan.fcs.status", "uint", 8, doc="FCS status (2: unverified)"),
    FieldSpec("wlan.qos", "uint", 16, "hex", doc="QoS control"),
    FieldSpec("wlan.qos.tid", "uint", 16, doc="traffic identifier"),
    FieldSpec("wlan.qos.priority", "uint", 16, doc="user priority"),
    FieldSpec("wlan.qos.eosp", "bool", doc="end of service period (from the AP)"),
    FieldSpec("wlan.qos.bit4", "bool", doc="bit 4: the upper byte is a queue size (to the AP)"),
    FieldSpec("wlan.qos.ack", "uint", 16, "hex", doc="ack policy"),
    FieldSpec("wlan.qos.amsdupresent", "bool", doc="A-MSDU present"),
    FieldSpec("wlan.qos.ps_buf_state", "uint", 16, "hex", doc="AP PS buffer state"),
    FieldSpec("wlan.qos.buf_state_indicated", "bool", doc="buffer state indicated"),
    FieldSpec("wlan.qos.highest_pri_buf_ac", "uint", 16, doc="highest-priority buffered AC"),
    FieldSpec("wlan.qos.qap_buf_load", "uint", 16, doc="AP buffered load"),
    FieldSpec("wlan.qos.txop_dur_req", "uint", 16, doc="TXOP duration requested"),
    FieldSpec("wlan.qos.queue_size", "uint", 16, doc="queue size"),
    FieldSpec("wlan_aggregate.a_mdsu.length", "uint", 16, doc="A-MSDU subframe length"),
    *MGT_FIELDS,
)

MGMT, CTRL, DATA = 0, 1, 2
# control subtype -> (header length, roles of addr1 (and addr2), tcpdump's name); tshark 4.0
# shows a PS-Poll's duration/ID as an AID only when it is a valid one, and no TA for a CF-End
_CTRL: dict[int, tuple[int, tuple[tuple[str, ...], ...], str]] = {
    0x0: (10, (("ra",),), ""), 0x1: (10, (("ra",),), ""),
    0x3: (16, (("ra",), ("ta",)), ""), 0x4: (16, (("ra",), ("ta",)), ""), 0x5: (16, (("ra",), ("ta",)), ""),
    0x8: (20, (("ra",), ("ta",)), "BAR"), 0x9: (16, (("ra",), ("ta",)), "BA"),
    0xA: (16, (("ra", "bssid"), ("ta",)), "Power Save-Poll"), 0xB: (16, (("ra",), ("ta",)), "Request-To-Send"),
    0xC: (10, (("ra",),), "Clear-To-Send"), 0xD: (10, (("ra",),), "Acknowledgment"),
    0xE: (16, (("ra",), ("bssid",)), "CF-End"), 0xF: (16, (("ra",), ("ta",)), "CF-End+CF-Ack"),
}
_CTRL_SUMMARY = {0xA: ("BSSID", "TA"), 0xB: ("RA", "TA"), 0xC: ("RA",), 0xD: ("RA",), 0xE: ("RA", "BSSID"),
                 0xF: ("RA", "BSSID"), 0x8: ("RA", "TA"), 0x9: ("RA",)}


def dissect_wlan(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("wlan", offset)
    radio: dict[str, Any] = ctx.extra.get("radiotap", {})
    rflags = radio.get("flags", 0)
    reported = ctx.reported_end
    if end - offset < 2:
        cut_short(layer, offset, offset + 2, end, ctx, "802.11 frame control")
        return layer, None
    fc0, fc1 = data[offset], data[offset + 1]
    version, ftype, subtype = fc0 & 3, (fc0 >> 2) & 3, fc0 >> 4
    fcs_at = reported - 4 if rflags & 0x10 else None  # the FCS: the frame's last 4 bytes
    if version == 1:
        layer.length = 2
        return layer, None  # 802.11ah PV1 (S1G) frames: not decoded
    if version:
        # tshark: "Unknown Protocol Version", the rest (but the FCS) is data
        layer.add("wlan.fc.version", version)
        fcs_at = _fcs(layer, data, end, fcs_at, 2)
        layer.length = 2
        return layer, _body(data, offset + 2, end, ctx, fcs_at, "data")
    if (ftype == CTRL and subtype in (0x2, 0x6, 0x7)) or ftype == 3:
        layer.length = 2
        return layer, None  # trigger, control frame extension, control wrapper, extension frames: not decoded
    ds = fc1 & 3
    hdr_len = _header_length(ftype, subtype, fc1)
    # tcpdump takes the FCS off the captured bytes before it looks for the header
    complete = end - offset - (4 if rflags & 0x10 else 0) >= hdr_len
    layer.summary = " [|802.11]"  # tcpdump's truncation mark (after a second space)
    qos = None
    if ftype == DATA and subtype & 0x8:
        qos_at = offset + (30 if ds == 3 else 24)
        if end < qos_at + 2:  # tshark reads the QoS control before it adds a field
            cut_short(layer, qos_at, qos_at + 2, end, ctx, "802.11 QoS control")
            return layer, None
        qos = data[qos_at] | (data[qos_at + 1] << 8)
    amsdu = qos is not None and bool(qos & 0x80) and not subtype & 0x4
    _frame_control(layer, fc0, fc1, ftype, subtype)
    if end - offset < 4:
        cut_short(layer, offset + 2, offset + 4, end, ctx, "802.11 duration")
        return layer, None
    duration = data[offset + 2] | (data[offset + 3] << 8)
    if ftype == CTRL and subtype == 0xA and duration & 0xC000 == 0xC000 and 1 <= duration & 0x3FFF <= 2007:
        layer.add("wlan.aid", duration & 0x3FFF)  # a PS-Poll's valid association ID
    else:
        layer.add("wlan.duration", duration & 0x7FFF)
    # the address and sequence fields one by one, in tshark's order: it stops at the
    # first whose bytes are missing
    base = 0 if ftype == CTRL else 30 if ftype == DATA and ds == 3 else 24
    if not _emit_plan(layer, data, offset, end, ctx, _plan(ftype, subtype, ds, amsdu), base):
        return layer, None
    fcs_at = _fcs(layer, data, end, fcs_at, hdr_len)
    if ftype == CTRL and complete:
        layer.summary = _control_summary(data, offset, subtype, _CTRL[subtype][2])
    elif ftype == MGMT and complete:
        layer.summary = (f"BSSID:{mac(data[offset + 16:offset + 22])} DA:{mac(data[offset + 4:offset + 10])} "
                         f"SA:{mac(data[offset + 10:offset + 16])}")
    elif ftype == DATA:
        if complete:
            layer.summary = _data_summary(data, offset, ds, subtype)
        if qos is not None:
            _qos(layer, qos, ds, subtype)
    if end - offset < hdr_len:
        cut_short(layer, offset, offset + hdr_len, end, ctx, "802.11 header")
        return layer, None
    layer.length = hdr_len
    if ftype == CTRL:
        return layer, None  # no body
    if ftype == MGMT:
        if fc1 & 0x44:  # protected, or more fragments follow: tshark shows "data"
            return layer, _body(data, offset + hdr_len, end, ctx, fcs_at, "data")
        if decodes(subtype):  # fixed parameters and tags (pcapkit.dissect.ieee80211_mgt)
            body_end = fcs_at if fcs_at is not None else reported
            add_body(layer, data, offset + hdr_len, min(end, body_end), body_end, subtype, ctx.wirelen > ctx.caplen)
        return layer, None  # action, ATIM and measurement pilot bodies: not decoded
    return _data(layer, data, offset, end, ctx, fc1, subtype, fcs_at, rflags, hdr_len, amsdu)


_SEQ = (0, ())  # the sequence-control step of a plan
# the address steps (index 1-4, the roles it plays) of a frame, in tshark's order
_DATA_PLANS: dict[int, list[tuple[int, tuple[str, ...]]]] = {
    0: [(1, ("ra", "addr")), (2, ("ta", "addr")), (1, ("da",)), (2, ("sa",)), (3, ("bssid",)), _SEQ, (3, ("addr",))],
    1: [(1, ("ra", "addr")), (2, ("ta", "addr")), (3, ("da",)), (2, ("sa",)), (1, ("bssid",)), (2, ("staa",)), _SEQ,
        (3, ("addr",))],
    2: [(1, ("ra", "addr")), (2, ("ta", "addr")), (1, ("da",)), (3, ("sa",)), (2, ("bssid",)), (1, ("staa",)), _SEQ,
        (3, ("addr",))],
    3: [(1, ("ra", "addr")), (2, ("ta", "addr")), (3, ("da",)), (4, ("sa",)), _SEQ, (4, ("addr",)), (3, ("addr",))],
}


def _plan(ftype: int, subtype: int, ds: int, amsdu: bool) -> list[tuple[int, tuple[str, ...]]]:
    if ftype == CTRL:
        return [(i + 1, (*roles, "addr")) for i, roles in enumerate(_CTRL[subtype][1])]
    if ftype == MGMT:
        plan = [(1, ("ra", "addr")), (1, ("da",)), (2, ("ta", "sa")), (3, ("bssid",))]
        if ds in (1, 2):  # the station's address: the sender towards the AP, the receiver from it
            plan.append((3 - ds, ("staa",)))
        return [*plan, (2, ("addr",)), (3, ("addr",)), _SEQ]
    plan = _DATA_PLANS[ds]
    if amsdu:  # the end addresses are per subframe: tshark leaves addr3's (and addr4's) roles out
        plan = [step for step in plan if step[0] < 3]
    return plan


def _emit_plan(layer: Layer, data: bytes, offset: int, end: int, ctx: Context,
               plan: list[tuple[int, tuple[str, ...]]], base: int) -> bool:
    """Add the plan's fields; after the first address, management and data frames need
    their whole ``base`` header (tshark reads the sequence control, or addr4, then)."""
    for step, (index, names) in enumerate(plan):
        if step == 1 and base and end - offset < base:
            cut_short(layer, offset + 10, offset + base, end, ctx, "802.11 header")
            return False
        if not index:
            if end - offset < 24:
                cut_short(layer, offset + 22, offset + 24, end, ctx, "802.11 sequence control")
                return False
            _sequence(layer, data, offset)
            continue
        start = offset + (4, 10, 16, 24)[index - 1]
        if end < start + 6:
            cut_short(layer, start, start + 6, end, ctx, "802.11 addresses")
            return False
        _addresses(layer, data, offset, [(index, names)])
    return True


def _header_length(ftype: int, subtype: int, fc1: int) -> int:
    if ftype == CTRL:
        return _CTRL[subtype][0]
    if ftype == MGMT:
        return 24 + (4 if fc1 & 0x80 else 0)
    size = 30 if fc1 & 3 == 3 else 24
    if subtype & 0x8:  # QoS control, and the HT control the order bit announces
        size += 2 + (4 if fc1 & 0x80 else 0)
    return size


def _frame_control(layer: Layer, fc0: int, fc1: int, ftype: int, subtype: int) -> None:
    layer.add("wlan.fc.type_subtype", (ftype << 4) | subtype)
    layer.add("wlan.fc", (fc0 << 8) | fc1)
    layer.add("wlan.fc.version", fc0 & 3)
    layer.add("wlan.fc.type", ftype)
    layer.add("wlan.fc.subtype", subtype)
    layer.add("wlan.flags", fc1)
    layer.add("wlan.fc.ds", fc1 & 3)
    for name, mask in _FC_FLAGS:
        layer.add(f"wlan.fc.{name}", bool(fc1 & mask))


def _addresses(layer: Layer, data: bytes, offset: int, roles: list[tuple[int, tuple[str, ...]]]) -> None:
    """Address fields: (index 1-4, roles it plays); each role's field with its
    ``_resolved`` twin (``wlan.addr`` for the generic one)."""
    for index, names in roles:
        start = offset + (4, 10, 16, 24)[index - 1]
        text = mac(data[start:start + 6])
        for name in names:
            layer.add(f"wlan.{name}", text)
            layer.add(f"wlan.{name}_resolved", text)


def _sequence(layer: Layer, data: bytes, offset: int) -> None:
    seq = data[offset + 22] | (data[offset + 23] << 8)
    layer.add("wlan.frag", seq & 0x000F)
    layer.add("wlan.seq", seq >> 4)


def _fcs(layer: Layer, data: bytes, end: int, fcs_at: int | None, hdr_len: int) -> int | None:
    """The FCS fields when the frame has room for one after its header (and it was
    captured); returns where the FCS starts (None: no FCS)."""
    if fcs_at is None or fcs_at < layer.offset + hdr_len:
        return None
    if fcs_at + 4 <= end:
        layer.add("wlan.fcs", int.from_bytes(data[fcs_at:fcs_at + 4], "little"))
        layer.add("wlan.fcs.status", 2)
    return fcs_at


def _body(data: bytes, body: int, end: int, ctx: Context, fcs_at: int | None, key: str) -> Next | None:
    body_end = fcs_at if fcs_at is not None else ctx.reported_end
    cap_end = min(end, body_end)
    if cap_end <= body and body_end <= body:
        return None
    return Next("wlan.body", key, body, cap_end, body_end)


def _control_summary(data: bytes, offset: int, subtype: int, name: str) -> str:
    """tcpdump's ctrl_header_print and frame name (with -e)."""
    labels = _CTRL_SUMMARY.get(subtype, ())
    words = [f"{label}:{mac(data[offset + 4 + 6 * i:offset + 10 + 6 * i])}" for i, label in enumerate(labels)]
    if subtype == 0x8:  # tcpdump prints the BAR control and starting sequence, after a space
        control = data[offset + 16] | (data[offset + 17] << 8)
        seq = data[offset + 18] | (data[offset + 19] << 8)
        return " " + " ".join([*words, f"CTL({control:x})", f"SEQ({seq})", name])
    return " ".join([*words, name]) if name else " ".join(words)


def _data(layer: Layer, data: bytes, offset: int, end: int, ctx: Context, fc1: int, subtype: int,
          fcs_at: int | None, rflags: int, hdr_len: int, amsdu: bool) -> Result:
    if rflags & 0x20:  # radiotap "data pad": the body starts on a 4-byte boundary
        hdr_len = (hdr_len + 3) & ~3
        layer.length = hdr_len
    body = offset + hdr_len
    if subtype & 0x4:
        return layer, None  # null function: no body
    if fc1 & 0x44:  # protected, or more fragments follow: tshark shows "data"
        return layer, _body(data, body, end, ctx, fcs_at, "data")
    # a last fragment (fragment number > 0) is dissected as a whole frame, as tshark does
    # when it has not seen the first fragments (see the module docstring)
    body_end = fcs_at if fcs_at is not None else ctx.reported_end
    if amsdu and body_end - body > 4:  # shorter, tshark takes it for a plain MSDU
        return _amsdu(layer, data, body, end, ctx, fcs_at)
    return layer, _msdu(data, offset, body, end, ctx, fcs_at, fc1 & 3)


def _qos(layer: Layer, qos: int, ds: int, subtype: int) -> None:
    """The QoS control word; its bit 4 and upper byte read by direction, as tshark 4.0."""
    layer.add("wlan.qos", qos)
    layer.add("wlan.qos.tid", qos & 0x0F)
    layer.add("wlan.qos.priority", qos & 0x07)
    from_ap = ds >= 2
    layer.add("wlan.qos.eosp" if from_ap else "wlan.qos.bit4", bool(qos & 0x10))
    layer.add("wlan.qos.ack", (qos >> 5) & 0x03)
    if not subtype & 0x4:
        layer.add("wlan.qos.amsdupresent", bool(qos & 0x80))
    cf_poll = subtype & 0x3  # 0x2a/0x2b/0x2e/0x2f carry CF-Poll
    if from_ap:
        if subtype & 0x2:
            return  # the TXOP limit (CF-Poll) or nothing: not shown
        layer.add("wlan.qos.ps_buf_state", qos >> 8)
        layer.add("wlan.qos.buf_state_indicated", bool(qos & 0x0200))
        if qos & 0x0200:
            layer.add("wlan.qos.highest_pri_buf_ac", (qos >> 10) & 0x03)
            layer.add("wlan.qos.qap_buf_load", qos >> 12)
    elif subtype != 0xA or cf_poll != 0x2:
        layer.add("wlan.qos.queue_size" if qos & 0x10 else "wlan.qos.txop_dur_req", qos >> 8)


def _end_addresses(data: bytes, offset: int, ds: int) -> tuple[bytes, bytes]:
    """(DA, SA) of a data frame."""
    at = {0: (4, 10), 1: (16, 10), 2: (4, 16), 3: (16, 24)}[ds]
    return data[offset + at[0]:offset + at[0] + 6], data[offset + at[1]:offset + at[1] + 6]


def _msdu(data: bytes, offset: int, body: int, end: int, ctx: Context, fcs_at: int | None, ds: int) -> Next | None:
    """What carries the MSDU, as tshark guesses: LLC, an Ethernet frame (its addresses
    match the 802.11 ones), raw IPX (0xffff), or LLC after two zero bytes."""
    cap_end = min(end, fcs_at) if fcs_at is not None else end
    key = "llc"
    if cap_end - body >= 2 and not (data[body] == 0xAA and data[body + 1] == 0xAA):
        da, sa = _end_addresses(data, offset, ds)
        if data[body + 6:body + 12] == sa or data[body:body + 6] == da:
            key = "eth"
        elif data[body] == 0xFF and data[body + 1] == 0xFF:
            key = "ipx"
        elif data[body] == 0 and data[body + 1] == 0:
            body += 2
    if key == "llc":
        nxt = _body(data, body, end, ctx, fcs_at, "llc")
        return None if nxt is None else Next("llc", 0, nxt.offset, nxt.end, nxt.reported_end)
    return _body(data, body, end, ctx, fcs_at, key)


def _amsdu(layer: Layer, data: bytes, body: int, end: int, ctx: Context, fcs_at: int | None) -> Result:
    """The first A-MSDU subframe: DA, SA, length, then its MSDU to LLC (tshark goes on
    with the others; pcapkit's single chain stops after the first)."""
    body_end = fcs_at if fcs_at is not None else ctx.reported_end
    cap_end = min(end, body_end)
    if cap_end - body < 14:
        cut_short(layer, body, body + 14, cap_end, ctx, "A-MSDU subframe header")
        return layer, None
    for role, start in (("da", body), ("sa", body + 6)):
        text = mac(data[start:start + 6])
        layer.add(f"wlan.{role}", text)
        layer.add(f"wlan.{role}_resolved", text)
    length = (data[body + 12] << 8) | data[body + 13]
    layer.add("wlan_aggregate.a_mdsu.length", length)
    msdu = body + 14
    return layer, Next("llc", 0, msdu, min(cap_end, msdu + length), min(body_end, msdu + length))


def _data_summary(data: bytes, offset: int, ds: int, subtype: int) -> str:
    """tcpdump's data_header_print (with -e)."""
    words = []
    if subtype & 0xB:  # CF-Ack, CF-Poll or QoS
        cf = "CF "
        if subtype & 0x1:
            cf += "Ack/Poll" if subtype & 0x2 else "Ack"
        elif subtype & 0x2:
            cf += "Poll"
        if subtype & 0x8:
            cf += "+QoS"
        words.append(cf)
    names = {0: ("DA", "SA", "BSSID"), 1: ("BSSID", "SA", "DA"), 2: ("DA", "BSSID", "SA"), 3: ("RA", "TA", "DA", "SA")}[ds]
    words.extend(f"{name}:{mac(data[offset + at:offset + at + 6])}" for name, at in zip(names, (4, 10, 16, 24), strict=False))
    return " ".join(words)
