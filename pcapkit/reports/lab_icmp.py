"""Answers to the Kurose & Ross "Wireshark lab: ICMP" questions (v8.0).

Ping part (icmp-ethereal-trace-1): the host and destination, why ICMP has no ports, the
Echo request's and reply's type, code and fields (with their sizes), every request/reply
pair with its round-trip time. Traceroute part (icmp-ethereal-trace-2): host and target,
the protocol number UDP probes would use, how the probes differ from ping's, what an
ICMP error carries (the quoted IP header and the first 8 bytes of the datagram), the
last packets from the destination, the hops with the round-trip time of each probe, and
the hop with the largest increase in delay. A part the trace does not hold says so.

Round-trip times are the difference of the capture timestamps, exact, in milliseconds.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from os import PathLike
from statistics import mean
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import Answers, LabError, Trace, get, layer, read_trace

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet

ECHO_REPLY, ECHO_REQUEST, TIME_EXCEEDED = 0, 8, 11
ECHO_FIELDS = "Type (1 byte), Code (1), Checksum (2), Identifier (2), Sequence number (2), then the data"


def ms(ns: int) -> str:
    """Nanoseconds as exact milliseconds text ("413.442" for 413,442,000 ns)."""
    whole, frac = divmod(ns, 1_000_000)
    if frac % 1000 == 0:
        return f"{whole}.{frac // 1000:03d}"
    return f"{whole}.{frac:06d}"


def _icmp(p: Packet, name: str, nth: int = 0) -> int | None:
    value = get(p, "icmp", name, nth)
    return None if value is None else int(value)


def _echo(out: Answers, p: Packet, what: str) -> None:
    out.add(f"{what}: ICMP type and code",
            f"type {_icmp(p, 'icmp.type')}, code {_icmp(p, 'icmp.code')}", [p])
    out.add(f"{what}: its other fields and their sizes",
            f"{ECHO_FIELDS}: identifier 0x{_icmp(p, 'icmp.ident') or 0:04x}, sequence number "
            f"{_icmp(p, 'icmp.seq')}, checksum 0x{_icmp(p, 'icmp.checksum') or 0:04x}, "
            f"{get(p, 'ip', 'ip.len') - get(p, 'ip', 'ip.hdr_len') - 8} data bytes", [p])


def _pairs(trace: Trace) -> list[tuple[Packet, Packet]]:
    """Echo requests with the reply Wireshark pairs with them (same identifier and sequence
    number, addresses swapped, the first reply after the request)."""
    pairs = []
    requests = {}
    for p in trace:
        t = _icmp(p, "icmp.type")
        if layer(p, "ip", 1) is not None or t not in (ECHO_REQUEST, ECHO_REPLY):
            continue
        key = (_icmp(p, "icmp.ident"), _icmp(p, "icmp.seq"))
        src, dst = get(p, "ip", "ip.src"), get(p, "ip", "ip.dst")
        if t == ECHO_REQUEST:
            requests[(*key, src, dst)] = p
        elif (request := requests.pop((*key, dst, src), None)) is not None:
            pairs.append((request, p))
    return pairs


def lab_icmp(path: str | PathLike[str]) -> pd.DataFrame:
    """The ICMP lab's questions and answers (question / answer / frames rows)."""
    return lab_icmp_table(path).to_pandas()


def lab_icmp_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_icmp` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_trace(path)
    if not any(layer(p, "icmp") is not None for p in trace):
        raise LabError(trace.error or f"{path}: no ICMP messages")
    out = Answers()
    pairs = _pairs(trace)
    if pairs:
        request, reply = pairs[0]
        out.add("ping: IP address of the host and of the destination",
                f"host {get(request, 'ip', 'ip.src')}, destination {get(request, 'ip', 'ip.dst')}", [request])
        out.add("ping: why has an ICMP packet no source and destination port numbers",
                f"ICMP is carried directly in IP (protocol {get(request, 'ip', 'ip.proto')}), not in a transport "
                "protocol: it is not addressed to a process; its type and code say what the message is", [request])
        _echo(out, request, "ping request")
        _echo(out, reply, "ping reply")
        rtts = [r.frame.ts_ns - q.frame.ts_ns for q, r in pairs]
        out.add("ping: request/reply pairs (request frame -> reply frame: sequence number, RTT ms)",
                "; ".join(f"{q.frame.number} -> {r.frame.number}: seq {_icmp(q, 'icmp.seq')}, {ms(t)}"
                          for (q, r), t in zip(pairs, rtts, strict=True)), [p for pair in pairs for p in pair])
        out.add("ping: RTT min / mean / max (ms)",
                f"{ms(min(rtts))} / {mean(rtts) / 1e6:.3f} / {ms(max(rtts))} over {len(rtts)} replies",
                [p for pair in pairs for p in pair])
    else:
        out.missing("ping: Echo request and reply", "no Echo request in the trace is answered by an Echo reply")
    _traceroute(out, trace, pairs)
    return out.table(trace.error, trace.warnings)


def _traceroute(out: Answers, trace: Trace, pairs: list[tuple[Packet, Packet]]) -> None:
    errors = [p for p in trace if _icmp(p, "icmp.type") == TIME_EXCEEDED and layer(p, "ip", 1) is not None]
    if not errors:
        out.missing("traceroute: hops, ICMP error contents and round-trip times",
                    "no ICMP time-exceeded message in the trace (this is a ping trace; the traceroute part "
                    "uses icmp-ethereal-trace-2)")
        return
    host, target = Counter((get(p, "ip", "ip.src", 1), get(p, "ip", "ip.dst", 1))
                           for p in errors).most_common(1)[0][0]
    probes = [p for p in trace if (get(p, "ip", "ip.src"), get(p, "ip", "ip.dst")) == (host, target)
              and layer(p, "ip", 1) is None]
    if not probes:  # (captured where only the errors pass: they quote probes that are not in the trace)
        out.missing("traceroute: hops, ICMP error contents and round-trip times",
                    f"the ICMP time-exceeded messages quote probes from {host} to {target}, but none of those "
                    "probes is in the trace", errors)
        return
    first = probes[0]
    proto = get(first, "ip", "ip.proto")
    out.add("traceroute: IP address of the host and of the target", f"host {host}, target {target}", [first])
    out.add("traceroute: would UDP probes still carry IP protocol number 1",
            f"no: UDP probes carry 17; these probes carry {proto}", [first])
    ttls = [get(p, "ip", "ip.ttl") for p in probes]
    data = sorted({get(p, "ip", "ip.len") - get(p, "ip", "ip.hdr_len") - 8 for p in probes})
    out.add("traceroute: how do its Echo requests differ from ping's",
            f"same ICMP fields (type {_icmp(first, 'icmp.type')}, code {_icmp(first, 'icmp.code')}, identifier, "
            f"sequence number); the IP TTL grows from {min(ttls)} to {max(ttls)} and they carry "
            f"{'/'.join(map(str, data))} data bytes", probes)
    e = errors[0]
    out.add("ICMP error: type and code", f"type {_icmp(e, 'icmp.type')}, code {_icmp(e, 'icmp.code')} "
            "(time to live exceeded in transit)", [e])
    out.add("ICMP error: what its extra fields hold",
            f"the IP header of the datagram that expired (source {get(e, 'ip', 'ip.src', 1)}, destination "
            f"{get(e, 'ip', 'ip.dst', 1)}, TTL {get(e, 'ip', 'ip.ttl', 1)}, protocol {get(e, 'ip', 'ip.proto', 1)}, "
            f"identification 0x{get(e, 'ip', 'ip.id', 1):04x}) and its first 8 bytes: ICMP type "
            f"{_icmp(e, 'icmp.type', 1)}, code {_icmp(e, 'icmp.code', 1)}, identifier "
            f"0x{_icmp(e, 'icmp.ident', 1) or 0:04x}, sequence number {_icmp(e, 'icmp.seq', 1)}", [e])
    to_host = [p for p in trace if get(p, "ip", "ip.dst") == host and layer(p, "icmp") is not None]
    last = to_host[-3:]
    kinds = Counter((get(p, "ip", "ip.src"), _icmp(p, "icmp.type")) for p in last)
    out.add("the last three ICMP packets the host received: how they differ from the errors",
            "; ".join(f"{n} x type {t} from {src}" for (src, t), n in kinds.items())
            + (f": Echo replies from the target itself (the TTL was large enough to reach {target})"
               if all(t == ECHO_REPLY for _, t in kinds) else ""), last)
    _hops(out, probes, errors, pairs)


def _hops(out: Answers, probes: list[Packet], errors: list[Packet], pairs: list[tuple[Packet, Packet]]) -> None:
    """One row per TTL: who answered and each probe's round-trip time ("*": no answer)."""
    answer: dict[int, Packet] = {}
    by_seq = {(_icmp(p, "icmp.ident"), _icmp(p, "icmp.seq")): p for p in probes}
    for e in errors:
        probe = by_seq.get((_icmp(e, "icmp.ident", 1), _icmp(e, "icmp.seq", 1)))
        if probe is not None:
            answer.setdefault(probe.frame.number, e)
    for q, r in pairs:
        answer.setdefault(q.frame.number, r)
    by_ttl: dict[int, list[Packet]] = {}
    for p in probes:
        by_ttl.setdefault(get(p, "ip", "ip.ttl"), []).append(p)
    means: list[tuple[int, str, float]] = []
    for ttl, sent in sorted(by_ttl.items()):
        got = [answer.get(p.frame.number) for p in sent]
        routers = sorted({get(r, "ip", "ip.src") for r in got if r is not None})
        rtts = [None if r is None else r.frame.ts_ns - p.frame.ts_ns for p, r in zip(sent, got, strict=True)]
        out.add(f"traceroute hop (TTL {ttl}): router and the RTT of each probe (ms)",
                f"{', '.join(routers) or '*'}: " + ", ".join("*" if t is None else ms(t) for t in rtts),
                [x for pair in zip(sent, got, strict=True) for x in pair if x is not None])
        answered = [t for t in rtts if t is not None]
        if answered:
            means.append((ttl, ", ".join(routers), mean(answered) / 1e6))
    jumps = [(b[2] - a[2], a, b) for a, b in pairwise(means)]
    if jumps:
        d, a, b = max(jumps)
        out.add("the link with the largest increase in delay (mean RTT per hop)",
                f"between hop {a[0]} ({a[1]}, {a[2]:.3f} ms) and hop {b[0]} ({b[1]}, {b[2]:.3f} ms): "
                f"+{d:.3f} ms")
        out.missing("the routers' names and where they are (the two ends of that link)",
                    "the trace holds only the routers' addresses: tracert's reverse DNS look-ups are not in it")
