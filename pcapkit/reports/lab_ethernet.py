"""Answers to the Kurose & Ross "Wireshark lab: Ethernet and ARP" questions (v8.0).

The HTTP GET frame (the HTTP dissector's first GET): its Ethernet source (the host) and
destination (the first-hop router, not the web server), the type field and the offset of
the "G"; the frame with the first byte of the response to it (the first segment of the
message, as tshark's ``tcp.segment`` lists it): addresses, type, the offset of the "O" of
"OK". Then the ARP request and reply: Ethernet addresses and type, the offset
and value of the opcode, where the question and the answer sit; and every ARP request the
trace holds no reply to, with why. The offsets count bytes from the start of the frame (0).
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import (
    Answers,
    LabError,
    Trace,
    first_segment,
    get,
    http_messages,
    layer,
    read_trace,
    response_to,
)

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet

ETHERTYPES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6", 0x8100: "802.1Q VLAN"}
ARP_OPCODE_OFFSET = 6  # hardware type (2), protocol type (2), sizes (1 + 1)


def _type(p: Packet) -> str:
    value = get(p, "eth", "eth.type")
    if value is None:  # (an IEEE 802.3 frame: its field is a length, the type is in the LLC/SNAP header)
        return f"none: an IEEE 802.3 frame, whose field holds its length ({get(p, 'eth', 'eth.len')} bytes)"
    return f"0x{value:04x} ({ETHERTYPES.get(value, 'unknown')})"


def _payload_offset(p: Packet) -> int:
    tcp = layer(p, "tcp")
    assert tcp is not None
    return tcp.offset + tcp.length


def lab_ethernet_arp(path: str | PathLike[str]) -> pd.DataFrame:
    """The Ethernet and ARP lab's questions and answers (question / answer / frames rows)."""
    return lab_ethernet_arp_table(path).to_pandas()


def lab_ethernet_arp_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_ethernet_arp` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_trace(path)
    if not any(layer(p, "eth") is not None for p in trace):
        raise LabError(trace.error or f"{path}: no Ethernet frames")
    out = Answers()
    messages = http_messages(trace)
    get_ = next((m for m in messages if m.fields.get("http.request.method") == "GET"), None)
    request = None if get_ is None else get_.packet
    answer = None if get_ is None else response_to(messages, get_)
    start = None if answer is None else first_segment(trace.packets, answer)
    if request is None:
        out.missing("the HTTP GET frame's Ethernet addresses", "no TCP segment starts with an HTTP GET")
    else:
        src, dst = get(request, "eth", "eth.src"), get(request, "eth", "eth.dst")
        out.add("Ethernet address of the host (source of the HTTP GET frame)", src, [request])
        router = next((p for p in trace if get(p, "arp", "arp.opcode") == 2
                       and get(p, "arp", "arp.src.hw_mac") == dst), None)
        out.add("destination Ethernet address of the GET frame: is it the web server's",
                f"{dst}: not the server {get(request, 'ip', 'ip.dst')}'s (it is off the LAN) but the next hop's"
                + (f", {get(router, 'arp', 'arp.src.proto_ipv4')} (the first-hop router, by the ARP reply in "
                   f"frame {router.frame.number})" if router is not None else ", the first-hop router"), [request])
        out.add("type field of the GET frame", _type(request), [request])
        assert get_ is not None
        g_frame, g_at = first_segment(trace.packets, get_) or (request, 0)  # a GET may span segments
        g = _payload_offset(g_frame) + g_at
        out.add("offset of the 'G' of 'GET' from the start of the frame (bytes)",
                f"{g} (Ethernet 14 + IP {get(g_frame, 'ip', 'ip.hdr_len')} + TCP {get(g_frame, 'tcp', 'tcp.hdr_len')}"
                + (f" + {g_at}" if g_at else "") + f"): it is byte {g + 1}", [g_frame])
    if answer is None:
        out.missing("the HTTP response frame's Ethernet addresses", "the trace holds no HTTP response to the GET")
    elif start is None:
        out.missing("the HTTP response frame's Ethernet addresses", "the frame with the response's first byte "
                    "cannot be told (the server's stream is not followed from its start)", [answer.packet])
    else:
        response, at = start
        out.add("source Ethernet address of the frame with the first byte of the HTTP response",
                f"{get(response, 'eth', 'eth.src')} (the first-hop router's, not the server's)", [response])
        out.add("destination Ethernet address of that frame", f"{get(response, 'eth', 'eth.dst')} (the host's)",
                [response])
        out.add("type field of the response frame", _type(response), [response])
        version, code = answer.fields.get("http.response.version", ""), answer.fields.get("http.response.code")
        phrase = answer.fields.get("http.response.phrase", "")
        offset = _payload_offset(response) + at + len(f"{version} {code} ")  # after the version and the code
        out.add("offset of the 'O' of 'OK' (the status phrase) from the start of the frame (bytes)",
                f"{offset}: it is byte {offset + 1}" if phrase.startswith("OK")
                else f"no answer: the status line is {f'{version} {code} {phrase}'!r}", [response])
    _arp(out, trace, None if request is None else get(request, "eth", "eth.src"))
    return out.table(trace.error, trace.warnings)


def _arp(out: Answers, trace: Trace, host_mac: str | None) -> None:
    out.missing("the contents of the host's ARP cache", "the cache is the host's state (arp -a), not in a capture")
    arps = [p for p in trace if layer(p, "arp") is not None]
    requests = [p for p in arps if get(p, "arp", "arp.opcode") == 1]
    replies = [p for p in arps if get(p, "arp", "arp.opcode") == 2]
    if not requests:
        out.missing("ARP request", "the trace holds no ARP request")
        return
    if host_mac is None:
        host_mac = get(requests[0], "arp", "arp.src.hw_mac")
    req = next((p for p in requests if get(p, "arp", "arp.src.hw_mac") == host_mac), requests[0])
    eth = layer(req, "arp")
    assert eth is not None
    opcode_at = eth.offset + ARP_OPCODE_OFFSET
    out.add("ARP request: Ethernet source and destination addresses",
            f"{get(req, 'eth', 'eth.src')} -> {get(req, 'eth', 'eth.dst')} (broadcast)", [req])
    out.add("ARP request: type field", _type(req), [req])
    out.add("ARP request: offset of the opcode from the start of the frame (bytes), and its value",
            f"{opcode_at}; opcode {get(req, 'arp', 'arp.opcode')} (request)", [req])
    out.add("ARP request: does it hold the sender's IP address",
            f"yes: sender {get(req, 'arp', 'arp.src.proto_ipv4')} at {get(req, 'arp', 'arp.src.hw_mac')}", [req])
    out.add("ARP request: where is the question",
            f"target IP address {get(req, 'arp', 'arp.dst.proto_ipv4')} with target MAC address "
            f"{get(req, 'arp', 'arp.dst.hw_mac')} (unknown)", [req])
    rep = next((p for p in replies if get(p, "arp", "arp.src.proto_ipv4") == get(req, "arp", "arp.dst.proto_ipv4")
                and p.frame.number > req.frame.number), None)
    if rep is None:
        out.missing("ARP reply", f"nobody answers the request in frame {req.frame.number} in this trace", [req])
    else:
        layer_at = layer(rep, "arp")
        assert layer_at is not None
        out.add("ARP reply: offset of the opcode from the start of the frame (bytes), and its value",
                f"{layer_at.offset + ARP_OPCODE_OFFSET}; opcode {get(rep, 'arp', 'arp.opcode')} (reply)", [rep])
        out.add("ARP reply: where is the answer",
                f"sender MAC address {get(rep, 'arp', 'arp.src.hw_mac')} for sender IP address "
                f"{get(rep, 'arp', 'arp.src.proto_ipv4')}", [rep])
        out.add("ARP reply: Ethernet source and destination addresses",
                f"{get(rep, 'eth', 'eth.src')} -> {get(rep, 'eth', 'eth.dst')}", [rep])
    for p in requests:
        asked = get(p, "arp", "arp.dst.proto_ipv4")
        if any(get(r, "arp", "arp.src.proto_ipv4") == asked and r.frame.number > p.frame.number for r in replies):
            continue
        sender = get(p, "arp", "arp.src.hw_mac")
        why = ("the request comes from another computer (" + f"{get(p, 'arp', 'arp.src.proto_ipv4')} at {sender}"
               + "); a reply is sent unicast to it, so this host's interface never sees it"
               if sender != host_mac else "the target never answered (or the reply was not captured)")
        out.add(f"why is there no ARP reply to the request in frame {p.frame.number}", why, [p])
