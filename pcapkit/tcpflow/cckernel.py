"""The congestion model's per-segment passes, written once over columns and run compiled
by numba or interpreted (:mod:`pcapkit.tcpflow.jit`): one algorithm, two backends.

* :func:`scan_direction`: one direction's data segments and the ACKs coming back, in
  capture order (what :func:`pcapkit.tcpflow.congestion.analyse_direction` reports);
* :func:`replay_flight`: the sender's scoreboard over them (what
  :func:`pcapkit.tcpflow.ccflight.trace_flight` reports);
* :func:`~pcapkit.tcpflow.ccidentpasses.clocked_counts`,
  :func:`~pcapkit.tcpflow.ccidentpasses.reductions`,
  :func:`~pcapkit.tcpflow.ccidentpasses.hystart_growth`: the identification's passes
  over every segment (:mod:`pcapkit.tcpflow.ccident`);
* :func:`~pcapkit.tcpflow.ccwindow.window_rows`: the window pass of a loss-based sender
  (:mod:`pcapkit.tcpflow.ccmodel`).

State lives in int64 arrays: rows of 2-D arrays (one row per output record, the columns
named by the ``*_FIELDS`` tuples) and the structures of :mod:`pcapkit.tcpflow.ccstructs`. The interpreted backend gets the input columns as lists
(indexing a list is several times faster than a numpy array in Python); the outputs are
numpy arrays in both. Absent values are -1 (an option not carried, a time not seen).
"""

from __future__ import annotations

from typing import Any

from pcapkit.proto.seq import seq_diff
from pcapkit.tcpflow import ccidentpasses, ccstructs, ccwindow, jit
from pcapkit.tcpflow.ccidentpasses import (
    ECN,
    FAST_RETRANSMIT,
    RTO,
    _held_level,
    clocked_counts,
    hystart_growth,
    reductions,
)
from pcapkit.tcpflow.ccstructs import (
    _ends_right,
    _heap_less,
    _heap_pop,
    _heap_push,
    _heap_swap,
    _outstanding,
    _seen_add,
    _sorted_has,
    bisect_left,
    range_add,
    range_inside,
    range_total,
    range_trim,
)
from pcapkit.tcpflow.ccwindow import limit_index, window_rows

# TCP flags (as pcapkit.tcpflow.segment; literal here for the compiled code)
FIN, SYN, RST, ACK, ECE = 0x001, 0x002, 0x004, 0x010, 0x040
SEQ_MASK = 0xFFFFFFFF
DUP_THRESH = 3
RTO_MIN_NS = 190_000_000

# what the scan writes per data segment / per ACK / per loss / per RTT sample
SENT_FIELDS = ("frame", "ts_ns", "seq", "length", "bytes_in_flight", "retransmission", "window", "ts_ecr")
ACK_FIELDS = ("frame", "ts_ns", "ack", "window", "duplicate", "ece", "ts_val", "sack_first", "sack_count")
LOSS_FIELDS = ("frame", "ts_ns", "seq", "timeout", "dupacks", "rto_ns", "recovered_ns")
RTT_FIELDS = ("frame", "ts_ns", "rtt")
# scan's scalars (``info``)
(I_MSS, I_SENT, I_ACKS, I_SACKS, I_RTT, I_LOSSES, I_SENDER_SYN, I_RECEIVER_SYN, I_HANDSHAKE_ACK,
 I_SENDER_OPENED) = range(10)
INFO_SIZE = 10
# the flight's per-segment columns, per-ACK columns, event columns and scalars
FLIGHT_FIELDS = ("interval", "pipe", "window", "wnd_edge", "nxt", "state")
ACKED_FIELDS = ("acked", "delivered")
EVENT_FIELDS = ("frame", "ts_ns", "kind", "high_seq", "first_index", "end_index", "end_ns")
F_EVENTS, F_TAIL_PROBES, F_WINDOW_PROBES = range(3)
# loss states (ccflight's names, in this order)
OPEN, FAST_RECOVERY, RTO_RECOVERY, CWR = range(4)
STATE_NAMES = ("open", "fast-recovery", "rto-recovery", "cwr")


# -- one direction's trace ------------------------------------------------------------

def scan_direction(frame: Any, ts: Any, src: Any, sport: Any, dst: Any, dport: Any, seq: Any, ack: Any,
                   flags: Any, window: Any, seglen: Any, mss_opt: Any, wscale: Any, tsval: Any, tsecr: Any,
                   sack_n: Any, sack_row: Any, sack_l: Any, sack_r: Any, max_blocks: int, s_host: int, s_port: int, r_host: int,
                   r_port: int, sent: Any, acks: Any, sacks: Any, rtt: Any, losses: Any, karn: Any, heap: Any,
                   firsts: Any, seen: Any, info: Any) -> None:
    """The data ``s_host:s_port`` sends to ``r_host:r_port`` and the ACKs coming back, rows
    in capture order (see :mod:`pcapkit.tcpflow.congestion`): writes ``sent``, ``acks``
    (with their SACK blocks, relative, in ``sacks``), ``rtt`` (Karn's samples), ``losses``
    and the scalars of ``info``."""
    n = len(frame)
    isn = 0
    has_isn = False
    r_scale = 0
    scale_on = False
    mss = 0
    snd_max = 0
    snd_una = 0
    last_window = -1
    head = tail = 0          # karn[head:tail]: outstanding ends, sorted
    heap_size = 0            # (first send time, last rel seq) of unacked segments
    dup_count = 0
    last_ack_val = -1
    recovering = False
    recovery_until = 0
    pending = 0              # losses[pending:n_losses] await the end of their recovery
    s_wscale = r_wscale = -1
    sender_syn = receiver_syn = handshake_ack = -1
    sender_opened = 1
    n_sent = n_acks = n_sacks = n_rtt = n_losses = 0
    n_firsts = 0
    for i in range(n):
        from_sender = sport[i] == s_port and dport[i] == r_port and src[i] == s_host and dst[i] == r_host
        from_receiver = sport[i] == r_port and dport[i] == s_port and src[i] == r_host and dst[i] == s_host
        if not (from_sender or from_receiver):
            continue
        fl = flags[i]
        if from_sender:
            if fl & SYN:
                isn = seq[i]
                has_isn = True
                s_wscale = wscale[i]
                if mss_opt[i] > 0:
                    mss = mss_opt[i]
            if not has_isn:
                isn = (seq[i] - 1) & SEQ_MASK
                has_isn = True
        elif fl & SYN:
            r_wscale = wscale[i]
            if mss_opt[i] > 0 and mss == 0:
                mss = mss_opt[i]
        if fl & SYN:
            if from_sender and sender_syn < 0:
                sender_syn = ts[i]
                sender_opened = 1 if receiver_syn < 0 else 0
            elif from_receiver and receiver_syn < 0:
                receiver_syn = ts[i]
        elif handshake_ack < 0 and sender_syn >= 0 and receiver_syn >= 0 and fl & ACK:
            handshake_ack = ts[i]
        if fl & SYN:
            # scaling is on once both SYNs carried the option, whichever side sent first
            # (the receiver's SYN comes first in a download)
            scale_on = s_wscale >= 0 and r_wscale >= 0
            if scale_on:
                r_scale = r_wscale
        if not has_isn:
            continue
        length = seglen[i] if seglen[i] > 0 else 0
        if from_sender and length > 0 and not fl & RST:
            rel = seq_diff(seq[i], isn)
            end = rel + length
            retrans = rel < snd_max
            if end > snd_max:
                snd_max = end
            row = sent[n_sent]
            row[0], row[1], row[2], row[3] = frame[i], ts[i], rel, length
            row[4], row[5], row[6], row[7] = snd_max - snd_una, 1 if retrans else 0, last_window, tsecr[i]
            n_sent += 1
            if mss == 0:
                mss = length
            if retrans:
                # the earliest first send of a segment not yet acknowledged (snd_una only grows:
                # an acknowledged one leaves the heap for good)
                while heap_size and heap[0, 1] + 1 <= snd_una:
                    heap_size = _heap_pop(heap, heap_size)
                fast = dup_count >= 3 and last_ack_val == rel
                loss = losses[n_losses]
                loss[0], loss[1], loss[2], loss[3] = frame[i], ts[i], rel, 0 if fast else 1
                loss[4] = dup_count if last_ack_val == rel else 0
                loss[5] = ts[i] - heap[0, 0] if heap_size else 0
                loss[6] = -1
                n_losses += 1
                if not recovering:
                    recovering = True
                    recovery_until = snd_max
                tail = _outstanding(karn, head, tail, end, ts[i], 1)
                for k in range(_ends_right(karn, head, tail, rel), _ends_right(karn, head, tail, end)):
                    karn[k, 2] = 1
            else:
                tail = _outstanding(karn, head, tail, end, ts[i], 0)
            # the first send of each segment end (an end sent before is not pushed again): a
            # new segment ends past every end before it, so those ends are kept in order in
            # ``firsts``; only a retransmission can end where another did (or not: re-packed)
            if not retrans:
                firsts[n_firsts] = end
                n_firsts += 1
                heap_size = _heap_push(heap, heap_size, ts[i], end - 1)
            elif not _sorted_has(firsts, n_firsts, end) and _seen_add(seen, end - 1):
                heap_size = _heap_push(heap, heap_size, ts[i], end - 1)
        elif from_receiver and fl & ACK and not fl & RST:
            rel_ack = seq_diff(ack[i], isn)
            if fl & FIN and rel_ack > snd_max:
                rel_ack = snd_max
            win = window[i] << (r_scale if scale_on and not fl & SYN else 0)
            dup = length == 0 and not fl & (FIN | RST) and rel_ack == last_ack_val and win == last_window
            if rel_ack > last_ack_val:
                dup_count = 0
                covered = _ends_right(karn, head, tail, rel_ack)   # karn[head:covered] end <= rel_ack
                if covered > head and karn[covered - 1, 0] == rel_ack and karn[covered - 1, 2] == 0:
                    # Karn: the ACK ends a segment sent once, and no earlier one was re-sent
                    clean = True
                    for k in range(head, covered - 1):
                        if karn[k, 2]:
                            clean = False
                            break
                    if clean:
                        sample = rtt[n_rtt]
                        sample[0], sample[1], sample[2] = frame[i], ts[i], ts[i] - karn[covered - 1, 1]
                        n_rtt += 1
                head = covered
                last_ack_val = rel_ack
            elif dup:
                dup_count += 1
            if rel_ack > snd_una:
                snd_una = rel_ack
            last_window = win
            row = acks[n_acks]
            row[0], row[1], row[2], row[3], row[4] = frame[i], ts[i], rel_ack, win, 1 if dup else 0
            row[5] = 1 if (fl & ECE) != 0 and (fl & SYN) == 0 else 0
            row[6], row[7] = tsval[i], n_sacks
            blocks = min(sack_n[i], max_blocks) if sack_n[i] > 0 else 0
            for b in range(blocks):
                sacks[n_sacks, 0] = seq_diff(sack_l[sack_row[i], b], isn)
                sacks[n_sacks, 1] = seq_diff(sack_r[sack_row[i], b], isn)
                n_sacks += 1
            row[8] = blocks
            n_acks += 1
            if recovering and rel_ack >= recovery_until:
                for k in range(pending, n_losses):
                    losses[k, 6] = ts[i]
                pending = n_losses
                recovering = False
    info[I_MSS] = mss
    info[I_SENT], info[I_ACKS], info[I_SACKS], info[I_RTT], info[I_LOSSES] = n_sent, n_acks, n_sacks, n_rtt, n_losses
    info[I_SENDER_SYN], info[I_RECEIVER_SYN], info[I_HANDSHAKE_ACK] = sender_syn, receiver_syn, handshake_ack
    info[I_SENDER_OPENED] = sender_opened


# -- the sender's scoreboard ------------------------------------------------------------

def _pipe(state: int, lost_edge: int, una: int, nxt: int, mss: int, sacked: Any, ns: int, retx: Any, nr: int,
          dupacks: int) -> int:
    """The kernel's in-flight count (packets out - SACKed - lost + retransmitted), bytes."""
    lost = 0
    if state == RTO_RECOVERY:
        lost = (lost_edge - una) - range_inside(sacked, ns, una, lost_edge) if lost_edge > una else 0
    elif state == FAST_RECOVERY:
        if ns:
            edge = max(sacked[ns - 1, 0], una + mss)
            lost = (edge - una) - range_inside(sacked, ns, una, edge)
        else:
            lost = min(mss, nxt - una)
    if ns:
        held = range_total(sacked, ns)
    else:
        beyond_head = nxt - una - mss
        held = dupacks * mss if dupacks * mss < beyond_head else (beyond_head if beyond_head > 0 else 0)
    pipe = (nxt - una) - held - (lost if lost > 0 else 0) + (range_inside(retx, nr, una, nxt) if nr else 0)
    return pipe if pipe > 0 else 0


def _event(events: Any, k: int, frame: int, ts: int, kind: int, high: int, first: int, end: int, end_ns: int) -> None:
    ev = events[k]
    ev[0], ev[1], ev[2], ev[3], ev[4], ev[5], ev[6] = frame, ts, kind, high, first, end, end_ns


def replay_flight(s_frame: Any, s_ts: Any, s_seq: Any, s_len: Any, a_frame: Any, a_ts: Any, a_ack: Any,
                  a_window: Any, a_dup: Any, a_ece: Any, a_sack_first: Any, a_sack_count: Any, sacks: Any,
                  processed_before: Any, by_order: bool, mss: int, min_rtt: int, flight: Any, acked: Any,
                  events: Any, sacked: Any, retx: Any, tmp: Any, info: Any) -> None:
    """The sender's scoreboard over its data segments (``s_*``) and the ACKs it received
    (``a_*``), see :mod:`pcapkit.tcpflow.ccflight`: writes ``flight`` (per segment),
    ``acked`` (per ACK), ``events`` and the scalars of ``info``. ``by_order``: the ACKs
    processed before a segment are those captured before it, else the first
    ``processed_before[i]`` ACKs."""
    n, m = len(s_frame), len(a_frame)
    una = nxt = s_seq[0] if n else 1
    ns = nr = 0              # sacked[:ns], retx[:nr]
    dupacks = 0
    state = OPEN
    high_seq = lost_edge = 0
    in_event = False
    ev_frame = ev_ts = ev_kind = ev_high = ev_first = 0
    n_events = 0
    last_ack_ts = 0
    window = -1
    ai = 0
    # a receiver that never SACKs: the sender runs NewReno (Linux's tcp_is_reno)
    sack_used = False
    for k in range(m):
        if a_sack_count[k] > 0:
            sack_used = True
            break
    # the head segment's last retransmission (seq, time): re-sent again after at least the
    # minimum RTO plus a round trip, only the timer can have sent it (RACK re-sends a lost
    # retransmission a round trip and a quarter after it, and only with SACK)
    head_retx = False
    head_seq = head_ts = 0
    rearmed_rto_ns = RTO_MIN_NS + min_rtt
    tail_probes = window_probes = 0
    for i in range(n):
        # the ACKs the sender processed before this segment left
        while ai < m and ((a_frame[ai] < s_frame[i]) if by_order else (ai < processed_before[i])):
            a_ack_v = a_ack[ai]
            newly = a_ack_v - una if a_ack_v > una else 0
            # delivered by this ACK: what it newly covers that was not SACKed before,
            # plus what it newly SACKs (Linux's acked_sacked; BBR grows by it)
            newly_sacked = range_inside(sacked, ns, una, a_ack_v) if newly and ns else 0
            before = range_total(sacked, ns) - newly_sacked
            fresh = newly - newly_sacked
            if a_ack_v > una:
                # without SACK, a partial ACK in recovery takes the segments it covers off
                # the duplicate-ACK count (Linux's tcp_remove_reno_sacks), else it resets
                covered = -(-(a_ack_v - una) // mss)
                dupacks = max(dupacks - max(covered - 1, 0), 0) if state != OPEN else 0
                una = a_ack_v
                ns = range_trim(sacked, ns, una)
                nr = range_trim(retx, nr, una)
            elif a_dup[ai] and nxt > una:
                dupacks += 1
            first_block = a_sack_first[ai]
            for b in range(first_block, first_block + a_sack_count[ai]):
                lo, hi = sacks[b, 0], sacks[b, 1]
                if hi > una and hi - lo < 1 << 30:
                    ns = range_add(sacked, ns, max(lo, una), hi, tmp)
            acked[ai, 0] = newly
            if a_sack_count[ai]:
                acked[ai, 1] = fresh + max(range_total(sacked, ns) - before, 0)
            else:
                acked[ai, 1] = fresh
            window = a_window[ai]
            last_ack_ts = a_ts[ai]
            if state != OPEN and una >= high_seq and (una > high_seq or (sack_used and state != CWR)):
                # a recovery ends when the ACK reaches high_seq; without SACK (and in CWR)
                # Linux holds the state until an ACK goes above it (tcp_try_undo_recovery:
                # RFC 6582's guard against false fast retransmits)
                state = OPEN
                dupacks = 0     # (tcp_reset_reno_sack)
                if in_event:
                    _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, i, a_ts[ai])
                    n_events += 1
                    in_event = False
            held = range_total(sacked, ns) if ns else dupacks * mss
            if state in (OPEN, CWR) and nxt > una and held >= DUP_THRESH * mss and (
                    a_dup[ai] or a_sack_count[ai]):
                # the receiver holds DupThresh segments above a hole: recovery starts at
                # this ACK (RFC 6675; Linux's tcp_time_to_recover), the retransmission
                # follows when the hole is marked lost
                state, high_seq = FAST_RECOVERY, nxt
                if in_event:
                    _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, i, a_ts[ai])
                    n_events += 1
                in_event = True
                ev_frame, ev_ts, ev_kind, ev_high, ev_first = a_frame[ai], a_ts[ai], FAST_RETRANSMIT, nxt, i
            if a_ece[ai] and state == OPEN:
                state, high_seq = CWR, nxt
                if in_event:
                    _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, i, a_ts[ai])
                    n_events += 1
                in_event = True
                ev_frame, ev_ts, ev_kind, ev_high, ev_first = a_frame[ai], a_ts[ai], ECN, nxt, i
            ai += 1
        seq = s_seq[i]
        end = seq + s_len[i]
        if seq < nxt and window == 0:
            window_probes += 1   # a zero-window probe re-sending a byte: no loss
        elif seq < nxt:          # re-sends sequence space already sent
            # the silence before it: since the last ACK or the last segment sent
            quiet_since = max(last_ack_ts, s_ts[i - 1] if i else 0)
            gap = s_ts[i] - quiet_since
            heard_more = dupacks > 0 or ns > 0
            # a fast retransmit follows the ACK that triggered it; only a timer re-sends
            # the head after a silence as long as the minimum RTO
            timeout = seq <= una and (gap >= RTO_MIN_NS or (
                head_retx and head_seq == seq and s_ts[i] - head_ts >= rearmed_rto_ns))
            if seq <= una:
                head_retx, head_seq, head_ts = True, seq, s_ts[i]
            if timeout:
                state, high_seq, lost_edge = RTO_RECOVERY, nxt, nxt
                nr = 0
                if in_event:
                    _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, i, s_ts[i])
                    n_events += 1
                in_event = True
                ev_frame, ev_ts, ev_kind, ev_high, ev_first = s_frame[i], s_ts[i], RTO, nxt, i
            elif state in (OPEN, CWR) and (heard_more or end < nxt):
                state, high_seq = FAST_RECOVERY, nxt
                if in_event:
                    _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, i, s_ts[i])
                    n_events += 1
                in_event = True
                ev_frame, ev_ts, ev_kind, ev_high, ev_first = s_frame[i], s_ts[i], FAST_RETRANSMIT, nxt, i
            elif state == OPEN:
                tail_probes += 1
            nr = range_add(retx, nr, seq, min(end, nxt), tmp)
        if end > nxt:
            nxt = end
        row = flight[i]
        row[0] = ai - 1
        row[1] = _pipe(state, lost_edge, una, nxt, mss, sacked, ns, retx, nr, dupacks)
        row[2] = window
        row[3] = una + window if window >= 0 else -1
        row[4] = nxt
        row[5] = state
    for k in range(ai, m):
        a_ack_v = a_ack[k]
        acked[k, 0] = max(a_ack_v - una, 0)
        acked[k, 1] = max(a_ack_v - una, 0)
        if a_ack_v > una:
            una = a_ack_v
            if state != OPEN and (una > high_seq or (una == high_seq and sack_used and state != CWR)):
                state = OPEN
                if in_event:
                    _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, n, a_ts[k])
                    n_events += 1
                    in_event = False
    if in_event:
        _event(events, n_events, ev_frame, ev_ts, ev_kind, ev_high, ev_first, -1, -1)
        n_events += 1
    info[F_EVENTS], info[F_TAIL_PROBES], info[F_WINDOW_PROBES] = n_events, tail_probes, window_probes


FUNCTIONS = (seq_diff, bisect_left, _ends_right, _outstanding, _seen_add, _sorted_has, _heap_less, _heap_swap, _heap_push,
             _heap_pop, range_add, range_trim, range_inside, range_total, scan_direction, _pipe, _event,
             replay_flight, clocked_counts, _held_level, reductions, hystart_growth, limit_index, window_rows)


def kernel(target: Any, compiled: bool) -> Any:
    """A pass (``scan_direction``, ``replay_flight``, ...): compiled, or the plain function."""
    if not compiled:
        return target
    return jit.compile_entry(target, FUNCTIONS, (__name__, ccstructs.__name__, ccidentpasses.__name__, ccwindow.__name__,
                                                 jit.__name__, seq_diff.__module__))
