"""Radiotap (LINKTYPE_IEEE802_11_RADIOTAP = 127) and tshark's "wlan_radio" summary of it.

Radiotap: version, pad, a little-endian header length, one or more 32-bit "present"
words (bit 31: another word follows; bit 29: it restarts the radiotap namespace, as in
broken/bad_rsn_parsing_overrides_ssid.pcap; bit 30: a vendor namespace), then the fields
of the present bits, each aligned to its natural size from the header start. Decoded:
TSFT, flags, rate, channel, FHSS, antenna signal/noise (dBm and dB), lock quality, TX
attenuation and power, antenna, RX flags; the other known fields are stepped over and
not shown. A vendor namespace or the TLV bit stops the walk: only the header fields
are then shown. The 802.11 frame starts at the header length.

"wlan_radio" (a protocol of its own in ``frame.protocols``, with no bytes) is tshark
4.0's PHY view: the PHY from the channel flags (and, when they say 802.11g or nothing,
from the rate: DSSS/CCK rates mean 802.11b, OFDM rates 802.11g), data rate, channel
number, signal and noise, and the airtime computed as tshark does (802.11b: preamble
192 or 96 us plus the bits at the rate; 802.11a/g: 20 us plus 4-us OFDM symbols), with
the TSF start and end when a TSFT is present (tshark takes it as the end of the frame).
With an XChannel, MCS, VHT or HE field (which change tshark's PHY view) wlan_radio shows
no field.

``summary`` is tcpdump's radiotap text: "1.0 Mb/s 2437 MHz 11b -29dBm signal -100dBm
noise 82 sq antenna 0 71dB signal".
"""

from __future__ import annotations

import math
import struct
from typing import Any

from pcapkit.dissect.base import Context, Layer, LazyLayer, Next, Result
from pcapkit.dissect.link_common import cut_short
from pcapkit.fields import FieldSpec

_PRESENT_BITS = (
    (0, "tsft"), (1, "flags"), (2, "rate"), (3, "channel"), (4, "fhss"), (5, "dbm_antsignal"),
    (6, "dbm_antnoise"), (7, "lock_quality"), (8, "tx_attenuation"), (9, "db_tx_attenuation"),
    (10, "dbm_tx_power"), (11, "antenna"), (12, "db_antsignal"), (13, "db_antnoise"), (14, "rxflags"),
    (15, "txflags"), (17, "data_retries"), (18, "xchannel"), (19, "mcs"), (20, "ampdu"), (21, "vht"),
    (22, "timestamp"), (23, "he"), (24, "he_mu"), (26, "0_length.psdu"), (27, "l_sig"), (28, "tlv"),
    (29, "rtap_ns"), (30, "vendor_ns"), (31, "ext"),
)
_FLAG_BITS = ((0x01, "cfp"), (0x02, "preamble"), (0x04, "wep"), (0x08, "frag"), (0x10, "fcs"),
              (0x20, "datapad"), (0x40, "badfcs"), (0x80, "shortgi"))
_CHANNEL_BITS = ((0x0001, "700mhz"), (0x0002, "800mhz"), (0x0004, "900mhz"), (0x0010, "turbo"),
                 (0x0020, "cck"), (0x0040, "ofdm"), (0x0080, "2ghz"), (0x0100, "5ghz"),
                 (0x0200, "passive"), (0x0400, "dynamic"), (0x0800, "gfsk"), (0x1000, "gsm"),
                 (0x2000, "sturbo"), (0x4000, "half"), (0x8000, "quarter"))

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("radiotap.version", "uint", 8, doc="header revision"),
    FieldSpec("radiotap.pad", "uint", 8, doc="header pad"),
    FieldSpec("radiotap.length", "uint", 16, doc="header length"),
    FieldSpec("radiotap.present.word", "uint", 32, "hex", doc="a present-flags word"),
    *(FieldSpec(f"radiotap.present.{name}", "bool", doc=f"present bit {bit}") for bit, name in _PRESENT_BITS),
    FieldSpec("radiotap.mactime", "uint", 64, doc="TSF timer (microseconds)"),
    FieldSpec("radiotap.flags", "uint", 8, "hex", doc="flags"),
    *(FieldSpec(f"radiotap.flags.{name}", "bool", doc=f"flag 0x{mask:02x}") for mask, name in _FLAG_BITS),
    FieldSpec("radiotap.datarate", "float", doc="data rate (Mb/s)"),
    FieldSpec("radiotap.channel.freq", "uint", 32, doc="channel frequency (MHz)"),
    FieldSpec("radiotap.channel.flags", "uint", 16, "hex", doc="channel flags"),
    *(FieldSpec(f"radiotap.channel.flags.{name}", "bool", doc=f"channel flag 0x{mask:04x}")
      for mask, name in _CHANNEL_BITS),
    FieldSpec("radiotap.fhss.hopset", "uint", 8, doc="FHSS hop set"),
    FieldSpec("radiotap.fhss.pattern", "uint", 8, doc="FHSS hop pattern"),
    FieldSpec("radiotap.dbm_antsignal", "int", 8, doc="antenna signal (dBm)"),
    FieldSpec("radiotap.dbm_antnoise", "int", 8, doc="antenna noise (dBm)"),
    FieldSpec("radiotap.quality", "uint", 16, doc="signal quality"),
    FieldSpec("radiotap.txattenuation", "uint", 16, doc="TX attenuation"),
    FieldSpec("radiotap.db_txattenuation", "uint", 16, doc="TX attenuation (dB)"),
    FieldSpec("radiotap.txpower", "int", 8, doc="TX power (dBm)"),
    FieldSpec("radiotap.antenna", "uint", 32, doc="antenna index"),
    FieldSpec("radiotap.db_antsignal", "uint", 8, doc="antenna signal (dB)"),
    FieldSpec("radiotap.db_antnoise", "uint", 8, doc="antenna noise (dB)"),
    FieldSpec("radiotap.rxflags", "uint", 16, "hex", doc="RX flags"),
    FieldSpec("radiotap.rxflags.badplcp", "bool", doc="bad PLCP"),
    FieldSpec("wlan_radio.phy", "uint", 32, doc="PHY type (4 802.11b, 5 802.11a, 6 802.11g, ...)"),
    FieldSpec("wlan_radio.11a.turbo_type", "uint", 32, doc="802.11a turbo type"),
    FieldSpec("wlan_radio.11g.mode", "uint", 32, doc="802.11g proprietary mode"),
    FieldSpec("wlan_radio.short_preamble", "bool", doc="short preamble (802.11b)"),
    FieldSpec("wlan_radio.data_rate", "float", doc="data rate (Mb/s)"),
    FieldSpec("wlan_radio.channel", "uint", 32, doc="channel number"),
    FieldSpec("wlan_radio.frequency", "uint", 16, doc="frequency (MHz)"),
    FieldSpec("wlan_radio.signal_db", "uint", 8, doc="signal strength (dB)"),
    FieldSpec("wlan_radio.signal_dbm", "int", 8, doc="signal strength (dBm)"),
    FieldSpec("wlan_radio.noise_db", "uint", 8, doc="noise level (dB)"),
    FieldSpec("wlan_radio.noise_dbm", "int", 8, doc="noise level (dBm)"),
    FieldSpec("wlan_radio.snr", "int", 32, doc="signal/noise ratio (dB)"),
    FieldSpec("wlan_radio.timestamp", "uint", 64, doc="TSF timestamp"),
    FieldSpec("wlan_radio.duration", "uint", 32, doc="airtime of the frame (us)"),
    FieldSpec("wlan_radio.preamble", "uint", 32, doc="airtime of the preamble (us)"),
    FieldSpec("wlan_radio.start_tsf", "uint", 64, doc="TSF at the start of the frame"),
    FieldSpec("wlan_radio.end_tsf", "uint", 64, doc="TSF at the end of the frame"),
)

# present bit -> (alignment, size) of its field; the ones decoded have a reader below
_FIELD_SIZES = {0: (8, 8), 1: (1, 1), 2: (1, 1), 3: (2, 4), 4: (1, 2), 5: (1, 1), 6: (1, 1), 7: (2, 2),
                8: (2, 2), 9: (2, 2), 10: (1, 1), 11: (1, 1), 12: (1, 1), 13: (1, 1), 14: (2, 2),
                15: (2, 2), 16: (1, 1), 17: (1, 1), 18: (4, 8), 19: (1, 3), 20: (4, 8), 21: (2, 12),
                22: (8, 12), 23: (2, 12), 24: (2, 12), 25: (2, 6), 26: (1, 1), 27: (2, 4)}
_PHY_CHANGING_BITS = frozenset({18, 19, 21, 23, 24, 25})  # XChannel, MCS, VHT, HE: another PHY view

PHY_FHSS, PHY_DSSS, PHY_11B, PHY_11A, PHY_11G = 1, 3, 4, 5, 6
_CHANNEL_MASK = 0xEDF0  # tshark's IEEE80211_CHAN_ALLTURBO
# channel flags & mask -> (phy, extra wlan_radio field)
_PHY_BY_FLAGS: dict[int, tuple[int, tuple[str, int] | None]] = {
    0x0880: (PHY_FHSS, None), 0x0080: (PHY_DSSS, None), 0x0140: (PHY_11A, ("wlan_radio.11a.turbo_type", 0)),
    0x00A0: (PHY_11B, None), 0x00C0: (PHY_11G, ("wlan_radio.11g.mode", 0)),
    0x0480: (PHY_11G, ("wlan_radio.11g.mode", 0)), 0x0150: (PHY_11A, ("wlan_radio.11a.turbo_type", 2)),
    0x00D0: (PHY_11G, ("wlan_radio.11g.mode", 1)),
}
_CCK_RATES = frozenset({1.0, 2.0, 5.5, 11.0, 22.0, 33.0})
_OFDM_RATES = frozenset({6.0, 9.0, 12.0, 18.0, 24.0, 36.0, 48.0, 54.0})
# (first MHz, last MHz, first channel) as tshark 4.0's ieee80211_mhz_to_chan
_CHANNEL_RANGES = ((2412, 2472, 1), (2484, 2484, 14), (5000, 5925, 0), (5950, 7125, 0), (4910, 4980, 182))


def dissect_radiotap(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("radiotap", offset)
    layer.summary = "[|802.11_radio]"  # until the header is read
    if end - offset < 4:
        cut_short(layer, offset, offset + 8, end, ctx, "radiotap header")
        return layer, None
    length = data[offset + 2] | (data[offset + 3] << 8)
    layer.add("radiotap.version", data[offset])
    layer.add("radiotap.pad", data[offset + 1])
    layer.add("radiotap.length", length)
    if end - offset < 8:
        cut_short(layer, offset + 4, offset + 8, end, ctx, "radiotap header")
        return layer, None
    if length < 8:
        layer.length = 4
        layer.malformed(offset + 2, f"radiotap length {length} < 8")
        return layer, None
    if end - offset < length:
        cut_short(layer, offset, offset + length, end, ctx, "radiotap header")
        return layer, None
    # what wlan_radio and wlan need is read now; the fields (about a hundred flags a frame)
    # and the summary when asked for (a lab reading thousands of beacons asks for none)
    info: dict[str, Any] = {}
    _fields(_INFO_ONLY, data, offset, offset + length, info)
    ctx.extra["radiotap"] = info
    lazy = LazyLayer("radiotap", offset, length, _decode, (data, info), _summary)
    return lazy, Next("radiotap.radio", 0, offset + length, end)


class _InfoOnly:
    """A layer that keeps nothing: :func:`_fields` on it fills only ``info``."""

    def add(self, name: str, value: Any) -> None:
        pass

    def malformed(self, offset: int, reason: str) -> None:
        pass


_INFO_ONLY: Any = _InfoOnly()


def _decode(layer: Layer, data: bytes, info: dict[str, Any]) -> None:
    """The fields and findings of a whole radiotap header (its length was checked)."""
    offset = layer.offset
    layer.add("radiotap.version", data[offset])
    layer.add("radiotap.pad", data[offset + 1])
    layer.add("radiotap.length", layer.length)
    _fields(layer, data, offset, offset + layer.length, {})


def _summary(layer: Layer, data: bytes, info: dict[str, Any]) -> str:
    return " ".join(_summary_parts(info))


def _fields(layer: Layer, data: bytes, offset: int, stop: int, info: dict[str, Any]) -> None:
    words: list[int] = []
    pos = offset + 4
    while True:
        if pos + 4 > stop:
            layer.malformed(pos, "present-flags words run past the radiotap header")
            return
        word = int.from_bytes(data[pos:pos + 4], "little")
        words.append(word)
        pos += 4
        if not word & 0x80000000:
            break
    if any(w & 0x50000000 for w in words):  # a vendor namespace or TLVs: not walked
        info["partial"] = True
        return
    if layer is not _INFO_ONLY:  # (thirty flags a word, none of them in info)
        for word in words:
            layer.add("radiotap.present.word", word)
            for bit, name in _PRESENT_BITS:
                layer.add(f"radiotap.present.{name}", bool(word >> bit & 1))
    for word in words:
        for bit in range(29):
            if not word >> bit & 1:
                continue
            if bit in _PHY_CHANGING_BITS:
                info["other_phy"] = True
            if bit not in _FIELD_SIZES:
                info["partial"] = True
                return
            align, size = _FIELD_SIZES[bit]
            pos = offset + ((pos - offset + align - 1) & ~(align - 1))
            if pos + size > stop:
                layer.malformed(pos, f"radiotap field {bit} runs past the header")
                info["partial"] = True
                return
            _read(layer, bit, data[pos:pos + size], info)
            pos += size


def _read(layer: Layer, bit: int, raw: bytes, info: dict[str, Any]) -> None:
    """The fields of one present bit (values little-endian); ``info`` gathers what the
    PHY view and the summary need (the last occurrence wins, as in tshark)."""
    if bit == 0:
        info["tsft"] = value = int.from_bytes(raw, "little")
        layer.add("radiotap.mactime", value)
    elif bit == 1:
        info["flags"] = flags = raw[0]
        layer.add("radiotap.flags", flags)
        for mask, name in _FLAG_BITS:
            layer.add(f"radiotap.flags.{name}", bool(flags & mask))
    elif bit == 2:
        info["rate"] = rate = _number(raw[0] / 2)
        layer.add("radiotap.datarate", rate)
    elif bit == 3:
        freq, cflags = struct.unpack("<HH", raw)
        info["freq"], info["chflags"] = freq, cflags
        layer.add("radiotap.channel.freq", freq)
        layer.add("radiotap.channel.flags", cflags)
        for mask, name in _CHANNEL_BITS:
            layer.add(f"radiotap.channel.flags.{name}", bool(cflags & mask))
    elif bit == 4:
        info["fhss"] = (raw[0], raw[1])
        layer.add("radiotap.fhss.hopset", raw[0])
        layer.add("radiotap.fhss.pattern", raw[1])
    elif bit in (5, 6, 10):
        value = raw[0] - 256 if raw[0] > 127 else raw[0]
        name = {5: "dbm_antsignal", 6: "dbm_antnoise", 10: "txpower"}[bit]
        info.setdefault("parts", []).append((bit, value))
        info[name] = value
        layer.add(f"radiotap.{name}", value)
    elif bit in (7, 8, 9, 14):
        value = raw[0] | (raw[1] << 8)
        name = {7: "quality", 8: "txattenuation", 9: "db_txattenuation", 14: "rxflags"}[bit]
        info.setdefault("parts", []).append((bit, value))
        layer.add(f"radiotap.{name}", value)
        if bit == 14:
            layer.add("radiotap.rxflags.badplcp", bool(value & 0x0002))
    elif bit in (11, 12, 13):
        name = {11: "antenna", 12: "db_antsignal", 13: "db_antnoise"}[bit]
        info.setdefault("parts", []).append((bit, raw[0]))
        info[name] = raw[0]
        layer.add(f"radiotap.{name}", raw[0])


def _number(value: float) -> float | int:
    """A rate as tshark prints an FT_FLOAT: "1" for 1.0, "5.5" for 5.5."""
    return int(value) if value == int(value) else value


def dissect_wlan_radio(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    """tshark's "wlan_radio" pseudo-protocol: no bytes, fields from the radiotap header."""
    info: dict[str, Any] = ctx.extra.get("radiotap", {})
    if info.get("partial") or info.get("other_phy"):
        return Layer("wlan_radio", offset, 0), Next("wlan_radio", 0, offset, end)
    # tshark 4.0 times the bytes the frame has (with its FCS if it was captured with one)
    layer = LazyLayer("wlan_radio", offset, 0, _decode_radio, (data, info, max(ctx.reported_end - offset, 0)))
    return layer, Next("wlan_radio", 0, offset, end)


def _decode_radio(layer: Layer, data: bytes, info: dict[str, Any], frame_length: int) -> None:
    _radio_fields(layer, info, frame_length)


def _radio_fields(layer: Layer, info: dict[str, Any], frame_length: int) -> None:
    rate = info.get("rate")
    phy, extra = _PHY_BY_FLAGS.get(info.get("chflags", 0) & _CHANNEL_MASK, (0, None))
    if phy in (PHY_11G, 0) and rate in _CCK_RATES:
        phy, extra = PHY_11B, None
    elif phy == 0 and rate in _OFDM_RATES:
        phy = PHY_11G
    has_preamble_flag = phy == PHY_11B and "flags" in info
    short_preamble = bool(info.get("flags", 0) & 0x02)
    if phy:
        layer.add("wlan_radio.phy", phy)
        if has_preamble_flag:
            layer.add("wlan_radio.short_preamble", short_preamble)
        if extra is not None:
            layer.add(*extra)
    if rate is not None:
        layer.add("wlan_radio.data_rate", rate)
    freq = info.get("freq", 0)
    if freq:
        channel = _channel(freq)
        if channel is not None:
            layer.add("wlan_radio.channel", channel)
        layer.add("wlan_radio.frequency", freq)
    for key, name in (("db_antsignal", "signal_db"), ("dbm_antsignal", "signal_dbm"),
                      ("db_antnoise", "noise_db"), ("dbm_antnoise", "noise_dbm")):
        if key in info:
            layer.add(f"wlan_radio.{name}", info[key])
    if "dbm_antsignal" in info and "dbm_antnoise" in info:
        layer.add("wlan_radio.snr", info["dbm_antsignal"] - info["dbm_antnoise"])
    tsf = info.get("tsft")
    if tsf is not None:
        layer.add("wlan_radio.timestamp", tsf)
    if not rate:
        return
    timing = _airtime(phy, rate, frame_length, short_preamble if has_preamble_flag else True)
    if timing is None:
        return
    duration, preamble = timing
    layer.add("wlan_radio.duration", duration)
    layer.add("wlan_radio.preamble", preamble)
    if tsf is not None:
        for name, value in (("wlan_radio.start_tsf", tsf - duration), ("wlan_radio.end_tsf", tsf)):
            if value:
                layer.add(name, value & 0xFFFFFFFFFFFFFFFF)


def _f32(value: float) -> float:
    """``value`` rounded to single precision (tshark computes the airtime in C floats)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _airtime(phy: int, rate: float, length: int, short_preamble: bool) -> tuple[int, int] | None:
    """(duration, preamble) in microseconds, tshark's formulas; None for other PHYs."""
    if phy == 0:
        phy = PHY_11B if rate in _CCK_RATES else PHY_11A if rate in _OFDM_RATES else 0
    if phy == PHY_11B:
        preamble = 96 if short_preamble else 192
        return math.ceil(_f32(preamble + _f32(length * 8 / rate))), preamble
    if phy in (PHY_11A, PHY_11G):
        bits = 16 + 8 * length + 6
        return 20 + 4 * math.ceil(_f32(bits / _f32(rate * 4))), 20
    return None


def _channel(freq: int) -> int | None:
    for low, high, first in _CHANNEL_RANGES:
        if low <= freq <= high:
            return (freq - low) // 5 + first
    return None


def _summary_parts(info: dict[str, Any]) -> list[str]:
    """tcpdump's radiotap fields, in the order of the present bits."""
    parts: list[str] = []
    if "tsft" in info:
        parts.append(f"{info['tsft']}us tsft")
    flags = info.get("flags", 0)
    for mask, text in ((0x02, "short preamble"), (0x04, "wep"), (0x08, "fragmented"), (0x40, "bad-fcs")):
        if flags & mask:
            parts.append(text)
    if "rate" in info:
        parts.append(f"{info['rate']:.1f} Mb/s")
    if "freq" in info:
        parts.append(f"{info['freq']} MHz" + _channel_kind(info["chflags"]))
    if "fhss" in info:
        parts.append(f"fhset {info['fhss'][0]} fhpat {info['fhss'][1]}")
    formats = {5: "{}dBm signal", 6: "{}dBm noise", 7: "{} sq", 8: "{} tx power", 9: "{}dB tx attenuation",
               10: "{}dBm tx power", 11: "antenna {}", 12: "{}dB signal", 13: "{}dB noise"}
    parts.extend(formats[bit].format(value) for bit, value in info.get("parts", ()) if bit in formats)
    return parts


def _channel_kind(cflags: int) -> str:
    """tcpdump's print_chaninfo words after the frequency."""
    text = ""
    if cflags & 0x0880 == 0x0880:
        text += " FHSS"
    if cflags & 0x0140 == 0x0140:
        text += " 11a/10Mhz" if cflags & 0x4000 else " 11a/5Mhz" if cflags & 0x8000 else " 11a"
    if cflags & 0x0480 == 0x0480 or cflags & 0x00C0 == 0x00C0:
        text += " 11g/10Mhz" if cflags & 0x4000 else " 11g/5Mhz" if cflags & 0x8000 else " 11g"
    elif cflags & 0x00A0 == 0x00A0:
        text += " 11b"
    if cflags & 0x0010:
        text += " Turbo"
    return text
