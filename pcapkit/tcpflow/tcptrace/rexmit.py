"""tcptrace's sequence-space bookkeeping (rexmit.c), in the numba subset.

Each direction keeps the sequence ranges it has sent in up to four "quadrants" of 2^30
sequence numbers (the one in use and its two neighbours; the opposite one is dropped),
each an ordered list of segments: ``rexmit`` records a new range (the bytes already in a
list are retransmitted; filling a hole before the end is out of order), ``ack_in``
marks segments acknowledged, takes Karn-rule RTT samples and counts duplicate ACKs.
Records and arenas: :mod:`pcapkit.tcpflow.tcptrace.layout` (``d`` is a direction record,
``di`` its number, ``quads`` rows ``4 di .. 4 di + 3`` its quadrants).
"""

from __future__ import annotations

from typing import Any

from pcapkit.tcpflow.tcptrace.layout import (
    C_FREE,
    C_LIVE,
    C_SAMPLES,
    C_USED,
    MASK,
    MAX_32,
    P_ACKED,
    P_DUPACKS,
    P_FIRST,
    P_LAST,
    P_NEXT,
    P_RETRANS,
    P_TIME,
    Q_EXISTS,
    Q_HEAD,
    Q_NEXT,
    Q_PREV,
    Q_TAIL,
    QUADSIZE,
    S_DIR,
    S_FRAME,
    S_RTT,
    S_TIME,
)


def quadnum(seq: int) -> int:
    return (seq & MASK) >> 30


def elapsed(t1: int, t2: int) -> float:
    """tcptrace's elapsed(): microseconds from t1 to t2, 0 when t2 < t1."""
    return 0.0 if t2 < t1 else float(t2 - t1)


def _new_seg(first: int, last: int, now: int, pool: Any, counts: Any) -> int:
    s = counts[C_FREE]
    if s >= 0:
        counts[C_FREE] = pool[s, P_NEXT]
    else:
        s = counts[C_USED]
        counts[C_USED] = s + 1
    counts[C_LIVE] += 1
    pool[s, P_FIRST] = first
    pool[s, P_LAST] = last
    pool[s, P_TIME] = now
    pool[s, P_RETRANS] = 0
    pool[s, P_ACKED] = 0
    pool[s, P_DUPACKS] = 0
    pool[s, P_NEXT] = -1
    return s


def _free_seg(s: int, pool: Any, counts: Any) -> None:
    pool[s, P_NEXT] = counts[C_FREE]
    counts[C_FREE] = s
    counts[C_LIVE] -= 1


def _new_quad(q: int, quads: Any) -> None:
    quads[q, Q_EXISTS] = 1
    quads[q, Q_PREV] = -1
    quads[q, Q_NEXT] = -1
    quads[q, Q_HEAD] = -1
    quads[q, Q_TAIL] = -1


def whichquad(di: int, seq: int, quads: Any, pool: Any, counts: Any) -> int:
    """The quadrant (0-3) of ``seq``, created with both neighbours if it lacks one; the
    opposite quadrant and its segments are dropped then."""
    qix = quadnum(seq)
    base = 4 * di
    q = base + qix
    if quads[q, Q_EXISTS] and quads[q, Q_NEXT] >= 0 and quads[q, Q_PREV] >= 0:
        return qix
    nxt, opp, prv = (qix + 1) % 4, (qix + 2) % 4, (qix + 3) % 4
    for ix in (qix, nxt, prv):
        if not quads[base + ix, Q_EXISTS]:
            _new_quad(base + ix, quads)
    if quads[base + opp, Q_EXISTS]:
        s = quads[base + opp, Q_HEAD]
        while s >= 0:
            after = pool[s, P_NEXT]
            _free_seg(s, pool, counts)
            s = after
        _new_quad(base + opp, quads)
        quads[base + opp, Q_EXISTS] = 0
    quads[q, Q_PREV] = prv
    quads[q, Q_NEXT] = nxt
    quads[base + nxt, Q_PREV] = qix
    quads[base + prv, Q_NEXT] = qix
    quads[base + nxt, Q_NEXT] = -1
    quads[base + prv, Q_PREV] = -1
    return qix


def _rtt_retrans(d: Any, s: int, now: int, pool: Any) -> None:
    if not pool[s, P_ACKED]:
        etime = elapsed(pool[s, P_TIME], now)
        if pool[s, P_RETRANS] > d.retr_max:
            d.retr_max = pool[s, P_RETRANS]
        if etime > d.retr_max_tm:
            d.retr_max_tm = int(etime)
        if d.retr_min_tm == 0 or etime < d.retr_min_tm:
            d.retr_min_tm = int(etime)
        d.retr_tm_sum += etime
        d.retr_tm_sum2 += etime * etime
        d.retr_tm_count += 1
    pool[s, P_TIME] = now


def _addseg(d: Any, q: int, first: int, length: int, now: int, pool: Any, counts: Any,
            quads: Any) -> tuple[int, bool]:
    """Add [first, first + length) to quadrant row ``q``: (bytes seen before, out of order)."""
    last = (first + length - 1) & MASK
    rexlen = 0
    split = False
    ooo = False
    prev = -1
    tail = quads[q, Q_TAIL]
    cur = -1 if tail >= 0 and first > pool[tail, P_LAST] else quads[q, Q_HEAD]
    if cur < 0:
        prev = tail
    while cur >= 0:
        if first > pool[cur, P_LAST]:
            prev = cur
            cur = pool[cur, P_NEXT]
            continue
        if first < pool[cur, P_FIRST]:
            if last < pool[cur, P_LAST]:
                ooo = True
            new = _new_seg(first, (first + length - 1) & MASK, now, pool, counts)
            pool[new, P_NEXT] = cur
            if prev < 0:
                quads[q, Q_HEAD] = new
            else:
                pool[prev, P_NEXT] = new
            prev = new
            if last < pool[cur, P_FIRST]:
                return rexlen, ooo
            pool[new, P_LAST] = (pool[cur, P_FIRST] - 1) & MASK
            first = pool[cur, P_FIRST]
            length = (last - first + 1) & MASK
        if first >= pool[cur, P_FIRST]:
            pool[cur, P_RETRANS] += 1
            if not split:
                _rtt_retrans(d, cur, now, pool)
            if last <= pool[cur, P_LAST]:
                return rexlen + length, ooo
            split = True
            rexlen += pool[cur, P_LAST] - first + 1
            first = (pool[cur, P_LAST] + 1) & MASK
            length = (last - first + 1) & MASK
        prev = cur
        cur = pool[cur, P_NEXT]
    new = _new_seg(first, (first + length - 1) & MASK, now, pool, counts)
    if prev < 0:
        quads[q, Q_HEAD] = new
    else:
        pool[prev, P_NEXT] = new
    quads[q, Q_TAIL] = new
    return rexlen, ooo


def rexmit(d: Any, di: int, seq: int, length: int, now: int, quads: Any, pool: Any,
           counts: Any) -> tuple[int, bool]:
    """Record ``length`` sequence numbers from ``seq``: (bytes already seen, out of order)."""
    seq &= MASK
    seq_last = (seq + length - 1) & MASK
    qix = whichquad(di, seq, quads, pool, counts)
    if quadnum(seq) == quadnum(seq_last):
        return _addseg(d, 4 * di + qix, seq, length, now, pool, counts, quads)
    len1 = ((quadnum(seq) + 1) * QUADSIZE - 1) - seq + 1
    r1, o1 = _addseg(d, 4 * di + qix, seq, len1, now, pool, counts, quads)
    r2, o2 = _addseg(d, 4 * di + quads[4 * di + qix, Q_NEXT], quadnum(seq_last) * QUADSIZE, length - len1, now,
                     pool, counts, quads)
    return r1 + r2, o1 or o2


def _collapse(q: int, quads: Any, pool: Any, counts: Any) -> None:
    """Merge adjacent acknowledged segments at the front of quadrant row ``q``."""
    a = quads[q, Q_HEAD]
    while a >= 0:
        b = pool[a, P_NEXT]
        if b < 0 or not pool[a, P_ACKED]:
            return
        if pool[b, P_ACKED] and ((pool[a, P_LAST] + 1) & MASK) == pool[b, P_FIRST]:
            pool[a, P_LAST] = pool[b, P_LAST]
            pool[a, P_ACKED] = pool[b, P_ACKED]
            if pool[b, P_TIME] > pool[a, P_TIME]:
                pool[a, P_TIME] = pool[b, P_TIME]
            pool[a, P_NEXT] = pool[b, P_NEXT]
            if quads[q, Q_TAIL] == b:
                quads[q, Q_TAIL] = a
            _free_seg(b, pool, counts)
            continue
        a = b


def _rtt_ackin(d: Any, di: int, s: int, rexmit_prev: bool, now: int, frame: int, pool: Any, counts: Any,
               samples: Any) -> None:
    etime = elapsed(pool[s, P_TIME], now)
    if rexmit_prev:
        d.rtt_last = 0.0
        d.rtt_nosample += 1
    elif pool[s, P_RETRANS] == 0:
        d.rtt_last = etime
        if d.rtt_min == 0 or d.rtt_min > etime:
            d.rtt_min = int(etime)
        if d.rtt_max < etime:
            d.rtt_max = int(etime)
        d.rtt_sum += etime
        d.rtt_sum2 += etime * etime
        d.rtt_count += 1
        k = counts[C_SAMPLES]
        samples[k, S_DIR] = di
        samples[k, S_FRAME] = frame
        samples[k, S_TIME] = now
        samples[k, S_RTT] = int(etime)
        counts[C_SAMPLES] = k + 1
        first, last = pool[s, P_FIRST], pool[s, P_LAST]
        # tcptrace's formula; gives 2^32 for one-byte segments
        size = last - first + 1 if last > first else (MAX_32 - first) + last
        if not d.rtt_full_size or d.rtt_full_size < size:
            d.rtt_full_size = size
            d.rtt_full_min = int(etime)
            d.rtt_full_max = int(etime)
            d.rtt_full_sum = etime
            d.rtt_full_sum2 = etime * etime
            d.rtt_full_count = 1
        elif d.rtt_full_size == size:
            d.rtt_full_count += 1
            if d.rtt_full_min == 0 or d.rtt_full_min > etime:
                d.rtt_full_min = int(etime)
            if d.rtt_full_max < etime:
                d.rtt_full_max = int(etime)
            d.rtt_full_sum += etime
            d.rtt_full_sum2 += etime * etime
    else:
        if d.rtt_min_last == 0 or d.rtt_min_last > etime:
            d.rtt_min_last = int(etime)
        if d.rtt_max_last < etime:
            d.rtt_max_last = int(etime)
        d.rtt_sum_last += etime
        d.rtt_sum2_last += etime * etime
        d.rtt_count_last += 1
        d.rtt_amback += 1
        d.rtt_last = 0.0


def ack_in(d: Any, di: int, ack: int, dup_candidate: bool, now: int, frame: int, quads: Any, pool: Any,
           counts: Any, samples: Any) -> None:
    """An ACK for direction ``di``'s data arrived (tcptrace's ack_in())."""
    ack &= MASK
    qix = whichquad(di, ack, quads, pool, counts)
    prev = 4 * di + quads[4 * di + qix, Q_PREV]
    changed = False
    last_xmit = 0
    s = quads[prev, Q_HEAD]
    while s >= 0:
        if not pool[s, P_ACKED]:
            pool[s, P_ACKED] += 1
            changed = True
            d.rtt_cumack += 1
            if pool[s, P_TIME] > last_xmit:
                last_xmit = pool[s, P_TIME]
        s = pool[s, P_NEXT]
    if changed:
        _collapse(prev, quads, pool, counts)
    changed = False
    q = 4 * di + qix
    s = quads[q, Q_HEAD]
    while s >= 0:
        if ack <= pool[s, P_FIRST]:
            break
        if pool[s, P_TIME] > last_xmit:
            last_xmit = pool[s, P_TIME]
        if pool[s, P_ACKED]:
            if ack == ((pool[s, P_LAST] + 1) & MASK) and dup_candidate and pool[s, P_FIRST] != pool[s, P_LAST]:
                d.rtt_dupack += 1
                pool[s, P_ACKED] += 1
                if pool[s, P_ACKED] == 4:
                    d.rtt_triple_dupack += 1
            s = pool[s, P_NEXT]
            continue
        pool[s, P_ACKED] += 1
        changed = True
        if ack == ((pool[s, P_LAST] + 1) & MASK):
            _rtt_ackin(d, di, s, last_xmit > pool[s, P_TIME], now, frame, pool, counts, samples)
        else:
            d.rtt_cumack += 1
        s = pool[s, P_NEXT]
    if changed:
        _collapse(q, quads, pool, counts)
