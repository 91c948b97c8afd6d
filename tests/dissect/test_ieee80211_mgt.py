"""802.11 management frame bodies (fixed parameters, tags): built frames of every decoded
subtype, tags of wrong lengths, a tag running past the frame, cuts at every byte (snapped
and short on the wire) compared field by field with tshark; the hex vector of the lab's
first beacon; random bodies give findings, never exceptions."""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark
from fieldcompare import assert_matches_tshark
from linkcheck import write_pcap
from test_ieee80211 import MGT_PREFIXES, header, radiotap
from vectors import packet

from pcapkit.dissect.ieee80211_mgt import decodes

SSID = bytes([0, 12]) + b"30 Munroe St"
RATES = bytes([1, 4, 0x82, 0x84, 0x8B, 0x96])
DS = bytes([3, 1, 6])
TIM = bytes([5, 4, 0, 1, 0, 0])
EXT = bytes([50, 8, 0x8C, 0x12, 0x98, 0x24, 0xB0, 0x48, 0x60, 0x6C])
VENDOR = bytes([221, 5, 0x00, 0x50, 0xF2, 0x02, 0x01])
TAGS = SSID + RATES + DS + TIM + EXT + VENDOR
_FCS = b"\x12\x34\x56\x78"
_CAPS = struct.pack("<H", 0x0431)
# subtype -> fixed parameters of the frame
FIXED = {
    0: _CAPS + struct.pack("<H", 10),                                        # association request
    1: _CAPS + struct.pack("<HH", 0, 0xC005),                                # association response
    2: _CAPS + struct.pack("<H", 10) + bytes.fromhex("0016b6f71d51"),        # reassociation request
    3: _CAPS + struct.pack("<HH", 17, 0xC001),                               # reassociation response
    4: b"",                                                                  # probe request
    5: struct.pack("<QH", 174319001986, 100) + _CAPS,                        # probe response
    8: struct.pack("<QH", 174319001986, 100) + struct.pack("<H", 0x0601),    # beacon
    10: struct.pack("<H", 8),                                                # disassociation
    11: struct.pack("<HHH", 0, 1, 0),                                        # authentication
    12: struct.pack("<H", 3),                                                # deauthentication
}


def frames() -> list[bytes | tuple[bytes, int]]:
    out: list[bytes | tuple[bytes, int]] = []
    for subtype, fixed in FIXED.items():
        for flags in (0x00, 0x80):  # +HTC (order): 4 more header bytes
            out.append(radiotap() + header(0, subtype, flags) + fixed + TAGS + _FCS)
        out.append(radiotap(0x00) + header(0, subtype, 0) + fixed + TAGS)  # no FCS
    beacon = header(0, 8, 0) + FIXED[8]
    odd = [bytes([0, 0]),                           # the wildcard SSID
           bytes([1, 0]), bytes([50, 0]),           # no rates
           bytes([3, 2, 6, 7]), bytes([3, 0]),      # DS parameter set of the wrong length
           bytes([5, 3, 0, 1, 0]), bytes([5, 0]),   # TIM too short
           bytes([196, 7, 0, 2, 65, 66, 3, 1, 6]),  # channel switch wrapper: sub-elements
           bytes([0, 33]) + bytes(range(65, 98)),   # an SSID longer than 32
           bytes([3, 1, 11]),                       # a second DS parameter set
           ]
    out += [radiotap() + beacon + tag + TAGS + _FCS for tag in odd]
    out += [radiotap() + beacon + SSID + bytes([1, 40, 0x82, 0x84]) + _FCS,  # rates run past the frame
            radiotap() + beacon + SSID + bytes([0, 30]) + b"abc" + _FCS,     # an SSID runs past the frame
            radiotap() + beacon + SSID + bytes([7]) + _FCS]                    # a lone tag number
    # cuts at every byte of a beacon and an authentication: short on the wire, and snapped
    for full in (radiotap(0x00) + beacon + TAGS, radiotap(0x00) + header(0, 11, 0) + FIXED[11] + SSID):
        for cut in range(32, len(full)):
            out.append(full[:cut])
            out.append((full[:cut], len(full)))
    return out


@requires_tshark
@pytest.mark.tshark
def test_built_frames_match_tshark(tmp_path: Path) -> None:
    built = frames()
    path = write_pcap(tmp_path / "mgt.pcap", 127, built)
    result = assert_matches_tshark(path, prefixes=MGT_PREFIXES)
    assert result.compared > 2000
    for name in ("wlan.ssid", "wlan.supported_rates", "wlan.ds.current_channel", "wlan.tim.dtim_period",
                 "wlan.fixed.auth.alg", "wlan.fixed.aid", "wlan.fixed.current_ap", "wlan.fixed.reason_code"):
        assert name in result.fields, name


@requires_tshark
@pytest.mark.tshark
def test_lab_trace_fields_compared() -> None:
    """The lab trace's body fields: compared with tshark (test_ieee80211 checks them all), and there."""
    result = assert_matches_tshark(CORPUS / "labs" / "Wireshark_802_11.pcap", fields=(
        "wlan.ssid", "wlan.fixed.beacon", "wlan.fixed.timestamp", "wlan.fixed.capabilities", "wlan.supported_rates",
        "wlan.extended_supported_rates", "wlan.ds.current_channel", "wlan.fixed.auth.alg", "wlan.fixed.status_code",
        "wlan.fixed.aid", "wlan.fixed.reason_code", "wlan.tim.dtim_count"), allowed=lambda d: d.frame == 1895)
    assert result.compared > 5000


def test_hex_vector() -> None:
    """labs/Wireshark_802_11.pcap frame 1's body: beacon, 30 Munroe St, channel 6."""
    body = FIXED[8] + SSID + RATES + DS + TIM
    p = packet((radiotap() + header(0, 8, 0) + body + _FCS).hex(), 127)
    f = p.fields()
    assert (f["wlan.fixed.timestamp"], f["wlan.fixed.beacon"], f["wlan.fixed.capabilities"]) == (174319001986, 100,
                                                                                                  0x0601)
    assert f["wlan.fixed.capabilities.ess"] is True and f["wlan.fixed.capabilities.privacy"] is False
    assert f["wlan.ssid"] == b"30 Munroe St" and f["wlan.supported_rates"] == [0x82, 0x84, 0x8B, 0x96]
    assert f["wlan.ds.current_channel"] == 6 and f["wlan.tim.dtim_period"] == 1
    assert f["wlan.tag.number"] == [0, 1, 3, 5] and not p.findings


def test_random_bodies_give_findings_not_exceptions() -> None:
    rng = random.Random(80211)
    for n in range(3000):
        subtype = rng.choice([s for s in range(16) if decodes(s)])
        body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        data = radiotap(rng.choice((0x00, 0x10))) + header(0, subtype, rng.choice((0, 0x80))) + body
        cut = rng.randrange(16, len(data) + 1)  # past the 14-byte radiotap header
        p = packet(data[:cut].hex(), 127, wirelen=len(data), number=n + 1)
        assert p.layer("wlan") is not None
