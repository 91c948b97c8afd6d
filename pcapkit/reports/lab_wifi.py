"""Answers to the Kurose & Ross "Wireshark lab: 802.11" questions (v8.0).

From the 802.11 MAC headers: the two access points sending the most beacons (their BSSIDs),
the beacon's addresses, the three addresses of the frames carrying the first TCP SYN and its
SYN-ACK, what the host does after it leaves its first AP (the DHCP Release and the
deauthentication), the authentication and association frames, and the probe requests and
responses. From the management frame bodies (:mod:`pcapkit.dissect.ieee80211_mgt`, tshark's
field names): the APs' SSIDs (``wlan.ssid``), their beacon interval (``wlan.fixed.beacon``,
with the measured time between beacons beside it), the rates the AP advertises
(``wlan.supported_rates``, ``wlan.extended_supported_rates``), the authentication algorithm
(``wlan.fixed.auth.alg``), and the rates and outcome of the association
(``wlan.fixed.status_code``, ``wlan.fixed.aid``).

The APs are named by BSSID: the host's first AP is the BSSID of the frame carrying the
first TCP SYN (30 Munroe St in the lab), the other one the host then tries to
authenticate with (linksys_ses_24086 in the lab).
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from os import PathLike
from statistics import median
from typing import TYPE_CHECKING, Any

from pcapkit.reports.lab_common import Answers, LabError, Trace, get, layer, read_trace, secs

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet

ASSOC_REQUEST, ASSOC_RESPONSE, PROBE_REQUEST, PROBE_RESPONSE = 0, 1, 4, 5
BEACON, DISASSOCIATION, AUTHENTICATION, DEAUTHENTICATION = 8, 10, 11, 12
AUTH_ALGORITHMS = {0: "open system", 1: "shared key", 2: "fast BSS transition", 3: "SAE"}
TU_NS = 1_024_000  # one time unit (1024 microseconds)


def _w(p: Packet, name: str) -> object:
    return get(p, "wlan", f"wlan.{name}")


def _all(p: Packet, name: str) -> list[Any]:
    """Every occurrence of a (repeatable) wlan field, in frame order."""
    found = layer(p, "wlan")
    value = None if found is None else found.fields.get(f"wlan.{name}")
    return [] if value is None else value if isinstance(value, list) else [value]


def ssid(p: Packet) -> str | None:
    """The frame's SSID as text (the bytes as Latin-1; an empty SSID is the wildcard "")."""
    raw = _w(p, "ssid")
    return raw.decode("latin-1") if isinstance(raw, bytes) else "" if raw is not None else None


def rates(p: Packet) -> str:
    """The supported and extended supported rates in Mbit/s, basic rates marked "(B)", as tshark
    writes them."""
    def text(values: list[int]) -> str:
        return ", ".join(f"{(v & 0x7F) / 2:g}" + ("(B)" if v & 0x80 else "") for v in values)
    supported, extended = _all(p, "supported_rates"), _all(p, "extended_supported_rates")
    return (f"supported {text(supported) or 'none'}" + (f"; extended {text(extended)}" if extended else "")
            + " [Mbit/s]")


def _management(trace: Trace) -> dict[object, list[Packet]]:
    """The management frames by subtype, each list in frame order (one pass over the trace)."""
    found: dict[object, list[Packet]] = {}
    for p in trace:
        if _w(p, "fc.type") == 0:
            found.setdefault(_w(p, "fc.subtype"), []).append(p)
    return found


def _between(frames: list[Packet], src: object, dst: object) -> list[Packet]:
    return [p for p in frames if _w(p, "ta") == src and _w(p, "ra") == dst]


def _times(trace: Trace, frames: list[Packet]) -> str:
    return ", ".join(f"{p.frame.number} at {secs(trace.rel(p))}" for p in frames) or "none"


def lab_wifi(path: str | PathLike[str]) -> pd.DataFrame:
    """The 802.11 lab's questions and answers (question / answer / frames rows)."""
    return lab_wifi_table(path).to_pandas()


def lab_wifi_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_wifi` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_trace(path)
    if not any(layer(p, "wlan") is not None for p in trace):
        raise LabError(trace.error or f"{path}: no 802.11 frames")
    out = Answers()
    mgmt = _management(trace)
    beacons = mgmt.get(BEACON, [])
    counts = Counter(_w(p, "bssid") for p in beacons)
    top = [b for b, _ in counts.most_common(2)]
    out.add("the two access points sending the most beacons (BSSID: beacons)",
            ", ".join(f"{b}: {counts[b]}" for b in top) or "none", "")
    # the lab's trace has beacons with undetected bit errors (the radiotap flags say the FCS is
    # good): each answer from a beacon body is the value most of the AP's beacons carry
    sent = {b: [p for p in beacons if _w(p, "bssid") == b] for b in top}
    names = {b: Counter(ssid(p) for p in frames).most_common(1)[0] for b, frames in sent.items()}
    out.add("their SSIDs (BSSID: the SSID most of its beacons carry, in how many)",
            ", ".join(f"{b}: {name!r} ({n} of {len(sent[b])})" for b, (name, n) in names.items()) or "none",
            [next(p for p in sent[b] if ssid(p) == name) for b, (name, _) in names.items()])
    for bssid, frames in sent.items():
        gaps = [b.frame.ts_ns - a.frame.ts_ns for a, b in pairwise(frames)]
        interval, n = Counter(_w(p, "fixed.beacon") for p in frames).most_common(1)[0]
        out.add(f"beacon interval of {bssid} (the field most of its beacons carry, s; the median of the {len(gaps)} "
                "gaps measured between its beacons)",
                ("no answer: the beacon bodies are cut short" if not isinstance(interval, int)
                 else f"{secs(interval * TU_NS)} ({interval} time units of 1024 us, in {n} of {len(frames)} beacons)")
                + (f"; measured {secs(int(median(gaps)))}" if gaps else "; a single beacon"),
                [next(p for p in frames if _w(p, "fixed.beacon") == interval)])
    syn = next((p for p in trace if get(p, "tcp", "tcp.flags.syn") and not get(p, "tcp", "tcp.flags.ack")), None)
    first_ap = _w(syn, "bssid") if syn is not None else (top[0] if top else None)
    first_beacon = next((p for p in beacons if _w(p, "bssid") == first_ap), None)
    if first_beacon is not None:
        out.add(f"beacon from the host's first AP ({first_ap}): source, destination and BSS id addresses",
                f"source {_w(first_beacon, 'sa')}, destination {_w(first_beacon, 'da')}, BSS id "
                f"{_w(first_beacon, 'bssid')}", [first_beacon])
    if first_beacon is not None:
        out.add(f"the data rates the host's first AP ({first_ap}) advertises (supported and extended supported "
                "rates)", rates(first_beacon), [first_beacon])
    host = _tcp(out, trace, syn)
    if host is None:
        return out.table(trace.error, trace.warnings)
    _leaving(out, trace, mgmt, host, first_ap)
    probes, responses = mgmt.get(PROBE_REQUEST, []), mgmt.get(PROBE_RESPONSE, [])
    for label, frames in (("probe request", probes), ("probe response", responses)):
        kinds = Counter((_w(p, "ta"), _w(p, "ra"), _w(p, "bssid")) for p in frames)
        out.add(f"{label}s: sender, receiver and BSS id addresses (frames)",
                "; ".join(f"{s} -> {r}, BSS id {b} ({n})" for (s, r, b), n in kinds.most_common()) or "none", frames)
    if probes or responses:
        out.add("purpose of probe requests and responses",
                "a station asks which APs are in range (broadcast probe request); APs answer with a probe response",
                "")
    return out.table(trace.error, trace.warnings)


def _tcp(out: Answers, trace: Trace, syn: Packet | None) -> object:
    """The frames carrying the first TCP SYN and its SYN-ACK; returns the host's MAC address."""
    if syn is None:
        out.missing("the frame carrying the first TCP SYN", "the trace holds no TCP SYN")
        return None
    host, server = get(syn, "ip", "ip.src"), get(syn, "ip", "ip.dst")
    out.add("frame with the first TCP SYN: its three address fields (RA / TA / DA)",
            f"receiver {_w(syn, 'ra')} (the AP, BSS id {_w(syn, 'bssid')}), transmitter {_w(syn, 'ta')} (the wireless "
            f"host), destination {_w(syn, 'da')} (the first-hop router)", [syn])
    out.add("the SYN's IP source and destination: which device is the destination",
            f"host {host}, destination {server}: neither the AP nor the first-hop router but the server, "
            f"reached through the router whose MAC address is the frame's destination", [syn])
    synack = next((p for p in trace if get(p, "tcp", "tcp.flags.syn") and get(p, "tcp", "tcp.flags.ack")
                   and get(p, "ip", "ip.src") == server and get(p, "ip", "ip.dst") == host
                   and get(p, "tcp", "tcp.srcport") == get(syn, "tcp", "tcp.dstport")), None)
    if synack is None:
        out.missing("frame with the SYN-ACK", "no SYN-ACK answers the first SYN in the trace", [syn])
    else:
        out.add("frame with the SYN-ACK: its three address fields (RA / TA / SA)",
                f"receiver {_w(synack, 'ra')} (the wireless host's address as captured), transmitter "
                f"{_w(synack, 'ta')} (the AP), source {_w(synack, 'sa')} (the first-hop router)", [synack])
        out.add("does the SYN-ACK frame's source MAC address belong to the device that sent the TCP segment",
                f"no: the segment comes from {get(synack, 'ip', 'ip.src')}; the source MAC {_w(synack, 'sa')} is the "
                "first-hop router's, which forwarded it onto this network", [synack])
    return _w(syn, "ta")


def _leaving(out: Answers, trace: Trace, mgmt: dict[object, list[Packet]], host: object, first_ap: object) -> None:
    """What the host sends when it leaves its first AP, and the authentication and association
    that follow (``mgmt``: the management frames by subtype)."""
    deauth = [p for p in mgmt.get(DEAUTHENTICATION, []) if _w(p, "ta") == host and _w(p, "bssid") == first_ap]
    if not deauth:
        out.missing("what the host sends to end its association", f"no deauthentication from {host} to {first_ap}")
        return
    leave = deauth[0]
    release = [p for p in trace if get(p, "dhcp", "dhcp.option.dhcp") == 7
               and abs(trace.rel(p) - trace.rel(leave)) < 1_000_000_000]
    out.add("what the host sends to end its association with its first AP",
            (f"a DHCP Release (IP layer, frame {release[0].frame.number} at {secs(trace.rel(release[0]))}), then "
             if release else "") + f"a deauthentication (802.11, frame {leave.frame.number} at "
            f"{secs(trace.rel(leave))})", [*release[:1], leave])
    disassoc = [p for p in mgmt.get(DISASSOCIATION, []) if _w(p, "ta") == host]
    out.add("a frame you might expect but do not see", "no disassociation frame from the host" if not disassoc
            else f"none: the host also sends disassociation frames ({len(disassoc)})", disassoc)
    auth = mgmt.get(AUTHENTICATION, [])
    after = [p for p in auth if p.frame.number > leave.frame.number and _w(p, "ta") == host]
    other = next((_w(p, "ra") for p in after if _w(p, "ra") != first_ap), None)
    if other is not None:
        to_other = _between(after, host, other)
        out.add(f"authentication frames from the host to the other AP {other} after it leaves",
                f"{len(to_other)}: {_times(trace, to_other)}", to_other)
        replies = [p for p in auth if _w(p, "ta") == other and _w(p, "ra") == host]
        out.add(f"does {other} answer them", "no: no authentication frame from it to the host" if not replies
                else f"yes: {_times(trace, replies)}", replies)
    asked = [p for p in after if isinstance(_w(p, "fixed.auth.alg"), int)]
    if asked:
        algorithms = sorted({int(get(p, "wlan", "wlan.fixed.auth.alg")) for p in asked})
        out.add("does the host ask for open or shared-key authentication (its authentication frames' algorithm)",
                ", ".join(f"{AUTH_ALGORITHMS.get(a, 'unknown')} ({a})" for a in algorithms), asked[:1])
    else:
        out.missing("does the host ask for open or shared-key authentication",
                    "no authentication frame from the host carries its algorithm field", after[:1])
    back = [p for p in after if _w(p, "ra") == first_ap]
    answers = [p for p in auth if p.frame.number > leave.frame.number and _w(p, "ta") == first_ap
               and _w(p, "ra") == host]
    out.add(f"authentication between the host and its first AP {first_ap} afterwards (host -> AP; AP -> host)",
            f"{_times(trace, back)}; {_times(trace, answers)}", back + answers)
    requests = [p for p in _between(mgmt.get(ASSOC_REQUEST, []), host, first_ap) if p.frame.number > leave.frame.number]
    responses = [p for p in _between(mgmt.get(ASSOC_RESPONSE, []), first_ap, host)
                 if p.frame.number > leave.frame.number]
    out.add(f"association request from the host to {first_ap}, and the association response",
            f"request {_times(trace, requests)}; response {_times(trace, responses)}", requests + responses)
    if requests:
        out.add("the transmission rates the host is willing to use (its association request)", rates(requests[0]),
                requests[:1])
    if responses:
        response = responses[0]
        status = _w(response, "fixed.status_code")
        out.add("the transmission rates the AP is willing to use (its association response)", rates(response),
                [response])
        out.add("the association response's status code and association ID",
                f"status {status} ({'successful' if status == 0 else 'refused'}), AID {_w(response, 'fixed.aid')}"
                if isinstance(status, int) else "no answer: the response's body is cut short", [response])
