"""The identification's passes over every data segment (:mod:`pcapkit.tcpflow.ccident`),
in the subset of Python numba compiles; run compiled or interpreted by
:mod:`pcapkit.tcpflow.cckernel`.
"""

from __future__ import annotations

from typing import Any

from pcapkit.tcpflow.ccstructs import bisect_left

# loss event kinds (the flight pass writes their index)
FAST_RETRANSMIT, RTO, ECN = range(3)
EVENT_KINDS = ("fast-retransmit", "rto", "ecn")
DRAINED_SHARE = 0.3          # a recovery ending with less of the flight before the loss in flight had drained


def clocked_counts(s_ts: Any, s_retx: Any, a_ts: Any, end: int, out: Any) -> None:
    """Of the first ``end`` data segments, the new ones sent after some ACK (``out[1]``)
    and those of them sent within ``window`` ns of the last ACK before them (``out[0]``,
    the window is ``out[2]`` on entry)."""
    near = total = 0
    limit = out[2]
    m = len(a_ts)
    for i in range(end):
        if s_retx[i]:
            continue
        k = bisect_left(a_ts, s_ts[i], 0, m)
        if k == 0:
            continue
        total += 1
        if s_ts[i] - a_ts[k - 1] <= limit:
            near += 1
    out[0], out[1] = near, total


def _held_level(pipe: Any, ts: Any, lo: int, hi: int, rtt: int, mss: int) -> int:
    """The first flight (of the segments ``lo``..``hi``) that stays within max(2 MSS, 3 %)
    for a round trip ``rtt``, or -1."""
    n = len(ts)
    start = lo
    for i in range(lo, hi + 1):
        level = pipe[start]
        now = ts[i] if i < n else ts[n - 1]
        if i == hi or abs(pipe[i] - level) > max(2 * mss, 0.03 * level):
            if now - ts[start] >= rtt and level >= 8 * mss:
                return level
            start = i
    return -1


def reductions(ts: Any, pipe: Any, events: Any, n_events: int, sample_ts: Any, sample_rtt: Any, min_rtt: int,
               mss: int, out: Any) -> int:
    """Per fast recovery: the flight the sender settled at / the flight before the loss
    (see :func:`pcapkit.tcpflow.ccident.measured_betas`), written to ``out``; returns how many."""
    n = len(ts)
    m = len(sample_ts)
    count = 0
    for e in range(n_events):
        if events[e, 2] != FAST_RETRANSMIT:
            continue
        ev_ts, first, end_index = events[e, 1], events[e, 4], events[e, 5]
        lo = bisect_left(ts, ev_ts - min_rtt, 0, n)
        before = 0
        for k in range(lo, first):
            if pipe[k] > before:
                before = pipe[k]
        if before < 8 * mss:
            continue  # too small a window to read a factor from
        end = end_index if 0 <= end_index < n else n
        ended = end < n
        settled = -1
        drained = False
        if ended:
            low = before
            if first < end:
                low = pipe[first]
                for k in range(first + 1, end):
                    if pipe[k] < low:
                        low = pipe[k]
            drained = low < DRAINED_SHARE * before
        if not ended or drained:
            k = bisect_left(sample_ts, ev_ts, 0, m)
            rtt = max(sample_rtt[k - 1], min_rtt) if k else min_rtt
            start = bisect_left(ts, ev_ts + rtt // 2, first, n)
            if start < end:
                settled = _held_level(pipe, ts, start, end, min_rtt, mss)
        if settled < 0 and ended:
            hi = bisect_left(ts, ts[end] + min_rtt, 0, n)
            stop = max(hi, end + 1)
            settled = pipe[end]
            for k in range(end + 1, stop):
                if pipe[k] > settled:
                    settled = pipe[k]
        if settled >= 0:
            out[count] = settled / before
            count += 1
    return count


def hystart_growth(ack_val: Any, ack_ts: Any, sample: Any, has_sample: Any, first_after: Any, nxt: Any,
                   sent_ts: Any, cwnd: Any, slow_start: Any, mss: int, low_window: int, min_samples: int,
                   delay_lo: int, delay_hi: int, out: Any) -> int:
    """Where HyStart's delay condition first held (see
    :func:`pcapkit.tcpflow.ccident.growth_after_hystart`): the end of the round trip after
    it (a segment index; ``out[0]``: the window's growth over it), or -1 when it never did.
    Per ACK: its value, time, RTT sample (``has_sample``), the first segment sent after
    it (-1: none); per segment: snd_nxt, time, the window and whether in slow start."""
    m, n = len(ack_val), len(sent_ts)
    round_end, count, curr, floor = -1, 0, 1 << 62, 1 << 62
    for k in range(m):
        i = first_after[k]
        if i < 0:
            continue
        if ack_val[k] > round_end:
            round_end, count, curr = (nxt[i - 1] if i else ack_val[k]), 0, 1 << 62
        if not has_sample[k]:
            continue
        rtt = sample[k]
        floor = min(floor, rtt)
        if count < min_samples:
            curr, count = min(curr, rtt), count + 1
            continue
        if cwnd[i] < low_window * mss or not slow_start[i]:
            continue
        if curr <= floor + min(max(floor // 8, delay_lo), delay_hi):
            continue
        end = min(bisect_left(sent_ts, ack_ts[k] + curr, i, n), n)
        top = cwnd[i]
        for j in range(i, min(end + 1, n)):
            if cwnd[j] > top:
                top = cwnd[j]
        out[0] = top / cwnd[i] - 1
        return end
    return -1
