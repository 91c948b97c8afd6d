"""Radiotap and tshark's "wlan_radio" PHY view (LINKTYPE_IEEE802_11_RADIOTAP 127): tshark on
the corpus files and on a matrix of built headers (channel flags x rates x preamble, extra
present words, all antenna fields, frequencies of every band), tcpdump for the summaries."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from conftest import requires_tshark
from linkcheck import (
    assert_fields_match,
    check_summaries,
    corpus_of_linktype,
    requires_tcpdump,
    write_pcap,
)
from test_ieee80211 import KNOWN_FRAMES_802_11, summary_texts
from vectors import packet

FILES = corpus_of_linktype(127)
PREFIXES = ("radiotap.", "wlan_radio.")
_ACK = bytes.fromhex("d4000000001122334455") + b"\x01\x02\x03\x04"

# labs/Wireshark_802_11.pcap frame 1 (the radiotap header), tcpdump -n -e:
#   1.0 Mb/s 2437 MHz 11b -29dBm signal -100dBm noise 82 sq antenna 0 71dB signal BSSID:00:16:b6:f7:1d:51 ...
VECTOR = "00001800ee58000010028509a000e39c520000472608"


def _header(words: list[int], body: bytes) -> bytes:
    return struct.pack("<BBH", 0, 0, 4 + 4 * len(words) + len(body)) + b"".join(struct.pack("<I", w) for w in words) + body


def built_frames() -> list[bytes | tuple[bytes, int]]:
    frames: list[bytes | tuple[bytes, int]] = []
    for chflags in (0x00A0, 0x00C0, 0x0480, 0x0140, 0x0080, 0x0000, 0x0880, 0x00B0, 0x0150, 0x00D0, 0x2150, 0x4140,
                    0x02A0, 0x10A0, 0x00A8):
        for rate in (2, 11, 12, 108, 0, 3):
            for flags in (0x10, 0x12, 0x00):
                body = bytes([flags, rate]) + struct.pack("<HH", 2437, chflags) + bytes([0xE3, 0x9C])
                frames.append(_header([0x6E], body) + (_ACK if flags & 0x10 else _ACK[:-4]))
    frames.append(_header([0x0C], bytes([2, 0]) + struct.pack("<HH", 2412, 0x00A0)) + _ACK)  # no flags field
    # two radiotap namespaces, the later antenna signal is the one tshark keeps
    frames.append(_header([0xA000002E, 0x820], bytes([0x10, 12]) + struct.pack("<HH", 5180, 0x0140) + bytes([0xB0, 0xC0, 1]))
                  + _ACK)
    tsft = struct.pack("<Q", 123456789) + bytes([0x10, 4]) + struct.pack("<HH", 2484, 0x00A0)
    frames.append(_header([0x38EF], tsft + bytes([0xC8, 0xA0]) + struct.pack("<H", 77) + bytes([3, 40, 5])) + _ACK)
    for freq in (2412, 2472, 2467, 2484, 5000, 5180, 5925, 5940, 5995, 4920, 4980, 5955, 6115, 0, 900):
        frames.append(_header([0x0E], bytes([0x10, 12]) + struct.pack("<HH", freq, 0x0140)) + _ACK)
    # a header cut short (tshark shows what it read); a header alone is left out: the driver
    # calls no dissector after a layer that ends the bytes, tshark still shows wlan_radio
    frames += [_header([0x0E], bytes([0x10, 12]))[:6], _header([0x0E], bytes([0x10, 12]))[:4]]
    return frames


def test_hex_vector() -> None:
    p = packet(VECTOR + "80000000ffffffffffff0016b6f71d510016b6f71d5160b2", 127, wirelen=183)
    f = p.fields()
    assert f["radiotap.length"] == 24 and f["radiotap.present.word"] == 0x58EE
    assert f["radiotap.flags.fcs"] is True and f["radiotap.datarate"] == 1 and f["radiotap.channel.freq"] == 2437
    assert (f["radiotap.dbm_antsignal"], f["radiotap.dbm_antnoise"], f["radiotap.quality"]) == (-29, -100, 82)
    assert (f["wlan_radio.phy"], f["wlan_radio.channel"], f["wlan_radio.snr"]) == (4, 6, 71)
    # 802.11b, long preamble: 192 us + 159 bytes at 1 Mb/s
    assert (f["wlan_radio.duration"], f["wlan_radio.preamble"]) == (1464, 192)
    assert p.protocols.startswith("radiotap:wlan_radio:wlan")
    assert p.layer("radiotap").summary == ("1.0 Mb/s 2437 MHz 11b -29dBm signal -100dBm noise 82 sq antenna 0 "
                                           "71dB signal")


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    assert_fields_match(path, PREFIXES, skip=lambda n: n in KNOWN_FRAMES_802_11.get(path.name, ()))


@requires_tshark
@pytest.mark.tshark
def test_built_headers_match_tshark(tmp_path: Path) -> None:
    path = write_pcap(tmp_path / "radiotap.pcap", 127, built_frames())
    assert_fields_match(path, (*PREFIXES, "wlan."))


@requires_tcpdump
def test_summaries_match_tcpdump(tmp_path: Path) -> None:
    frames = built_frames()
    path = write_pcap(tmp_path / "radiotap.pcap", 127, frames)
    assert check_summaries(path, tmp_path, summary_texts) == len(frames)
