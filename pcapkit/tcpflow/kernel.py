"""The TCP flow engine compiled with numba, over numpy columns.

:func:`analyse_columns` computes, for arrays of TCP segments in file order, exactly
what :class:`pcapkit.tcpflow.engine.TcpEngine` computes one :class:`Segment` at a time
(tshark 4.0's ``tcp_analyze_sequence_number()``); the code below is a line-by-line
translation of ``TcpEngine.feed`` with the per-direction state in arrays and the
per-direction unacknowledged-segment lists in one growable arena (a region per
direction, oldest entry at ``head``). Tests run both engines on every TCP capture of
the corpus and on random segment sequences and require identical results.

numba is imported only when :func:`analyse_columns` first runs (compiled functions are
cached on disk). :func:`available` says whether the fast path can be used: numba is
importable and ``PCAPKIT_NO_NUMBA`` is not set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

MASK = 0xFFFFFFFF
HALF = 0x80000000

# bits of the ``have`` output: which optional values the frame shows
H_ACKS_FRAME = 1
H_ACK_RTT = 2
H_IRTT = 4
H_BIF = 8
H_PUSH = 16
H_DUPACK = 32
H_RTO = 64
H_SHORT = 128
H_LIMITED = 256

_kernel: Any = None


def available() -> bool:
    """True when the compiled engine can run (numba importable, PCAPKIT_NO_NUMBA unset)."""
    if os.environ.get("PCAPKIT_NO_NUMBA", "") not in ("", "0"):
        return False
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class KernelResult:
    """Per-row outputs (rows with ``stream == -1`` were cut by ``max_conversations``)."""

    stream: np.ndarray
    seq: np.ndarray
    ack: np.ndarray
    nxtseq: np.ndarray
    window_size: np.ndarray
    scalefactor: np.ndarray
    aflags: np.ndarray
    acks_frame: np.ndarray
    ack_rtt: np.ndarray
    irtt: np.ndarray
    bif: np.ndarray
    push: np.ndarray
    dupack_num: np.ndarray
    dupack_frame: np.ndarray
    rto: np.ndarray
    rto_frame: np.ndarray
    time_relative: np.ndarray
    time_delta: np.ndarray
    have: np.ndarray
    warnings: list[str]
    n_conversations: int


def _impl(frame: Any, ts: Any, key: Any, dirb: Any, seqa: Any, acka: Any, flagsa: Any, wina: Any,
          lena: Any, wscalea: Any, sackn: Any, sackl: Any, sackr: Any, nkeys: int, maxconv: int,
          max_unacked: int, out: Any, out_have: Any) -> Any:
    """The engine over arrays; ``out`` is an (18, n) int64 matrix of results (see
    :func:`analyse_columns`). Returns (conversations, dropped frame, limited frame,
    limited stream); frames are 0 when nothing happened."""
    n = frame.shape[0]
    MASK_ = 0xFFFFFFFF
    HALF_ = 0x80000000
    SYN = 0x002
    FIN = 0x001
    RST = 0x004
    PSH = 0x008
    ACK = 0x010
    SYNFIN = SYN | FIN
    SYNFINRST = SYN | FIN | RST
    A_RETR = 0x0001
    A_FAST = 0x0002
    A_SPUR = 0x0004
    A_OOO = 0x0008
    A_LOST = 0x0010
    A_ACKLOST = 0x0020
    A_DUP = 0x0040
    A_ZW = 0x0080
    A_ZWP = 0x0100
    A_ZWPA = 0x0200
    A_KA = 0x0400
    A_KAA = 0x0800
    A_WFULL = 0x1000
    A_WUPD = 0x2000
    A_REUSED = 0x4000

    # conversations: an upper bound is the number of keys plus the number of rows
    nc = nkeys + 1
    for i in range(n):
        if flagsa[i] & (SYN | ACK) == SYN:
            nc += 1
    conv_of_key = np.full(nkeys, -1, np.int64)
    c_adir = np.zeros(nc, np.int64)
    c_mru_syn = np.zeros(nc, np.int64)
    c_first_rtt = np.zeros(nc, np.int64)
    c_first_ts = np.zeros(nc, np.int64)
    c_last_ts = np.zeros(nc, np.int64)
    c_reused = np.zeros(nc, np.int64)
    nd = 2 * nc
    base_seq = np.zeros(nd, np.int64)
    base_set = np.zeros(nd, np.bool_)
    nextseq_ = np.zeros(nd, np.int64)
    nextseqframe = np.zeros(nd, np.int64)
    nextseqtime = np.zeros(nd, np.int64)
    maxseqtobeacked = np.zeros(nd, np.int64)
    lastack = np.zeros(nd, np.int64)
    lastacktime = np.zeros(nd, np.int64)
    window_ = np.full(nd, 0xFFFFFFFF, np.int64)
    dupacknum = np.zeros(nd, np.int64)
    lastnondupack = np.zeros(nd, np.int64)
    ordered = np.ones(nd, np.bool_)
    win_scale = np.full(nd, -1, np.int64)
    lastsegflags = np.zeros(nd, np.int64)
    valid_bif = np.ones(nd, np.bool_)
    push_sent = np.zeros(nd, np.int64)
    push_last = np.zeros(nd, np.bool_)
    is_first_ack = np.ones(nd, np.bool_)
    d_sackn = np.zeros(nd, np.int64)
    d_sackl = np.zeros((nd, 3), np.int64)
    d_sackr = np.zeros((nd, 3), np.int64)
    # unacked segments: region [start, start + cap) of the arena, entries head .. head + len
    r_start = np.full(nd, -1, np.int64)
    r_cap = np.zeros(nd, np.int64)
    r_head = np.zeros(nd, np.int64)
    r_len = np.zeros(nd, np.int64)
    asize = 1024
    a_frame = np.zeros(asize, np.int64)
    a_seq = np.zeros(asize, np.int64)
    a_nseq = np.zeros(asize, np.int64)
    a_ts = np.zeros(asize, np.int64)
    aused = 0

    nconv = 0
    dropped_frame = 0
    limited_frame = 0
    limited_stream = 0

    scur = 0  # row of sackl/sackr of the next segment with SACK blocks
    for i in range(n):
        srow = -1
        if sackn[i] > 0:
            srow = scur
            scur += 1
        num = frame[i]
        now = ts[i]
        k = key[i]
        db = dirb[i]
        flags = flagsa[i]
        seq = seqa[i]
        ack = acka[i]
        seglen = lena[i]
        window = wina[i]
        # -- conversation lookup (port reuse as TcpEngine._conversation)
        c = conv_of_key[k]
        make = False
        if c >= 0:
            if flags & SYN:
                fw = 2 * c + (0 if db == c_adir[c] else 1)
                if base_set[fw] and seq != base_seq[fw]:
                    if flags & ACK:
                        base_seq[fw] = seq
                        c_reused[c] = num
                    else:
                        make = True
        else:
            make = True
        if make:
            if maxconv >= 0 and nconv >= maxconv:
                if dropped_frame == 0:
                    dropped_frame = num
                out[0, i] = -1
                continue
            reused = c >= 0
            c = nconv
            nconv += 1
            conv_of_key[k] = c
            c_adir[c] = db
            c_first_ts[c] = now
            c_last_ts[c] = now
            if reused:
                c_reused[c] = num
        if db == c_adir[c]:
            fwd = 2 * c
            rev = 2 * c + 1
        else:
            fwd = 2 * c + 1
            rev = 2 * c
        out[0, i] = c
        if seglen < 0:  # short segment: raw header fields only
            out[1, i] = seq
            out[2, i] = ack
            out[3, i] = seq
            out[4, i] = window
            out[5, i] = -1
            out_have[i] = H_SHORT
            continue

        if not base_set[fwd]:
            base_seq[fwd] = seq if flags & SYN else (seq - 1) & MASK_
            base_set[fwd] = True
        if not base_set[rev] and flags & ACK:
            base_seq[rev] = (ack - 1) & MASK_
            base_set[rev] = True

        if flags & SYN:
            if wscalea[i] >= 0:
                win_scale[fwd] = min(wscalea[i], 14)
            if win_scale[fwd] == -1:
                win_scale[fwd] = -2
                win_scale[rev] = -2
            elif flags & ACK and win_scale[rev] == -2:
                win_scale[fwd] = -2
            window_size = window
            scalefactor = 0
        else:
            ws = win_scale[fwd]
            if ws >= 0:
                window_size = window << ws
                scalefactor = 1 << ws
            else:
                window_size = window
                scalefactor = ws

        if flags & (SYN | ACK) == SYN:
            c_mru_syn[c] = now
        elif flags & (SYN | ACK) == ACK and c_mru_syn[c] != 0 and c_first_rtt[c] == 0:
            c_first_rtt[c] = now - c_mru_syn[c]

        fnext = nextseq_[fwd]
        a = A_REUSED if c_reused[c] == num else 0
        ta = False
        have = 0
        dupack_num = 0
        dupack_frame = 0
        rto = 0
        rto_frame = 0
        goto_finished = False

        if seglen == 1 and seq == fnext and window_[rev] == 0:
            a |= A_ZWP
            goto_finished = True
        if not goto_finished:
            if window == 0 and not flags & SYNFINRST:
                a |= A_ZW
            if fnext != 0 and 0 < ((seq - fnext) & MASK_) < HALF_ and not flags & RST:
                a |= A_LOST
                valid_bif[fwd] = False
            if seglen <= 1 and seq == ((fnext - 1) & MASK_) and not flags & SYNFINRST:
                a |= A_KA
            same = (seglen == 0 and seq == fnext and ack == lastack[fwd] and not flags & SYNFINRST)
            if same and window != 0 and window != window_[fwd]:
                a |= A_WUPD
            if seglen > 0 and win_scale[rev] != -1 and not flags & SYNFINRST:
                shift = 0 if (is_first_ack[rev] or win_scale[rev] == -2) else win_scale[rev]
                if ((seq + seglen) & MASK_) == ((lastack[rev] + (window_[rev] << shift)) & MASK_):
                    a |= A_WFULL
            if same and window == window_[fwd]:
                if window != 0 and lastsegflags[rev] & A_KA:
                    a |= A_KAA
                    goto_finished = True
                elif window == 0 and lastsegflags[rev] & A_ZWP:
                    a |= A_ZWPA
                    goto_finished = True
                elif window != 0:
                    dupacknum[fwd] += 1
                    a |= A_DUP
                    dupack_num = dupacknum[fwd]
                    dupack_frame = lastnondupack[fwd]
                    have |= H_DUPACK
        if ack != lastack[fwd]:
            lastnondupack[fwd] = num
            dupacknum[fwd] = 0

        rmax = maxseqtobeacked[rev]
        if rmax != 0 and flags & ACK and 0 < ((ack - rmax) & MASK_) < HALF_:
            ta = True
            if ((rmax - nextseq_[rev]) & MASK_) >= HALF_:
                a |= A_ACKLOST
                maxseqtobeacked[rev] = nextseq_[rev]
            elif dupacknum[rev] == 0:
                a |= A_ACKLOST
                dupacknum[rev] = -1

        if (seglen > 0 or flags & SYNFIN) and not a & A_KA:
            not_adv = fnext != 0 and ((seq - fnext) & MASK_) >= HALF_
            if seglen > 1 and ((fnext - 1) & MASK_) == seq:
                not_adv = False
            if seglen > 0 and lastack[rev] != 0 and ((lastack[rev] - ((seq + seglen) & MASK_)) & MASK_) < HALF_:
                a |= A_SPUR | A_RETR
            elif not_adv and (dupacknum[rev] >= 2 or dupacknum[rev] < 0) and lastack[rev] == seq and \
                    0 <= now - lastacktime[rev] < 20_000_000:
                a |= A_FAST | A_RETR
            else:
                thres = c_first_rtt[c] if c_first_rtt[c] != 0 else 3_000_000
                if not_adv and 0 <= now - nextseqtime[fwd] < thres and \
                        fnext != ((seq + seglen + (1 if flags & SYNFIN else 0)) & MASK_):
                    a |= A_OOO
                elif not_adv:
                    a |= A_RETR
                    if r_len[fwd] > 0:
                        p = r_start[fwd] + r_head[fwd]
                        rto = now - a_ts[p]
                        rto_frame = a_frame[p]
                    else:
                        rto = now - nextseqtime[fwd]
                        rto_frame = nextseqframe[fwd]
                    have |= H_RTO

        nextseq = (seq + seglen) & MASK_
        if seglen != 0 or flags & SYNFIN:
            if flags & SYNFIN:
                nextseq = (nextseq + 1) & MASK_
            ln = r_len[fwd]
            if ln < max_unacked:
                if ln > 0 and ordered[fwd]:
                    p = r_start[fwd] + r_head[fwd] + ln - 1
                    if ((seq - a_seq[p]) & MASK_) >= HALF_ or ((nextseq - a_nseq[p]) & MASK_) >= HALF_:
                        ordered[fwd] = False
                # room at the end of the region?
                if r_start[fwd] < 0 or r_head[fwd] + ln >= r_cap[fwd]:
                    if r_start[fwd] >= 0 and r_head[fwd] > 0 and ln < r_cap[fwd]:
                        s0 = r_start[fwd]
                        h0 = r_head[fwd]
                        for j in range(ln):
                            a_frame[s0 + j] = a_frame[s0 + h0 + j]
                            a_seq[s0 + j] = a_seq[s0 + h0 + j]
                            a_nseq[s0 + j] = a_nseq[s0 + h0 + j]
                            a_ts[s0 + j] = a_ts[s0 + h0 + j]
                        r_head[fwd] = 0
                    else:
                        newcap = 8 if r_cap[fwd] == 0 else 2 * r_cap[fwd]
                        if aused + newcap > asize:
                            nsize = asize * 2
                            while aused + newcap > nsize:
                                nsize *= 2
                            t = np.zeros(nsize, np.int64)
                            t[:aused] = a_frame[:aused]
                            a_frame = t
                            t = np.zeros(nsize, np.int64)
                            t[:aused] = a_seq[:aused]
                            a_seq = t
                            t = np.zeros(nsize, np.int64)
                            t[:aused] = a_nseq[:aused]
                            a_nseq = t
                            t = np.zeros(nsize, np.int64)
                            t[:aused] = a_ts[:aused]
                            a_ts = t
                            asize = nsize
                        s1 = aused
                        aused += newcap
                        if r_start[fwd] >= 0:
                            s0 = r_start[fwd] + r_head[fwd]
                            for j in range(ln):
                                a_frame[s1 + j] = a_frame[s0 + j]
                                a_seq[s1 + j] = a_seq[s0 + j]
                                a_nseq[s1 + j] = a_nseq[s0 + j]
                                a_ts[s1 + j] = a_ts[s0 + j]
                        r_start[fwd] = s1
                        r_head[fwd] = 0
                        r_cap[fwd] = newcap
                p = r_start[fwd] + r_head[fwd] + ln
                a_frame[p] = num
                a_seq[p] = seq
                a_nseq[p] = nextseq
                a_ts[p] = now
                r_len[fwd] = ln + 1
            else:
                have |= H_LIMITED
                if limited_frame == 0:
                    limited_frame = num
                    limited_stream = c
        if not a & A_ZWP:
            if 0 < ((nextseq - nextseq_[fwd]) & MASK_) < HALF_ or nextseq_[fwd] == 0:
                nextseq_[fwd] = nextseq
                nextseqframe[fwd] = num
                nextseqtime[fwd] = now
            if seq == maxseqtobeacked[fwd] or maxseqtobeacked[fwd] == 0:
                maxseqtobeacked[fwd] = nextseq_[fwd]
        window_[fwd] = window
        lastack[fwd] = ack
        lastacktime[fwd] = now
        lastsegflags[fwd] = a
        if flags & ACK:
            if not flags & SYN:
                is_first_ack[fwd] = False
            valid_bif[rev] = True
        if sackn[i] > 0 or flags & ACK:
            m = min(sackn[i], 3)
            d_sackn[fwd] = m
            for j in range(m):
                d_sackl[fwd, j] = sackl[srow, j]
                d_sackr[fwd, j] = sackr[srow, j]

        # ack rtt / acks_frame
        acks_frame = 0
        ack_rtt = 0
        ln = r_len[rev]
        if ln > 0:
            s0 = r_start[rev] + r_head[rev]
            if ordered[rev]:
                kk = 0
                while kk < ln:
                    p = s0 + kk
                    d = (a_nseq[p] - ack) & MASK_
                    if d == 0:
                        if not have & H_ACKS_FRAME:
                            ta = True
                            acks_frame = a_frame[p]
                            ack_rtt = now - a_ts[p]
                            have |= H_ACKS_FRAME | H_ACK_RTT
                    elif d < HALF_:
                        break
                    kk += 1
                if kk > 0:
                    r_head[rev] += kk
                    ln -= kk
                    r_len[rev] = ln
                    s0 += kk
                for j in range(ln):
                    p = s0 + j
                    if 0 < ((ack - a_seq[p]) & MASK_) < HALF_:
                        a_seq[p] = ack
                    else:
                        break
                if ln == 0:
                    ordered[rev] = True
                    r_head[rev] = 0
            else:
                for j in range(ln - 1, -1, -1):
                    p = s0 + j
                    if ((a_nseq[p] - ack) & MASK_) == 0:
                        ta = True
                        acks_frame = a_frame[p]
                        ack_rtt = now - a_ts[p]
                        have |= H_ACKS_FRAME | H_ACK_RTT
                w = 0
                for j in range(ln):
                    p = s0 + j
                    d = (a_nseq[p] - ack) & MASK_
                    if d != 0 and d < HALF_:
                        if 0 < ((ack - a_seq[p]) & MASK_) < HALF_:
                            a_seq[p] = ack
                        q = s0 + w
                        a_frame[q] = a_frame[p]
                        a_seq[q] = a_seq[p]
                        a_nseq[q] = a_nseq[p]
                        a_ts[q] = a_ts[p]
                        w += 1
                ln = w
                r_len[rev] = ln
                if ln == 0:
                    r_head[rev] = 0
                ordd = True
                for j in range(1, ln):
                    p = s0 + j
                    if ((a_seq[p] - a_seq[p - 1]) & MASK_) >= HALF_ or \
                            ((a_nseq[p] - a_nseq[p - 1]) & MASK_) >= HALF_:
                        ordd = False
                        break
                ordered[rev] = ordd

        # bytes in flight, push bytes
        bif = 0
        push = 0
        ln = r_len[fwd]
        if seglen != 0 and ln > 0 and valid_bif[fwd]:
            ta = True
            base = base_seq[fwd]
            s0 = r_start[fwd] + r_head[fwd]
            if ordered[fwd]:
                first = (a_seq[s0] - base) & MASK_
                last = (a_nseq[s0 + ln - 1] - base) & MASK_
            else:
                first = (a_seq[s0 + ln - 1] - base) & MASK_
                last = (a_nseq[s0 + ln - 1] - base) & MASK_
                for j in range(ln):
                    sv = (a_seq[s0 + j] - base) & MASK_
                    ev = (a_nseq[s0 + j] - base) & MASK_
                    if ev > last:
                        last = ev
                    if sv < first:
                        first = sv
            in_flight = last - first
            for j in range(d_sackn[rev]):
                in_flight -= (d_sackr[rev, j] - d_sackl[rev, j]) & MASK_
            if flags & SYNFIN:
                in_flight -= 1
            in_flight &= MASK_
            if 0 < in_flight < 2_000_000_000:
                bif = in_flight
                have |= H_BIF
            if flags & PSH:
                push_sent[fwd] = seglen if push_last[fwd] else push_sent[fwd] + seglen
                push_last[fwd] = True
            elif push_last[fwd]:
                push_sent[fwd] = seglen
                push_last[fwd] = False
            else:
                push_sent[fwd] += seglen
            push = push_sent[fwd]
            have |= H_PUSH

        if have & H_ACK_RTT and ack_rtt == 0:
            have &= ~H_ACK_RTT
        if have & H_RTO and rto == 0:
            have &= ~H_RTO
        if (ta or a != 0) and c_first_rtt[c] != 0:
            have |= H_IRTT
        out[1, i] = (seq - base_seq[fwd]) & MASK_
        out[2, i] = (ack - base_seq[rev]) & MASK_ if flags & ACK else ack
        out[3, i] = (nextseq - base_seq[fwd]) & MASK_
        out[4, i] = window_size
        out[5, i] = scalefactor
        out[6, i] = a
        out[7, i] = acks_frame
        out[8, i] = ack_rtt
        out[9, i] = c_first_rtt[c]
        out[10, i] = bif
        out[11, i] = push
        out[12, i] = dupack_num
        out[13, i] = dupack_frame
        out[14, i] = rto
        out[15, i] = rto_frame
        out[16, i] = now - c_first_ts[c]
        out[17, i] = now - c_last_ts[c]
        c_last_ts[c] = now
        out_have[i] = have
    return nconv, dropped_frame, limited_frame, limited_stream


def _compiled() -> Any:
    global _kernel
    if _kernel is None:
        import numba

        _kernel = numba.njit(cache=True, nogil=True)(_impl)
    return _kernel


def analyse_columns(frame: np.ndarray, ts_ns: np.ndarray, key: np.ndarray, dirb: np.ndarray,
                    seq: np.ndarray, ack: np.ndarray, flags: np.ndarray, window: np.ndarray,
                    seglen: np.ndarray, wscale: np.ndarray, sack_n: np.ndarray, sack_l: np.ndarray,
                    sack_r: np.ndarray, *, max_unacked: int = 10_000, max_conversations: int | None = None,
                    compiled: bool = True) -> KernelResult:
    """Run the engine over columns (one entry per TCP segment, in file order).

    ``key``: conversation key id (0 .. nkeys-1) of the unordered address/port pair;
    ``dirb``: which of the pair's two endpoints sent the segment (0 or 1; 0 when both
    are the same endpoint). ``seglen`` is -1 for a short segment. ``wscale`` is -1 when
    the segment has no window scale option. ``sack_n`` counts the SACK blocks of the
    segment; ``sack_l``/``sack_r`` (shape (m, 3), one row per segment with ``sack_n > 0``,
    in order) hold its first three blocks.
    ``compiled=False`` runs the same code as plain Python (slow; for tests)."""
    n = int(frame.shape[0])
    i64 = np.int64
    if sack_l.shape[0] != int(np.count_nonzero(sack_n > 0)) or sack_r.shape != sack_l.shape:
        raise ValueError("sack_l/sack_r need one row per segment with sack_n > 0")

    def c(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a, dtype=i64)

    nkeys = int(key.max()) + 1 if n else 0
    out = np.zeros((18, n), dtype=i64)
    have = np.zeros(n, dtype=i64)
    fn = _compiled() if compiled else _impl
    nconv, dropped, limited_frame, limited_stream = fn(
        c(frame), c(ts_ns), c(key), c(dirb), c(seq), c(ack), c(flags), c(window), c(seglen), c(wscale),
        c(sack_n), np.ascontiguousarray(sack_l.reshape(-1, 3), dtype=i64),
        np.ascontiguousarray(sack_r.reshape(-1, 3), dtype=i64), nkeys,
        -1 if max_conversations is None else int(max_conversations), int(max_unacked), out, have)
    warnings: list[str] = []
    events: list[tuple[int, str]] = []
    if dropped:
        events.append((int(dropped), f"max_conversations={max_conversations} reached at frame "
                                     f"{int(dropped)}: later conversations are not analysed"))
    if limited_frame:
        events.append((int(limited_frame),
                       f"max_unacked={max_unacked} unacknowledged segments reached in "
                       f"tcp.stream {int(limited_stream)} at frame {int(limited_frame)}: "
                       f"later segments are not tracked"))
    # (row order = file order, so the frame numbers order the events)
    for _, text in sorted(events, key=lambda e: e[0]):
        warnings.append(text)
    return KernelResult(out[0], out[1], out[2], out[3], out[4], out[5], out[6], out[7], out[8], out[9],
                        out[10], out[11], out[12], out[13], out[14], out[15], out[16], out[17], have,
                        warnings, int(nconv))
