"""A direction's unacknowledged segments: its region of the arena (see
:mod:`pcapkit.tcpflow.analysis.state`), oldest first.

:func:`make_room` makes room at the region's end, :func:`acknowledge` applies an ACK
(tshark's walk of the list: segments ending at or before the ACK go, one holding it is
trimmed), :func:`flight_span` gives the bytes the list spans. The step calls them; the
code generator writes the last two into it (:mod:`pcapkit.tcpflow.backends`).
"""

from __future__ import annotations

from typing import Any

from pcapkit.proto.seq import seq_gt, seq_lt, seq_sub
from pcapkit.tcpflow.analysis.state import (
    D_BASE_SEQ,
    D_ORDERED,
    D_R_CAP,
    D_R_HEAD,
    D_R_LEN,
    D_R_START,
    E_FRAME,
    E_NEXTSEQ,
    E_SEQ,
    E_TS,
    ENTRY,
    _free_region,
    _new_region,
)


def make_room(st: Any, arena: Any, fwd: int) -> None:
    """Room for one more entry at the end of direction ``fwd``'s region: its entries
    slide to the region's start, or move to a region twice as big (a free one, else at
    the arena's end; the old one is then free)."""
    start = st[fwd + D_R_START]
    head = st[fwd + D_R_HEAD]
    ln = st[fwd + D_R_LEN]
    cap = st[fwd + D_R_CAP]
    if head > 0 and ln < cap:
        to = start
    else:
        to = _new_region(st, arena, 8 if cap == 0 else 2 * cap)
        st[fwd + D_R_START] = to
        st[fwd + D_R_CAP] = 8 if cap == 0 else 2 * cap
    src = ENTRY * (start + head)
    dst = ENTRY * to
    for j in range(ENTRY * ln):
        arena[dst + j] = arena[src + j]
    if to != start and cap > 0:
        _free_region(st, arena, start, cap)  # (after the move: its first slot links it)
    st[fwd + D_R_HEAD] = 0


def acknowledge(st: Any, arena: Any, rev: int, ack: int) -> tuple[bool, int, int]:
    """``ack`` acknowledges direction ``rev``'s unacked segments: those ending at or
    before it go, one holding it is trimmed to start there. Returns (found, frame, time)
    of the oldest segment ending exactly at ``ack`` (tshark walks the list newest to
    oldest and the last match wins: an ACK of resent data is timed from the ORIGINAL
    transmission)."""
    found = False
    frame = 0
    sent = 0
    ln = st[rev + D_R_LEN]
    first = st[rev + D_R_START] + st[rev + D_R_HEAD]
    if st[rev + D_ORDERED] != 0:
        # seq and nextseq never decrease: the acknowledged entries are a prefix
        k = 0
        while k < ln:
            p = ENTRY * (first + k)
            if seq_sub(arena[p + E_NEXTSEQ], ack) == 0:
                if not found:
                    found = True
                    frame = arena[p + E_FRAME]
                    sent = arena[p + E_TS]
            elif seq_gt(arena[p + E_NEXTSEQ], ack):
                break  # ends after ack
            k += 1
        ln -= k
        first += k
        st[rev + D_R_HEAD] += k
        st[rev + D_R_LEN] = ln
        for j in range(ln):
            p = ENTRY * (first + j)
            if not seq_gt(ack, arena[p + E_SEQ]):
                break
            arena[p + E_SEQ] = ack  # ack inside the segment
        if ln == 0:
            st[rev + D_R_HEAD] = 0
        return found, frame, sent
    for j in range(ln - 1, -1, -1):
        p = ENTRY * (first + j)
        if seq_sub(arena[p + E_NEXTSEQ], ack) == 0:
            found = True
            frame = arena[p + E_FRAME]
            sent = arena[p + E_TS]
    kept = 0
    for j in range(ln):
        p = ENTRY * (first + j)
        if seq_gt(arena[p + E_NEXTSEQ], ack):
            if seq_gt(ack, arena[p + E_SEQ]):
                arena[p + E_SEQ] = ack
            q = ENTRY * (first + kept)
            for f in range(ENTRY):
                arena[q + f] = arena[p + f]
            kept += 1
    st[rev + D_R_LEN] = kept
    if kept == 0:
        st[rev + D_R_HEAD] = 0
    # the list may be in order again once the out-of-order entries are gone
    ordered = 1
    for j in range(1, kept):
        p = ENTRY * (first + j)
        if seq_lt(arena[p + E_SEQ], arena[p - ENTRY + E_SEQ]) or \
                seq_lt(arena[p + E_NEXTSEQ], arena[p - ENTRY + E_NEXTSEQ]):
            ordered = 0
            break
    st[rev + D_ORDERED] = ordered
    return found, frame, sent


def flight_span(st: Any, arena: Any, fwd: int) -> int:
    """max(nextseq) - min(seq) over direction ``fwd``'s unacked segments, relative to
    its base (the list is not empty)."""
    base = st[fwd + D_BASE_SEQ]
    ln = st[fwd + D_R_LEN]
    first = ENTRY * (st[fwd + D_R_START] + st[fwd + D_R_HEAD])
    last = ENTRY * (ln - 1) + first
    if st[fwd + D_ORDERED] != 0:
        return seq_sub(arena[last + E_NEXTSEQ], base) - seq_sub(arena[first + E_SEQ], base)
    lo = seq_sub(arena[last + E_SEQ], base)
    hi = seq_sub(arena[last + E_NEXTSEQ], base)
    for j in range(ln):
        p = first + ENTRY * j
        lo = min(lo, seq_sub(arena[p + E_SEQ], base))
        hi = max(hi, seq_sub(arena[p + E_NEXTSEQ], base))
    return hi - lo
