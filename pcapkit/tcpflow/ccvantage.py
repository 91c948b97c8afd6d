"""Where a capture was taken, and the sender's view of a capture taken at the receiver.

The congestion model (:mod:`pcapkit.tcpflow.ccflight`) replays the sender's scoreboard in
the order the sender met its events: the ACKs it had processed when each data segment
left. At the sender that is the capture's order. At the receiver it is not: a data
segment arrives one forward delay after it left, an ACK reaches the sender one return
delay after it left, so the capture shows each segment about one RTT after the ACKs that
released it, and the capture's bytes in flight (highest sequence - highest ACK, both as
the receiver sees them) is about zero. This module says which end a capture is near and,
for the receiver's end, which ACKs the sender had processed when it sent each segment.

**Vantage.** The handshake tells which end the capture is near: that end answers at
once (SYN-ACK right after the SYN at the server, the ACK right after the SYN-ACK at the
client) while the far end's answer comes one RTT later. A capture near the end that sends
the data is ``sender``-side, near the other end ``receiver``-side. Without a whole
handshake the capture counts as sender-side (the model's old assumption, said in the
report).

**The sender's order at the receiver.** The sender had processed ACK ``a`` when it sent
segment ``s`` iff ``t(s) - t(a) >= RTT(s)``, both times as captured at the receiver, and
``RTT(s)`` the round trip of ``s``'s own send (queueing included). With TCP timestamps
the segment says more: its TSecr is the TSval of the latest ACK the sender had
processed, so every ACK with a smaller TSval was processed and none with a larger one;
only the ACKs sharing that TSval (one clock tick of the receiver's, 1 ms on Linux) are
placed by time. ``RTT(s)`` is sampled at each segment that echoes a new TSval (the
sender sends it when the ACK carrying that TSval first arrives, if its window allows):
its arrival minus the first ACK with that TSval. Without timestamps only the handshake's
RTT is known, and queueing at a bottleneck is not (see the issue-12 figures in
benchmarks/congestion/README.md: the ordering, and so cwnd, is then far less certain).
"""

from __future__ import annotations

import bisect
from dataclasses import replace

from pcapkit.tcpflow.congestion import CongestionReport, SentSegment

SENDER, RECEIVER = "sender", "receiver"


def handshake_rtt_ns(report: CongestionReport) -> tuple[str, int] | None:
    """(the end the capture is near, the RTT the capture's handshake shows), or None
    without a whole handshake. The end is ``sender`` or ``receiver`` of ``report``."""
    syn_s, syn_r, ack = report.sender_syn_ns, report.receiver_syn_ns, report.handshake_ack_ns
    if syn_s is None or syn_r is None or ack is None:
        return None
    opener_syn, answer = (syn_s, syn_r) if report.sender_opened else (syn_r, syn_s)
    to_answer, to_ack = answer - opener_syn, ack - answer
    if to_answer < 0 or to_ack < 0:
        return None
    # the near end answers at once: the opener when the answer took the round trip
    opener_near = to_answer >= to_ack
    near_sender = opener_near == report.sender_opened
    return (SENDER if near_sender else RECEIVER), max(to_answer, to_ack)


def capture_vantage(report: CongestionReport) -> str:
    """``sender`` or ``receiver``: the end of ``report``'s connection the capture is near."""
    found = handshake_rtt_ns(report)
    return SENDER if found is None else found[0]


def sender_view(report: CongestionReport) -> CongestionReport:
    """``report`` as its sender met it. A sender-side capture is returned as it is; a
    receiver-side one gets ``acks_before`` (module doc), the RTT samples and minimum RTT
    of the sender's round trips, and bytes in flight as the sender counted them."""
    found = handshake_rtt_ns(report)
    if found is None or found[0] == SENDER or not report.sent:
        return report
    base_rtt = found[1]
    acks = report.acks
    ack_ts = [a.ts_ns for a in acks]
    # TSvals as the sender's clock echo orders them (a reordered ACK never goes back)
    ack_tsval: list[int] = []
    top = -1
    for a in acks:
        top = max(top, a.ts_val if a.ts_val is not None else -1)
        ack_tsval.append(top)
    timestamps = all(s.ts_ecr is not None for s in report.sent) and bool(acks) and top >= 0
    rtt, samples = base_rtt, []
    before: list[int] = []
    sent: list[SentSegment] = []
    last_echo: int | None = None
    highest_ack = 0
    done = 0          # ACKs processed so far (never goes back)
    snd_max = 0
    for s in report.sent:
        echo = s.ts_ecr if timestamps else None
        if echo is not None and echo != last_echo:
            first = bisect.bisect_left(ack_tsval, echo)
            if first < len(acks) and ack_tsval[first] == echo and s.ts_ns > ack_ts[first]:
                rtt = s.ts_ns - ack_ts[first]
                samples.append((acks[first].frame, s.ts_ns, rtt))
            last_echo = echo
        k = bisect.bisect_right(ack_ts, s.ts_ns - rtt)
        if echo is not None:
            # every ACK with a smaller TSval was processed, none with a larger one
            k = min(max(k, bisect.bisect_left(ack_tsval, echo)), bisect.bisect_right(ack_tsval, echo))
        for a in acks[done:k]:
            highest_ack = max(highest_ack, a.ack)
        done = max(done, k)
        before.append(done)
        snd_max = max(snd_max, s.seq + s.length)
        sent.append(s._replace(bytes_in_flight=max(snd_max - highest_ack, 0)))
    min_rtt = min((r for _, _, r in samples), default=base_rtt)
    return replace(report, sent=sent, acks_before=before, rtt_samples=samples, min_rtt_ns=min(min_rtt, base_rtt),
                   vantage=RECEIVER)
