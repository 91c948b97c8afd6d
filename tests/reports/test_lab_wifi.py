"""The Kurose & Ross 802.11 lab on Wireshark_802_11.pcap: every answer checked against tshark,
those from the management frame bodies (SSID, beacon interval, rates, authentication
algorithm, association status) against tshark's wlan.mgt fields."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from statistics import median

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_wifi import lab_wifi

TRACE = CORPUS / "labs" / "Wireshark_802_11.pcap"
FIELDS = ["frame.number", "frame.time_relative", "wlan.fc.type", "wlan.fc.subtype", "wlan.ra", "wlan.ta", "wlan.da",
          "wlan.sa", "wlan.bssid", "ip.src", "ip.dst", "tcp.flags.syn", "tcp.flags.ack", "tcp.srcport",
          "tcp.dstport", "dhcp.option.dhcp", "wlan.ssid", "wlan.fixed.auth.alg", "wlan.fixed.beacon",
          "wlan.supported_rates", "wlan.extended_supported_rates", "wlan.fixed.status_code", "wlan.fixed.aid"]


def _ns(r: dict[str, str]) -> int:
    return int(Decimal(r["frame.time_relative"]) * 1_000_000_000)


def _mgmt(ws: list[dict[str, str]], subtype: int) -> list[dict[str, str]]:
    return [r for r in ws if r.get("wlan.fc.type") == "0" and r.get("wlan.fc.subtype") == str(subtype)]


def _times(frames: list[dict[str, str]]) -> str:
    return ", ".join(f"{r['frame.number']} at {r['frame.time_relative']}" for r in frames) or "none"


def _rates(r: dict[str, str]) -> str:
    """tshark's rates (hex, 500 kb/s units, 0x80: basic) as tshark's tree writes them: "5.5(B)"."""
    def text(name: str) -> str:
        values = [int(v, 16) for v in r.get(name, "").split(",") if v]
        return ", ".join(f"{(v & 0x7F) / 2:g}" + ("(B)" if v & 0x80 else "") for v in values)
    extended = text("wlan.extended_supported_rates")
    return f"supported {text('wlan.supported_rates')}" + (f"; extended {extended}" if extended else "") + " [Mbit/s]"


def _yes(value: str | None) -> bool:
    return value in ("1", "True")


@requires_tshark
def test_answers_match_tshark(corpus: Path) -> None:
    df = lab_wifi(TRACE)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    ws = tshark_fields(TRACE, FIELDS)
    beacons = _mgmt(ws, 8)
    counts = Counter(r["wlan.bssid"] for r in beacons)
    top = [b for b, _ in counts.most_common(2)]
    assert answers["the two access points sending the most beacons (BSSID: beacons)"][0] == ", ".join(
        f"{b}: {counts[b]}" for b in top)
    sent = {b: [r for r in beacons if r["wlan.bssid"] == b] for b in top}
    names = {b: Counter(r.get("wlan.ssid", "") for r in rows).most_common(1)[0] for b, rows in sent.items()}
    assert answers["their SSIDs (BSSID: the SSID most of its beacons carry, in how many)"] == (
        ", ".join(f"{b}: {bytes.fromhex(h).decode('latin-1')!r} ({n} of {len(sent[b])})" for b, (h, n) in names.items()),
        ", ".join(next(r["frame.number"] for r in sent[b] if r.get("wlan.ssid", "") == h) for b, (h, _) in names.items()))
    assert "'30 Munroe St'" in answers["their SSIDs (BSSID: the SSID most of its beacons carry, in how many)"][0]
    for bssid, rows in sent.items():
        gaps = [b - a for a, b in pairwise(_ns(r) for r in rows)]
        interval, n = Counter(r.get("wlan.fixed.beacon") for r in rows).most_common(1)[0]
        q = (f"beacon interval of {bssid} (the field most of its beacons carry, s; the median of the {len(gaps)} gaps "
             "measured between its beacons)")
        text, at = answers[q]
        assert text.startswith(f"{Decimal(interval) * Decimal('0.001024'):.9f} ({interval} time units of 1024 us, "
                               f"in {n} of {len(rows)} beacons); measured ")
        assert at == next(r["frame.number"] for r in rows if r.get("wlan.fixed.beacon") == interval)
        measured = Decimal(text.rsplit(" ", 1)[1])
        assert measured == Decimal(int(median(gaps))) / 1_000_000_000
        assert abs(measured - Decimal("0.1024")) < Decimal("0.001")  # 100 TU, the lab's answer
    syn = next(r for r in ws if _yes(r.get("tcp.flags.syn")) and not _yes(r.get("tcp.flags.ack")))
    ap, host = syn["wlan.bssid"], syn["wlan.ta"]
    beacon = next(r for r in beacons if r["wlan.bssid"] == ap)
    assert answers[f"beacon from the host's first AP ({ap}): source, destination and BSS id addresses"] == (
        f"source {beacon['wlan.sa']}, destination {beacon['wlan.da']}, BSS id {beacon['wlan.bssid']}",
        beacon["frame.number"])
    assert answers[f"the data rates the host's first AP ({ap}) advertises (supported and extended supported rates)"] \
        == (_rates(beacon), beacon["frame.number"])
    assert answers["frame with the first TCP SYN: its three address fields (RA / TA / DA)"][0] == (
        f"receiver {syn['wlan.ra']} (the AP, BSS id {ap}), transmitter {host} (the wireless host), destination "
        f"{syn['wlan.da']} (the first-hop router)")
    synack = next(r for r in ws if _yes(r.get("tcp.flags.syn")) and _yes(r.get("tcp.flags.ack"))
                  and r["ip.src"] == syn["ip.dst"] and r["tcp.srcport"] == syn["tcp.dstport"])
    assert answers["frame with the SYN-ACK: its three address fields (RA / TA / SA)"] == (
        f"receiver {synack['wlan.ra']} (the wireless host's address as captured), transmitter {synack['wlan.ta']} "
        f"(the AP), source {synack['wlan.sa']} (the first-hop router)", synack["frame.number"])
    assert answers["the SYN's IP source and destination: which device is the destination"] == (
        f"host {syn['ip.src']}, destination {syn['ip.dst']}: neither the AP nor the first-hop router but the "
        "server, reached through the router whose MAC address is the frame's destination", syn["frame.number"])
    assert answers["does the SYN-ACK frame's source MAC address belong to the device that sent the TCP segment"][0] \
        == (f"no: the segment comes from {synack['ip.src']}; the source MAC {synack['wlan.sa']} is the first-hop "
            "router's, which forwarded it onto this network")
    assert synack["wlan.sa"] == syn["wlan.da"]  # the router on both frames
    deauth = next(r for r in _mgmt(ws, 12) if r["wlan.ta"] == host and r["wlan.bssid"] == ap)
    release = next(r for r in ws if r.get("dhcp.option.dhcp") == "7")
    assert answers["what the host sends to end its association with its first AP"] == (
        f"a DHCP Release (IP layer, frame {release['frame.number']} at {release['frame.time_relative']}), then a "
        f"deauthentication (802.11, frame {deauth['frame.number']} at {deauth['frame.time_relative']})",
        f"{release['frame.number']}, {deauth['frame.number']}")
    assert answers["a frame you might expect but do not see"][0] == "no disassociation frame from the host"
    assert not [r for r in _mgmt(ws, 10) if r["wlan.ta"] == host]
    after = [r for r in _mgmt(ws, 11) if int(r["frame.number"]) > int(deauth["frame.number"])]
    other = next(r["wlan.ra"] for r in after if r["wlan.ta"] == host and r["wlan.ra"] != ap)
    to_other = [r for r in after if (r["wlan.ta"], r["wlan.ra"]) == (host, other)]
    assert answers[f"authentication frames from the host to the other AP {other} after it leaves"][0] == (
        f"{len(to_other)}: {_times(to_other)}")
    assert answers[f"does {other} answer them"][0].startswith(
        "no" if not [r for r in _mgmt(ws, 11) if (r["wlan.ta"], r["wlan.ra"]) == (other, host)] else "yes")
    asked = [r for r in after if r["wlan.ta"] == host and "wlan.fixed.auth.alg" in r]
    algorithms = sorted({int(r["wlan.fixed.auth.alg"]) for r in asked})
    names_ = {0: "open system", 1: "shared key"}
    assert answers["does the host ask for open or shared-key authentication (its authentication frames' algorithm)"] \
        == (", ".join(f"{names_[a]} ({a})" for a in algorithms), asked[0]["frame.number"])
    assert algorithms == [0]  # the lab's answer: open system
    back = [r for r in after if (r["wlan.ta"], r["wlan.ra"]) == (host, ap)]
    replies = [r for r in after if (r["wlan.ta"], r["wlan.ra"]) == (ap, host)]
    assert answers[f"authentication between the host and its first AP {ap} afterwards (host -> AP; AP -> host)"][0] \
        == f"{_times(back)}; {_times(replies)}"
    req = [r for r in _mgmt(ws, 0) if (r["wlan.ta"], r["wlan.ra"]) == (host, ap)
           and int(r["frame.number"]) > int(deauth["frame.number"])]
    resp = [r for r in _mgmt(ws, 1) if (r["wlan.ta"], r["wlan.ra"]) == (ap, host)
            and int(r["frame.number"]) > int(deauth["frame.number"])]
    assert answers[f"association request from the host to {ap}, and the association response"][0] == (
        f"request {_times(req)}; response {_times(resp)}")
    assert answers["the transmission rates the host is willing to use (its association request)"] == (
        _rates(req[0]), req[0]["frame.number"])
    assert answers["the transmission rates the AP is willing to use (its association response)"] == (
        _rates(resp[0]), resp[0]["frame.number"])
    status, aid = int(resp[0]["wlan.fixed.status_code"], 16), int(resp[0]["wlan.fixed.aid"], 16)
    assert answers["the association response's status code and association ID"][0] == (
        f"status {status} ({'successful' if status == 0 else 'refused'}), AID {aid}")
    for label, subtype in (("probe request", 4), ("probe response", 5)):
        kinds = Counter((r["wlan.ta"], r["wlan.ra"], r["wlan.bssid"]) for r in _mgmt(ws, subtype))
        assert answers[f"{label}s: sender, receiver and BSS id addresses (frames)"][0] == "; ".join(
            f"{s} -> {r}, BSS id {b} ({n})" for (s, r, b), n in kinds.most_common())


def test_cli_and_errors(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["wifi", str(TRACE), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "00:16:b6:f7:1d:51" in res.output
    with pytest.raises(LabError, match=r"no 802\.11"):
        lab_wifi(CORPUS / "labs" / "ethernet-ethereal-trace-1")
