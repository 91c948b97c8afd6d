"""Congestion-control view of one direction of a TCP connection, from the trace alone.

What is measured (all times integer ns, sequence numbers relative to the first one):

* **bytes in flight** after each data segment = highest sequence sent - highest ACK
  received (the sender's outstanding data; tshark's ``tcp.analysis.bytes_in_flight``
  without the SACK correction). Its envelope is the usual estimate of ``cwnd``.
* **RTT**: Karn's-rule samples (an ACK exactly ending a segment sent once, as tcptrace
  takes them); ``min_rtt`` is their minimum.
* **flights** ("fleets"): runs of data segments sent back-to-back. A new flight starts
  when the gap since the previous data segment exceeds ``max(min_rtt / 4, 1 ms)``, or
  when the flight has lasted one ``min_rtt`` (a continuously sending, ACK-clocked
  sender is cut into one flight per round trip).
  Each flight has its bytes, segments, the bytes in flight at its end and the
  ``period`` to the next flight (about one RTT while the sender is ACK-clocked).
* **loss episodes**: a data segment that re-sends sequence space already sent. It is a
  **fast retransmission** when at least 3 duplicate ACKs (same ACK, no data) for its
  sequence number arrived since the first ACK with that value, else a **timeout**;
  ``rto`` is the time since the oldest unacknowledged segment was first sent (as
  tshark's ``tcp.analysis.rto``). Note: tshark calls a retransmission "fast" after 2
  duplicate ACKs within 20 ms; this module follows RFC 5681's 3.
  Recovery ends when the ACK passes the highest sequence sent at the loss.

The phases, cwnd and algorithm of the sender are the congestion model's
(:mod:`pcapkit.tcpflow.ccmodel`), which reads this view; the flights stay here because the
Kurose & Ross lab asks for them (fleets and their period).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from pcapkit.proto.seq import seq_diff
from pcapkit.tcpflow.segment import ACK, ECE, FIN, RST, SYN, Segment


class SentSegment(NamedTuple):
    """One data segment the sender sent (a named tuple: one is built per segment, and a
    tuple is built several times faster than a frozen dataclass)."""

    frame: int
    ts_ns: int
    seq: int            # relative to the sender's first sequence number (SYN = 0)
    length: int
    bytes_in_flight: int
    retransmission: bool
    window: int         # receiver's last advertised window (scaled) when sent, -1 unknown
    ts_ecr: int | None = None   # the timestamp option's echo (the receiver's TSval it last had)


class AckEvent(NamedTuple):
    """One ACK the receiver sent (a named tuple, as :class:`SentSegment`)."""

    frame: int
    ts_ns: int
    ack: int            # relative
    window: int         # scaled
    duplicate: bool
    sacks: tuple[tuple[int, int], ...] = ()  # SACK blocks (relative [left, right)), as sent
    ece: bool = False   # the receiver echoes a congestion mark (ECN)
    ts_val: int | None = None   # the timestamp option's value


@dataclass(frozen=True, slots=True)
class LossEpisode:
    frame: int
    ts_ns: int
    seq: int
    kind: str           # "fast-retransmit" | "timeout"
    dupacks: int
    rto_ns: int
    recovered_ns: int | None


@dataclass(slots=True)
class Flight:
    start_ns: int
    end_ns: int
    first_frame: int
    segments: int = 0
    bytes: int = 0
    bytes_in_flight: int = 0      # after the flight's last segment
    idle_before: bool = False     # nothing was in flight when it started
    retransmissions: int = 0
    window: int = -1
    period_ns: int | None = None


@dataclass(slots=True)
class CongestionReport:
    sender: tuple[str, int]
    receiver: tuple[str, int]
    mss: int
    min_rtt_ns: int | None
    rtt_samples: list[tuple[int, int, int]] = field(default_factory=list)  # (ack frame, ts, rtt)
    sent: list[SentSegment] = field(default_factory=list)
    acks: list[AckEvent] = field(default_factory=list)
    losses: list[LossEpisode] = field(default_factory=list)
    flights: list[Flight] = field(default_factory=list)
    # the handshake as captured (None: not seen): when the sender's and the receiver's
    # SYN (or SYN-ACK) and the first ACK after them went by; where the capture was taken
    # follows from it (:mod:`pcapkit.tcpflow.ccvantage`)
    sender_syn_ns: int | None = None
    receiver_syn_ns: int | None = None
    handshake_ack_ns: int | None = None
    sender_opened: bool = True
    # the number of ACKs (of ``acks``) the sender had processed when it sent each data
    # segment, where the capture order does not tell (a capture at the receiver); None:
    # the capture order (the ACKs captured before the segment)
    acks_before: list[int] | None = None
    vantage: str = "sender"


def analyse_direction(segs: Iterable[Segment], sender: tuple[str, int],
                      receiver: tuple[str, int], *, flights: bool = True) -> CongestionReport:
    """Congestion view of the data ``sender`` sends to ``receiver`` (segments of one
    connection, in capture order). ``flights=False`` leaves ``flights`` empty (the
    congestion model does not read them)."""
    isn: int | None = None
    r_scale = s_scale = 0
    scale_on = False
    mss = 0
    snd_max = 0         # highest relative seq sent (one past)
    snd_una = 0         # highest relative ack received
    last_window = -1
    rep = CongestionReport(sender, receiver, 0, None)
    # outstanding segments for Karn RTT: rel end -> (send ts, retransmitted?), and their
    # ends in order (bisect: out-of-order data with holes keeps thousands outstanding)
    out: dict[int, tuple[int, bool]] = {}
    out_ends: list[int] = []
    first_tx: dict[int, int] = {}       # last rel seq of a segment -> its first send time
    first_heap: list[tuple[int, int]] = []  # (first send time, last rel seq), unacked ones
    dup_count = 0
    last_ack_val = -1
    recovery_until: int | None = None
    pending_loss: list[int] = []        # indexes in rep.losses awaiting recovery
    s_wscale = r_wscale = None
    (s_host, s_port), (r_host, r_port) = sender, receiver
    sent_append, acks_append = rep.sent.append, rep.acks.append
    for seg in segs:
        src, sport, dst, dport = seg.src, seg.sport, seg.dst, seg.dport
        from_sender = sport == s_port and dport == r_port and src == s_host and dst == r_host
        from_receiver = sport == r_port and dport == s_port and src == r_host and dst == s_host
        if not (from_sender or from_receiver):
            continue
        flags = seg.flags
        if from_sender:
            if flags & SYN:
                isn = seg.seq
                s_wscale = seg.wscale
                if seg.mss:
                    mss = seg.mss
            if isn is None:
                isn = (seg.seq - 1) & 0xFFFFFFFF
        elif flags & SYN:
            r_wscale = seg.wscale
            if seg.mss and not mss:
                mss = seg.mss
        if flags & SYN:
            if from_sender and rep.sender_syn_ns is None:
                rep.sender_syn_ns = seg.ts_ns
                rep.sender_opened = rep.receiver_syn_ns is None
            elif from_receiver and rep.receiver_syn_ns is None:
                rep.receiver_syn_ns = seg.ts_ns
        elif (rep.handshake_ack_ns is None and rep.sender_syn_ns is not None and rep.receiver_syn_ns is not None
              and flags & ACK):
            rep.handshake_ack_ns = seg.ts_ns
        if flags & SYN:
            # scaling is on once both SYNs carried the option, whichever side sent first
            # (the receiver's SYN comes first in a download)
            scale_on = s_wscale is not None and r_wscale is not None
            if scale_on:
                r_scale, s_scale = r_wscale or 0, s_wscale or 0
        if isn is None:
            continue
        length = max(seg.seglen, 0)
        if from_sender and length > 0 and not flags & RST:
            rel = seq_diff(seg.seq, isn)
            end = rel + length
            retrans = rel < snd_max
            if end > snd_max:
                snd_max = end
            bif = snd_max - snd_una
            sent_append(SentSegment(seg.frame_number, seg.ts_ns, rel, length, bif, retrans, last_window,
                                    seg.ts_ecr))
            mss = mss if mss else max(mss, length)
            if retrans:
                # the earliest first send of a segment not yet acknowledged (snd_una only grows:
                # an acknowledged one leaves the heap for good)
                while first_heap and first_heap[0][1] + 1 <= snd_una:
                    heapq.heappop(first_heap)
                prev = first_heap[0][0] if first_heap else None
                kind = "fast-retransmit" if dup_count >= 3 and last_ack_val == rel else "timeout"
                rep.losses.append(LossEpisode(seg.frame_number, seg.ts_ns, rel, kind,
                                              dup_count if last_ack_val == rel else 0,
                                              seg.ts_ns - prev if prev is not None else 0, None))
                pending_loss.append(len(rep.losses) - 1)
                if recovery_until is None:
                    recovery_until = snd_max
                _outstanding(out, out_ends, end, seg.ts_ns, True)
                for k in out_ends[bisect.bisect_right(out_ends, rel):bisect.bisect_right(out_ends, end)]:
                    out[k] = (out[k][0], True)
            else:
                _outstanding(out, out_ends, end, seg.ts_ns, False)
            if end - 1 not in first_tx:
                first_tx[end - 1] = seg.ts_ns
                heapq.heappush(first_heap, (seg.ts_ns, end - 1))
        elif from_receiver and flags & ACK and not flags & RST:
            rel_ack = seq_diff(seg.ack, isn)
            if flags & FIN and rel_ack > snd_max:
                rel_ack = snd_max
            window = seg.window << (r_scale if scale_on and not flags & SYN else 0)
            dup = length == 0 and not flags & (FIN | RST) and rel_ack == last_ack_val and window == last_window
            if rel_ack > last_ack_val:
                dup_count = 0
                hit = out.get(rel_ack)
                covered = bisect.bisect_right(out_ends, rel_ack)  # out_ends[:covered] <= rel_ack
                # Karn: the ACK ends a segment sent once, and no earlier one was re-sent
                if hit is not None and not hit[1] and not any(out[k][1] for k in out_ends[:covered] if k < rel_ack):
                    rep.rtt_samples.append((seg.frame_number, seg.ts_ns, seg.ts_ns - hit[0]))
                for k in out_ends[:covered]:
                    del out[k]
                del out_ends[:covered]
                last_ack_val = rel_ack
            elif dup:
                dup_count += 1
            snd_una = max(snd_una, rel_ack)
            last_window = window
            sacks = tuple((seq_diff(lo, isn), seq_diff(hi, isn)) for lo, hi in seg.sack_blocks) \
                if seg.sack_blocks else ()
            acks_append(AckEvent(seg.frame_number, seg.ts_ns, rel_ack, window, dup, sacks,
                                 bool(flags & ECE) and not flags & SYN, seg.ts_val))
            if recovery_until is not None and rel_ack >= recovery_until:
                for i in pending_loss:
                    loss = rep.losses[i]
                    rep.losses[i] = LossEpisode(loss.frame, loss.ts_ns, loss.seq, loss.kind,
                                                loss.dupacks, loss.rto_ns, seg.ts_ns)
                pending_loss.clear()
                recovery_until = None
    del s_scale
    rep.mss = mss or 1460
    rep.min_rtt_ns = min((r for _, _, r in rep.rtt_samples), default=None)
    if flights:
        _flights(rep)
    return rep


def _outstanding(out: dict[int, tuple[int, bool]], ends: list[int], end: int, ts_ns: int, retrans: bool) -> None:
    """Record a segment ending at ``end`` as outstanding (the last send of an end wins)."""
    if end not in out:
        bisect.insort(ends, end)
    out[end] = (ts_ns, retrans)


def _flights(rep: CongestionReport) -> None:
    min_rtt = rep.min_rtt_ns or 0
    gap = max(min_rtt // 4, 1_000_000)
    flights: list[Flight] = []
    prev_ts: int | None = None
    for s in rep.sent:
        if prev_ts is None or s.ts_ns - prev_ts > gap or (min_rtt and s.ts_ns - flights[-1].start_ns >= min_rtt):
            flights.append(Flight(s.ts_ns, s.ts_ns, s.frame, idle_before=s.bytes_in_flight <= s.length))
        f = flights[-1]
        f.end_ns = s.ts_ns
        f.segments += 1
        f.bytes += s.length
        f.bytes_in_flight = s.bytes_in_flight
        f.window = s.window
        f.retransmissions += s.retransmission
        prev_ts = s.ts_ns
    for a, b in itertools.pairwise(flights):
        a.period_ns = b.start_ns - a.start_ns
    rep.flights = flights


def largest_transfer(segs: list[Segment]) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """(sender, receiver) of the direction that carried the most payload bytes."""
    totals: dict[tuple[tuple[str, int], tuple[str, int]], int] = {}
    for s in segs:
        if s.seglen > 0:
            key = ((s.src, s.sport), (s.dst, s.dport))
            totals[key] = totals.get(key, 0) + s.seglen
    if not totals:
        return None
    return max(totals.items(), key=lambda kv: kv[1])[0]
