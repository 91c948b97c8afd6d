"""Answers to the Kurose & Ross "Wireshark lab: 802.11" questions (v8.0), as far as pcapkit's
802.11 dissector goes.

pcapkit decodes the 802.11 MAC header (frame type and subtype, the address fields by role,
sequence control) but not the body of management frames (tshark's ``wlan.mgt``: fixed fields
such as the beacon interval, authentication algorithm and status code, and tagged
parameters such as the SSID and the supported rates). Questions needing those say so; the
others are answered from the headers: the two access points sending the most beacons
(their BSSIDs) and the measured time between their beacons, the beacon's addresses, the
three addresses of the frames carrying the first TCP SYN and its SYN-ACK, what the host
does after it leaves its first AP (the DHCP Release and the deauthentication), the
authentication and association frames, and the probe requests and responses.

The APs are named by BSSID: the host's first AP is the BSSID of the frame carrying the
first TCP SYN (30 Munroe St in the lab), the other one the host then tries to
authenticate with (linksys_ses_24086 in the lab).
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from os import PathLike
from statistics import median
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import Answers, LabError, Trace, get, layer, read_trace, secs

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.dissect.driver import Packet

ASSOC_REQUEST, ASSOC_RESPONSE, PROBE_REQUEST, PROBE_RESPONSE = 0, 1, 4, 5
BEACON, DISASSOCIATION, AUTHENTICATION, DEAUTHENTICATION = 8, 10, 11, 12
MGMT_BODY = ("pcapkit's 802.11 dissector does not decode the management frame body (tshark's wlan.mgt: fixed "
             "fields and tagged parameters)")


def _w(p: Packet, name: str) -> object:
    return get(p, "wlan", f"wlan.{name}")


def _mgmt(trace: Trace, subtype: int) -> list[Packet]:
    return [p for p in trace if _w(p, "fc.type") == 0 and _w(p, "fc.subtype") == subtype]


def _between(frames: list[Packet], src: object, dst: object) -> list[Packet]:
    return [p for p in frames if _w(p, "ta") == src and _w(p, "ra") == dst]


def _times(trace: Trace, frames: list[Packet]) -> str:
    return ", ".join(f"{p.frame.number} at {secs(trace.rel(p))}" for p in frames) or "none"


def lab_wifi(path: str | PathLike[str]) -> pd.DataFrame:
    """The 802.11 lab's questions and answers (question / answer / frames rows)."""
    trace = read_trace(path)
    if not any(layer(p, "wlan") is not None for p in trace):
        raise LabError(trace.error or f"{path}: no 802.11 frames")
    out = Answers()
    beacons = _mgmt(trace, BEACON)
    counts = Counter(_w(p, "bssid") for p in beacons)
    top = [b for b, _ in counts.most_common(2)]
    out.add("the two access points sending the most beacons (BSSID: beacons)",
            ", ".join(f"{b}: {counts[b]}" for b in top) or "none", "")
    out.missing("their SSIDs", f"the SSID is a tagged parameter of the beacon body; {MGMT_BODY}")
    for bssid in top:
        sent = [p for p in beacons if _w(p, "bssid") == bssid]
        gaps = [b.frame.ts_ns - a.frame.ts_ns for a, b in pairwise(sent)]
        out.add(f"time between beacons from {bssid} (median of {len(gaps)} gaps, s; the beacon interval field "
                "itself is not decoded)", secs(int(median(gaps))) if gaps else "no answer: a single beacon", sent[:2])
    syn = next((p for p in trace if get(p, "tcp", "tcp.flags.syn") and not get(p, "tcp", "tcp.flags.ack")), None)
    first_ap = _w(syn, "bssid") if syn is not None else (top[0] if top else None)
    first_beacon = next((p for p in beacons if _w(p, "bssid") == first_ap), None)
    if first_beacon is not None:
        out.add(f"beacon from the host's first AP ({first_ap}): source, destination and BSS id addresses",
                f"source {_w(first_beacon, 'sa')}, destination {_w(first_beacon, 'da')}, BSS id "
                f"{_w(first_beacon, 'bssid')}", [first_beacon])
    out.missing("the data rates and extended supported rates the AP advertises", f"they are tagged parameters; "
                f"{MGMT_BODY}")
    host = _tcp(out, trace, syn)
    if host is None:
        return out.frame(trace.error)
    _leaving(out, trace, host, first_ap)
    probes, responses = _mgmt(trace, PROBE_REQUEST), _mgmt(trace, PROBE_RESPONSE)
    for label, frames in (("probe request", probes), ("probe response", responses)):
        kinds = Counter((_w(p, "ta"), _w(p, "ra"), _w(p, "bssid")) for p in frames)
        out.add(f"{label}s: sender, receiver and BSS id addresses (frames)",
                "; ".join(f"{s} -> {r}, BSS id {b} ({n})" for (s, r, b), n in kinds.most_common()) or "none", frames)
    if probes or responses:
        out.add("purpose of probe requests and responses",
                "a station asks which APs are in range (broadcast probe request); APs answer with a probe response",
                "")
    return out.frame(trace.error)


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


def _leaving(out: Answers, trace: Trace, host: object, first_ap: object) -> None:
    """What the host sends when it leaves its first AP, and the authentication and association
    that follow."""
    deauth = [p for p in _mgmt(trace, DEAUTHENTICATION) if _w(p, "ta") == host and _w(p, "bssid") == first_ap]
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
    disassoc = [p for p in _mgmt(trace, DISASSOCIATION) if _w(p, "ta") == host]
    out.add("a frame you might expect but do not see", "no disassociation frame from the host" if not disassoc
            else f"none: the host also sends disassociation frames ({len(disassoc)})", disassoc)
    auth = _mgmt(trace, AUTHENTICATION)
    after = [p for p in auth if p.frame.number > leave.frame.number and _w(p, "ta") == host]
    other = next((_w(p, "ra") for p in after if _w(p, "ra") != first_ap), None)
    if other is not None:
        to_other = _between(after, host, other)
        out.add(f"authentication frames from the host to the other AP {other} after it leaves",
                f"{len(to_other)}: {_times(trace, to_other)}", to_other)
        replies = [p for p in auth if _w(p, "ta") == other and _w(p, "ra") == host]
        out.add(f"does {other} answer them", "no: no authentication frame from it to the host" if not replies
                else f"yes: {_times(trace, replies)}", replies)
    out.missing("does the host ask for open or shared-key authentication",
                f"the authentication algorithm is a fixed field of the frame body; {MGMT_BODY}")
    back = [p for p in after if _w(p, "ra") == first_ap]
    answers = [p for p in auth if p.frame.number > leave.frame.number and _w(p, "ta") == first_ap
               and _w(p, "ra") == host]
    out.add(f"authentication between the host and its first AP {first_ap} afterwards (host -> AP; AP -> host)",
            f"{_times(trace, back)}; {_times(trace, answers)}", back + answers)
    requests = [p for p in _between(_mgmt(trace, ASSOC_REQUEST), host, first_ap) if p.frame.number > leave.frame.number]
    responses = [p for p in _between(_mgmt(trace, ASSOC_RESPONSE), first_ap, host)
                 if p.frame.number > leave.frame.number]
    out.add(f"association request from the host to {first_ap}, and the association response",
            f"request {_times(trace, requests)}; response {_times(trace, responses)}", requests + responses)
    out.missing("the transmission rates the host and the AP are willing to use",
                f"supported rates are tagged parameters of the association frames; {MGMT_BODY}")
