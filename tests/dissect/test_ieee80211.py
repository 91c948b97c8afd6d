"""IEEE 802.11 MAC frames behind radiotap: tshark on the corpus files and on a matrix of
built frames (every management, control and data subtype x DS bits x flags, QoS words,
A-MSDU, protected and fragmented frames, truncations at every header boundary),
tcpdump -e for the summaries, the hex vector of a QoS data frame."""

from __future__ import annotations

import random
import struct
from pathlib import Path
from typing import Any

import pytest
from conftest import requires_tshark
from fieldcompare import assert_matches_tshark
from linkcheck import (
    assert_protocols_prefix,
    check_summaries,
    corpus_of_linktype,
    layer_of,
    requires_tcpdump,
    write_pcap,
)
from oracle import tshark_fields
from test_tshark_parity import KNOWN_FRAMES
from vectors import packet

from pcapkit.dissect.ieee80211_mgt import decodes

FILES = corpus_of_linktype(127)
PREFIXES = ("wlan.", "wlan_aggregate.", "llc.", "ip.", "eth.")
# frames the corpus-wide parity test explains (802.11 version 1; LLC I/S frames), by file name
KNOWN_FRAMES_802_11: dict[str, set[int]] = {}
for _path, _frames, _reason in KNOWN_FRAMES:
    KNOWN_FRAMES_802_11.setdefault(Path(_path).name, set()).update(_frames)

MGT_PREFIXES = ("wlan.fixed.", "wlan.tag.", "wlan.ssid", "wlan.supported_rates", "wlan.extended_supported_rates",
                "wlan.ds.", "wlan.tim.")


# a corrupted beacon (its radiotap RX flags hold the FCS bytes) whose tagged parameters tshark
# 4.0 takes to run through the FCS, reading tag 104 from it; pcapkit's tags stop at the FCS,
# as tshark's do in every other frame with one (frame 2342's rates too)
FCS_AS_TAGS = {"Wireshark_802_11.pcap": {1895}}


def not_decoded(path: Path) -> set[int]:
    """Frames whose management fields tshark takes from bodies pcapkit does not decode: the
    management subtypes pcapkit leaves alone (measurement pilot, ATIM, action frames) and the
    EAPOL key data of 802.1X frames (its tags are 802.11 elements)."""
    rows = tshark_fields(path, ["frame.number", "frame.protocols", "wlan.fc.type", "wlan.fc.subtype"])
    return {int(r["frame.number"]) for r in rows if ":eapol" in r.get("frame.protocols", "") or (
        r.get("wlan.fc.type") == "0" and not decodes(int(r.get("wlan.fc.subtype", "0"))))}


# labs/Wireshark_802_11.pcap frame 512 (radiotap, then the first 34 bytes of 802.11), tcpdump -n -e:
#   48.0 Mb/s 2437 MHz 11g -34dBm signal -100dBm noise 100 sq antenna 0 66dB signal CF +QoS
#   DA:00:13:02:d1:b6:4f BSSID:00:16:b6:f7:1d:51 SA:00:16:b6:f4:eb:a8 LLC, dsap SNAP (0xaa) ...
VECTOR = ("00001800ee580000106c8509c000de9c560000420608" "0000"
          "880a2800001302d1b64f0016b6f71d510016b6f4eba8c0c30007aaaa030000000800")

_IP = bytes.fromhex("45000028000100004006 66cd0a0000010a00000204d20050000000010000000050022000 00000000"
                    .replace(" ", ""))
_SNAP_IP = bytes.fromhex("aaaa030000000800") + _IP
_FCS = b"\xde\xad\xbe\xef"
_A = [bytes([0x02, 0x11, 0x22, 0x33, 0x44, i]) for i in range(1, 5)]
# subtypes pcapkit does not decode: trigger, control frame extension, control wrapper (and type 3)
_UNDECODED = {(1, 2), (1, 6), (1, 7)}


def radiotap(flags: int = 0x10) -> bytes:
    body = bytes([flags, 12]) + struct.pack("<HH", 2437, 0x00C0)
    return struct.pack("<BBHI", 0, 0, 8 + len(body), 0x0E) + body


def header(ftype: int, subtype: int, flags: int, qos: int = 0, seq: int = 0x50, duration: int = 0x10) -> bytes:
    h = bytes([(subtype << 4) | (ftype << 2), flags]) + struct.pack("<H", duration) + _A[0] + _A[1] + _A[2]
    h += struct.pack("<H", seq)
    if ftype == 2 and flags & 3 == 3:
        h += _A[3]
    if ftype == 2 and subtype & 8:
        h += struct.pack("<H", qos)
    if (ftype == 0 or (ftype == 2 and subtype & 8)) and flags & 0x80:
        h += bytes(4)
    return h


def matrix() -> list[bytes | tuple[bytes, int]]:
    rng = random.Random(7)
    frames: list[bytes | tuple[bytes, int]] = []
    for ftype in (0, 1, 2):
        for subtype in range(16):
            if (ftype, subtype) in _UNDECODED:
                continue
            for ds in range(4):
                for extra in (0x00, 0x40, 0x04, 0x80, 0x38):
                    h = header(ftype, subtype, ds | extra, qos=rng.randrange(65536) & 0xFF7F,
                               seq=rng.randrange(65536) & 0xFFF0, duration=rng.randrange(65536))
                    frames.append(radiotap() + h + (_SNAP_IP if ftype == 2 else bytes(range(20))) + _FCS)
    return frames


def special() -> list[bytes | tuple[bytes, int]]:
    data_h = header(2, 0, 0x01)
    qos_h = header(2, 8, 0x02)
    frames: list[bytes | tuple[bytes, int]] = [
        radiotap(0x00) + data_h + _SNAP_IP, radiotap(0x30) + header(2, 8, 1) + b"\0\0" + _SNAP_IP + _FCS,
        radiotap() + data_h + b"\xff\xff" + bytes(30) + _FCS, radiotap(0x00) + data_h + _A[2] + _A[1] + b"\x08\x00" + _IP,
        radiotap() + data_h + b"\x00\x00" + _SNAP_IP + _FCS, radiotap() + data_h + b"\xe0\xe0\x03" + bytes(20) + _FCS,
        # A-MSDU with one subframe (DA, SA, length, then the MSDU), and too short to be one
        radiotap() + header(2, 8, 0x02, qos=0x0080) + _A[0] + _A[2] + struct.pack("!H", len(_SNAP_IP)) + _SNAP_IP + _FCS,
        radiotap() + header(2, 8, 0x01, qos=0x0080) + _A[2] + _A[1] + struct.pack("!H", len(_SNAP_IP)) + _SNAP_IP + _FCS,
        radiotap() + header(2, 8, 0x02, qos=0x0080) + b"\xaa\xaa\x03\x00" + _FCS,
        # a last fragment whose first ones were never seen: tshark dissects it whole
        radiotap() + header(2, 8, 0x02, seq=0x1237) + _SNAP_IP + _FCS,
        # protocol versions 2 and 3: the frame-control version, then data
        radiotap() + b"\x0a\x01" + bytes(30) + _FCS, radiotap() + b"\x8b\x01" + bytes(30) + _FCS,
    ]
    for value in (0xC000, 0xC001, 0xC7D7, 0xC7D8, 0x8001, 0x4001):  # PS-Poll: AID or duration
        frames.append(radiotap() + bytes([0xA4, 0]) + struct.pack("<H", value) + _A[0] + _A[1] + _FCS)
    # truncations at every header boundary; never 1-2 bytes of LLC (dissect_llc, shared with
    # Ethernet, shows no field then, where tshark shows the DSAP/SSAP it has)
    for full, llc_at in ((radiotap(0x00) + header(2, 0, 1) + _SNAP_IP, 38), (radiotap(0x00) + header(2, 0, 3) + _SNAP_IP, 44),
                         (radiotap(0x00) + header(0, 8, 2) + bytes(12), 99), (radiotap(0x00) + header(1, 11, 0) + bytes(6), 99),
                         (radiotap(0x00) + header(1, 13, 0), 99), (radiotap() + qos_h + _SNAP_IP + _FCS, 40)):
        fcs = 4 if full[8] & 0x10 else 0
        for cut in (15, 16, 17, 18, 24, 25, 30, 31, 36, 38, 40, 44, 46, 48):
            if cut < len(full) and not 0 < cut - fcs - llc_at < 3:
                frames.append(full[:cut])
    return frames


def summary_texts(p: Any) -> list[str]:
    """tcpdump -e's line starts with the radiotap summary, then the 802.11 one."""
    rt = layer_of(p, "radiotap").summary
    wlan = p.layer("wlan")
    text = f"{rt} {wlan.summary}" if wlan is not None and wlan.summary else rt
    return [text, f"{text}$"]


def test_hex_vector() -> None:
    p = packet(VECTOR, 127, wirelen=1562)
    f = p.fields()
    assert f["wlan.fc.type_subtype"] == 0x28 and f["wlan.fc"] == 0x880A and f["wlan.fc.retry"] is True
    assert f["wlan.ra"] == f["wlan.da"] == f["wlan.staa"] == "00:13:02:d1:b6:4f"
    assert f["wlan.ta"] == f["wlan.bssid"] == "00:16:b6:f7:1d:51" and f["wlan.sa"] == "00:16:b6:f4:eb:a8"
    assert f["wlan.addr"] == ["00:13:02:d1:b6:4f", "00:16:b6:f7:1d:51", "00:16:b6:f4:eb:a8"]
    assert (f["wlan.seq"], f["wlan.qos"], f["wlan.qos.ps_buf_state"], f["wlan.qos.highest_pri_buf_ac"]) == (3132, 0x0700, 7, 1)
    assert f["llc.type"] == 0x0800
    assert p.layer("wlan").summary == "CF +QoS DA:00:13:02:d1:b6:4f BSSID:00:16:b6:f7:1d:51 SA:00:16:b6:f4:eb:a8"


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_matches_tshark(path: Path) -> None:
    known = KNOWN_FRAMES_802_11.get(path.name, set()) | FCS_AS_TAGS.get(path.name, set())
    undecoded = not_decoded(path)
    assert_matches_tshark(path, prefixes=PREFIXES, allowed=lambda d: d.frame in known or (
        d.frame in undecoded and d.ours is None and d.field.startswith(MGT_PREFIXES)))
    assert assert_protocols_prefix(path) > 0


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("frames", [matrix, special], ids=["matrix", "special"])
def test_built_frames_match_tshark(frames: Any, tmp_path: Path) -> None:
    built = frames()
    path = write_pcap(tmp_path / "wlan.pcap", 127, built)
    undecoded = not_decoded(path)
    assert_matches_tshark(path, prefixes=(*PREFIXES, "radiotap.", "wlan_radio."), allowed=lambda d: (
        d.frame in undecoded and d.ours is None and d.field.startswith(MGT_PREFIXES)))
    assert assert_protocols_prefix(path) == len(built)


@requires_tcpdump
@pytest.mark.parametrize("frames", [matrix, special], ids=["matrix", "special"])
def test_summaries_match_tcpdump(frames: Any, tmp_path: Path) -> None:
    built = frames()
    path = write_pcap(tmp_path / "wlan.pcap", 127, built)
    assert check_summaries(path, tmp_path, summary_texts) == len(built)


@requires_tcpdump
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_corpus_summaries_match_tcpdump(path: Path, tmp_path: Path) -> None:
    assert check_summaries(path, tmp_path, summary_texts) > 0
