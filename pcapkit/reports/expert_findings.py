"""The packets half of the expert items (:mod:`pcapkit.reports.expert`): every finding of
pcapkit's dissectors as (frame, severity, group, protocol, summary), with tshark's text
where tshark reports the same thing, the "TCP SYN with TFO Cookie" notes, and the items
read from the packets table (IPv4 TTL, D-SACK, TCP option notes).

:func:`finding_items` takes each frame's findings from the columnar pass
(:mod:`pcapkit.columnar.protocols`: the frames that can have none are not dissected) and
gives the packets table the other expert items read from the same pass;
:func:`finding_items_per_frame` dissects every frame (the reference, and the path for
files the fast path cannot serve), :func:`packet_tables` then reads the packets table.
The tables are :class:`~pcapkit.columnar.column_table.ColumnTable` batches: no pandas.
"""

from __future__ import annotations

import re
import sys
from os import PathLike
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import Column, ColumnTable
from pcapkit.dissect.driver import LENGTH_BELOW_CAPTURED
from pcapkit.errors import CaptureFileError, PcapkitError

if TYPE_CHECKING:
    from pcapkit.dissect.hierarchy import StackCounts

Item = tuple[int, str, str, str, str]  # (frame.number, severity, group, protocol, summary)

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
    if kind == "malformed" and reason.startswith(LENGTH_BELOW_CAPTURED + ":"):
        return "Error", "Malformed", "Frame", "Frame length is less than captured length"
    if kind == "note" and reason.startswith("frame.time_invalid:"):
        # one row for every such frame (the reason holds each frame's time)
        return "Note", "Sequence", "Frame", TIME_INVALID
    severity, group = FINDING_KINDS.get(kind, ("Note", "Protocol"))
    return severity, group, protocol, reason


def finding_items(path: str | PathLike[str], frames: set[int] | None, syns: Any,
                   protocols: list[tuple[str, int]] | StackCounts | None = None,
                   table: list[ColumnTable] | None = None) -> list[Item]:
    """Every dissector finding, and "TCP SYN with TFO Cookie" for the frames of ``syns``
    (SYNs without ACK, sorted frame numbers) that carry a Fast Open cookie.
    ``protocols`` (a list, or a :class:`~pcapkit.dissect.hierarchy.StackCounts`) receives each frame's (frame.protocols, wire length);
    ``table`` (a list) the packets table's :data:`PACKET_COLUMNS`, batch by batch, with
    the values :func:`pcapkit.columnar.api.read_packets` gives (left empty when the file
    is dissected frame by frame).

    The columnar pass serves the frames that can have no finding (no TFO cookie either:
    :mod:`pcapkit.columnar.protocols`); the others are dissected; a file the fast path
    cannot serve is dissected frame by frame (:func:`finding_items_per_frame`)."""
    from pcapkit.columnar.protocols import FrameStacks, NeedsPerFrame

    out: list[Item] = []
    tfo: list[int] = []
    stacks = FrameStacks()
    # each batch's stack codes and wire lengths (arrays: a million frames' pairs as tuples
    # would cost ~100 MB), handed to ``protocols`` once the pass cannot fall back any more
    stack_parts: list[tuple[Any, Any]] = []
    parts: list[ColumnTable] = []
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


def _packet_items(number: int, packet: Any, frames: set[int] | None, out: list[Item],
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


def _tfo_items(tfo: list[int], syns: Any) -> list[Item]:
    """"TCP SYN with TFO Cookie" for the frames of ``tfo`` that are SYNs without ACK in the
    TCP analysis table (``syns``: their frame numbers, sorted). Appended after the
    findings, these items still follow their frame's findings once sorted by frame."""
    if not tfo:
        return []
    numbers = np.array(tfo, dtype=np.int64)
    keep = np.isin(numbers, syns)
    return [(n, "Note", "Sequence", "TCP", "TCP SYN with TFO Cookie") for n in numbers[keep].tolist()]


def finding_items_per_frame(path: str | PathLike[str], frames: set[int] | None, syns: Any,
                             protocols: list[tuple[str, int]] | StackCounts | None = None) -> list[Item]:
    """:func:`finding_items` with every frame dissected (the reference the fast path matches)."""
    from pcapkit.dissect.driver import dissect_file

    out: list[Item] = []
    tfo: list[int] = []
    for packet in dissect_file(str(path)):
        if protocols is not None:
            # (interned: a few distinct protocol stacks over millions of frames)
            protocols.append((sys.intern(packet.protocols), packet.frame.wirelen))
        _packet_items(packet.frame.number, packet, frames, out, tfo)
    return out + _tfo_items(tfo, syns)


def int_values(col: Column, missing: int = 0) -> np.ndarray:
    """An integer column's values as int64, ``missing`` where missing."""
    values = np.asarray(col.values, dtype=np.int64)
    return values if col.mask is None else np.where(col.mask, missing, values)


def flag_values(col: Column) -> np.ndarray:
    """A boolean column's values, False where missing."""
    values = np.asarray(col.values, dtype=bool)
    return values if col.mask is None else values & ~col.mask


# Local Network Control Block (224.0.0.0/24) addresses whose TTL is not 1 (packet-ip.c)
_LNCB_TTL = {0xE0000012: 255, 0xE0000066: 255}  # VRRP, GLBP
_LNCB_ANY_TTL = 0xE00000FB  # mDNS: any TTL


def _ipv4_items(packets: ColumnTable) -> list[Item]:
    """IPv4 TTL checks of packet-ip.c: to the Local Network Control Block a TTL other
    than the block's (1, or 255 for VRRP/GLBP, any for mDNS); elsewhere, below 5 to a
    unicast address except PIM and OSPF."""
    present = ~packets["ip.ttl"].missing()
    ttl = int_values(packets["ip.ttl"], 255)
    proto = int_values(packets["ip.proto"])
    dst = _ipv4_ints(packets["ip.dst"])
    numbers = packets["frame.number"].values
    # (whole columns at once: a million IPv4 rows cost arrays, not a Python loop)
    lncb = present & (dst >> 8 == 0xE00000)
    expected = np.ones(dst.size, dtype=np.int64)
    for address, value in _LNCB_TTL.items():
        expected[dst == address] = value
    lncb_note = lncb & (dst != _LNCB_ANY_TTL) & (ttl != expected)
    multicast = (dst >= 0xE0000000) & (dst <= 0xEFFFFFFF)
    low = present & ~lncb & ~multicast & (ttl < 5) & ~np.isin(proto, (103, 89))
    out: list[Item] = []
    for i in np.flatnonzero(lncb_note | low).tolist():
        if lncb_note[i]:
            out.append((int(numbers[i]), "Note", "Sequence", "IPv4",
                        f'"Time To Live" != {int(expected[i])} for a packet sent to the Local Network Control '
                        "Block (see RFC 3171)"))
        else:
            out.append((int(numbers[i]), "Note", "Sequence", "IPv4", f'"Time To Live" only {int(ttl[i])}'))
    return out


def _ipv4_ints(column: Column) -> Any:
    """IPv4 addresses (text, dictionary-coded or not) as int64, 0 where missing: each
    distinct text converted once."""
    if column.texts is not None:
        ints = np.array([_ipv4_int(c) for c in column.texts.tolist()] + [0], dtype=np.int64)
        codes = np.where(column.missing(), -1, column.values)
        return ints[codes]  # (code -1, a missing value: the 0 at the end)
    return np.array([_ipv4_int(d) for d in column.texts_at().tolist()], dtype=np.int64)


def _ipv4_int(text: object) -> int:
    if not isinstance(text, str):
        return 0
    a, b, c, d = (int(x) for x in text.split("."))
    return (a << 24) | (b << 16) | (c << 8) | d


def _dsack_items(packets: ColumnTable) -> list[Item]:
    """D-SACK Sequence (RFC 2883): a first SACK block that starts below the ACK number
    (sequence numbers compared modulo 2^32). The other D-SACK form, a first block inside
    the second, is not detected (pcapkit's table keeps the first block only)."""
    count = int_values(packets["tcp.options.sack.count"])
    left = int_values(packets["tcp.options.sack_le"])
    ack = int_values(packets["tcp.ack_raw"])
    below = ((ack - left) % (1 << 32) > 0) & ((ack - left) % (1 << 32) < (1 << 31))
    numbers = packets["frame.number"].values
    return [(int(numbers[i]), "Warn", "Sequence", "TCP", "D-SACK Sequence")
            for i in np.nonzero((count > 0) & below)[0].tolist()]


def _tcp_option_items(packets: ColumnTable) -> list[Item]:
    """packet-tcp.c's option notes: a SYN with options but no MSS option, a window scale
    shift above 14."""
    flags = int_values(packets["tcp.flags"])
    hdr_len = int_values(packets["tcp.hdr_len"])
    no_mss = packets["tcp.options.mss_val"].missing()
    shift = int_values(packets["tcp.options.wscale.shift"])
    numbers = packets["frame.number"].values
    out = [(int(numbers[i]), "Note", "Protocol", "TCP", "The SYN packet does not contain a MSS option")
           for i in np.nonzero(((flags & 0x002) != 0) & (hdr_len > 20) & no_mss)[0].tolist()]
    out += [(int(numbers[i]), "Warn", "Protocol", "TCP", "Window scale shift exceeds 14")
            for i in np.nonzero(shift > 14)[0].tolist()]
    return out


def table_items(packets: ColumnTable) -> list[Item]:
    """The items read from (a batch of) the packets table's :data:`PACKET_COLUMNS`."""
    return _dsack_items(packets) + _tcp_option_items(packets) + _ipv4_items(packets)


def _is_damage(exc: PcapkitError) -> bool:
    """A file error after the file header: the frames before it count (as read_packets keeps them)."""
    return isinstance(exc, CaptureFileError) and exc.after_header


def packet_tables(path: str | PathLike[str], frames: np.ndarray | None = None) -> tuple[list[ColumnTable], str | None]:
    """The packets table's :data:`PACKET_COLUMNS` of ``path``, batch by batch (the rows
    of ``frames`` only, when given), and the error that cut the file short, if any."""
    from pcapkit.columnar.api import iter_batch_tables

    out: list[ColumnTable] = []
    try:
        for batch in iter_batch_tables(str(path), columns=PACKET_COLUMNS, strict=True):
            if frames is not None:
                batch = batch.take(np.isin(batch["frame.number"].values, frames))
            out.append(batch)
    except PcapkitError as exc:
        if not _is_damage(exc):
            raise
        return out, str(exc)
    return out, None


def matched_frames(path: str | PathLike[str], filter: str) -> np.ndarray:
    """The numbers of the frames of ``path`` that the tcpdump expression ``filter``
    accepts (up to the damage of a file cut short)."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.capture.bpf import FilterPrograms, match_records

    programs = FilterPrograms(filter)
    numbers: list[np.ndarray] = []
    try:
        for rb in iter_records(str(path)):
            keep = np.asarray(match_records(programs, rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.linktype),
                              dtype=bool)
            numbers.append(np.arange(rb.first_number, rb.first_number + len(rb), dtype=np.int64)[keep])
    except PcapkitError as exc:
        if not _is_damage(exc):
            raise
    return np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
