"""The body of 802.11 management frames ("wlan.mgt"), as tshark 4.0 shows it.

Fixed parameters by subtype (IEEE 802.11-2020 9.3.3): beacon and probe response
(timestamp, beacon interval in time units, capability information), association and
reassociation request (capabilities, listen interval, the current AP), their responses
(capabilities, status code, association ID), authentication (algorithm, transaction
sequence number, status code), disassociation and deauthentication (reason code). Then the
tagged parameters (elements: ID, length, contents), every tag's ``wlan.tag.number`` and
``wlan.tag.length``; the contents of SSID, Supported Rates, DS Parameter Set, TIM and
Extended Supported Rates (tshark's checks on their lengths: a wrong one gives the tag
without contents). Other subtypes (ATIM, action frames, timing advertisement) are not
decoded (no layer).

Like tshark, the fields come one by one and stop where the bytes do: past the captured
bytes a *truncated* finding, past the frame a *malformed* one; a tag whose length runs past
the body shows its ID and length, then the finding. The walk over the tags moves forward
by at least two bytes a step, so it ends.
"""

from __future__ import annotations

from pcapkit.dissect.base import Layer
from pcapkit.dissect.link_common import mac
from pcapkit.fields import MISSING, FieldSpec

ASSOC_REQ, ASSOC_RESP, REASSOC_REQ, REASSOC_RESP, PROBE_REQ, PROBE_RESP = 0, 1, 2, 3, 4, 5
BEACON, DISASSOC, AUTH, DEAUTH = 8, 10, 11, 12
TAG_SSID, TAG_RATES, TAG_DS, TAG_TIM, TAG_EXT_RATES, TAG_SWITCH_WRAPPER = 0, 1, 3, 5, 50, 196

# capability information bits tshark names the same way for every non-DMG frame
_CAPABILITIES = (("ess", 0x0001), ("ibss", 0x0002), ("privacy", 0x0010), ("short_preamble", 0x0020),
                 ("spec_man", 0x0100), ("qos", 0x0200), ("short_slot_time", 0x0400), ("apsd", 0x0800),
                 ("radio_measurement", 0x1000), ("epd", 0x2000))

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("wlan.fixed.timestamp", "uint", 64, doc="TSF timer of the sender (microseconds)"),
    FieldSpec("wlan.fixed.beacon", "uint", 16, doc="beacon interval (time units of 1024 us)"),
    FieldSpec("wlan.fixed.capabilities", "uint", 16, "hex", doc="capability information"),
    *(FieldSpec(f"wlan.fixed.capabilities.{name}", "bool", doc=f"capability bit 0x{mask:04x}")
      for name, mask in _CAPABILITIES),
    FieldSpec("wlan.fixed.listen_ival", "uint", 16, "hex", doc="listen interval (beacon intervals)"),
    FieldSpec("wlan.fixed.current_ap", "ether", doc="the AP the station is associated with (reassociation)"),
    FieldSpec("wlan.fixed.status_code", "uint", 16, "hex", doc="status code (0: successful)"),
    FieldSpec("wlan.fixed.aid", "uint", 16, "hex", doc="association ID"),
    FieldSpec("wlan.fixed.auth.alg", "uint", 16, doc="authentication algorithm (0 open system, 1 shared key)"),
    FieldSpec("wlan.fixed.auth_seq", "uint", 16, "hex", doc="authentication transaction sequence number"),
    FieldSpec("wlan.fixed.reason_code", "uint", 16, "hex", doc="reason code"),
    FieldSpec("wlan.tag.number", "uint", 8, doc="element ID"),
    FieldSpec("wlan.tag.length", "uint", 8, doc="element length"),
    FieldSpec("wlan.ssid", "bytes", doc="SSID (raw bytes, as tshark -T fields prints them)"),
    FieldSpec("wlan.supported_rates", "uint", 8, "hex", doc="a supported rate (500 kb/s units; 0x80: basic)"),
    FieldSpec("wlan.extended_supported_rates", "uint", 8, "hex", doc="an extended supported rate"),
    FieldSpec("wlan.ds.current_channel", "uint", 8, doc="current channel (DS parameter set)"),
    FieldSpec("wlan.tim.dtim_count", "uint", 8, doc="beacons until the next DTIM"),
    FieldSpec("wlan.tim.dtim_period", "uint", 8, doc="beacon intervals between DTIMs"),
    FieldSpec("wlan.tim.bmapctl", "uint", 8, "hex", doc="TIM bitmap control"),
)

# subtype -> its fixed parameters in order: (name, size)
_FIXED: dict[int, tuple[tuple[str, int], ...]] = {
    ASSOC_REQ: (("capabilities", 2), ("listen_ival", 2)),
    ASSOC_RESP: (("capabilities", 2), ("status_code", 2), ("aid", 2)),
    REASSOC_REQ: (("capabilities", 2), ("listen_ival", 2), ("current_ap", 6)),
    REASSOC_RESP: (("capabilities", 2), ("status_code", 2), ("aid", 2)),
    PROBE_REQ: (),
    PROBE_RESP: (("timestamp", 8), ("beacon", 2), ("capabilities", 2)),
    BEACON: (("timestamp", 8), ("beacon", 2), ("capabilities", 2)),
    DISASSOC: (("reason_code", 2),),
    AUTH: (("auth.alg", 2), ("auth_seq", 2), ("status_code", 2)),
    DEAUTH: (("reason_code", 2),),
}


def decodes(subtype: int) -> bool:
    """Is the body of a management frame of this subtype decoded?"""
    return subtype in _FIXED


def add_body(layer: Layer, data: bytes, offset: int, end: int, reported: int, subtype: int, snapped: bool) -> None:
    """The fields of the body at ``data[offset:end]`` (``reported``: where it ends on the
    wire, the FCS cut off) of a management frame of ``subtype``, added to the ``wlan``
    layer (tshark's "wlan.mgt" tree is no protocol of its own in ``frame.protocols``).
    ``snapped``: the capture cut the frame (running out of bytes is then *truncated*)."""
    at = offset
    for name, size in _FIXED[subtype]:
        if at + size > end:
            _short(layer, at, at + size, end, reported, snapped, "802.11 fixed parameters")
            return
        _fixed(layer, name, data, at, size)
        at += size
    while at < reported:
        if at + 2 > end:
            _short(layer, at, at + 2, end, reported, snapped, "802.11 tag")
            return
        number, length = data[at], data[at + 1]
        layer.add("wlan.tag.number", number)
        layer.add("wlan.tag.length", length)
        body, stop = at + 2, at + 2 + length
        complete = _tag(layer, data, number, body, length, min(end, stop))
        if stop > reported:  # tshark dissects what there is of the contents first
            layer.malformed(at + 1, f"802.11 tag {number}: length {length} runs past the frame's "
                            f"{reported - body} remaining bytes")
            return
        if not complete:
            _short(layer, body, stop, end, reported, snapped, f"802.11 tag {number}")
            return
        at = stop


def _short(layer: Layer, at: int, need: int, end: int, reported: int, snapped: bool, what: str) -> None:
    """The body needs bytes up to ``need``; the captured ones stop at ``end``."""
    if need <= reported and snapped:
        layer.truncated(end, f"captured bytes end inside the {what}")
    else:
        layer.malformed(at, f"{what} needs {need - at} bytes, the frame has {max(reported - at, 0)}")


def _fixed(layer: Layer, name: str, data: bytes, at: int, size: int) -> None:
    if name == "current_ap":
        layer.add("wlan.fixed.current_ap", mac(data[at:at + 6]))
        return
    value = int.from_bytes(data[at:at + size], "little")
    if name == "aid":
        value &= 0x3FFF  # the two top bits are set by convention, not part of the ID
    layer.add(f"wlan.fixed.{name}", value)
    if name == "capabilities":
        for bit, mask in _CAPABILITIES:
            layer.add(f"wlan.fixed.capabilities.{bit}", bool(value & mask))


def _tag(layer: Layer, data: bytes, number: int, body: int, length: int, cap_end: int) -> bool:
    """The contents of one tag; False when its captured bytes end before its fields do."""
    if number == TAG_SSID:
        if "wlan.ssid" in layer.fields:
            return True  # tshark shows the first SSID element's only
        if cap_end < body + length:
            return False
        # tshark -T fields prints an empty SSID (the wildcard of a probe request) as <MISSING>
        layer.add("wlan.ssid", bytes(data[body:body + length]) if length else MISSING)
    elif number in (TAG_RATES, TAG_EXT_RATES):
        name = "wlan.supported_rates" if number == TAG_RATES else "wlan.extended_supported_rates"
        for at in range(body, body + length):
            if at >= cap_end:
                return False
            layer.add(name, data[at])
    elif number == TAG_DS and length == 1:
        if cap_end <= body:
            return False
        layer.add("wlan.ds.current_channel", data[body])
    elif number == TAG_TIM and length >= 4:
        for at, name in enumerate(("wlan.tim.dtim_count", "wlan.tim.dtim_period", "wlan.tim.bmapctl"), body):
            if at >= cap_end:
                return False
            layer.add(name, data[at])
    elif number == TAG_SWITCH_WRAPPER:  # sub-elements: their IDs and lengths (tshark decodes none we do)
        at = body
        while at < body + length:
            if at + 2 > cap_end:
                return False
            layer.add("wlan.tag.number", data[at])
            layer.add("wlan.tag.length", data[at + 1])
            at += 2 + data[at + 1]
    return True
