"""Answers to the Kurose & Ross "Wireshark lab: IP" questions (v8.0 and v8.1).

Both traces hold a traceroute run at growing datagram sizes (v8.0: ICMP Echo probes of 56,
2000 and 3500 bytes; v8.1: UDP probes of 56 and 3000 bytes). The lab's host and target are
read from the ICMP time-exceeded messages (the host and destination of the datagrams they
quote), the probes are the host's datagrams to the target, grouped by IP identification
(one group per datagram, one member per fragment) and split into runs of equal size.

Questions: the first probe (address, TTL, protocol, header and payload bytes, fragmented?),
which header fields always change / stay constant over the first run, the pattern of the
identification field, the upper-layer protocol of the routers' replies, the nearest router's
replies (identification, TTL), every router's identification and TTL values, and for each
fragmented size the first datagram's fragments: flags, offsets, lengths, which fields change
between fragments and what marks the last one. The v8.1 IPv6 part needs its own trace.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.reports.lab_common import Answers, LabError, Trace, get, layer
from pcapkit.reports.lab_read import column, has, port_in, read_selected, read_whole

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.columnar.columns import Columns
    from pcapkit.dissect.driver import Packet

# IPv4 header fields as Wireshark names them, in header order
HEADER_FIELDS = {"ip.version": "Version", "ip.hdr_len": "Header Length", "ip.dsfield": "Differentiated Services",
                 "ip.len": "Total Length", "ip.id": "Identification", "ip.flags": "Flags",
                 "ip.frag_offset": "Fragment Offset", "ip.ttl": "Time to Live", "ip.proto": "Protocol",
                 "ip.checksum": "Header Checksum", "ip.src": "Source Address", "ip.dst": "Destination Address"}
TIME_EXCEEDED = 11
ICMP, UDP = 1, 17


def _wanted(cols: Columns) -> np.ndarray:
    """The frames the lab looks at: ICMP and UDP over IPv4 (the traceroute's probes and the routers'
    replies, every fragment of them), ICMPv6, UDP over IPv6 and DNS over TCP (the v8.1 AAAA query)."""
    proto, v4 = column(cols, "ip.proto")
    return ((v4 & ((proto == ICMP) | (proto == UDP))) | has(cols, "icmpv6.type") | has(cols, "udp.srcport")
            | port_in(cols, "tcp", (53,)))


def header(packet: Packet) -> dict[str, Any]:
    """The outer IPv4 header's fields of ``packet`` (the first ``ip`` layer)."""
    ip = layer(packet, "ip")
    assert ip is not None
    return {name: ip.fields.get(name) for name in HEADER_FIELDS}


def changes(packets: list[Packet]) -> tuple[list[str], list[str], list[str]]:
    """Header fields that change between every pair of consecutive datagrams, that change
    sometimes, and that never change."""
    headers = [header(p) for p in packets]
    always, sometimes, constant = [], [], []
    for name, label in HEADER_FIELDS.items():
        values = [h[name] for h in headers]
        if len(set(values)) == 1:
            constant.append(label)
        elif all(a != b for a, b in pairwise(values)):
            always.append(label)
        else:
            sometimes.append(label)
    return always, sometimes, constant


def _hex(value: int | None) -> str:
    return "" if value is None else f"0x{value:04x}"


def traceroute(trace: Trace) -> tuple[str, str, list[Packet]]:
    """(host, target, the ICMP time-exceeded messages quoting the host's datagrams to it)."""
    errors = [p for p in trace if get(p, "icmp", "icmp.type") == TIME_EXCEEDED and layer(p, "ip", 1) is not None]
    pairs = Counter((get(p, "ip", "ip.src", 1), get(p, "ip", "ip.dst", 1)) for p in errors)
    if not pairs:
        raise LabError(trace.error or f"{trace.path}: no ICMP time-exceeded message (no traceroute)")
    (host, target), _ = pairs.most_common(1)[0]
    return host, target, [p for p in errors if (get(p, "ip", "ip.src", 1), get(p, "ip", "ip.dst", 1)) == (host, target)]


def datagrams(trace: Trace, host: str, target: str) -> list[list[Packet]]:
    """The host's datagrams to the target in order, each as its fragments (one when whole).
    A fragment joins the open datagram with its identification until that datagram's last
    fragment (More Fragments clear) has been seen: traceroute runs reuse identifications."""
    done: list[list[Packet]] = []
    open_: dict[int, list[Packet]] = {}
    for p in trace:
        if layer(p, "ip") is None or (get(p, "ip", "ip.src"), get(p, "ip", "ip.dst")) != (host, target):
            continue
        group = open_.setdefault(get(p, "ip", "ip.id"), [])
        if not group:
            done.append(group)
        group.append(p)
        if not get(p, "ip", "ip.flags.mf"):
            del open_[get(p, "ip", "ip.id")]
    return done


def _size(datagram: list[Packet]) -> int:
    """The datagram's length before fragmentation (the last fragment's end)."""
    last = max(datagram, key=lambda p: get(p, "ip", "ip.frag_offset") or 0)
    return int(8 * (get(last, "ip", "ip.frag_offset") or 0) + get(last, "ip", "ip.len"))


def _fragmented(datagram: list[Packet]) -> bool:
    return len(datagram) > 1 or bool(get(datagram[0], "ip", "ip.flags.mf")) or bool(
        get(datagram[0], "ip", "ip.frag_offset"))


def _runs(probes: list[list[Packet]]) -> list[tuple[int, list[list[Packet]]]]:
    runs: list[tuple[int, list[list[Packet]]]] = []
    for d in probes:
        size = _size(d)
        if runs and runs[-1][0] == size:
            runs[-1][1].append(d)
        else:
            runs.append((size, [d]))
    return runs


def lab_ip(path: str | PathLike[str]) -> pd.DataFrame:
    """The IP lab's questions and answers (question / answer / frames rows)."""
    return lab_ip_table(path).to_pandas()


def lab_ip_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_ip` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_selected(path, _wanted)
    host, target, errors = traceroute(trace)
    if trace.selective and trace.skipped_pair(host, target):
        # the host sent the target something else too: the probes are every datagram, so read them all
        trace = read_whole(path)
        host, target, errors = traceroute(trace)
    probes = datagrams(trace, host, target)
    if not probes:  # (captured where only the errors pass, e.g. at a router: they quote probes not in the trace)
        raise LabError(trace.error or f"{trace.path}: the ICMP time-exceeded messages quote datagrams from {host} "
                       f"to {target}, but none of those datagrams is in the trace")
    out = Answers()
    first = probes[0][0]
    h = header(first)
    out.add("IP address of the host (the traceroute's source)", host, [first])
    out.add("first probe: destination (traceroute target)", target, [first])
    out.add("first probe: TTL", h["ip.ttl"], [first])
    carried = [x.protocol for x in first.layers]
    out.add("first probe: upper-layer protocol field", f"{h['ip.proto']} ({carried[carried.index('ip') + 1]})"
            if len(carried) > carried.index("ip") + 1 else h["ip.proto"], [first])
    out.add("first probe: IP header bytes", h["ip.hdr_len"], [first])
    out.add("first probe: payload bytes (total length - header length)",
            f"{h['ip.len'] - h['ip.hdr_len']} = {h['ip.len']} - {h['ip.hdr_len']}", [first])
    out.add("first probe: has it been fragmented",
            "yes" if _fragmented(probes[0]) else
            f"no: More Fragments flag {int(bool(get(first, 'ip', 'ip.flags.mf')))} and fragment offset "
            f"{get(first, 'ip', 'ip.frag_offset')}", [first])
    runs = _runs(probes)
    small = [d[0] for d in runs[0][1]]
    always, sometimes, constant = changes(small)
    out.add(f"fields that always change between the host's datagrams ({runs[0][0]}-byte run)",
            ", ".join(always) or "none", small)
    out.add(f"fields that change only sometimes ({runs[0][0]}-byte run)", ", ".join(sometimes) or "none", small)
    out.add(f"fields that stay constant ({runs[0][0]}-byte run)", ", ".join(constant) or "none", small)
    ids = [get(p, "ip", "ip.id") for p in small]
    steps = Counter(b - a for a, b in pairwise(ids))
    out.add("pattern of the Identification field",
            f"{_hex(ids[0])} to {_hex(ids[-1])}, " + (
                "increasing by 1 with each datagram" if set(steps) == {1}
                else "steps " + ", ".join(f"{s:+d} ({n}x)" for s, n in steps.most_common())), small)
    out.add("upper-layer protocol in the routers' replies (ICMP time exceeded)",
            ", ".join(str(x) for x in sorted({get(p, "ip", "ip.proto") for p in errors})) + " (ICMP)", errors[:1])
    _routers(out, trace, probes, errors)
    for size, run in runs:
        fragmented = [d for d in run if _fragmented(d)]
        if fragmented:
            _fragments(out, size, fragmented[0])
    sizes = [s for s, r in runs if not any(_fragmented(d) for d in r)]
    out.add("probe sizes that were not fragmented (bytes)", ", ".join(map(str, sorted(set(sizes)))) or "none")
    v6 = [p for p in trace if layer(p, "ipv6") is not None and get(p, "dns", "dns.qry.type") == 28]
    if not v6:
        out.missing("IPv6 part (v8.1): the host's AAAA query over IPv6 and its response",
                    "this trace holds no DNS AAAA query over IPv6 (the v8.1 lab uses ip-wireshark-trace2-1 "
                    "for it)")
    return out.table(trace.error, trace.warnings)


def _routers(out: Answers, trace: Trace, probes: list[list[Packet]], errors: list[Packet]) -> None:
    """The routers that answered, nearest first (by the TTL of the probe they answer)."""
    ttl_of = {get(d[0], "ip", "ip.id"): get(d[0], "ip", "ip.ttl") for d in probes}
    by_router: dict[str, list[Packet]] = {}
    for p in errors:
        by_router.setdefault(get(p, "ip", "ip.src"), []).append(p)
    hop = {r: min(ttl_of.get(get(p, "ip", "ip.id", 1), 255) for p in ps) for r, ps in by_router.items()}
    order = sorted(by_router, key=lambda r: (hop[r], by_router[r][0].frame.number))
    nearest = by_router[order[0]]
    ids = [get(p, "ip", "ip.id") for p in nearest]
    ttls = [get(p, "ip", "ip.ttl") for p in nearest]
    out.add("nearest router (answers the TTL-1 probes)", order[0], nearest)
    out.add("nearest router's replies: Identification and TTL",
            f"Identification {', '.join(_hex(i) for i in ids)}; TTL {', '.join(map(str, ttls))}", nearest)
    same = len(set(ids)) == 1 and len(set(ttls)) == 1
    out.add("do these values stay the same in all the nearest router's replies",
            ("yes: " if same else "no: ")
            + ("TTL stays " + str(ttls[0]) if len(set(ttls)) == 1 else "TTL varies")
            + (" and Identification stays " + _hex(ids[0]) if len(set(ids)) == 1
               else " and Identification changes (a new datagram each time)"), nearest)
    parts = []
    for r in order:
        rids = [get(p, "ip", "ip.id") for p in by_router[r]]
        rttl = sorted({get(p, "ip", "ip.ttl") for p in by_router[r]})
        kind = "always 0x0000" if set(rids) == {0} else "all equal" if len(set(rids)) == 1 else "changing"
        parts.append(f"{r} (hop {hop[r]}): Identification {kind}, TTL {'/'.join(map(str, rttl))}")
    out.add("every router's replies: Identification behaviour and TTL values", "; ".join(parts), errors)


def _fragments(out: Answers, size: int, datagram: list[Packet]) -> None:
    label = f"{size}-byte datagram"
    frags = sorted(datagram, key=lambda p: get(p, "ip", "ip.frag_offset") or 0)
    out.add(f"{label}: fragmented into how many IP datagrams", len(frags), frags)
    for i, p in enumerate(frags, 1):
        mf, off, length = get(p, "ip", "ip.flags.mf"), get(p, "ip", "ip.frag_offset"), get(p, "ip", "ip.len")
        role = "first" if off == 0 else "last" if not mf else "middle"
        out.add(f"{label}: fragment {i}: Identification, More Fragments, offset, total length",
                f"{_hex(get(p, 'ip', 'ip.id'))}, MF={int(bool(mf))}, offset {off} ({off * 8} bytes), "
                f"length {length}: {role} fragment ("
                + ("offset 0 with MF set" if role == "first" else "offset > 0 with MF clear" if role == "last"
                   else "offset > 0 with MF set") + ")", [p])
    always, sometimes, _ = changes(frags)
    changed = [x for x in HEADER_FIELDS.values() if x in always or x in sometimes]
    out.add(f"{label}: fields that change between the fragments", ", ".join(changed) or "none", frags)
