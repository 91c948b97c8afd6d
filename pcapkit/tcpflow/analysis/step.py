"""THE TCP analysis of one segment: tshark 4.0's ``tcp_analyze_sequence_number()``.

:func:`step` follows the rules of ``reference/tcp-analysis.md`` in order; every
sequence comparison goes through :mod:`pcapkit.proto.seq`, every bit comes from
:mod:`pcapkit.tcpflow.flags`, the state is laid out in
:mod:`pcapkit.tcpflow.analysis.state`. :func:`run_columns` steps through whole columns.
In the subset of Python numba compiles; :func:`pcapkit.tcpflow.analysis.backend` runs it
compiled or interpreted.
"""

from __future__ import annotations

from typing import Any

from pcapkit.proto.seq import MASK, seq_add, seq_ge, seq_gt, seq_lt, seq_sub
from pcapkit.tcpflow.analysis.state import (
    C_ADIR,
    C_DIR_A,
    C_DIR_B,
    C_FIRST_RTT,
    C_FIRST_TS,
    C_LAST_TS,
    C_MRU_SYN,
    C_REUSED,
    C_STREAM,
    CREC,
    D_BASE_SEQ,
    D_BASE_SET,
    D_DUPACKNUM,
    D_IS_FIRST_ACK,
    D_LASTACK,
    D_LASTACK_TIME,
    D_LASTNONDUPACK,
    D_LASTSEG_FLAGS,
    D_MAXSEQTOBEACKED,
    D_NEXTSEQ,
    D_NEXTSEQ_FRAME,
    D_NEXTSEQ_TIME,
    D_ORDERED,
    D_PUSH_LAST,
    D_PUSH_SENT,
    D_R_CAP,
    D_R_HEAD,
    D_R_LEN,
    D_R_START,
    D_SACK,
    D_SACK_N,
    D_VALID_BIF,
    D_WIN_SCALE,
    D_WINDOW,
    E_FRAME,
    E_NEXTSEQ,
    E_SEQ,
    E_TS,
    ENTRY,
    G_CONVS,
    G_DROPPED_FRAME,
    G_KEYS,
    G_LIMITED_FRAME,
    G_LIMITED_STREAM,
    G_MAX_CONV,
    G_MAX_UNACKED,
    G_NCONV,
    G_RECYCLE,
    G_SACK,
    O_ACK,
    O_ACK_RTT,
    O_ACKS_FRAME,
    O_AFLAGS,
    O_BIF,
    O_DUPACK_FRAME,
    O_DUPACK_NUM,
    O_HAVE,
    O_IRTT,
    O_NXTSEQ,
    O_PUSH,
    O_RTO,
    O_RTO_FRAME,
    O_SCALEFACTOR,
    O_SEQ,
    O_STREAM,
    O_TIME_DELTA,
    O_TIME_RELATIVE,
    O_WINDOW_SIZE,
    _clear_row,
    _free_conversation,
    _needs_room,
    _new_record,
    _open_conversation,
    _short_row,
)
from pcapkit.tcpflow.analysis.unacked import acknowledge, flight_span, make_room
from pcapkit.tcpflow.flags import (
    A_ACK_LOST_SEGMENT,
    A_DUPLICATE_ACK,
    A_FAST_RETRANSMISSION,
    A_KEEP_ALIVE,
    A_KEEP_ALIVE_ACK,
    A_LOST_SEGMENT,
    A_OUT_OF_ORDER,
    A_RETRANSMISSION,
    A_REUSED_PORTS,
    A_SPURIOUS_RETRANSMISSION,
    A_WINDOW_FULL,
    A_WINDOW_UPDATE,
    A_ZERO_WINDOW,
    A_ZERO_WINDOW_PROBE,
    A_ZERO_WINDOW_PROBE_ACK,
    ACK,
    H_ACK_RTT,
    H_ACKS_FRAME,
    H_BIF,
    H_DUPACK,
    H_IRTT,
    H_LIMITED,
    H_PUSH,
    H_RTO,
    PSH,
    RST,
    SYN,
    SYNFIN,
    SYNFINRST,
)


def step(st: Any, arena: Any, out: Any, orow: int, ostride: int, num: int, now: int, keydir: int, flags: int,
         seq: int, ack: int, seglen: int, window: int, wscale: int, sackn: int) -> int:
    """Analyse one segment: frame ``num`` at ``now`` (ns), sent by endpoint ``keydir & 1``
    of the endpoint-pair key ``keydir >> 1``; raw ``seq``/``ack``/``window``; ``seglen``
    -1 for a short segment; ``wscale`` -1 without a window scale option; ``sackn`` SACK
    blocks, the first three in ``st[G_SACK:]``. Writes the outputs at row ``orow``.
    Returns 1 when the state must :func:`grow` before the next step."""
    k = st[G_KEYS] + (keydir >> 1)
    db = keydir & 1
    # -- the conversation (a SYN with a new ISN on known ports opens a new one, tshark 4.0)
    r = st[k] - 1  # its record
    make = r < 0
    allocated = False  # (then the state may lack room for the next step)
    if not make and flags & SYN:
        cv = st[G_CONVS] + r * CREC
        fw = cv + (C_DIR_A if db == st[cv + C_ADIR] else C_DIR_B)
        if st[fw + D_BASE_SET] != 0 and seq != st[fw + D_BASE_SEQ]:
            if flags & ACK:  # a SYN-ACK with a new ISN: same stream, new base
                st[fw + D_BASE_SEQ] = seq
                st[cv + C_REUSED] = num
            else:
                make = True
    if make:
        if 0 <= st[G_MAX_CONV] <= st[G_NCONV]:
            if st[G_DROPPED_FRAME] == 0:
                st[G_DROPPED_FRAME] = num
            _clear_row(out, orow, ostride)
            out[O_STREAM * ostride + orow] = -1
            return 0
        reused = r >= 0
        if reused and st[G_RECYCLE] != 0:
            _free_conversation(st, arena, r)  # (no segment reaches it again)
        r = _new_record(st)
        _open_conversation(st, st[G_CONVS] + r * CREC, db, now, st[G_NCONV])
        st[G_NCONV] += 1
        st[k] = r + 1
        allocated = True
        if reused:
            st[st[G_CONVS] + r * CREC + C_REUSED] = num
    cv = st[G_CONVS] + r * CREC
    c = st[cv + C_STREAM]
    if db == st[cv + C_ADIR]:  # (a connection from an address:port to itself is one direction)
        fwd = cv + C_DIR_A
        rev = cv + C_DIR_B
    else:
        fwd = cv + C_DIR_B
        rev = cv + C_DIR_A
    if seglen < 0:
        _short_row(out, orow, ostride, c, seq, ack, window)
        if allocated:
            return _needs_room(st, arena)
        return 0

    # relative sequence numbers
    if st[fwd + D_BASE_SET] == 0:
        st[fwd + D_BASE_SEQ] = seq if flags & SYN else seq_sub(seq, 1)
        st[fwd + D_BASE_SET] = 1
    if st[rev + D_BASE_SET] == 0 and flags & ACK:
        st[rev + D_BASE_SEQ] = seq_sub(ack, 1)
        st[rev + D_BASE_SET] = 1

    # window scaling (options of this SYN), then the scaled window
    if flags & SYN:
        if wscale >= 0:
            st[fwd + D_WIN_SCALE] = min(wscale, 14)
        if st[fwd + D_WIN_SCALE] == -1:
            st[fwd + D_WIN_SCALE] = -2
            st[rev + D_WIN_SCALE] = -2
        elif flags & ACK and st[rev + D_WIN_SCALE] == -2:
            st[fwd + D_WIN_SCALE] = -2
        window_size = window
        scalefactor = 0
    else:
        ws = st[fwd + D_WIN_SCALE]
        if ws >= 0:
            window_size = window << ws
            scalefactor = 1 << ws
        else:
            window_size = window
            scalefactor = ws

    # iRTT: first ACK without SYN after the latest SYN without ACK
    if flags & (SYN | ACK) == SYN:
        st[cv + C_MRU_SYN] = now
    elif flags & (SYN | ACK) == ACK and st[cv + C_MRU_SYN] != 0 and st[cv + C_FIRST_RTT] == 0:
        st[cv + C_FIRST_RTT] = now - st[cv + C_MRU_SYN]

    fnext = st[fwd + D_NEXTSEQ]
    rwindow = st[rev + D_WINDOW]
    rlastack = st[rev + D_LASTACK]
    a = A_REUSED_PORTS if st[cv + C_REUSED] == num else 0
    ta = False  # whether tshark allocates its per-frame analysis record (then it prints iRTT)
    have = 0
    dupack_num = 0
    dupack_frame = 0
    rto = 0
    rto_frame = 0
    finished = False

    # 1. zero window probe
    if seglen == 1 and seq == fnext and rwindow == 0:
        a |= A_ZERO_WINDOW_PROBE
        finished = True
    if not finished:
        # 2. zero window
        if window == 0 and not flags & SYNFINRST:
            a |= A_ZERO_WINDOW
        # 3. lost segment
        if fnext != 0 and seq_gt(seq, fnext) and not flags & RST:
            a |= A_LOST_SEGMENT
            st[fwd + D_VALID_BIF] = 0
        # 4. keep alive
        if seglen <= 1 and seq == seq_sub(fnext, 1) and not flags & SYNFINRST:
            a |= A_KEEP_ALIVE
        same = (seglen == 0 and seq == fnext and ack == st[fwd + D_LASTACK] and not flags & SYNFINRST)
        # 5. window update
        if same and window != 0 and window != st[fwd + D_WINDOW]:
            a |= A_WINDOW_UPDATE
        # 6. window full
        rws = st[rev + D_WIN_SCALE]
        if seglen > 0 and rws != -1 and not flags & SYNFINRST:
            shift = 0 if (st[rev + D_IS_FIRST_ACK] != 0 or rws == -2) else rws
            if seq_add(seq, seglen) == seq_add(rlastack, rwindow << shift):
                a |= A_WINDOW_FULL
        # 7. keep-alive ack / zero window probe ack / duplicate ack
        if same and window == st[fwd + D_WINDOW]:
            if window != 0 and st[rev + D_LASTSEG_FLAGS] & A_KEEP_ALIVE:
                a |= A_KEEP_ALIVE_ACK
                finished = True
            elif window == 0 and st[rev + D_LASTSEG_FLAGS] & A_ZERO_WINDOW_PROBE:
                a |= A_ZERO_WINDOW_PROBE_ACK
                finished = True
            elif window != 0:
                st[fwd + D_DUPACKNUM] += 1
                a |= A_DUPLICATE_ACK
                dupack_num = st[fwd + D_DUPACKNUM]
                dupack_frame = st[fwd + D_LASTNONDUPACK]
                have |= H_DUPACK
    # 8. a new ack number resets the dup-ack counters
    if ack != st[fwd + D_LASTACK]:
        st[fwd + D_LASTNONDUPACK] = num
        st[fwd + D_DUPACKNUM] = 0

    # 9. ack lost segment: once per hole
    rmax = st[rev + D_MAXSEQTOBEACKED]
    if rmax != 0 and flags & ACK and seq_gt(ack, rmax):
        ta = True
        if seq_lt(rmax, st[rev + D_NEXTSEQ]):
            a |= A_ACK_LOST_SEGMENT
            st[rev + D_MAXSEQTOBEACKED] = st[rev + D_NEXTSEQ]
        elif st[rev + D_DUPACKNUM] == 0:
            a |= A_ACK_LOST_SEGMENT
            st[rev + D_DUPACKNUM] = -1

    # 10. retransmission family
    if (seglen > 0 or flags & SYNFIN) and not a & A_KEEP_ALIVE:
        not_adv = fnext != 0 and seq_lt(seq, fnext)
        if seglen > 1 and seq_sub(fnext, 1) == seq:  # data after a zero window probe
            not_adv = False
        rdupacks = st[rev + D_DUPACKNUM]
        # (tshark: LE_SEQ(seq + seglen, lastack))
        if seglen > 0 and rlastack != 0 and seq_ge(rlastack, seq_add(seq, seglen)):
            a |= A_SPURIOUS_RETRANSMISSION | A_RETRANSMISSION
        elif not_adv and (rdupacks >= 2 or rdupacks < 0) and rlastack == seq and \
                0 <= now - st[rev + D_LASTACK_TIME] < 20_000_000:  # (guint32 -1 counts as >= 2)
            a |= A_FAST_RETRANSMISSION | A_RETRANSMISSION
        else:
            thres = st[cv + C_FIRST_RTT] if st[cv + C_FIRST_RTT] != 0 else 3_000_000
            if not_adv and 0 <= now - st[fwd + D_NEXTSEQ_TIME] < thres and \
                    fnext != seq_add(seq, seglen + (1 if flags & SYNFIN else 0)):
                a |= A_OUT_OF_ORDER
            elif not_adv:
                a |= A_RETRANSMISSION
                if st[fwd + D_R_LEN] > 0:  # timed from the oldest unacknowledged segment
                    p = ENTRY * (st[fwd + D_R_START] + st[fwd + D_R_HEAD])
                    rto = now - arena[p + E_TS]
                    rto_frame = arena[p + E_FRAME]
                else:
                    rto = now - st[fwd + D_NEXTSEQ_TIME]
                    rto_frame = st[fwd + D_NEXTSEQ_FRAME]
                have |= H_RTO

    # 11. state update
    nextseq = seq_add(seq, seglen)
    if seglen != 0 or flags & SYNFIN:
        if flags & SYNFIN:
            nextseq = seq_add(nextseq, 1)
        ln = st[fwd + D_R_LEN]
        if ln < st[G_MAX_UNACKED]:
            if ln > 0 and st[fwd + D_ORDERED] != 0:
                p = ENTRY * (st[fwd + D_R_START] + st[fwd + D_R_HEAD] + ln - 1)
                if seq_lt(seq, arena[p + E_SEQ]) or seq_lt(nextseq, arena[p + E_NEXTSEQ]):
                    st[fwd + D_ORDERED] = 0
            if st[fwd + D_R_HEAD] + ln >= st[fwd + D_R_CAP]:
                make_room(st, arena, fwd)
                allocated = True
            p = ENTRY * (st[fwd + D_R_START] + st[fwd + D_R_HEAD] + ln)
            arena[p + E_FRAME] = num
            arena[p + E_SEQ] = seq
            arena[p + E_NEXTSEQ] = nextseq
            arena[p + E_TS] = now
            st[fwd + D_R_LEN] = ln + 1
        else:
            have |= H_LIMITED
            if st[G_LIMITED_FRAME] == 0:
                st[G_LIMITED_FRAME] = num
                st[G_LIMITED_STREAM] = c
    if not a & A_ZERO_WINDOW_PROBE:  # zero window probes do not advance nextseq
        if st[fwd + D_NEXTSEQ] == 0 or seq_gt(nextseq, st[fwd + D_NEXTSEQ]):
            st[fwd + D_NEXTSEQ] = nextseq
            st[fwd + D_NEXTSEQ_FRAME] = num
            st[fwd + D_NEXTSEQ_TIME] = now
        if seq == st[fwd + D_MAXSEQTOBEACKED] or st[fwd + D_MAXSEQTOBEACKED] == 0:
            st[fwd + D_MAXSEQTOBEACKED] = st[fwd + D_NEXTSEQ]
    st[fwd + D_WINDOW] = window
    st[fwd + D_LASTACK] = ack
    st[fwd + D_LASTACK_TIME] = now
    st[fwd + D_LASTSEG_FLAGS] = a
    if flags & ACK:
        if not flags & SYN:
            st[fwd + D_IS_FIRST_ACK] = 0
        st[rev + D_VALID_BIF] = 1
    if sackn > 0 or flags & ACK:
        m = min(sackn, 3)
        st[fwd + D_SACK_N] = m
        for j in range(2 * m):
            st[fwd + D_SACK + j] = st[G_SACK + j]

    # 12. ack rtt / acks_frame: the oldest unacked segment ending exactly at ack
    acks_frame = 0
    ack_rtt = 0
    if st[rev + D_R_LEN] > 0:
        found, frame, sent = acknowledge(st, arena, rev, ack)
        if found:
            ta = True
            acks_frame = frame
            ack_rtt = now - sent
            have |= H_ACKS_FRAME | H_ACK_RTT

    # 13./14. bytes in flight, push bytes
    bif = 0
    push = 0
    if seglen != 0 and st[fwd + D_R_LEN] > 0 and st[fwd + D_VALID_BIF] != 0:
        ta = True
        in_flight = flight_span(st, arena, fwd)
        rs = rev + D_SACK
        for j in range(st[rev + D_SACK_N]):
            in_flight -= seq_sub(st[rs + 2 * j + 1], st[rs + 2 * j])
        if flags & SYNFIN:
            in_flight -= 1
        in_flight &= MASK
        if 0 < in_flight < 2_000_000_000:
            bif = in_flight
            have |= H_BIF
        if flags & PSH:
            st[fwd + D_PUSH_SENT] = seglen if st[fwd + D_PUSH_LAST] != 0 else st[fwd + D_PUSH_SENT] + seglen
            st[fwd + D_PUSH_LAST] = 1
        elif st[fwd + D_PUSH_LAST] != 0:
            st[fwd + D_PUSH_SENT] = seglen
            st[fwd + D_PUSH_LAST] = 0
        else:
            st[fwd + D_PUSH_SENT] += seglen
        push = st[fwd + D_PUSH_SENT]
        have |= H_PUSH

    if have & H_ACK_RTT and ack_rtt == 0:  # tshark shows an RTT only when it is not zero
        have &= ~H_ACK_RTT
    if have & H_RTO and rto == 0:
        have &= ~H_RTO
    irtt = st[cv + C_FIRST_RTT]
    if (ta or a != 0) and irtt != 0:
        have |= H_IRTT
    out[O_STREAM * ostride + orow] = c
    out[O_SEQ * ostride + orow] = seq_sub(seq, st[fwd + D_BASE_SEQ])
    out[O_ACK * ostride + orow] = seq_sub(ack, st[rev + D_BASE_SEQ]) if flags & ACK else ack
    out[O_NXTSEQ * ostride + orow] = seq_sub(nextseq, st[fwd + D_BASE_SEQ])
    out[O_WINDOW_SIZE * ostride + orow] = window_size
    out[O_SCALEFACTOR * ostride + orow] = scalefactor
    out[O_AFLAGS * ostride + orow] = a
    out[O_ACKS_FRAME * ostride + orow] = acks_frame
    out[O_ACK_RTT * ostride + orow] = ack_rtt
    out[O_IRTT * ostride + orow] = irtt
    out[O_BIF * ostride + orow] = bif
    out[O_PUSH * ostride + orow] = push
    out[O_DUPACK_NUM * ostride + orow] = dupack_num
    out[O_DUPACK_FRAME * ostride + orow] = dupack_frame
    out[O_RTO * ostride + orow] = rto
    out[O_RTO_FRAME * ostride + orow] = rto_frame
    out[O_TIME_RELATIVE * ostride + orow] = now - st[cv + C_FIRST_TS]
    out[O_TIME_DELTA * ostride + orow] = now - st[cv + C_LAST_TS]
    out[O_HAVE * ostride + orow] = have
    st[cv + C_LAST_TS] = now
    if allocated:
        return _needs_room(st, arena)
    return 0


# --------------------------------------------------------------------------------------
# whole columns

def run_columns(st: Any, arena: Any, start: int, srow: int, frame: Any, ts: Any, key: Any, dirb: Any, seq: Any,
                ack: Any, flags: Any, window: Any, seglen: Any, wscale: Any, sack_n: Any, sack_l: Any, sack_r: Any,
                last: Any, out: Any) -> Any:
    """:func:`step` over the rows from ``start`` (``sack_l``/``sack_r``: three blocks per
    row that has SACK blocks, flattened, ``srow`` of them before ``start``; ``last``: 1 on
    the last row of its key, after which the key's conversation is freed); ``out`` holds
    ``NOUT`` columns of ``len(frame)``. Returns (the next row, its ``srow``, 1 if the state
    needs room first): it stops after a step that leaves the state without room for the
    next, for the caller to grow it (``grow``) and call again from there. So it allocates
    nothing, and is compiled without numba's reference counting."""
    n = len(frame)
    for i in range(start, n):
        sn = sack_n[i]
        if sn > 0:
            for j in range(3):
                st[G_SACK + 2 * j] = sack_l[3 * srow + j]
                st[G_SACK + 2 * j + 1] = sack_r[3 * srow + j]
            srow += 1
        full = step(st, arena, out, i, n, frame[i], ts[i], 2 * key[i] + dirb[i], flags[i], seq[i], ack[i], seglen[i],
                    window[i], wscale[i], sn)
        if last[i] != 0:
            k = st[G_KEYS] + key[i]
            if st[k] != 0:
                _free_conversation(st, arena, st[k] - 1)
                st[k] = 0
        if full:
            return i + 1, srow, 1
    return n, srow, 0
