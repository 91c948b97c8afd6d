"""tcptrace's per-packet analysis (trace.c ``dotrace()``), in the numba subset.

:func:`run` feeds every row (file order) to :func:`feed` after finding its connection
(:func:`find`); records and arenas are described in :mod:`pcapkit.tcpflow.tcptrace.layout`,
the sequence-space bookkeeping is :mod:`pcapkit.tcpflow.tcptrace.rexmit`.
"""

from __future__ import annotations

from typing import Any

from pcapkit.proto.seq import seq_add, seq_diff, seq_gt, seq_lt, seq_sub
from pcapkit.tcpflow.segment import ACK, FIN, PSH, RST, SYN, URG
from pcapkit.tcpflow.tcptrace import rexmit as rx
from pcapkit.tcpflow.tcptrace.layout import (
    C_LIVE,
    C_SAMPLES,
    C_USED,
    MARK_OUT_OF_ORDER,
    MARK_PROBE,
    MARK_REXMIT,
    MASK,
    NO_ACK_YET,
    NONREAL_LIVE_CONN_INTERVAL,
    SEGS_TO_REMEMBER,
)


def find(r: Any, now: int, nconn: int, conns: Any, dirs: Any, active: Any) -> tuple[int, bool, int]:
    """The connection of segment ``r``: (its number, sent a2b, connections now). A reused
    address/port pair starts a new connection after 240 s idle, on a SYN after a FIN or
    RST outside the old window, or on a SYN with another ISN than an earlier SYN."""
    c = active[r.key]
    a2b = True
    if c >= 0:
        a = dirs[2 * c]
        a2b = r.src == a.host and r.sport == a.port
        this, other = (dirs[2 * c], dirs[2 * c + 1]) if a2b else (dirs[2 * c + 1], dirs[2 * c])
        syn = (r.flags & SYN) != 0
        if (rx.elapsed(conns[c].last_time, now) / 1000000 > NONREAL_LIVE_CONN_INTERVAL
                or (syn and (this.fin_count >= 1 or other.fin_count >= 1
                             or this.reset_count >= 1 or other.reset_count >= 1)
                    and (seq_gt(r.seq, other.windowend) or seq_lt(r.seq, this.syn)))
                or (syn and this.syn_count > 1 and this.syn != r.seq)):
            conns[c].inactive = 1
            c = -1
    if c < 0:
        c = nconn
        nconn += 1
        conns[c].first_frame = r.frame
        dirs[2 * c].host = r.src
        dirs[2 * c].port = r.sport
        dirs[2 * c + 1].host = r.dst
        dirs[2 * c + 1].port = r.dport
        dirs[2 * c].time = NO_ACK_YET
        dirs[2 * c + 1].time = NO_ACK_YET
        active[r.key] = c
        a2b = True
    return c, a2b, nconn


def _hardware_dup(this: Any, ti: int, start: int, ip_id: int, hw: Any) -> None:
    """Count a segment repeating the (seq, IP id) of one of the last few (a duplicate made
    by the capture hardware), else remember it."""
    for k in range(SEGS_TO_REMEMBER):
        hseq, hid = hw[ti * SEGS_TO_REMEMBER + k, 0], hw[ti * SEGS_TO_REMEMBER + k, 1]
        if hseq == start and hid == ip_id and hseq != 0 and hid != 0:
            this.num_hardware_dups += 1
            return
    hw[ti * SEGS_TO_REMEMBER + this.hw_dups_ix, 0] = start
    hw[ti * SEGS_TO_REMEMBER + this.hw_dups_ix, 1] = ip_id
    this.hw_dups_ix = (this.hw_dups_ix + 1) % SEGS_TO_REMEMBER


def _windows(this: Any, other: Any, r: Any, eff_win: int, syn: bool, ackf: bool, nsacks: int) -> None:
    """Advertised-window and SACK statistics of a segment that is not a RST."""
    this.win_last = eff_win
    if ackf or syn:
        if eff_win > this.win_max:
            this.win_max = eff_win
        if (eff_win > 0 and this.f1323_ws and other.f1323_ws and not syn
                and not this.window_stats_updated_for_scaling):
            this.window_stats_updated_for_scaling = 1
            this.win_min = eff_win
            this.win_max = eff_win
            this.win_tot = 0
            this.win_scaled_pkts = 1
        elif eff_win > 0 and (this.win_min == 0 or eff_win < this.win_min):
            this.win_min = eff_win
        this.win_tot += eff_win
    if ackf:
        if eff_win == 0:
            this.win_zero_ct += 1
        if nsacks > 0:
            this.num_sacks += 1
            if nsacks > this.max_sack_blocks:
                this.max_sack_blocks = nsacks
            # D-SACK (RFC 2883): first block below the ACK, inside or overlapping the second
            inside = nsacks > 1 and r.sack0_r <= r.sack1_r and r.sack0_l >= r.sack1_l
            overlap = nsacks > 1 and ((r.sack0_l <= r.sack1_l < r.sack0_r) or (r.sack0_r >= r.sack1_r > r.sack0_l))
            if r.sack0_r <= (r.ack & MASK) or inside or overlap:
                this.num_dsacks += 1


def _owin(this: Any, other: Any, conn: Any, start: int, end: int) -> None:
    """Outstanding-window statistics of an in-order, new segment."""
    owin = end - start if other.ack == 0 else seq_sub(end, other.ack - 1)
    if owin > this.owin_max:
        this.owin_max = owin
    if owin > 0 and (this.owin_min == 0 or owin < this.owin_min):
        this.owin_min = owin
    this.owin_tot += owin
    this.owin_count += 1
    # time-weighted average (tcptrace weights each sample by how long it held)
    if this.prev_owin_time // 1000000 == 0:
        this.prev_owin_time = this.last_time
        this.prev_owin = owin
    else:
        secs = rx.elapsed(this.prev_owin_time, conn.last_time) / 1000000
        this.owin_wavg += int(this.prev_owin * secs)
        this.prev_owin_time = this.last_time
        this.prev_owin = owin


def feed(i: int, r: Any, c: int, a2b: bool, conns: Any, dirs: Any, quads: Any, pool: Any, counts: Any, hw: Any,
         samples: Any, marks: Any) -> None:
    """Segment ``r`` (row ``i``) of connection ``c`` (tcptrace's dotrace())."""
    now = r.ts
    conn = conns[c]
    ti, oi = (2 * c, 2 * c + 1) if a2b else (2 * c + 1, 2 * c)
    this, other = dirs[ti], dirs[oi]
    flags = r.flags
    syn, fin, rst, ackf = (flags & SYN) != 0, (flags & FIN) != 0, (flags & RST) != 0, (flags & ACK) != 0
    if conn.first_time == 0:
        conn.first_time = now
    conn.last_time = now
    if syn:
        this.syn_count += 1
    if rst:
        this.reset_count += 1
    if fin:
        this.fin_count += 1
    eff_win = 0
    if ackf or syn:
        eff_win = r.window
        if this.f1323_ws and other.f1323_ws and not syn:
            eff_win <<= this.window_scale
    if this.last_time != 0:
        itime = rx.elapsed(this.last_time, now)
        if itime > this.idle_max:
            this.idle_max = itime
    this.last_time = now

    dlen = r.dlen
    start = r.seq
    end = start + dlen  # tcptrace keeps this unwrapped (u_long)
    # sequence-space wrap accounting (for the stream length)
    if this.quads_seen == 15 and end <= MASK and rx.quadnum(end) == rx.quadnum(this.syn) and end >= this.syn:
        this.seq_wrap_count += 1
        this.quads_seen = 0
    if start <= MASK:
        this.quads_seen |= 1 << rx.quadnum(start)
    if end <= MASK:
        this.quads_seen |= 1 << rx.quadnum(end)
    if syn:
        this.syn = start
        other.ack = start
    if fin:
        this.fin = seq_add(start, dlen)
    if ackf:
        this.windowend = seq_add(r.ack, eff_win)

    # options
    if r.mss >= 0:
        this.mss = r.mss
    if 0 <= r.wscale <= 14:
        this.window_scale = r.wscale
        this.f1323_ws = 1
    if r.tsval >= 0:
        this.f1323_ts = 1
    if not syn and (not this.f1323_ws or not other.f1323_ws):
        this.window_scale = 0
        other.window_scale = 0
    if r.sack_perm:
        this.fsack_req = 1
    nsacks = r.sack_n
    if nsacks > 0:
        this.sacks_sent += 1

    if dlen > 0:
        this.data_pkts += 1
        if flags & PSH:
            this.data_pkts_push += 1
        this.data_bytes += dlen
        if flags & URG:
            this.urg_data_pkts += 1
            this.urg_data_bytes += r.urp
        if dlen > this.max_seg_size:
            this.max_seg_size = dlen
        if this.min_seg_size == 0 or dlen < this.min_seg_size:
            this.min_seg_size = dlen
        if this.first_data_time == 0:
            this.first_data_time = now
        this.last_data_time = now

    conn.packets += 1
    this.packets += 1
    if this.window_stats_updated_for_scaling:
        this.win_scaled_pkts += 1
    if this.min_seq == 0 and start != 0:
        this.min_seq = start
        this.max_seq = end & MASK
    if seq_gt(end, this.max_seq):
        this.max_seq = end & MASK
    this.latest_seq = end & MASK
    if r.ip_version == 4:
        _hardware_dup(this, ti, start, r.ip_id, hw)
    if dlen > 0 and r.captured < dlen:
        this.trunc_bytes += dlen - r.captured
        this.trunc_segs += 1

    # retransmissions
    out_order = False
    retrans_num_bytes = 0
    if syn or fin or dlen > 0:
        length = dlen + (1 if syn else 0) + (1 if fin else 0)
        retrans_cnt = 0
        probe = other.win_last == 0 and other.packets > 0
        if probe:
            this.num_zwnd_probes += 1
            this.zwnd_probe_bytes += dlen
            marks[i] = MARK_PROBE
        else:
            retrans_cnt, out_order = rx.rexmit(this, ti, start, length, now, quads, pool, counts)
            retrans_num_bytes = retrans_cnt
        if out_order:
            this.out_order_pkts += 1
            marks[i] = MARK_OUT_OF_ORDER
        if syn:
            length -= 1
            if this.syn_count > 1:
                retrans_cnt -= 1
        if fin:
            length -= 1
            if this.fin_count > 1:
                retrans_cnt -= 1
        if not probe and retrans_cnt < length:
            this.unique_bytes += length - retrans_cnt

    if ackf:
        # a duplicate ACK carries no data and repeats the sender's last ACK and window
        dup = dlen == 0 and eff_win == this.win_last and (r.ack & MASK) == this.ack
        rx.ack_in(other, oi, r.ack, dup, now, r.frame, quads, pool, counts, samples)
        if (r.ack & MASK) == seq_add(other.syn, 1) and other.syn_count == 1:
            other.rtt_3WHS = int(other.rtt_last)

    retrans = retrans_num_bytes > 0
    if retrans:
        this.rexmit_pkts += 1
        this.rexmit_bytes += retrans_num_bytes
        marks[i] = MARK_REXMIT
    else:
        this.seq = end & MASK

    if rst:
        if ackf:
            this.ack_pkts += 1
        return

    _windows(this, other, r, eff_win, syn, ackf, nsacks)
    if ackf:
        this.ack_pkts += 1
        if dlen == 0 and not syn and not fin:
            this.pureack_pkts += 1
        this.time = now
        this.ack = r.ack & MASK

    if not other.data_acked and ackf and seq_add(other.syn, 1) != (r.ack & MASK):
        other.data_acked = 1
    if dlen > 0 and not this.data_acked and not retrans:
        this.initialwin_bytes += dlen
        this.initialwin_segs += 1
    if not syn and not out_order and not retrans:
        _owin(this, other, conn, start, end)


def finish(nconn: int, end_time: int, dirs: Any) -> None:
    """Complete idle times of connections still open at the end of the trace."""
    for c in range(nconn):
        a, b = dirs[2 * c], dirs[2 * c + 1]
        if (a.fin_count >= 1 and b.fin_count >= 1) or a.reset_count + b.reset_count != 0:
            continue
        for d in (a, b):
            if d.last_time != 0:
                itime = rx.elapsed(d.last_time, end_time)
                if itime > d.idle_max:
                    d.idle_max = itime


def pool_rows_needed(counts: Any) -> int:
    """The pool rows the next segment may need: a row per live segment plus two."""
    return counts[C_USED] + counts[C_LIVE] + 2


def sample_rows_needed(counts: Any) -> int:
    """The RTT sample rows the next segment may need: one more."""
    return counts[C_SAMPLES] + 1


def needs_room(pool: Any, samples: Any, counts: Any, nconn: int, conns: Any, active: Any, key: int) -> bool:
    """True when the next segment (of address/port pair ``key``) may not fit the arenas
    (the caller grows them to :func:`pool_rows_needed` and :func:`sample_rows_needed`
    rows), or may open a connection beyond the records, or its pair is beyond ``active``."""
    return (pool_rows_needed(counts) > pool.shape[0] or sample_rows_needed(counts) > samples.shape[0]
            or nconn >= len(conns) or key >= active.shape[0])


def run(rows: Any, start: int, first: int, nconn: int, last: bool, end_time: int, conns: Any, dirs: Any,
        active: Any, quads: Any, pool: Any, counts: Any, hw: Any, samples: Any, row_conn: Any, row_a2b: Any,
        marks: Any) -> tuple[int, int]:
    """The model over ``rows[start:]`` (in file order; row 0 is row ``first`` of all), after
    ``nconn`` connections so far; ``last``: the last rows, the trace ends at ``end_time``:
    (connections now, rows done). It stops before a row when :func:`needs_room`: the
    caller grows the arenas (or the records) and calls again from there (compiled, the model allocates
    nothing, so numba leaves out reference counting: see :mod:`pcapkit.tcpflow.jit`)."""
    for i in range(start, len(rows)):
        r = rows[i]
        if needs_room(pool, samples, counts, nconn, conns, active, r.key):
            return nconn, i
        c, a2b, nconn = find(r, r.ts, nconn, conns, dirs, active)
        row_conn[first + i] = c
        row_a2b[first + i] = a2b
        feed(first + i, r, c, a2b, conns, dirs, quads, pool, counts, hw, samples, marks)
    if last:
        finish(nconn, end_time, dirs)
    return nconn, len(rows)


FUNCTIONS = (seq_add, seq_diff, seq_gt, seq_lt, seq_sub, rx.quadnum, rx.elapsed, rx._new_seg, rx._free_seg,
             rx._new_quad, rx.whichquad, rx._rtt_retrans, rx._addseg, rx.rexmit, rx._collapse, rx._rtt_ackin,
             rx.ack_in, find, _hardware_dup, _windows, _owin, feed, finish, pool_rows_needed, sample_rows_needed,
             needs_room, run)


