"""BBR's modes and window from a trace (the BBR half of :mod:`pcapkit.tcpflow.ccmodel`).

Follows Linux's ``tcp_bbr.c`` (BBR v1) with what the trace shows in place of the
kernel's samples: the bottleneck bandwidth is the largest delivery rate (:func:`delivery_rates`)
of the last ten round trips (packet-timed: a round ends when the ACK passes what was sent
when it began), the BDP that bandwidth times the minimum RTT. Modes:

* ``startup`` until the bandwidth grew less than 25 % over three round trips
  (``bbr_check_full_bw_reached``); the window grows by what each ACK acknowledges, up to
  2.89 BDP;
* ``drain`` from then until the flight is down to one BDP (Linux sets ``ssthresh`` to
  that BDP here);
* ``probe-bw``: window 2 BDP plus 3 TSO bursts (1 ms at the pacing rate, at least 2
  segments each: ``bbr_quantization_budget``);
* ``probe-rtt``: the flight collapses to 4 segments (Linux's ``bbr_cwnd_min_target``)
  for at least 200 ms, then back to probe-bw (startup if the bandwidth was never full);
* ``fast-recovery`` / ``rto-recovery`` while the sender recovers, the window then
  following the flight (packet conservation).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from pcapkit.tcpflow.ccflight import OPEN, FlightTrace, burst_ends, last_sends, limit_of

HIGH_GAIN = 2885 / 1000      # bbr_high_gain (2/ln 2)
CWND_GAIN = 2.0
MIN_CWND = 4                 # segments, in probe-rtt
PROBE_RTT_NS = 200_000_000
FULL_BW_GROWTH = 1.25
FULL_BW_ROUNDS = 3
DRAIN_ROUNDS = 2             # drain's longest stay, in round trips
BW_ROUNDS = 10               # the bandwidth filter's window, in round trips


def delivery_rates(tr: FlightTrace) -> list[float]:
    """Per ACK: BBR's delivery-rate sample (bytes/ns), as Linux's ``tcp_rate_gen``: the
    data delivered since the newest segment it acknowledges was sent, over the longer of
    the time since the ACK before that send and the time that send took from the send
    of the segment that ACK acknowledged."""
    acks = tr.report.acks
    ack_ts = [a.ts_ns for a in acks]
    cum: list[int] = []
    total = 0
    for n in tr.delivered:
        total += n
        cum.append(total)
    ends: list[int] = []
    sent_ts: list[int] = []
    for s in tr.report.sent:
        if not s.retransmission and (not ends or s.seq + s.length > ends[-1]):
            ends.append(s.seq + s.length)
            sent_ts.append(s.ts_ns)
    out: list[float] = []
    for k, a in enumerate(acks):
        j = bisect_right(ends, a.ack) - 1
        if j < 0 or tr.delivered[k] == 0:
            out.append(0.0)
            continue
        before = bisect_left(ack_ts, sent_ts[j]) - 1      # the last ACK before that send
        if before < 0:
            out.append(0.0)
            continue
        delivered = cum[k] - cum[before]
        # over the longer of the ACK interval and the send interval (which keeps ACK
        # compression from inflating the sample, as tcp_rate_gen does)
        ack_elapsed = a.ts_ns - ack_ts[before]
        first = bisect_right(ends, acks[before].ack) - 1
        send_elapsed = sent_ts[j] - sent_ts[first] if first >= 0 else 0
        elapsed = max(ack_elapsed, send_elapsed)
        out.append(delivered / elapsed if elapsed > 0 else 0.0)
    return out


def bbr_rows(tr: FlightTrace) -> list[list]:
    """[cwnd, ssthresh, phase, limited_by, event] per data segment of a BBR sender."""
    mss = tr.mss
    min_rtt = tr.report.min_rtt_ns or 1_000_000
    rates = delivery_rates(tr)
    acks = tr.report.acks
    ends, lasts = burst_ends(tr), last_sends(tr)
    mode, full, full_bw, flat_rounds = "startup", False, 0.0, 0
    round_end_seq = -1           # a round ends when the ACK passes snd_nxt at its start
    round_max = 0.0
    recent: list[float] = []     # the largest sample of each of the last rounds
    bw = 0.0
    est = 10 * mss
    ssthresh: int | None = None
    probe_rtt_since = drain_rounds = 0
    prev_iv: int | None = None
    limited = "cwnd"
    rows: list[list] = []
    for i in range(len(tr.pipe)):
        iv, state = tr.interval[i], tr.state[i]
        event = ""
        if iv != prev_iv:
            prev_iv = iv
            now = acks[iv].ts_ns if iv >= 0 else tr.report.sent[i].ts_ns
            flight = ends[iv]
            acked = tr.delivered[iv] if iv >= 0 else 0
            if iv >= 0:
                round_max = max(round_max, rates[iv])
                bw = max([round_max, *recent])
                if acks[iv].ack >= round_end_seq:        # a round trip passed
                    round_end_seq = tr.nxt[i - 1] if i else acks[iv].ack
                    recent = [*recent[-(BW_ROUNDS - 1):], round_max]
                    round_max = 0.0
                    if not full:
                        if bw >= full_bw * FULL_BW_GROWTH:
                            full_bw, flat_rounds = bw, 0
                        else:
                            flat_rounds += 1
                        if flat_rounds >= FULL_BW_ROUNDS:
                            full, mode, event = True, "drain", "full-bandwidth"
                            drain_rounds = 0
                            ssthresh = max(int(bw * min_rtt), 2 * mss)
                    elif mode == "drain":
                        drain_rounds += 1
            bdp = int(bw * min_rtt)
            # (drain paces at 0.35 of the bandwidth: down to one BDP within a round or two
            # of the kernel's estimate, which may sit a little above this one)
            if mode == "drain" and (flight <= bdp or drain_rounds >= DRAIN_ROUNDS):
                mode, event = "probe-bw", "drained"
            if mode != "probe-rtt" and flight <= (MIN_CWND + 1) * mss and est > 4 * MIN_CWND * mss \
                    and state == OPEN and iv >= 0:
                mode, event, probe_rtt_since = "probe-rtt", "probe-rtt", now
            elif mode == "probe-rtt" and now - probe_rtt_since >= PROBE_RTT_NS and flight > (MIN_CWND + 1) * mss:
                mode, event = ("probe-bw" if full else "startup"), "probe-rtt-end"
            gain = HIGH_GAIN if mode == "startup" else CWND_GAIN
            # + 3 TSO bursts (bbr_quantization_budget): a burst is 1 ms at the pacing rate
            # (sk_pacing_shift 10), at least 2 segments (bbr_tso_segs_goal)
            pacing = bw * (HIGH_GAIN if mode == "startup" else 1.0)
            tso = max(int(pacing * 1_000_000) // mss, 2)
            target = int(gain * bdp) + 3 * tso * mss
            if mode == "probe-rtt":
                est = MIN_CWND * mss
            elif state != OPEN:
                est = max(flight, mss)
            elif full:
                est = max(min(est + acked, target), MIN_CWND * mss)
            elif est < target:
                est += acked
            limited = limit_of(tr, i, lasts[iv], state != OPEN, flight, est)
        est = max(est, tr.pipe[i])
        phase = mode if state == OPEN or state == "cwr" else state
        if not event and rows and rows[-1][2] != phase:
            event = "fast-retransmit" if phase == "fast-recovery" else (
                "rto" if phase == "rto-recovery" else "recovery-end")
        rows.append([est, ssthresh, phase, limited, event or "start"])
    return rows
