"""The Zeek model in the numba subset: one segment at a time (:func:`run`).

Records (:data:`CONN`, :data:`ENDPOINT`: endpoints ``2c`` and ``2c + 1`` are connection
``c``'s, the first one the sender of its first packet; ``orig`` says which one is the
originator now) and arenas: ``hist`` logs (connection, letter) in order, ``heap`` holds
the blocks of data an endpoint has seen above its covered prefix ``[1, cover)`` (one skew
heap by start per endpoint, free nodes linked through ``H_LEFT``), ``counts`` their fill.
A gap is only ever asked about below an ACK, after which everything below that ACK
counts as covered, so each block is pushed and popped once: O(log n) a segment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pcapkit.proto.seq import seq_diff
from pcapkit.tcpflow.segment import ACK, FIN, RST, SYN

MASK = 0xFFFFFFFF
TOO_LARGE_SEQ_DELTA = 1048576
LIKELY_SERVER_PORTS = frozenset(
    set(range(1, 1024)) | {1080, 1433, 1521, 2049, 3128, 3306, 3389, 5060, 5222, 5432, 5900,
                           6379, 6667, 8000, 8008, 8080, 8081, 8443, 8888, 9200, 11211, 27017})
LIKELY = np.zeros(65536, np.bool_)
LIKELY[sorted(LIKELY_SERVER_PORTS)] = True


# the states as plain ints (the compiled code's constants)
INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL, ESTABLISHED, CLOSED, RESET = range(7)
# history letters (ASCII; + 32 is the responder's lower case) and their once-per-direction bits
L_A, L_D, L_F, L_G, L_H, L_I, L_Q, L_R, L_S, L_T, L_W, L_FLIP = (ord(ch) for ch in "ADFGHIQRSTW^")
B_A, B_D, B_I, B_Q, B_SH, B_F, B_R = 1, 2, 4, 8, 16, 32, 64
NONE = -(1 << 62)  # "no previous sequence number" of hist_last
HIST_USED, HEAP_USED, HEAP_FREE = 0, 1, 2  # the ``counts`` entries
H_START, H_END, H_LEFT, H_RIGHT = 0, 1, 2, 3  # a heap node (a block [start, end))

ROW = np.dtype([(name, np.int64) for name in (
    "key", "src", "sport", "dst", "dport", "ts", "flags", "seq", "ack", "window", "seglen", "ip_len")])
CONN = np.dtype([(name, np.int64) for name in ("key", "orig", "flipped", "is_partial", "first_ts", "last_ts")])
ENDPOINT = np.dtype([(name, np.int64) for name in (
    "host", "port", "state", "prev_state", "start_seq", "last_seq", "ack_seq", "started", "fin_cnt", "fin_seq",
    "hist_seen", "last_s", "last_f", "last_r", "t_count", "t_next", "w_count", "w_next", "g_count", "g_next",
    "pkts", "ip_bytes", "missed", "cover", "heap")])


# -- the model, in the numba subset ----------------------------------------------------
def _letter(c: int, e: int, code: int, conns: Any, hist: Any, counts: Any) -> None:
    """Append a history letter of endpoint ``e`` (upper case when it is the originator)."""
    k = counts[HIST_USED]
    hist[k, 0] = c
    hist[k, 1] = code if e == 2 * c + conns[c].orig else code + 32
    counts[HIST_USED] = k + 1


def _check(c: int, e: int, code: int, bit: int, conns: Any, eps: Any, hist: Any, counts: Any) -> bool:
    """Zeek's CheckHistory: record the first one; True when seen before."""
    ep = eps[e]
    if ep.hist_seen & bit:
        return True
    ep.hist_seen |= bit
    _letter(c, e, code, conns, hist, counts)
    return False


def _tick(count: int, nxt: int) -> tuple[int, int, bool]:
    """A scaled-history counter after one more event: (count, next threshold, record it)."""
    count += 1
    if count == nxt:
        return count, nxt * 10, True
    return count, nxt, False


def _heap_merge(heap: Any, a: int, b: int) -> int:
    """Merge two skew heaps of blocks (by start) into one; its root."""
    if a < 0:
        return b
    if b < 0:
        return a
    if heap[b, H_START] < heap[a, H_START]:
        a, b = b, a
    root = a
    while True:  # top-down: a's new left child = merge(its right child, b); right = old left
        r = heap[a, H_RIGHT]
        heap[a, H_RIGHT] = heap[a, H_LEFT]
        if r < 0:
            heap[a, H_LEFT] = b
            return root
        if heap[b, H_START] < heap[r, H_START]:
            r, b = b, r
        heap[a, H_LEFT] = r
        a = r


def _heap_pop(ep: Any, heap: Any, counts: Any) -> None:
    node = ep.heap
    ep.heap = _heap_merge(heap, heap[node, H_LEFT], heap[node, H_RIGHT])
    heap[node, H_LEFT] = counts[HEAP_FREE]
    counts[HEAP_FREE] = node


def _absorb(ep: Any, heap: Any, counts: Any) -> None:
    """Extend the covered prefix over the blocks that start inside or at its end."""
    while ep.heap >= 0 and heap[ep.heap, H_START] <= ep.cover:
        if heap[ep.heap, H_END] > ep.cover:
            ep.cover = heap[ep.heap, H_END]
        _heap_pop(ep, heap, counts)


def _add_block(ep: Any, start: int, end: int, heap: Any, counts: Any) -> None:
    """Data [start, end) seen (relative sequence numbers; only what lies above 1 counts)."""
    if start < ep.cover:
        start = ep.cover
    if end <= start:
        return
    if start == ep.cover:
        ep.cover = end
        _absorb(ep, heap, counts)
        return
    node = counts[HEAP_FREE]
    if node >= 0:
        counts[HEAP_FREE] = heap[node, H_LEFT]
    else:
        node = counts[HEAP_USED]
        counts[HEAP_USED] = node + 1
    heap[node, H_START] = start
    heap[node, H_END] = end
    heap[node, H_LEFT] = -1
    heap[node, H_RIGHT] = -1
    ep.heap = _heap_merge(heap, ep.heap, node)


def _ack_received(c: int, s: int, a: int, ack: int, conns: Any, eps: Any, heap: Any, hist: Any,
                  counts: Any) -> None:
    """Endpoint ``a`` acknowledged ``ack`` of sender ``s``: bytes below it never seen are
    missed (Zeek's reassembler AckReceived)."""
    sender = eps[s]
    if not sender.started or conns[c].is_partial:
        return
    top = seq_diff(ack, sender.start_seq)
    if sender.fin_seq >= 0 and top > seq_diff(sender.fin_seq, sender.start_seq):
        top = seq_diff(sender.fin_seq, sender.start_seq)
    if top <= sender.cover:  # (also top <= 1: cover starts at 1)
        return
    reach = sender.cover
    missing = 0
    while sender.heap >= 0 and heap[sender.heap, H_START] < top:
        if heap[sender.heap, H_START] > reach:
            missing += heap[sender.heap, H_START] - reach
        if heap[sender.heap, H_END] > reach:
            reach = heap[sender.heap, H_END]
        _heap_pop(sender, heap, counts)
    if reach < top:
        missing += top - reach
    sender.cover = reach if reach > top else top
    _absorb(sender, heap, counts)
    if missing > 0:
        sender.missed += missing
        if eps[a].state not in (CLOSED, RESET):
            sender.g_count, sender.g_next, add = _tick(sender.g_count, sender.g_next)
            if add:
                _letter(c, s, L_G, conns, hist, counts)


def _set_state(ep: Any, state: int) -> None:
    ep.prev_state = ep.state
    ep.state = state


def _init_endpoint(ep: Any, syn: bool, first: int, last: int) -> None:
    if ep.state == INACTIVE:
        ep.started = 1
        if syn:
            ep.start_seq = first
            ep.ack_seq = first
            ep.last_seq = last
        else:
            ep.start_seq = (first - 1) & MASK
            ep.ack_seq = ep.start_seq
            ep.last_seq = first
    elif ep.state in (SYN_SENT, SYN_ACK_SENT, ESTABLISHED, PARTIAL) and syn and first != ep.start_seq:
        ep.start_seq = first
        ep.ack_seq = first
        ep.last_seq = last


def _flip(c: int, conns: Any, hist: Any, counts: Any) -> None:
    conn = conns[c]
    conn.orig = 1 - conn.orig
    conn.flipped = 1 - conn.flipped
    k = counts[HIST_USED]
    hist[k, 0] = c
    hist[k, 1] = L_FLIP
    counts[HIST_USED] = k + 1


def _update_state(c: int, e: int, p: int, base: int, length: int, is_orig: bool, syn: bool, fin: bool,
                  rst: bool, ackf: bool, conns: Any, eps: Any, hist: Any, counts: Any) -> None:
    """Zeek's UpdateStateMachine for a segment from endpoint ``e`` (peer ``p``)."""
    conn, ep, peer = conns[c], eps[e], eps[p]
    s = ep.state
    if s == INACTIVE:
        if syn:
            if is_orig:
                _set_state(ep, SYN_ACK_SENT if ackf else SYN_SENT)
            else:
                if not ackf and peer.state == SYN_ACK_SENT and base == ep.start_seq:
                    conn.is_partial = 0
                    _flip(c, conns, hist, counts)
                    _set_state(peer, ESTABLISHED)
                if peer.state == SYN_SENT:
                    _set_state(peer, ESTABLISHED)
                _set_state(ep, ESTABLISHED)
        if fin:
            _set_state(ep, CLOSED)
        if rst:
            _set_state(ep, RESET)
        if ep.state == INACTIVE:
            if not is_orig and length == 0 and eps[2 * c + conn.orig].state == SYN_SENT:
                pass
            elif ackf and peer.state == ESTABLISHED:
                _set_state(ep, ESTABLISHED)
                conn.is_partial = 0
            else:
                _set_state(ep, PARTIAL)
    elif s in (SYN_SENT, SYN_ACK_SENT):
        if fin:
            _set_state(ep, CLOSED)
        if rst:
            _set_state(ep, RESET)
    elif s in (ESTABLISHED, PARTIAL):
        if syn and s == PARTIAL and peer.state == INACTIVE and not ackf:
            _set_state(ep, SYN_SENT)
        if fin and not rst:
            _set_state(ep, CLOSED)
            if peer.state == RESET and peer.prev_state == CLOSED:
                _set_state(peer, CLOSED)
        if rst:
            _set_state(ep, RESET)
    elif s == CLOSED and rst and peer.state != CLOSED:
        _set_state(ep, RESET)


def _history(c: int, e: int, rel_seq: int, length: int, syn: bool, fin: bool, rst: bool, ackf: bool,
             conns: Any, eps: Any, hist: Any, counts: Any) -> None:
    """Zeek's update_history for a segment from endpoint ``e``."""
    ep = eps[e]
    bits = (1 if syn else 0) + (1 if fin else 0) + (1 if rst else 0)
    if bits > 1:
        _check(c, e, L_I if fin and rst else L_Q, B_I if fin and rst else B_Q, conns, eps, hist, counts)
    elif bits == 1:
        if syn:
            code = L_H if ackf else L_S
            if _check(c, e, code, B_SH, conns, eps, hist, counts) and rel_seq != ep.last_s:
                _letter(c, e, code, conns, hist, counts)
            ep.last_s = rel_seq
        if fin:
            if _check(c, e, L_F, B_F, conns, eps, hist, counts) and rel_seq + length != ep.last_f:
                _letter(c, e, L_F, conns, hist, counts)
            ep.last_f = rel_seq + length
        if rst:
            if _check(c, e, L_R, B_R, conns, eps, hist, counts) and rel_seq != ep.last_r:
                _letter(c, e, L_R, conns, hist, counts)
            ep.last_r = rel_seq
    elif length:
        _check(c, e, L_D, B_D, conns, eps, hist, counts)
    elif ackf:
        _check(c, e, L_A, B_A, conns, eps, hist, counts)


def _process(c: int, r: Any, conns: Any, eps: Any, heap: Any, hist: Any, counts: Any) -> None:
    """One segment of connection ``c``."""
    conn = conns[c]
    o = 2 * c + conn.orig
    is_orig = r.src == eps[o].host and r.sport == eps[o].port
    e = o if is_orig else 4 * c + 1 - o
    p = 4 * c + 1 - e
    ep, peer = eps[e], eps[p]
    flags = r.flags
    syn, fin, rst, ackf = (flags & SYN) != 0, (flags & FIN) != 0, (flags & RST) != 0, (flags & ACK) != 0
    length = r.seglen if r.seglen > 0 else 0
    base, ack = r.seq, r.ack
    conn.last_ts = r.ts
    ep.pkts += 1
    ep.ip_bytes += r.ip_len

    # SetPartialStatus
    if is_orig and ep.pkts == 1:
        conn.is_partial = 1 if (not syn) or ackf else 0
    elif not is_orig and ep.pkts == 1 and not conn.is_partial:
        conn.is_partial = 0 if syn else 1

    seg_len = length + (1 if syn else 0) + (1 if fin else 0) - (length if rst else 0)
    one_past = (base + seg_len) & MASK
    _init_endpoint(ep, syn, base, one_past)
    rel_seq = seq_diff(base, ep.start_seq)
    _history(c, e, rel_seq, length, syn, fin, rst, ackf, conns, eps, hist, counts)

    # update_window: zero windows (the scaled window is zero exactly when the field is)
    if r.window == 0 and not rst and peer.state != CLOSED and ep.state != RESET:
        ep.w_count, ep.w_next, add = _tick(ep.w_count, ep.w_next)
        if add:
            _letter(c, e, L_W, conns, hist, counts)
    if fin:
        ep.fin_cnt += 1
        ep.fin_seq = (base + length) & MASK
    if ackf:
        if peer.state == INACTIVE:
            peer.started = 1
            peer.start_seq = (ack - 1) & MASK
            peer.ack_seq = peer.start_seq
            peer.last_seq = peer.start_seq
        elif not rst and seq_diff(ack, peer.ack_seq) > 0 and not (
                ack == 0 and seq_diff(ack, peer.ack_seq) > TOO_LARGE_SEQ_DELTA):
            peer.ack_seq = ack

    # update_last_seq
    delta_last = seq_diff(one_past, ep.last_seq)
    if (syn or rst) and abs(delta_last) > TOO_LARGE_SEQ_DELTA:
        pass
    elif fin and ep.last_seq == ((ep.start_seq + 1) & MASK):
        ep.last_seq = one_past
    elif ep.state == RESET:
        pass
    elif delta_last > 0:
        ep.last_seq = one_past
    elif length > 0:
        ep.t_count, ep.t_next, add = _tick(ep.t_count, ep.t_next)
        if add:
            _letter(c, e, L_T, conns, hist, counts)

    _update_state(c, e, p, base, length, is_orig, syn, fin, rst, ackf, conns, eps, hist, counts)

    # data seen, and gaps revealed by this ACK
    if length > 0 and not rst:
        start = seq_diff(base, ep.start_seq) + (1 if syn else 0)
        _add_block(ep, start, start + length, heap, counts)
    if ackf and not rst:
        _ack_received(c, p, e, ack, conns, eps, heap, hist, counts)


def _is_reuse(c: int, r: Any, conns: Any, eps: Any) -> bool:
    """Zeek's IsReuse, simplified: a SYN after both sides closed (or a RST), or a SYN
    with a new ISN from the originator of a closed connection."""
    if not r.flags & SYN or r.flags & ACK:
        return False
    orig, resp = eps[2 * c + conns[c].orig], eps[2 * c + 1 - conns[c].orig]
    o_closed = orig.state in (CLOSED, RESET)
    r_closed = resp.state in (CLOSED, RESET)
    if (o_closed and r_closed) or RESET in (orig.state, resp.state):
        return r.seq != orig.start_seq or o_closed
    return False


def _start_endpoint(ep: Any, host: int, port: int) -> None:
    """An endpoint's starting values (the fields that do not start at 0: the records are
    zeroed memory, written only as connections open)."""
    ep.host = host
    ep.port = port
    ep.fin_seq = -1
    ep.last_s = NONE
    ep.last_f = NONE
    ep.last_r = NONE
    ep.t_next = 1
    ep.w_next = 1
    ep.g_next = 1
    ep.cover = 1
    ep.heap = -1


def _open(c: int, r: Any, conns: Any, eps: Any, likely: Any, hist: Any, counts: Any) -> None:
    """A new connection from the segment ``r``: endpoint 2c sent it, 2c+1 receives it."""
    conn = conns[c]
    conn.key = r.key
    conn.first_ts = r.ts
    _start_endpoint(eps[2 * c], r.src, r.sport)
    _start_endpoint(eps[2 * c + 1], r.dst, r.dport)
    # a partial connection: guess the responder from the ports (WantConnection)
    if (not (r.flags & SYN) or (r.flags & ACK)) and likely[r.sport]:
        flip = (not (r.flags & SYN) and r.sport < r.dport) if likely[r.dport] else True
        if flip:
            _flip(c, conns, hist, counts)


def hist_rows_needed(counts: Any) -> int:
    """The history rows the next segment may need (it adds at most 6 letters)."""
    return counts[HIST_USED] + 8


def heap_rows_needed(counts: Any) -> int:
    """The heap rows the next segment may need: one block more when none is free."""
    return counts[HEAP_USED] + 1 if counts[HEAP_FREE] < 0 else 0


def needs_room(heap: Any, hist: Any, counts: Any) -> bool:
    """True when the next segment may not fit the arenas (the caller grows them to
    :func:`hist_rows_needed` and :func:`heap_rows_needed` rows)."""
    return hist_rows_needed(counts) > hist.shape[0] or heap_rows_needed(counts) > heap.shape[0]


def run(rows: Any, start: int, first: int, nconn: int, conns: Any, eps: Any, active: Any, likely: Any, heap: Any,
        hist: Any, counts: Any, row_conn: Any) -> tuple[int, int]:
    """The model over ``rows[start:]`` (in file order; row 0 is row ``first`` of all), after
    ``nconn`` connections so far: (connections now, rows done). It stops before a row
    when :func:`needs_room`: the caller grows the arenas and calls again from there
    (compiled, the model allocates nothing, so numba leaves out reference counting: see
    :mod:`pcapkit.tcpflow.jit`)."""
    for i in range(start, len(rows)):
        if needs_room(heap, hist, counts):
            return nconn, i
        r = rows[i]
        c = active[r.key]
        if c >= 0 and _is_reuse(c, r, conns, eps):
            c = -1
        if c < 0:
            c = nconn
            nconn += 1
            _open(c, r, conns, eps, likely, hist, counts)
            active[r.key] = c
        row_conn[first + i] = c
        _process(c, r, conns, eps, heap, hist, counts)
    return nconn, len(rows)


FUNCTIONS = (seq_diff, _letter, _check, _tick, _heap_merge, _heap_pop, _absorb, _add_block,
              _ack_received, _set_state, _init_endpoint, _flip, _update_state, _history, _process, _is_reuse,
              _start_endpoint, _open, hist_rows_needed, heap_rows_needed, needs_room, run)


