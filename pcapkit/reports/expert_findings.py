"""The dissector half of the expert items (:mod:`pcapkit.reports.expert`): every finding of
pcapkit's dissectors as (frame, severity, group, protocol, summary), with tshark's text
where tshark reports the same thing, and the "TCP SYN with TFO Cookie" notes.

:func:`finding_items` takes each frame's findings from the columnar pass
(:mod:`pcapkit.columnar.protocols`: the frames that can have none are not dissected) and
gives the packets table the other expert items read from the same pass;
:func:`finding_items_per_frame` dissects every frame (the reference, and the path for
files the fast path cannot serve).
"""

from __future__ import annotations

import re
import sys
from os import PathLike
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.dissect.hierarchy import StackCounts

# the columns of the packets table the expert items read
PACKET_COLUMNS = ["frame.number", "ip.ttl", "ip.proto", "ip.dst", "tcp.ack_raw", "tcp.options.sack.count",
                  "tcp.options.sack_le", "tcp.flags", "tcp.hdr_len", "tcp.options.mss_val", "tcp.options.wscale.shift"]


# pcapkit finding kind -> (severity, group)
FINDING_KINDS: dict[str, tuple[str, str]] = {
    "malformed": ("Error", "Malformed"),
    "checksum_bad": ("Error", "Checksum"),
    "truncated": ("Warn", "Malformed"),
    "unsupported": ("Note", "Undecoded"),
    "note": ("Note", "Protocol"),
}

# layer name -> the protocol name tshark's expert table shows
PROTOCOL_NAMES = {"eth": "Ethernet", "ip": "IPv4", "ipv6": "IPv6", "tcp": "TCP", "udp": "UDP", "icmp": "ICMP",
                  "icmpv6": "ICMPv6", "arp": "ARP", "dns": "DNS", "mdns": "MDNS", "dhcp": "DHCP",
                  "dhcpv6": "DHCPv6", "vlan": "802.1Q", "sll": "SLL", "frame": "Frame", "bgp": "BGP",
                  "mpls": "MPLS", "ppp": "PPP", "llc": "LLC"}

# TCP option kinds as Wireshark names them in its option messages
TCP_OPTION_NAMES = {2: "Maximum segment size", 3: "Window scale", 4: "SACK permitted", 5: "SACK",
                    8: "Timestamps", 19: "MD5 signature", 28: "User Timeout", 29: "TCP AO",
                    30: "Multipath TCP", 34: "TCP Fast Open"}

TIME_INVALID = "frame.time_invalid: capture time outside what int64 nanoseconds hold (tables saturate it)"

_IP_TOTAL_LENGTH = re.compile(r"total length \d+ > (\d+) bytes in the frame")
_TCP_OPTION_LENGTH = re.compile(r"option kind (\d+) has bad length (\d+)")


def _finding_item(layer: str, kind: str, reason: str) -> tuple[str, str, str, str]:
    """(severity, group, protocol, summary) of one dissector finding."""
    protocol = PROTOCOL_NAMES.get(layer, layer.upper())
    if kind == "malformed":
        m = _IP_TOTAL_LENGTH.fullmatch(reason)
        if m and layer == "ip":
            return "Error", "Protocol", protocol, f"IPv4 total length exceeds packet length ({m.group(1)} bytes)"
        m = _TCP_OPTION_LENGTH.fullmatch(reason)
        if m and layer == "tcp" and int(m.group(2)) >= 2:
            name = TCP_OPTION_NAMES.get(int(m.group(1)), f"Unknown option {m.group(1)}")
            olen = int(m.group(2))
            return ("Note", "Sequence", protocol,
                    f"{name} (option length = {olen} byte{'' if olen == 1 else 's'} says option goes past "
                    "end of options)")
    if kind == "note" and reason.startswith("frame.time_invalid:"):
        # one row for every such frame (the reason holds each frame's time)
        return "Note", "Sequence", "Frame", TIME_INVALID
    severity, group = FINDING_KINDS.get(kind, ("Note", "Protocol"))
    return severity, group, protocol, reason


def finding_items(path: str | PathLike[str], frames: set[int] | None, syns: Any,
                   protocols: list[tuple[str, int]] | StackCounts | None = None,
                   table: list[pd.DataFrame] | None = None) -> list[tuple[int, str, str, str, str]]:
    """Every dissector finding, and "TCP SYN with TFO Cookie" for the frames of ``syns``
    (SYNs without ACK, sorted frame numbers) that carry a Fast Open cookie.
    ``protocols`` (a list, or a :class:`~pcapkit.dissect.hierarchy.StackCounts`) receives each frame's (frame.protocols, wire length);
    ``table`` (a list) the packets table's :data:`PACKET_COLUMNS`, batch by batch, as
    :func:`pcapkit.columnar.api.read_packets` gives them (left empty when the file is
    dissected frame by frame).

    The columnar pass serves the frames that can have no finding (no TFO cookie either:
    :mod:`pcapkit.columnar.protocols`); the others are dissected; a file the fast path
    cannot serve is dissected frame by frame (:func:`finding_items_per_frame`)."""
    from pcapkit.columnar.protocols import FrameStacks, NeedsPerFrame

    out: list[tuple[int, str, str, str, str]] = []
    tfo: list[int] = []
    stacks = FrameStacks()
    # each batch's stack codes and wire lengths (arrays: a million frames' pairs as tuples
    # would cost ~100 MB), handed to ``protocols`` once the pass cannot fall back any more
    stack_parts: list[tuple[Any, Any]] = []
    parts: list[pd.DataFrame] = []
    try:
        def on_packet(number: int, packet: Any) -> None:
            _packet_items(number, packet, frames, out, tfo)

        for batch in stacks.batches(str(path), table=PACKET_COLUMNS if table is not None else None,
                                    on_packet=on_packet):
            if protocols is not None:
                stack_parts.append((batch.codes.copy(), batch.wirelen.copy()))
            if batch.table is not None:
                parts.append(batch.table)
    except NeedsPerFrame:
        return finding_items_per_frame(path, frames, syns, protocols)
    if protocols is not None:
        names = stacks.names
        protocols.extend(pair for codes, lengths in stack_parts
                         for pair in zip([names[c] for c in codes.tolist()], lengths.tolist(), strict=True))
    if table is not None:
        table.extend(parts)
    return out + _tfo_items(tfo, syns)


def _packet_items(number: int, packet: Any, frames: set[int] | None, out: list[tuple[int, str, str, str, str]],
                  tfo: list[int]) -> None:
    """The findings of one dissected frame (see :func:`finding_items`), appended to
    ``out``; its number to ``tfo`` when its TCP header carries a Fast Open cookie."""
    if frames is not None and number not in frames:
        return
    for f in packet.findings:
        out.append((number, *_finding_item(f.layer, f.kind.value, f.reason)))
    tcp = packet.layer("tcp")
    if tcp is not None and int(tcp.get("tcp.flags", 0) or 0) & 0x002 and "tcp.options.tfo.cookie" in tcp.fields:
        tfo.append(number)


def _tfo_items(tfo: list[int], syns: Any) -> list[tuple[int, str, str, str, str]]:
    """"TCP SYN with TFO Cookie" for the frames of ``tfo`` that are SYNs without ACK in the
    TCP analysis table (``syns``: their frame numbers, sorted). Appended after the
    findings, these items still follow their frame's findings once sorted by frame."""
    import numpy as np

    if not tfo:
        return []
    numbers = np.array(tfo, dtype=np.int64)
    keep = np.isin(numbers, syns)
    return [(n, "Note", "Sequence", "TCP", "TCP SYN with TFO Cookie") for n in numbers[keep].tolist()]


def finding_items_per_frame(path: str | PathLike[str], frames: set[int] | None, syns: Any,
                             protocols: list[tuple[str, int]] | StackCounts | None = None) -> list[tuple[int, str, str, str, str]]:
    """:func:`finding_items` with every frame dissected (the reference the fast path matches)."""
    from pcapkit.dissect.driver import dissect_file

    out: list[tuple[int, str, str, str, str]] = []
    tfo: list[int] = []
    for packet in dissect_file(str(path)):
        if protocols is not None:
            # (interned: a few distinct protocol stacks over millions of frames)
            protocols.append((sys.intern(packet.protocols), packet.frame.wirelen))
        _packet_items(packet.frame.number, packet, frames, out, tfo)
    return out + _tfo_items(tfo, syns)
