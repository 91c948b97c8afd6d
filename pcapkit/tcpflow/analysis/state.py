"""The state of the TCP analysis: its layout in flat int64 buffers, and its allocation.

All int64, in few buffers (each array argument of a compiled call costs its unboxing):

- ``st``: the header (``G_*`` slots), then ``kcap`` key slots (the conversation record
  of each endpoint-pair key, plus one; 0 when none), then ``ccap`` conversation records
  of ``CREC`` slots: the conversation's own fields (``C_*``, its tcp.stream number among
  them) and its two direction records (``D_*`` fields: tshark's tcp_flow_t plus the
  direction's region of the arena);
- ``arena``: the unacknowledged segments of every direction, ``ENTRY`` slots each
  (``E_*``); a direction owns a region ``[start, start + cap)`` of entries and uses
  ``head .. head + len`` of it, oldest first;
- ``out``: per segment, the ``NOUT`` outputs (``O_*``), at ``out[o * ostride + orow]``.

Records and regions are recycled: a whole-capture run (:func:`pcapkit.tcpflow.analysis.run`)
knows the last segment of each key and frees the key's conversation after it (and a
conversation whose ports are reused, when ``G_RECYCLE`` is set), so the state holds the
conversations that are open at the same time, not every conversation of the capture (a
SYN flood: one). Free records form a list linked through ``C_ADIR``; free regions one
list per size (``8 << j`` entries) linked through their first slot. Without recycling
(the engine, fed one segment at a time) records are handed out in order: record ``s``
is tcp.stream ``s``.

A step needs room for one more conversation and for its direction's region to move to
one twice as big: :func:`grow` makes it when the step says so (``_needs_room``).
:func:`alloc` makes the interpreted backend's buffers (lists); the compiled backend
replaces it by :func:`_alloc_array` (numpy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pcapkit.tcpflow.flags import H_SHORT

#: tshark's TCP_MAX_UNACKED_SEGMENTS: unacknowledged segments kept per direction
TCP_MAX_UNACKED_SEGMENTS = 10_000

# -- header slots of ``st`` -----------------------------------------------------------
G_NCONV = 0            # conversations opened (tcp.stream numbers 0 .. n-1)
G_KCAP = 1             # key slots
G_CCAP = 2             # conversation records (room for)
G_KEYS = 3             # offset of the key slots
G_CONVS = 4            # offset of the conversation records
G_MAX_CONV = 5         # max_conversations, -1: no limit
G_MAX_UNACKED = 6
G_DROPPED_FRAME = 7    # first frame max_conversations cut off (0: none)
G_LIMITED_FRAME = 8    # first frame max_unacked cut off (0: none)
G_LIMITED_STREAM = 9   # ... and its conversation
G_AUSED = 10           # arena entries handed out to regions
G_MAX_RCAP = 11        # the largest region (a region moves to one twice its size)
G_CUSED = 12           # conversation records handed out (free ones are taken first)
G_CFREE = 13           # the free records: the first one + 1 (0: none), linked through C_ADIR
G_RECYCLE = 14         # 1: a conversation whose ports are reused frees its record
G_SACK = 15            # the segment's first three SACK blocks: left, right, left, right, ...
G_RFREE = 21           # the free regions of 8 << j entries: the first one's start + 1 (0: none)
NCLASS = 40            # region sizes 8 .. 8 << 39
HEADER = G_RFREE + NCLASS

# -- a conversation record: its fields, then its two directions -------------------------
C_ADIR = 0             # which endpoint of the key (0/1) sent first: direction A
C_MRU_SYN = 1          # time of the latest SYN without ACK
C_FIRST_RTT = 2        # iRTT (0: not known yet)
C_FIRST_TS = 3
C_LAST_TS = 4
C_REUSED = 5           # frame that reused the ports (tcp.analysis.reused_ports)
C_STREAM = 6           # the tcp.stream number
C_DIR_A = 7
D_BASE_SEQ = 0         # the ISN relative numbers count from
D_BASE_SET = 1
D_NEXTSEQ = 2          # highest seq + len seen (+1 for SYN/FIN), 0: none yet
D_NEXTSEQ_FRAME = 3
D_NEXTSEQ_TIME = 4
D_MAXSEQTOBEACKED = 5
D_LASTACK = 6
D_LASTACK_TIME = 7
D_WINDOW = 8           # raw window of the last segment (0xFFFFFFFF: none yet)
D_DUPACKNUM = 9
D_LASTNONDUPACK = 10
D_ORDERED = 11         # the unacked entries' seq and nextseq never decrease
D_WIN_SCALE = 12       # -1 unknown, -2 not used, else the shift
D_LASTSEG_FLAGS = 13   # A_* flags of the last segment
D_VALID_BIF = 14       # bytes in flight can be computed (no unseen hole)
D_PUSH_SENT = 15
D_PUSH_LAST = 16
D_IS_FIRST_ACK = 17    # no non-SYN ACK sent yet (window scaling not in force)
D_SACK_N = 18          # SACK blocks of the last segment (at most 3 kept) ...
D_SACK = 19            # ... left, right, left, right, left, right
D_R_START = 25         # the direction's region of the arena
D_R_CAP = 26
D_R_HEAD = 27
D_R_LEN = 28
DREC = 29
C_DIR_B = C_DIR_A + DREC
CREC = C_DIR_B + DREC

# -- an arena entry: one unacknowledged segment ------------------------------------------
E_FRAME = 0
E_SEQ = 1
E_NEXTSEQ = 2
E_TS = 3
ENTRY = 4

# -- outputs of a segment (the columns of AnalysisResult, in this order) ----------------
O_STREAM = 0           # -1: cut off by max_conversations
O_SEQ = 1
O_ACK = 2
O_NXTSEQ = 3
O_WINDOW_SIZE = 4
O_SCALEFACTOR = 5
O_AFLAGS = 6
O_ACKS_FRAME = 7
O_ACK_RTT = 8
O_IRTT = 9
O_BIF = 10
O_PUSH = 11
O_DUPACK_NUM = 12
O_DUPACK_FRAME = 13
O_RTO = 14
O_RTO_FRAME = 15
O_TIME_RELATIVE = 16
O_TIME_DELTA = 17
O_HAVE = 18
NOUT = 19
OUTPUTS = ("stream", "seq", "ack", "nxtseq", "window_size", "scalefactor", "aflags", "acks_frame", "ack_rtt",
           "irtt", "bif", "push", "dupack_num", "dupack_frame", "rto", "rto_frame", "time_relative",
           "time_delta", "have")


# --------------------------------------------------------------------------------------
# the state

def alloc(n: int) -> Any:
    """A buffer of ``n`` zeros (the interpreted backend's; the compiled one allocates an
    int64 array)."""
    return [0] * n


def _alloc_array(n: int) -> Any:
    return np.zeros(n, np.int64)


def new_state(kcap: int, ccap: int, acap: int, max_unacked: int, max_conversations: int) -> Any:
    """Empty state for ``kcap`` keys and ``ccap`` conversations (both can grow) and an
    arena of ``acap`` entries; ``max_conversations`` -1: no limit. Returns (st, arena)."""
    kcap = max(kcap, 1)
    ccap = max(ccap, 1)
    st = alloc(HEADER + kcap + ccap * CREC)
    st[G_KCAP] = kcap
    st[G_CCAP] = ccap
    st[G_KEYS] = HEADER
    st[G_CONVS] = HEADER + kcap
    st[G_MAX_CONV] = max_conversations
    st[G_MAX_UNACKED] = max_unacked
    arena = alloc(max(acap, 16) * ENTRY)
    return st, arena


def grow(st: Any, arena: Any, nkeys: int) -> Any:
    """(st, arena) with room for ``nkeys`` keys, one more conversation and a region move."""
    kcap = st[G_KCAP]
    ccap = st[G_CCAP]
    new_kcap = kcap
    while new_kcap < nkeys:
        new_kcap *= 2
    new_ccap = ccap
    while st[G_CUSED] >= new_ccap:
        new_ccap *= 2
    if new_kcap != kcap or new_ccap != ccap:
        keys = st[G_KEYS]
        convs = st[G_CONVS]
        bigger = alloc(HEADER + new_kcap + new_ccap * CREC)
        bigger[0:HEADER] = st[0:HEADER]
        bigger[HEADER:HEADER + kcap] = st[keys:keys + kcap]
        to = HEADER + new_kcap
        bigger[to:to + ccap * CREC] = st[convs:convs + ccap * CREC]
        bigger[G_KCAP] = new_kcap
        bigger[G_CCAP] = new_ccap
        bigger[G_KEYS] = HEADER
        bigger[G_CONVS] = to
        st = bigger
    need = ENTRY * _arena_need(st)
    if need > len(arena):
        size = 2 * len(arena)
        while size < need:
            size *= 2
        bigger = alloc(size)
        bigger[0:len(arena)] = arena[0:len(arena)]
        arena = bigger
    return st, arena


def _new_record(st: Any) -> int:
    """A free conversation record (the grow before this step made room)."""
    r = st[G_CFREE] - 1
    if r >= 0:
        st[G_CFREE] = st[st[G_CONVS] + r * CREC + C_ADIR]
    else:
        r = st[G_CUSED]
        st[G_CUSED] = r + 1
    return r


def _region_class(cap: int) -> int:
    j = 0
    while (8 << j) < cap:
        j += 1
    return j


def _new_region(st: Any, arena: Any, cap: int) -> int:
    """The start of a free region of ``cap`` entries (the grow before this step made room)."""
    j = _region_class(cap)
    start = st[G_RFREE + j] - 1
    if start >= 0:
        st[G_RFREE + j] = arena[ENTRY * start]
    else:
        start = st[G_AUSED]
        st[G_AUSED] = start + cap
        st[G_MAX_RCAP] = max(st[G_MAX_RCAP], cap)
    return start


def _free_region(st: Any, arena: Any, start: int, cap: int) -> None:
    j = _region_class(cap)
    arena[ENTRY * start] = st[G_RFREE + j]
    st[G_RFREE + j] = start + 1


def _free_conversation(st: Any, arena: Any, r: int) -> None:
    """Give record ``r`` and its directions' regions back (no segment reads them again)."""
    cv = st[G_CONVS] + r * CREC
    for d in (cv + C_DIR_A, cv + C_DIR_B):
        if st[d + D_R_CAP] > 0:
            _free_region(st, arena, st[d + D_R_START], st[d + D_R_CAP])
    st[cv + C_ADIR] = st[G_CFREE]
    st[G_CFREE] = r + 1


def _open_conversation(st: Any, cv: int, adir: int, now: int, stream: int) -> None:
    for j in range(CREC):
        st[cv + j] = 0
    st[cv + C_ADIR] = adir
    st[cv + C_STREAM] = stream
    st[cv + C_FIRST_TS] = now
    st[cv + C_LAST_TS] = now
    for d in (cv + C_DIR_A, cv + C_DIR_B):
        st[d + D_WINDOW] = 0xFFFFFFFF  # "not seen yet" (Wireshark starts it at G_MAXUINT32)
        st[d + D_ORDERED] = 1
        st[d + D_WIN_SCALE] = -1
        st[d + D_VALID_BIF] = 1
        st[d + D_IS_FIRST_ACK] = 1


def _short_row(out: Any, orow: int, ostride: int, stream: int, seq: int, ack: int, window: int) -> None:
    """A "short segment" (cut before its TCP payload length is known): tshark prints
    the raw header fields only."""
    _clear_row(out, orow, ostride)
    out[O_STREAM * ostride + orow] = stream
    out[O_SEQ * ostride + orow] = seq
    out[O_ACK * ostride + orow] = ack
    out[O_NXTSEQ * ostride + orow] = seq
    out[O_WINDOW_SIZE * ostride + orow] = window
    out[O_SCALEFACTOR * ostride + orow] = -1
    out[O_HAVE * ostride + orow] = H_SHORT


def _arena_need(st: Any) -> int:
    """Arena entries the next step may need: those handed out plus a region move."""
    return st[G_AUSED] + max(8, 2 * st[G_MAX_RCAP])


def _needs_room(st: Any, arena: Any) -> int:
    """1 when the next step might open a conversation or move a region without room."""
    if (st[G_CFREE] == 0 and st[G_CUSED] >= st[G_CCAP]) or ENTRY * _arena_need(st) > len(arena):
        return 1
    return 0


def _clear_row(out: Any, orow: int, ostride: int) -> None:
    for j in range(NOUT):
        out[j * ostride + orow] = 0


def limit_warnings(st: Any, max_unacked: int, max_conversations: int | None) -> list[str]:
    """The limits that cut the analysis so far, in the order they were hit."""
    events: list[tuple[int, str]] = []
    dropped = int(st[G_DROPPED_FRAME])
    if dropped:
        events.append((dropped, f"max_conversations={max_conversations} reached at frame {dropped}: "
                                f"later conversations are not analysed"))
    limited = int(st[G_LIMITED_FRAME])
    if limited:
        events.append((limited, f"max_unacked={max_unacked} unacknowledged segments reached in tcp.stream "
                                f"{int(st[G_LIMITED_STREAM])} at frame {limited}: later segments are not tracked"))
    return [text for _, text in sorted(events, key=lambda e: e[0])]


def initial_rtt(st: Any, stream: int) -> int:
    """The iRTT of conversation ``stream`` (0: not known), of a state that recycles no
    record (record ``stream`` is conversation ``stream``)."""
    return int(st[st[G_CONVS] + stream * CREC + C_FIRST_RTT])


