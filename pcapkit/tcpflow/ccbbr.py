"""BBR's modes and window from a trace (the BBR half of :mod:`pcapkit.tcpflow.ccmodel`).

Follows Linux's ``tcp_bbr.c`` (BBR v1) with what the trace shows in place of the
kernel's samples: the bottleneck bandwidth is the largest delivery rate (bytes
acknowledged over the last minimum RTT) of the last ten round trips, the BDP that
bandwidth times the minimum RTT. Modes:

* ``startup`` until the bandwidth grew less than 25 % over three round trips
  (``bbr_check_full_bw_reached``); the window grows by what each ACK acknowledges, up to
  2.89 BDP;
* ``drain`` from then until the flight is down to one BDP (Linux sets ``ssthresh`` to
  that BDP here);
* ``probe-bw``: window 2 BDP plus 3 segments (the TSO quantum);
* ``probe-rtt``: the flight collapses to 4 segments (Linux's ``bbr_cwnd_min_target``)
  for at least 200 ms, then back to probe-bw (startup if the bandwidth was never full);
* ``fast-recovery`` / ``rto-recovery`` while the sender recovers, the window then
  following the flight (packet conservation).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import deque

from pcapkit.tcpflow.ccflight import OPEN, FlightTrace, burst_ends, limit_of

HIGH_GAIN = 2885 / 1000      # bbr_high_gain (2/ln 2)
CWND_GAIN = 2.0
MIN_CWND = 4                 # segments, in probe-rtt
PROBE_RTT_NS = 200_000_000
FULL_BW_GROWTH = 1.25
FULL_BW_ROUNDS = 3


def delivery_rates(tr: FlightTrace, min_rtt: int) -> list[float]:
    """Per ACK: the largest rate (bytes/ns) delivered over one min RTT, in the last ten."""
    acks = tr.report.acks
    ts = [a.ts_ns for a in acks]
    cum: list[int] = []
    total = 0
    for n in tr.acked:
        total += n
        cum.append(total)
    out: list[float] = []
    window: deque[tuple[int, float]] = deque()   # (ts, rate), decreasing rates
    for k in range(len(acks)):
        j = bisect_left(ts, ts[k] - min_rtt)
        dt = ts[k] - ts[j]
        rate = (cum[k] - cum[j]) / dt if dt > 0 and j < k else 0.0
        while window and window[-1][1] <= rate:
            window.pop()
        window.append((ts[k], rate))
        while window[0][0] < ts[k] - 10 * min_rtt:
            window.popleft()
        out.append(window[0][1])
    return out


def bbr_rows(tr: FlightTrace) -> list[list]:
    """[cwnd, ssthresh, phase, limited_by, event] per data segment of a BBR sender."""
    mss = tr.mss
    min_rtt = tr.report.min_rtt_ns or 1_000_000
    bw = delivery_rates(tr, min_rtt)
    acks_ts = [a.ts_ns for a in tr.report.acks]
    ends = burst_ends(tr)
    mode, full, full_bw, flat_rounds = "startup", False, 0.0, 0
    round_end = 0
    est = 10 * mss
    ssthresh: int | None = None
    probe_rtt_since = 0
    prev_iv: int | None = None
    limited = "cwnd"
    rows: list[list] = []
    for i in range(len(tr.pipe)):
        iv, state = tr.interval[i], tr.state[i]
        event = ""
        if iv != prev_iv:
            prev_iv = iv
            rate = bw[iv] if iv >= 0 else 0.0
            bdp = int(rate * min_rtt)
            now = acks_ts[iv] if iv >= 0 else tr.report.sent[i].ts_ns
            flight = ends[iv]
            acked = tr.acked[iv] if iv >= 0 else 0
            if now >= round_end:                     # a round trip passed
                round_end = now + min_rtt
                if not full and iv >= 0:
                    if rate >= full_bw * FULL_BW_GROWTH:
                        full_bw, flat_rounds = rate, 0
                    else:
                        flat_rounds += 1
                    if flat_rounds >= FULL_BW_ROUNDS:
                        full, mode, event = True, "drain", "full-bandwidth"
                        ssthresh = max(bdp, 2 * mss)
            if mode == "drain" and flight <= bdp:
                mode, event = "probe-bw", "drained"
            if mode != "probe-rtt" and flight <= (MIN_CWND + 1) * mss and est > 4 * MIN_CWND * mss \
                    and state == OPEN and iv >= 0:
                mode, event, probe_rtt_since = "probe-rtt", "probe-rtt", now
            elif mode == "probe-rtt" and now - probe_rtt_since >= PROBE_RTT_NS and flight > (MIN_CWND + 1) * mss:
                mode, event = ("probe-bw" if full else "startup"), "probe-rtt-end"
            gain = HIGH_GAIN if mode == "startup" else CWND_GAIN
            target = int(gain * bdp) + 3 * mss
            if mode == "probe-rtt":
                est = MIN_CWND * mss
            elif state != OPEN:
                est = max(flight, mss)
            elif full:
                est = max(min(est + acked, target), MIN_CWND * mss)
            elif est < target:
                est += acked
            limited = limit_of(tr, i, state != OPEN, flight, est)
        est = max(est, tr.pipe[i])
        phase = mode if state == OPEN or state == "cwr" else state
        if not event and rows and rows[-1][2] != phase:
            event = "fast-retransmit" if phase == "fast-recovery" else (
                "rto" if phase == "rto-recovery" else "recovery-end")
        rows.append([est, ssthresh, phase, limited, event or "start"])
    return rows
